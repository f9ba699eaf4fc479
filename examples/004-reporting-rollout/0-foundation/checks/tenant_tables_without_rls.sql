-- SERVICE_READINESS: every tenant-scoped table has RLS on.
SELECT count(*)
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
 WHERE c.relkind = 'r' AND c.relname LIKE 'report%' AND NOT c.relrowsecurity
