-- The runbook's "Rollback 0009" (without CASCADE: anything else that
-- depends on these objects should stop the revert, not vanish with it).
DROP VIEW IF EXISTS lot_balances;
DROP TABLE IF EXISTS lot_entries;
DROP TABLE IF EXISTS credit_lots;
DROP FUNCTION IF EXISTS prevent_mutation();
DROP FUNCTION IF EXISTS app.update_lot_status(uuid, text);
