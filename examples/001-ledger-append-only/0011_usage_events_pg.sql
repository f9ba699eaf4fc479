-- 0011: metered usage (append-only, tenant-scoped), the public keys that
-- service-to-service JWTs are checked against, and the reconciliation
-- job's cursor.
CREATE TABLE usage_events (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    community_id     uuid        NOT NULL,
    meter            text        NOT NULL,
    quantity         bigint      NOT NULL,
    cost_micro       bigint      NOT NULL DEFAULT 0,
    idempotency_key  text        NOT NULL,
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT usage_events_idempotent UNIQUE (community_id, idempotency_key),
    CONSTRAINT usage_events_quantity_positive CHECK (quantity > 0),
    CONSTRAINT usage_events_cost_not_negative CHECK (cost_micro >= 0)
);

ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_events FORCE ROW LEVEL SECURITY;
CREATE POLICY usage_events_tenant_isolation ON usage_events
    USING (community_id = nullif(current_setting('app.community_id', true), '')::uuid)
    WITH CHECK (community_id = app.current_community_id());

CREATE TRIGGER usage_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON usage_events
    FOR EACH STATEMENT EXECUTE FUNCTION prevent_mutation();

CREATE TABLE s2s_jwks_public_keys (
    kid         text        PRIMARY KEY,
    alg         text        NOT NULL,
    public_jwk  jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz,
    CONSTRAINT s2s_jwks_alg_known CHECK (alg IN ('ES256', 'EdDSA', 'RS256')),
    CONSTRAINT s2s_jwks_public_only CHECK (NOT public_jwk ? 'd')
);

CREATE TABLE reconciliation_cursor (
    name          text        PRIMARY KEY,
    last_event_at timestamptz NOT NULL DEFAULT 'epoch',
    last_event_id uuid,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT ON usage_events TO arrakis_app;
GRANT SELECT ON s2s_jwks_public_keys TO arrakis_app;
GRANT SELECT, INSERT, UPDATE ON reconciliation_cursor TO arrakis_app;
