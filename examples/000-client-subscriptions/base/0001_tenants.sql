-- Sankofa API base schema, abridged: the tables migration 027 builds on.
CREATE TABLE tenants (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    status      text        NOT NULL DEFAULT 'active',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_status_known CHECK (status IN ('active', 'suspended', 'deleted'))
);
