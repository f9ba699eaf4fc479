-- Migration 027, part 5: look tenants up by client without blocking
-- writes to tenants. Runs outside a transaction.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tenants_client_id_idx ON tenants (client_id);
