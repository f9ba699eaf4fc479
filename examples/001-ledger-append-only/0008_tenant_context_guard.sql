-- 0008: the tenant context guard, prerequisite of every economic table.
-- app.current_community_id() raises (P0001) when the transaction has not
-- set app.community_id: a missing context is an error, never a silent
-- "all tenants" or "nil tenant". Context is set with SET LOCAL semantics
-- (set_config(..., true)), so it works through PgBouncer transaction pooling.
CREATE SCHEMA app;

CREATE FUNCTION app.current_community_id() RETURNS uuid
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    tenant_id text;
BEGIN
    tenant_id := current_setting('app.community_id', true);
    IF tenant_id IS NULL OR tenant_id = '' THEN
        RAISE EXCEPTION 'TENANT_CONTEXT_MISSING: app.community_id must be set via SET LOCAL before accessing tenant-scoped tables'
            USING ERRCODE = 'P0001';
    END IF;
    RETURN tenant_id::uuid;
END;
$$;

CREATE FUNCTION app.set_community_context(community_uuid uuid) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('app.community_id', community_uuid::text, true);
END;
$$;

GRANT USAGE ON SCHEMA app TO arrakis_app;
GRANT EXECUTE ON FUNCTION app.current_community_id() TO arrakis_app;
GRANT EXECUTE ON FUNCTION app.set_community_context(uuid) TO arrakis_app;
