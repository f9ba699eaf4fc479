-- Migration 027, part 6: billing by client (the follow-up "move billing
-- and invoice views to client/subscription ownership" reads by client_id).
CREATE INDEX CONCURRENTLY IF NOT EXISTS invoices_client_id_idx ON invoices (client_id);
