SELECT count(*) AS entitlements_without_subscription
  FROM entitlements
 WHERE subscription_id IS NULL;
