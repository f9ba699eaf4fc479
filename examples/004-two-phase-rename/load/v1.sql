-- reporting-service v1, the release before 0042: it knows run_date only.
-- pgbench -D rows=N (the fixture's row count) drives it: a run requested
-- for a business day, a queued run moved to another day (a runDate
-- override), a run finishing, a hotel's runs of a day read back. Its
-- rows carry template_version 3.
\set id random(1, :rows)
\set day random(0, 699)
\set hotel random(0, 39)
INSERT INTO report_runs (tenant_id, template_id, template_version, run_date) VALUES (md5('hotel-' || :hotel)::uuid, 'night-audit', 3, DATE '2025-01-01' + :day);
UPDATE report_runs SET run_date = DATE '2025-01-01' + :day, status = 'queued' WHERE id = :id;
UPDATE report_runs SET status = 'succeeded', finished_at = now(), artifact_bytes = 40000 + :day WHERE id = :id;
SELECT count(*) FROM report_runs WHERE tenant_id = md5('hotel-' || :hotel)::uuid AND run_date = DATE '2025-01-01' + :day;
