-- The runbook's "Rollback 0008".
DROP FUNCTION IF EXISTS app.set_community_context(uuid);
DROP FUNCTION IF EXISTS app.current_community_id();
DROP SCHEMA IF EXISTS app;
