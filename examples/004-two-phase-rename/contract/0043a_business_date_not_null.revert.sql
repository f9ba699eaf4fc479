ALTER TABLE report_runs DROP CONSTRAINT IF EXISTS report_runs_business_date_not_null;
