-- Back to NOT VALID, as after 0043a.
ALTER TABLE report_runs DROP CONSTRAINT IF EXISTS report_runs_business_date_not_null;
ALTER TABLE report_runs
    ADD CONSTRAINT report_runs_business_date_not_null
    CHECK (business_date IS NOT NULL) NOT VALID;
