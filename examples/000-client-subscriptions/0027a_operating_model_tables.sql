-- Migration 027, part 1: the commercial boundary. A client owns tenants;
-- a client buys service subscriptions; a subscription grants entitlements.
-- New tables only: nothing existing is locked or rewritten.
CREATE TABLE clients (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'active',
    primary_domain  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clients_name_not_blank CHECK (length(btrim(name)) > 0),
    CONSTRAINT clients_status_known CHECK (status IN ('active', 'suspended', 'closed'))
);

CREATE TABLE client_users (
    client_id   uuid        NOT NULL REFERENCES clients (id),
    user_id     text        NOT NULL,   -- the identity provider's subject
    role        text        NOT NULL DEFAULT 'member',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, user_id),
    CONSTRAINT client_users_role_known CHECK (role IN ('owner', 'admin', 'member', 'billing'))
);

CREATE TABLE service_subscriptions (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id         uuid        NOT NULL REFERENCES clients (id),
    tenant_id         uuid        REFERENCES tenants (id),
    offer_code        text        NOT NULL,
    offer_name        text        NOT NULL,
    commercial_model  text        NOT NULL,
    status            text        NOT NULL DEFAULT 'active',
    fulfillment_mode  text        NOT NULL DEFAULT 'self-service',
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_subscriptions_model_known
        CHECK (commercial_model IN ('subscription', 'usage', 'contract', 'trial')),
    CONSTRAINT service_subscriptions_status_known
        CHECK (status IN ('pending', 'active', 'suspended', 'cancelled')),
    CONSTRAINT service_subscriptions_fulfillment_known
        CHECK (fulfillment_mode IN ('self-service', 'managed', 'partner'))
);
CREATE INDEX service_subscriptions_client_idx ON service_subscriptions (client_id);
CREATE INDEX service_subscriptions_tenant_idx ON service_subscriptions (tenant_id);
-- Tenant-scoped like the billing tables: the API, with app.tenant_id set,
-- sees its tenant's subscriptions (mySubscriptions); client-level ones
-- (tenant_id NULL) are read through the client boundary's own queries.
ALTER TABLE service_subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_subscriptions_tenant_isolation ON service_subscriptions
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE entitlements (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    subscription_id  uuid        NOT NULL REFERENCES service_subscriptions (id),
    entitlement_key  text        NOT NULL,
    status           text        NOT NULL DEFAULT 'active',
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT entitlements_unique_key UNIQUE (subscription_id, entitlement_key),
    CONSTRAINT entitlements_status_known CHECK (status IN ('active', 'suspended', 'revoked'))
);
