-- Migration 027, part 3: what the tenant bootstrap hook does for new
-- tenants, done once for the existing ones: a default client, a
-- tenant-workspace subscription and its tenant.workspace entitlement per
-- tenant. Idempotent: only tenants without a client are touched. A row per
-- tenant, in one transaction; the billing rows, which are many, are
-- linked by the two backfill steps that follow (0027c_link_invoices,
-- 0027c_link_usage), in batches.
WITH todo AS (
    SELECT id AS tenant_id, name, gen_random_uuid() AS client_id
      FROM tenants
     WHERE client_id IS NULL
),
new_clients AS (
    INSERT INTO clients (id, name, status)
    SELECT client_id, name, 'active' FROM todo
    RETURNING id
)
UPDATE tenants t
   SET client_id = todo.client_id
  FROM todo
 WHERE t.id = todo.tenant_id;

INSERT INTO service_subscriptions
       (client_id, tenant_id, offer_code, offer_name, commercial_model, status, fulfillment_mode)
SELECT t.client_id, t.id, 'tenant-workspace', 'Tenant Workspace', 'subscription',
       CASE WHEN t.status = 'active' THEN 'active' ELSE 'suspended' END, 'self-service'
  FROM tenants t
 WHERE NOT EXISTS (SELECT 1 FROM service_subscriptions s
                    WHERE s.tenant_id = t.id AND s.offer_code = 'tenant-workspace');

INSERT INTO entitlements (subscription_id, entitlement_key, status)
SELECT s.id, 'tenant.workspace', CASE WHEN s.status = 'active' THEN 'active' ELSE 'suspended' END
  FROM service_subscriptions s
 WHERE s.offer_code = 'tenant-workspace'
   AND NOT EXISTS (SELECT 1 FROM entitlements e
                    WHERE e.subscription_id = s.id AND e.entitlement_key = 'tenant.workspace');
