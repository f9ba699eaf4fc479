-- 0010: webhook deduplication and crypto payments.

-- Every provider delivery is recorded once: a redelivered event hits the
-- unique key and the handler skips it. Not tenant data: events arrive
-- before anyone knows which community they belong to.
CREATE TABLE webhook_events (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    provider          text        NOT NULL,
    provider_event_id text        NOT NULL,
    event_type        text        NOT NULL,
    payload           jsonb       NOT NULL DEFAULT '{}',
    received_at       timestamptz NOT NULL DEFAULT now(),
    processed_at      timestamptz,
    CONSTRAINT webhook_events_dedup UNIQUE (provider, provider_event_id),
    CONSTRAINT webhook_events_provider_known
        CHECK (provider IN ('nowpayments', 'stripe', 'paddle'))
);

CREATE TABLE crypto_payments (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    community_id  uuid        NOT NULL,
    provider      text        NOT NULL DEFAULT 'nowpayments',
    payment_id    text        NOT NULL,
    amount_micro  bigint      NOT NULL,
    currency      text        NOT NULL,
    status        text        NOT NULL DEFAULT 'waiting',
    lot_id        uuid        REFERENCES credit_lots (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT crypto_payments_provider_payment UNIQUE (provider, payment_id),
    CONSTRAINT crypto_payments_amount_positive CHECK (amount_micro > 0),
    CONSTRAINT crypto_payments_status_known CHECK (status IN (
        'waiting', 'confirming', 'confirmed', 'sending', 'partially_paid',
        'finished', 'failed', 'expired', 'refunded'))
);

CREATE INDEX crypto_payments_community_idx ON crypto_payments (community_id);

ALTER TABLE crypto_payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE crypto_payments FORCE ROW LEVEL SECURITY;
CREATE POLICY crypto_payments_tenant_isolation ON crypto_payments
    USING (community_id = nullif(current_setting('app.community_id', true), '')::uuid)
    WITH CHECK (community_id = app.current_community_id());

-- A payment's status only moves forward: a late or replayed webhook must
-- never take a finished payment back to "waiting" (and mint credit twice).
-- Terminal states are final, except that a finished payment may be refunded.
CREATE FUNCTION enforce_payment_status_monotonicity() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    rank_old int;
    rank_new int;
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    rank_old := CASE OLD.status
        WHEN 'waiting' THEN 0 WHEN 'confirming' THEN 1 WHEN 'confirmed' THEN 2
        WHEN 'sending' THEN 3 WHEN 'partially_paid' THEN 4 ELSE 5 END;
    rank_new := CASE NEW.status
        WHEN 'waiting' THEN 0 WHEN 'confirming' THEN 1 WHEN 'confirmed' THEN 2
        WHEN 'sending' THEN 3 WHEN 'partially_paid' THEN 4 ELSE 5 END;
    IF rank_new <= rank_old AND NOT (OLD.status = 'finished' AND NEW.status = 'refunded') THEN
        RAISE EXCEPTION 'PAYMENT_STATUS_REGRESSION: payment % cannot go from % to %',
            OLD.payment_id, OLD.status, NEW.status
            USING ERRCODE = 'P0001';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER crypto_payments_status_monotonic
    BEFORE UPDATE OF status ON crypto_payments
    FOR EACH ROW EXECUTE FUNCTION enforce_payment_status_monotonicity();

GRANT SELECT, INSERT ON webhook_events TO arrakis_app;
GRANT UPDATE (processed_at) ON webhook_events TO arrakis_app;
GRANT SELECT, INSERT ON crypto_payments TO arrakis_app;
GRANT UPDATE (status, lot_id) ON crypto_payments TO arrakis_app;
