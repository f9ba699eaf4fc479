-- Unlink the invoices 0027c_link_invoices linked (and any linked since:
-- the columns are this plan's, and 0027b's revert drops them).
UPDATE invoices SET client_id = NULL, subscription_id = NULL
 WHERE client_id IS NOT NULL OR subscription_id IS NOT NULL;
