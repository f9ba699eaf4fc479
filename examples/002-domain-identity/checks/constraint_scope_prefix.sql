-- The runbook's step 8: "This should FAIL (domain prefix mismatch)":
-- ERROR: GOVERNANCE VIOLATION (raised by the scopes_domain_prefix trigger).
INSERT INTO scopes (scope_id, domain, organization_id, owning_team)
VALUES ('wrong-domain.prod.service.agent', 'test-domain',
        '00000000-0000-0000-0000-000000000001', 'Team');
