-- Tables in public with a community_id column whose row-level security is
-- not both enabled and forced (forced: the table owner is filtered too).
SELECT count(*)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'r'
   AND EXISTS (SELECT 1 FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attname = 'community_id'
                  AND NOT a.attisdropped)
   AND NOT (c.relrowsecurity AND c.relforcerowsecurity);
