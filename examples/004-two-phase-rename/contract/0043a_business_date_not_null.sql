-- run_date was NOT NULL; business_date was added without it (an expand
-- adds a plain column). NOT VALID: the lock is held for a catalog change
-- only, and new rows are checked from now on.
ALTER TABLE report_runs
    ADD CONSTRAINT report_runs_business_date_not_null
    CHECK (business_date IS NOT NULL) NOT VALID;
