-- Built without blocking writes; runs outside a transaction.
CREATE INDEX CONCURRENTLY IF NOT EXISTS clients_tenant_idx ON clients (tenant_id);
