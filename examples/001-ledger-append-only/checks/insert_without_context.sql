-- Invariant: "INSERT ... Expected: ERROR (RLS blocks without SET LOCAL)".
-- As arrakis_app with no app.community_id, a write to a tenant table
-- reaches the policy's WITH CHECK, whose guard raises P0001. The check
-- runs in a savepoint skein always rolls back, role switch included.
DO $$
BEGIN
    SET LOCAL ROLE arrakis_app;
    PERFORM set_config('app.community_id', '', true);
    INSERT INTO credit_lots (community_id, source, amount_micro)
    VALUES (gen_random_uuid(), 'seed', 1000000);
END
$$;
