-- Migration 027, part 4: validate the foreign keys added NOT VALID. A
-- validation scans the table under SHARE UPDATE EXCLUSIVE: reads and
-- writes go on.
ALTER TABLE tenants VALIDATE CONSTRAINT tenants_client_id_fkey;
ALTER TABLE invoices VALIDATE CONSTRAINT invoices_client_id_fkey;
ALTER TABLE invoices VALIDATE CONSTRAINT invoices_subscription_id_fkey;
ALTER TABLE usage_records VALIDATE CONSTRAINT usage_records_client_id_fkey;
ALTER TABLE usage_records VALIDATE CONSTRAINT usage_records_subscription_id_fkey;
