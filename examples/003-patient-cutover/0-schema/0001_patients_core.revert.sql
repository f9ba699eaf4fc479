DROP TABLE outbox, idempotency_keys, documents, events, cases, patients,
    tenant_directory, tenants;
