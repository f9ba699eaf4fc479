DROP TABLE outbox, regulatory_index, police_submissions, invoices, bookings,
    tenant_directory, tenants;
