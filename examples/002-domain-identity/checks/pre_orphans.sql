-- 008_PRE_MIGRATION_CHECKS, check 2: orphaned foreign keys, e.g.
-- "scopes.domain_id -> domains.domain_id orphans: 0", summed over the
-- referencing tables (the report shows the total; the runbook's
-- troubleshooting query finds the rows).
SELECT (SELECT count(*) FROM scopes s
         WHERE s.domain_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM domains d WHERE d.domain_id = s.domain_id))
     + (SELECT count(*) FROM policy_snapshots p
         WHERE p.domain_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM domains d WHERE d.domain_id = p.domain_id))
     + (SELECT count(*) FROM decision_events e
         WHERE e.domain_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM domains d WHERE d.domain_id = e.domain_id)) AS orphans;
