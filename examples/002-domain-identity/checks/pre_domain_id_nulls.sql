-- 008_PRE_MIGRATION_CHECKS, check 1: "domain_id NULL count: 0", over every
-- table that carries a domain_id.
SELECT (SELECT count(*) FROM domains WHERE domain_id IS NULL)
     + (SELECT count(*) FROM scopes WHERE domain_id IS NULL)
     + (SELECT count(*) FROM policy_snapshots WHERE domain_id IS NULL)
     + (SELECT count(*) FROM decision_events WHERE domain_id IS NULL) AS domain_id_nulls;
