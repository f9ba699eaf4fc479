-- The runbook's down path: "removes clients, client_users,
-- service_subscriptions, and entitlements".
DROP TABLE IF EXISTS entitlements;
DROP TABLE IF EXISTS service_subscriptions;
DROP TABLE IF EXISTS client_users;
DROP TABLE IF EXISTS clients;
