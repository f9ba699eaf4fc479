-- Invariant: "RLS blocks queries without tenant context" and "cross-tenant
-- query returns 0 rows" (the runbook's post-migration verification and its
-- staging checklist), proven with data rather than on empty tables.
--
-- Inside a sub-transaction: write one lot and one entry for community A
-- (as the migration user, which bypasses RLS), become arrakis_app, and
-- read as nobody, as community B and as community A. A leak raises
-- RLS_LEAK, which fails the check. When every read is right, the block
-- raises RLS_PROBE_DONE and catches it itself: the sub-transaction rolls
-- back, taking the probe rows and the role switch with it, and the
-- statement completes with no rows (the check expects no_rows).
DO $$
DECLARE
    a constant uuid := 'a0000000-0000-4000-8000-00000000000a';
    b constant uuid := 'b0000000-0000-4000-8000-00000000000b';
    lot uuid;
    n bigint;
BEGIN
    BEGIN
        INSERT INTO credit_lots (community_id, source, amount_micro)
        VALUES (a, 'seed', 1000000) RETURNING id INTO lot;
        INSERT INTO lot_entries (lot_id, community_id, entry_type, amount_micro)
        VALUES (lot, a, 'debit', -1);

        SET LOCAL ROLE arrakis_app;

        PERFORM set_config('app.community_id', '', true);
        SELECT (SELECT count(*) FROM credit_lots) + (SELECT count(*) FROM lot_entries)
             + (SELECT count(*) FROM lot_balances) INTO n;
        IF n <> 0 THEN
            RAISE EXCEPTION 'RLS_LEAK: % rows visible to arrakis_app without tenant context', n;
        END IF;

        PERFORM app.set_community_context(b);
        SELECT (SELECT count(*) FROM credit_lots WHERE community_id = a)
             + (SELECT count(*) FROM lot_entries WHERE community_id = a)
             + (SELECT count(*) FROM lot_balances WHERE community_id = a) INTO n;
        IF n <> 0 THEN
            RAISE EXCEPTION 'RLS_LEAK: % rows of another community visible to arrakis_app', n;
        END IF;

        PERFORM app.set_community_context(a);
        SELECT (SELECT count(*) FROM lot_balances WHERE lot_id = lot AND remaining_micro = 999999) INTO n;
        IF n <> 1 THEN
            RAISE EXCEPTION 'RLS_PROBE: community A cannot read its own lot balance (saw % rows)', n;
        END IF;

        RAISE EXCEPTION 'RLS_PROBE_DONE' USING ERRCODE = 'P0001';
    EXCEPTION
        WHEN raise_exception THEN
            IF SQLERRM <> 'RLS_PROBE_DONE' THEN
                RAISE;
            END IF;
    END;
END
$$;
