-- Every row must be true, or the step rolls back.
SELECT to_regclass('public.clients') IS NOT NULL;
SELECT relrowsecurity FROM pg_class WHERE oid = 'public.clients'::regclass;
