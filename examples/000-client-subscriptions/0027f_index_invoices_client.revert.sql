DROP INDEX CONCURRENTLY IF EXISTS invoices_client_id_idx;
