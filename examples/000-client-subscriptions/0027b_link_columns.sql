-- Migration 027, part 2: tenants.client_id and the billing tables'
-- client_id / subscription_id. Nullable columns without a default: a
-- catalog change, no rewrite. The foreign keys are NOT VALID, so adding
-- them does not scan the tables; 0027d validates them after the backfill.
ALTER TABLE tenants ADD COLUMN client_id uuid;
ALTER TABLE invoices ADD COLUMN client_id uuid;
ALTER TABLE invoices ADD COLUMN subscription_id uuid;
ALTER TABLE usage_records ADD COLUMN client_id uuid;
ALTER TABLE usage_records ADD COLUMN subscription_id uuid;

ALTER TABLE tenants ADD CONSTRAINT tenants_client_id_fkey
    FOREIGN KEY (client_id) REFERENCES clients (id) NOT VALID;
ALTER TABLE invoices ADD CONSTRAINT invoices_client_id_fkey
    FOREIGN KEY (client_id) REFERENCES clients (id) NOT VALID;
ALTER TABLE invoices ADD CONSTRAINT invoices_subscription_id_fkey
    FOREIGN KEY (subscription_id) REFERENCES service_subscriptions (id) NOT VALID;
ALTER TABLE usage_records ADD CONSTRAINT usage_records_client_id_fkey
    FOREIGN KEY (client_id) REFERENCES clients (id) NOT VALID;
ALTER TABLE usage_records ADD CONSTRAINT usage_records_subscription_id_fkey
    FOREIGN KEY (subscription_id) REFERENCES service_subscriptions (id) NOT VALID;
