-- reporting-service v2, deployed once the expand (0042) has succeeded
-- everywhere: it writes and reads business_date only; the sync trigger
-- fills run_date for the v1 instances still running. Its rows carry
-- template_version 4. pgbench -D rows=N, as v1.sql.
\set id random(1, :rows)
\set day random(0, 699)
\set hotel random(0, 39)
INSERT INTO report_runs (tenant_id, template_id, template_version, business_date) VALUES (md5('hotel-' || :hotel)::uuid, 'night-audit', 4, DATE '2025-01-01' + :day);
UPDATE report_runs SET business_date = DATE '2025-01-01' + :day, status = 'queued' WHERE id = :id;
UPDATE report_runs SET status = 'succeeded', finished_at = now(), artifact_bytes = 40000 + :day WHERE id = :id;
SELECT count(*) FROM report_runs WHERE tenant_id = md5('hotel-' || :hotel)::uuid AND business_date = DATE '2025-01-01' + :day;
