-- Scans the table under SHARE UPDATE EXCLUSIVE: reads and writes go on.
ALTER TABLE report_runs VALIDATE CONSTRAINT report_runs_business_date_not_null;
