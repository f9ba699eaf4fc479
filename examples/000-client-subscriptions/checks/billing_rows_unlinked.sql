-- Post-deploy monitoring: "billing queries returning null where
-- tenant-linked records should have been backfilled".
SELECT (SELECT count(*) FROM invoices
         WHERE client_id IS NULL OR subscription_id IS NULL)
     + (SELECT count(*) FROM usage_records
         WHERE client_id IS NULL OR subscription_id IS NULL) AS billing_rows_unlinked;
