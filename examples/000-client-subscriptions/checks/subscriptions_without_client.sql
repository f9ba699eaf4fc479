SELECT count(*) AS subscriptions_without_client
  FROM service_subscriptions
 WHERE client_id IS NULL;
