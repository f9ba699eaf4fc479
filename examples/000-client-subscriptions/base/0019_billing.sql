-- Billing is tenant-scoped until migration 027 adds the commercial boundary.
-- The API sets app.tenant_id per transaction; rows of other tenants are
-- invisible to it.
CREATE TABLE invoices (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    period_start  date        NOT NULL,
    amount_cents  bigint      NOT NULL,
    status        text        NOT NULL DEFAULT 'open',
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invoices_amount_not_negative CHECK (amount_cents >= 0),
    CONSTRAINT invoices_status_known CHECK (status IN ('open', 'paid', 'void'))
);
CREATE INDEX invoices_tenant_idx ON invoices (tenant_id);
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoices_tenant_isolation ON invoices
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE usage_records (
    id           bigserial   PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    metric       text        NOT NULL,
    quantity     bigint      NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT usage_records_quantity_positive CHECK (quantity > 0)
);
CREATE INDEX usage_records_tenant_idx ON usage_records (tenant_id);
ALTER TABLE usage_records ENABLE ROW LEVEL SECURITY;
CREATE POLICY usage_records_tenant_isolation ON usage_records
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
