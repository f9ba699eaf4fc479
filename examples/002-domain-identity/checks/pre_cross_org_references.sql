-- Rows whose domain belongs to another organization: the new foreign keys
-- on (organization_id, domain) would reject them mid-migration.
SELECT (SELECT count(*) FROM scopes s JOIN domains d ON d.domain_id = s.domain_id
         WHERE d.organization_id <> s.organization_id)
     + (SELECT count(*) FROM policy_snapshots p JOIN domains d ON d.domain_id = p.domain_id
         WHERE d.organization_id <> p.organization_id)
     + (SELECT count(*) FROM decision_events e JOIN domains d ON d.domain_id = e.domain_id
         WHERE d.organization_id <> e.organization_id) AS cross_org_references;
