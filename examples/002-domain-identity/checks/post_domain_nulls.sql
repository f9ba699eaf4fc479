-- Verification checklist: "No NULL domains".
SELECT (SELECT count(*) FROM domains WHERE domain IS NULL)
     + (SELECT count(*) FROM scopes WHERE domain IS NULL)
     + (SELECT count(*) FROM policy_snapshots WHERE domain IS NULL)
     + (SELECT count(*) FROM decision_events WHERE domain IS NULL) AS domain_nulls;
