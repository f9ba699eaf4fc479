-- "all four new tables exist" (the runbook's four to_regclass queries).
SELECT count(to_regclass(t))
  FROM unnest(ARRAY['public.clients', 'public.client_users',
                    'public.service_subscriptions', 'public.entitlements']) AS t;
