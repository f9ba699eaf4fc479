-- The runbook's "Rollback 0011".
DROP TABLE IF EXISTS reconciliation_cursor;
DROP TABLE IF EXISTS s2s_jwks_public_keys;
DROP TABLE IF EXISTS usage_events;
