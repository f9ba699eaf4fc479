-- Undo migration 008 in place, newest change first, keeping every row
-- (including domains, scopes and events written since the migration:
-- domains created since get a fresh domain_id). The runbook's alternative
-- is a restore from the backup that the plan takes (`skein rollout report`
-- prints the pg_restore command), which loses those rows.

DELETE FROM migration_log WHERE migration_version = 8;

DROP TRIGGER scopes_domain_prefix ON scopes;
DROP FUNCTION enforce_scope_domain_prefix();

-- domain_id comes back, with its old values where they were archived.
ALTER TABLE domains ADD COLUMN domain_id uuid;
UPDATE domains d SET domain_id = a.domain_id
  FROM rfc002_rollback.domain_ids a
 WHERE a.organization_id = d.organization_id AND a.domain = d.domain;
UPDATE domains SET domain_id = gen_random_uuid() WHERE domain_id IS NULL;
ALTER TABLE domains ALTER COLUMN domain_id SET DEFAULT gen_random_uuid();
ALTER TABLE domains ALTER COLUMN domain_id SET NOT NULL;

ALTER TABLE scopes ADD COLUMN domain_id uuid;
ALTER TABLE policy_snapshots ADD COLUMN domain_id uuid;
ALTER TABLE decision_events ADD COLUMN domain_id uuid;
UPDATE scopes s SET domain_id = d.domain_id
  FROM domains d WHERE d.organization_id = s.organization_id AND d.domain = s.domain;
UPDATE policy_snapshots p SET domain_id = d.domain_id
  FROM domains d WHERE d.organization_id = p.organization_id AND d.domain = p.domain;
UPDATE decision_events e SET domain_id = d.domain_id
  FROM domains d WHERE d.organization_id = e.organization_id AND d.domain = e.domain;
ALTER TABLE scopes ALTER COLUMN domain_id SET NOT NULL;
ALTER TABLE policy_snapshots ALTER COLUMN domain_id SET NOT NULL;
ALTER TABLE decision_events ALTER COLUMN domain_id SET NOT NULL;

DROP SCHEMA rfc002_rollback CASCADE;

-- Re-key on domain_id.
DROP INDEX scopes_domain_idx;
DROP INDEX policy_snapshots_domain_idx;
DROP INDEX decision_events_domain_idx;
ALTER TABLE scopes DROP CONSTRAINT scopes_domain_fkey;
ALTER TABLE policy_snapshots DROP CONSTRAINT policy_snapshots_domain_fkey;
ALTER TABLE decision_events DROP CONSTRAINT decision_events_domain_fkey;
ALTER TABLE domains DROP CONSTRAINT domains_pkey;
ALTER TABLE domains ADD CONSTRAINT domains_pkey PRIMARY KEY (domain_id);
ALTER TABLE domains ADD CONSTRAINT domains_org_name_key UNIQUE (organization_id, domain);
ALTER TABLE scopes ADD CONSTRAINT scopes_domain_id_fkey
    FOREIGN KEY (domain_id) REFERENCES domains (domain_id);
ALTER TABLE policy_snapshots ADD CONSTRAINT policy_snapshots_domain_id_fkey
    FOREIGN KEY (domain_id) REFERENCES domains (domain_id);
ALTER TABLE decision_events ADD CONSTRAINT decision_events_domain_id_fkey
    FOREIGN KEY (domain_id) REFERENCES domains (domain_id);
CREATE INDEX scopes_domain_id_idx ON scopes (domain_id);
CREATE INDEX policy_snapshots_domain_id_idx ON policy_snapshots (domain_id);
CREATE INDEX decision_events_domain_id_idx ON decision_events (domain_id);

-- scope_id back to varchar(255): a longer scope_id written since makes
-- this fail (and the whole revert roll back) rather than truncate it.
ALTER TABLE scopes ALTER COLUMN scope_id TYPE varchar(255);
ALTER TABLE decision_events ALTER COLUMN scope_id TYPE varchar(255);

ALTER TABLE scopes DROP COLUMN domain;
ALTER TABLE policy_snapshots DROP COLUMN domain;
ALTER TABLE decision_events DROP COLUMN domain;

ALTER TABLE domains DROP CONSTRAINT domains_domain_slug;
ALTER TABLE domains RENAME COLUMN domain TO name;
