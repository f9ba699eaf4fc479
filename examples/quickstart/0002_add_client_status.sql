-- Additive with a constant default: no table rewrite on PostgreSQL 11+.
ALTER TABLE clients
    ADD COLUMN status text NOT NULL DEFAULT 'active'
    CONSTRAINT clients_status_known CHECK (status IN ('active', 'suspended'));
