-- The runbook's "Rollback 0010".
DROP TABLE IF EXISTS crypto_payments;
DROP TABLE IF EXISTS webhook_events;
DROP FUNCTION IF EXISTS enforce_payment_status_monotonicity();
