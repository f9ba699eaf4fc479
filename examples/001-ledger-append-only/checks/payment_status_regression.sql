-- Invariant: crypto_payments' status monotonicity trigger. A finished
-- payment taken back to "waiting" (a replayed webhook) must raise P0001.
-- Runs in a savepoint skein always rolls back: the payment is not kept.
DO $$
DECLARE
    p uuid;
BEGIN
    INSERT INTO crypto_payments (community_id, payment_id, amount_micro, currency, status)
    VALUES ('a0000000-0000-4000-8000-00000000000a', 'probe-regression', 5000000, 'usdc', 'finished')
    RETURNING id INTO p;
    UPDATE crypto_payments SET status = 'waiting' WHERE id = p;
END
$$;
