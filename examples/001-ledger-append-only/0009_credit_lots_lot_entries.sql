-- 0009: the double-entry credit ledger. A lot is minted once; its entries
-- are append-only; only a lot's status may change, and only forward, through
-- app.update_lot_status. Both tables are tenant-scoped with forced RLS: the
-- table owner is filtered too (superusers and BYPASSRLS roles are not).

-- Append-only enforcement, shared by every immutable table. A statement
-- trigger: it fires even when no row matches, and on TRUNCATE.
CREATE FUNCTION prevent_mutation() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'APPEND_ONLY: % on % is not allowed; append a compensating entry instead',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TABLE credit_lots (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    community_id  uuid        NOT NULL,
    source        text        NOT NULL,
    amount_micro  bigint      NOT NULL,
    status        text        NOT NULL DEFAULT 'active',
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT credit_lots_source_known
        CHECK (source IN ('purchase', 'grant', 'seed', 'refund', 'promo')),
    CONSTRAINT credit_lots_amount_positive CHECK (amount_micro > 0),
    CONSTRAINT credit_lots_status_known
        CHECK (status IN ('active', 'exhausted', 'expired', 'revoked'))
);

CREATE TABLE lot_entries (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    lot_id        uuid        NOT NULL REFERENCES credit_lots (id),
    community_id  uuid        NOT NULL,
    entry_type    text        NOT NULL,
    amount_micro  bigint      NOT NULL,
    reference     text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lot_entries_type_known
        CHECK (entry_type IN ('debit', 'expiry', 'revocation', 'adjustment')),
    -- Entries only ever take credit out of a lot; the lot is the credit.
    CONSTRAINT lot_entries_amount_negative CHECK (amount_micro < 0)
);

CREATE INDEX lot_entries_lot_idx ON lot_entries (lot_id);
CREATE INDEX credit_lots_community_idx ON credit_lots (community_id);

-- Tenant isolation. Reads without a context see nothing (the setting is
-- read leniently); writes without a context fail through the strict guard.
ALTER TABLE credit_lots ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_lots FORCE ROW LEVEL SECURITY;
CREATE POLICY credit_lots_tenant_isolation ON credit_lots
    USING (community_id = nullif(current_setting('app.community_id', true), '')::uuid)
    WITH CHECK (community_id = app.current_community_id());

ALTER TABLE lot_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE lot_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY lot_entries_tenant_isolation ON lot_entries
    USING (community_id = nullif(current_setting('app.community_id', true), '')::uuid)
    WITH CHECK (community_id = app.current_community_id());

-- Immutability: entries never change; lots are never deleted and only
-- their status is writable by the application (column privilege below).
CREATE TRIGGER lot_entries_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON lot_entries
    FOR EACH STATEMENT EXECUTE FUNCTION prevent_mutation();
CREATE TRIGGER credit_lots_no_delete
    BEFORE DELETE OR TRUNCATE ON credit_lots
    FOR EACH STATEMENT EXECUTE FUNCTION prevent_mutation();

CREATE FUNCTION app.update_lot_status(p_lot_id uuid, p_status text) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE credit_lots SET status = p_status
     WHERE id = p_lot_id AND status = 'active' AND p_status <> 'active';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lot % is not active in this community, or % is not a final status',
            p_lot_id, p_status
            USING ERRCODE = 'P0001';
    END IF;
END;
$$;

-- Remaining credit per lot. security_invoker: the caller's RLS applies,
-- not the view owner's.
CREATE VIEW lot_balances WITH (security_invoker = true) AS
SELECT l.id AS lot_id,
       l.community_id,
       l.status,
       l.amount_micro AS original_micro,
       l.amount_micro + coalesce(sum(e.amount_micro), 0) AS remaining_micro
  FROM credit_lots l
  LEFT JOIN lot_entries e ON e.lot_id = l.id
 GROUP BY l.id;

GRANT SELECT, INSERT ON credit_lots, lot_entries TO arrakis_app;
GRANT UPDATE (status) ON credit_lots TO arrakis_app;
GRANT SELECT ON lot_balances TO arrakis_app;
GRANT EXECUTE ON FUNCTION app.update_lot_status(uuid, text) TO arrakis_app;
