-- Owns: crypto deposits still confirming (NEW_PENDING_RECEIVE, sent on every change of its
-- confirmations), keyed by account, transactionHash and indexInTx (-1 when absent): confirmations
-- only grow, `confirmed` once true stays true. Kept after the credit: credited_transaction_id names
-- the BLOCKCHAIN_RECEIVE with the same transactionHash (set here when it arrived first, else by
-- record_transactions); v_deposits lists the uncredited ones. Items without a hash, a currency or a
-- non-negative amount are skipped. Returns the rows written. Internal: record_ledger_frames.
CREATE OR REPLACE FUNCTION lth_pvr.record_pending_receives(
    p_exchange_account_id uuid,
    p_items jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    v_n int;
BEGIN
    IF jsonb_typeof(p_items) <> 'array' THEN
        RETURN 0;
    END IF;
    INSERT INTO lth_pvr.pending_receives AS p
        (exchange_account_id, transaction_hash, index_in_tx, currency, amount, confirmations, confirmed,
         receive_address, network_type, created_at, updated_at, raw, credited_transaction_id)
    SELECT DISTINCT ON (x.hash, x.idx) p_exchange_account_id, x.hash, x.idx, x.currency, x.amount,
           x.confirmations, x.confirmed, left(lth_pvr.json_text(x.item->'receiveAddress'), 200),
           left(lth_pvr.json_text(x.item->'networkType'), 100), lth_pvr.json_time(x.item->'createdAt'), p_now,
           x.item,
           (SELECT t.transaction_id FROM lth_pvr.account_transactions t
             WHERE t.exchange_account_id = p_exchange_account_id
               AND t.additional_info->>'transactionHash' = x.hash
               AND lth_pvr.deposit_kind(t.transaction_type, t.credit_value, t.debit_value) = 'crypto'
             LIMIT 1)
      FROM (SELECT e.item, e.n, left(lth_pvr.json_text(e.item->'transactionHash'), 200) AS hash,
                   coalesce(CASE WHEN lth_pvr.json_numeric(e.item->'indexInTx') BETWEEN 0 AND 2147483647
                                 THEN trunc(lth_pvr.json_numeric(e.item->'indexInTx'))::int END, -1) AS idx,
                   lth_pvr.ledger_currency(e.item->'currency') AS currency,
                   lth_pvr.json_numeric(e.item->'amount') AS amount,
                   CASE WHEN lth_pvr.json_numeric(e.item->'confirmations') BETWEEN 0 AND 2147483647
                        THEN trunc(lth_pvr.json_numeric(e.item->'confirmations'))::int END AS confirmations,
                   coalesce(e.item->'confirmed' = 'true'::jsonb, false) AS confirmed
              FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(item, n)
             WHERE jsonb_typeof(e.item) = 'object') x
     WHERE x.hash IS NOT NULL AND x.currency IS NOT NULL AND x.amount >= 0
     ORDER BY x.hash, x.idx, x.confirmations DESC NULLS LAST, x.n DESC
    ON CONFLICT (exchange_account_id, transaction_hash, index_in_tx) DO UPDATE
       SET confirmations = greatest(p.confirmations, excluded.confirmations),
           confirmed = p.confirmed OR excluded.confirmed, updated_at = excluded.updated_at, raw = excluded.raw,
           credited_transaction_id = coalesce(p.credited_transaction_id, excluded.credited_transaction_id);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_pending_receives(uuid, jsonb, timestamptz) FROM PUBLIC;
