-- 008_POST_MIGRATION_VERIFICATION, verification 2: the domain column of
-- each table is text (4 tables).
SELECT count(*) AS domain_columns_text
  FROM information_schema.columns
 WHERE table_schema = 'public' AND column_name = 'domain' AND data_type = 'text'
   AND table_name IN ('domains', 'scopes', 'policy_snapshots', 'decision_events');
