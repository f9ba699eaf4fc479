-- Unlink everything the backfill linked and delete what it created. The
-- operating-model tables are new in this plan, so every row in them is the
-- backfill's or was created since on top of it; the next revert drops them.
UPDATE usage_records SET client_id = NULL, subscription_id = NULL
 WHERE client_id IS NOT NULL OR subscription_id IS NOT NULL;
UPDATE invoices SET client_id = NULL, subscription_id = NULL
 WHERE client_id IS NOT NULL OR subscription_id IS NOT NULL;
UPDATE tenants SET client_id = NULL WHERE client_id IS NOT NULL;
DELETE FROM entitlements;
DELETE FROM service_subscriptions;
DELETE FROM client_users;
DELETE FROM clients;
