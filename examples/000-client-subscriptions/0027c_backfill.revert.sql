-- Unlink the tenants and delete what the backfill created (the billing
-- rows were unlinked by the reverts of 0027c_link_usage and
-- 0027c_link_invoices, which run first). The operating-model tables are
-- new in this plan, so every row in them is the backfill's or was created
-- since on top of it; the next revert drops them.
UPDATE tenants SET client_id = NULL WHERE client_id IS NOT NULL;
DELETE FROM entitlements;
DELETE FROM service_subscriptions;
DELETE FROM client_users;
DELETE FROM clients;
