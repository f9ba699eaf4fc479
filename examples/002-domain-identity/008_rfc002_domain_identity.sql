-- Migration 008, RFC-002 domain identity: a domain is identified by its
-- slug within its organization, not by a surrogate uuid. Every table that
-- pointed at domains.domain_id now carries the slug in a `domain` column;
-- scope_id becomes text that must start with its domain's slug; domain_id
-- disappears everywhere. One transaction, run in a maintenance window with
-- every writer stopped (the runbook's steps 1 and 5).

-- 1. The slug. domains.name always held it ("name (future domain)").
ALTER TABLE domains RENAME COLUMN name TO domain;
ALTER TABLE domains
    ADD CONSTRAINT domains_domain_slug CHECK (domain ~ '^[a-z0-9_-]+$');

-- 2. Every referencing table gets the slug, backfilled through domain_id.
ALTER TABLE scopes ADD COLUMN domain text;
ALTER TABLE policy_snapshots ADD COLUMN domain text;
ALTER TABLE decision_events ADD COLUMN domain text;

UPDATE scopes s SET domain = d.domain
  FROM domains d WHERE d.domain_id = s.domain_id;
UPDATE policy_snapshots p SET domain = d.domain
  FROM domains d WHERE d.domain_id = p.domain_id;
UPDATE decision_events e SET domain = d.domain
  FROM domains d WHERE d.domain_id = e.domain_id;

ALTER TABLE scopes ALTER COLUMN domain SET NOT NULL;
ALTER TABLE policy_snapshots ALTER COLUMN domain SET NOT NULL;
ALTER TABLE decision_events ALTER COLUMN domain SET NOT NULL;

-- 3. scope_id: varchar(255) to text (binary-coercible: no rewrite).
ALTER TABLE scopes ALTER COLUMN scope_id TYPE text;
ALTER TABLE decision_events ALTER COLUMN scope_id TYPE text;

-- 4. Re-key: (organization_id, domain) replaces domain_id.
ALTER TABLE scopes DROP CONSTRAINT scopes_domain_id_fkey;
ALTER TABLE policy_snapshots DROP CONSTRAINT policy_snapshots_domain_id_fkey;
ALTER TABLE decision_events DROP CONSTRAINT decision_events_domain_id_fkey;
ALTER TABLE domains DROP CONSTRAINT domains_pkey;
ALTER TABLE domains DROP CONSTRAINT domains_org_name_key;
ALTER TABLE domains ADD CONSTRAINT domains_pkey PRIMARY KEY (organization_id, domain);

ALTER TABLE scopes ADD CONSTRAINT scopes_domain_fkey
    FOREIGN KEY (organization_id, domain) REFERENCES domains (organization_id, domain);
ALTER TABLE policy_snapshots ADD CONSTRAINT policy_snapshots_domain_fkey
    FOREIGN KEY (organization_id, domain) REFERENCES domains (organization_id, domain);
ALTER TABLE decision_events ADD CONSTRAINT decision_events_domain_fkey
    FOREIGN KEY (organization_id, domain) REFERENCES domains (organization_id, domain);

CREATE INDEX scopes_domain_idx ON scopes (organization_id, domain);
CREATE INDEX policy_snapshots_domain_idx ON policy_snapshots (organization_id, domain);
CREATE INDEX decision_events_domain_idx ON decision_events (organization_id, domain);

-- 5. Keep the old identifiers where the revert script can find them (the
-- runbook's own rollback is a restore from the backup, which loses every
-- row written since; the revert keeps them), then drop domain_id.
CREATE SCHEMA rfc002_rollback;
CREATE TABLE rfc002_rollback.domain_ids AS
    SELECT organization_id, domain, domain_id FROM domains;

ALTER TABLE scopes DROP COLUMN domain_id;
ALTER TABLE policy_snapshots DROP COLUMN domain_id;
ALTER TABLE decision_events DROP COLUMN domain_id;
ALTER TABLE domains DROP COLUMN domain_id;

-- 6. Governance: a scope_id embeds its domain's slug as its first label.
CREATE FUNCTION enforce_scope_domain_prefix() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF split_part(NEW.scope_id, '.', 1) <> NEW.domain THEN
        RAISE EXCEPTION 'GOVERNANCE VIOLATION: scope_id ''%'' does not embed domain prefix ''%''',
            NEW.scope_id, NEW.domain
            USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER scopes_domain_prefix
    BEFORE INSERT OR UPDATE OF scope_id, domain ON scopes
    FOR EACH ROW EXECUTE FUNCTION enforce_scope_domain_prefix();

-- 7. The execution record the runbook writes by hand.
INSERT INTO migration_log (migration_version, name, notes)
VALUES (8, '008_rfc002_domain_identity_migration', 'applied by skein');
