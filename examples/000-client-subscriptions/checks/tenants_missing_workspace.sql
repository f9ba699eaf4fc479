-- The runbook's data-shape spot check, for every tenant instead of one:
-- each has one linked client, at least one tenant-workspace subscription
-- and at least one tenant.workspace entitlement. Counts the tenants that
-- do not.
SELECT count(*) AS tenants_missing_workspace
  FROM tenants t
 WHERE NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = t.client_id)
    OR NOT EXISTS (SELECT 1
                     FROM service_subscriptions s
                     JOIN entitlements e ON e.subscription_id = s.id
                    WHERE s.tenant_id = t.id
                      AND s.offer_code = 'tenant-workspace'
                      AND e.entitlement_key = 'tenant.workspace');
