-- The runbook's step 7: "This should FAIL (uppercase not allowed)":
-- new row for relation "domains" violates check constraint.
INSERT INTO domains (organization_id, domain)
VALUES ('00000000-0000-0000-0000-000000000001', 'TEST-DOMAIN');
