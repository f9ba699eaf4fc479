-- A tenant-scoped table ships with its isolation policy in the same step.
CREATE TABLE clients (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clients_name_not_blank CHECK (length(btrim(name)) > 0)
);

ALTER TABLE clients ENABLE ROW LEVEL SECURITY;

CREATE POLICY clients_tenant_isolation ON clients
    USING (tenant_id = current_setting('app.tenant_id', true)::uuid);
