-- The index v2's reads use ("a hotel's runs of a business day"), as
-- report_runs_tenant_run_date_idx serves v1's. Concurrently: writes go on.
CREATE INDEX CONCURRENTLY IF NOT EXISTS report_runs_tenant_business_date_idx
    ON report_runs (tenant_id, business_date);
