-- The runbook's down path: "drops client_id from tenants" and "drops
-- client_id / subscription_id additions from billing tables" (their
-- foreign keys go with them).
ALTER TABLE usage_records DROP COLUMN IF EXISTS subscription_id;
ALTER TABLE usage_records DROP COLUMN IF EXISTS client_id;
ALTER TABLE invoices DROP COLUMN IF EXISTS subscription_id;
ALTER TABLE invoices DROP COLUMN IF EXISTS client_id;
ALTER TABLE tenants DROP COLUMN IF EXISTS client_id;
