SELECT count(*) AS tenants_without_client
  FROM tenants
 WHERE client_id IS NULL;
