-- Exit criterion of every phase: no report run missed its cutoff.
SELECT count(*) FROM report_runs WHERE status = 'missed'
