-- Owns: one ccxt entry — a unified ledger entry (fetch_ledger: `id`, `direction` in/out, `type`
-- trade/transaction/fee/transfer/rebate/…, `currency`, `amount`, `status`, `fee`, `timestamp`,
-- `referenceId`, `account`, `before`, `after`) or a unified transaction (fetch_deposits,
-- fetch_withdrawals: `id`, `txid`, `type` deposit/withdrawal, `amount`, `currency`, `network`,
-- `status` ok/pending/failed/canceled, `fee`, `timestamp`) — as the VALR-shaped history item
-- ledger_transaction_row reads, so every rule of the VALR ledger (dedupe by id per exchange, deposit
-- kinds, the NOTIFY, pending receives) applies unchanged. Words (transaction_types):
--   a deposit or withdrawal (ledger type transaction/deposit/withdrawal): crypto when it carries a txid,
--   a network or an address, or its currency is not a fiat code → BLOCKCHAIN_RECEIVE / BLOCKCHAIN_SEND;
--   else FIAT_DEPOSIT / FIAT_WITHDRAWAL; trade → TRADE; fee → TRADING_FEE; transfer →
--   INTERNAL_TRANSFER (a credit is an internal deposit, as VALR's); rebate/cashback/referral → REWARD;
--   any other word upper-cased as given (recorded, and alerted by ledger_unknown_transaction_type).
-- The amount is a credit (direction in, or a deposit) or a debit (out, a withdrawal; a negative amount
-- without a direction is out). additionalInfo keeps transactionHash (the txid, else the id: how a
-- pending deposit is credited), status, referenceId, network, address and ccxt's whole entry.
-- Returns NULL for an entry that is not the exchange's final word (status other than ok; a ledger
-- entry without a status is a posting: ok) and for a non-object.
CREATE OR REPLACE FUNCTION lth_pvr.ccxt_transaction_item(p_entry jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_kind   text := lower(lth_pvr.json_text(p_entry->'type'));
    v_amount numeric := lth_pvr.json_numeric(p_entry->'amount');
    v_cur    text := lth_pvr.json_text(p_entry->'currency');
    v_in     boolean;
    v_crypto boolean;
    v_type   text;
BEGIN
    IF jsonb_typeof(p_entry) <> 'object'
       OR coalesce(lth_pvr.json_text(p_entry->'status'), CASE WHEN p_entry ? 'direction' THEN 'ok' END)
          IS DISTINCT FROM 'ok' THEN
        RETURN NULL;
    END IF;
    v_in := CASE lower(lth_pvr.json_text(p_entry->'direction'))
                WHEN 'in' THEN true WHEN 'out' THEN false
                ELSE CASE v_kind WHEN 'deposit' THEN true WHEN 'withdrawal' THEN false ELSE v_amount >= 0 END
            END;
    v_crypto := coalesce(lth_pvr.json_text(p_entry->'txid'), lth_pvr.json_text(p_entry->'network'),
                         lth_pvr.json_text(p_entry->'address')) IS NOT NULL
                OR upper(coalesce(v_cur, '')) NOT IN ('USD', 'EUR', 'GBP', 'ZAR', 'CAD', 'AUD', 'JPY', 'CHF', 'NZD',
                                                      'SGD', 'HKD', 'BRL', 'TRY', 'NGN', 'PLN', 'AED', 'MXN');
    v_type := CASE
        WHEN v_kind IN ('transaction', 'deposit', 'withdrawal') THEN
            CASE WHEN v_in THEN CASE WHEN v_crypto THEN 'BLOCKCHAIN_RECEIVE' ELSE 'FIAT_DEPOSIT' END
                 ELSE CASE WHEN v_crypto THEN 'BLOCKCHAIN_SEND' ELSE 'FIAT_WITHDRAWAL' END END
        WHEN v_kind = 'trade' THEN 'TRADE'
        WHEN v_kind = 'fee' THEN 'TRADING_FEE'
        WHEN v_kind = 'transfer' THEN 'INTERNAL_TRANSFER'
        WHEN v_kind IN ('rebate', 'cashback', 'referral') THEN 'REWARD'
        ELSE upper(v_kind)
    END;
    -- Absent, not null, at the top: ledger_transaction_row reads a present value as one to check.
    RETURN (SELECT jsonb_object_agg(f.key, f.value) FROM jsonb_each(jsonb_build_object(
        'id', p_entry->'id',
        'transactionType', jsonb_build_object('type', v_type, 'description', 'ccxt ' || v_kind),
        CASE WHEN v_in THEN 'creditValue' ELSE 'debitValue' END, abs(v_amount),
        CASE WHEN v_in THEN 'creditCurrency' ELSE 'debitCurrency' END, v_cur,
        'feeValue', lth_pvr.json_numeric(p_entry->'fee'->'cost'),
        'feeCurrency', lth_pvr.json_text(p_entry->'fee'->'currency'),
        'eventAt', p_entry->'timestamp',
        'additionalInfo', jsonb_build_object(
            'transactionHash', coalesce(lth_pvr.json_text(p_entry->'txid'), lth_pvr.json_text(p_entry->'id')),
            'status', p_entry->'status', 'referenceId', p_entry->'referenceId', 'network', p_entry->'network',
            'address', p_entry->'address', 'ccxt', p_entry))) f
             WHERE f.value <> 'null'::jsonb);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.ccxt_transaction_item(jsonb) FROM PUBLIC;
