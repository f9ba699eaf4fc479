-- A validated constraint cannot be "unvalidated": re-create each one
-- NOT VALID, as 0027b left it.
ALTER TABLE usage_records
    DROP CONSTRAINT usage_records_subscription_id_fkey,
    ADD CONSTRAINT usage_records_subscription_id_fkey
        FOREIGN KEY (subscription_id) REFERENCES service_subscriptions (id) NOT VALID;
ALTER TABLE usage_records
    DROP CONSTRAINT usage_records_client_id_fkey,
    ADD CONSTRAINT usage_records_client_id_fkey
        FOREIGN KEY (client_id) REFERENCES clients (id) NOT VALID;
ALTER TABLE invoices
    DROP CONSTRAINT invoices_subscription_id_fkey,
    ADD CONSTRAINT invoices_subscription_id_fkey
        FOREIGN KEY (subscription_id) REFERENCES service_subscriptions (id) NOT VALID;
ALTER TABLE invoices
    DROP CONSTRAINT invoices_client_id_fkey,
    ADD CONSTRAINT invoices_client_id_fkey
        FOREIGN KEY (client_id) REFERENCES clients (id) NOT VALID;
ALTER TABLE tenants
    DROP CONSTRAINT tenants_client_id_fkey,
    ADD CONSTRAINT tenants_client_id_fkey
        FOREIGN KEY (client_id) REFERENCES clients (id) NOT VALID;
