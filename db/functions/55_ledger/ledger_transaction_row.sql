-- Owns: one VALR transaction (a NEW_ACCOUNT_HISTORY_RECORD's data, or an item of GET
-- /v1/account/transactionhistory) as the account_transactions row it records, values exactly as
-- VALR gives them: numbers as exact decimals (strings or JSON numbers), currencies as codes
-- (ledger_currency), eventAt to VALR's precision; the whole item kept in `raw`.
-- NULL (malformed: recorded nowhere, counted by the caller) when the item lacks its id, its
-- transactionType.type or a readable eventAt, or a value present is unreadable or negative, or a
-- value comes without its currency. Never raises.
CREATE OR REPLACE FUNCTION lth_pvr.ledger_transaction_row(
    p_exchange_account_id uuid,
    p_source text,
    p_item jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS lth_pvr.account_transactions
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    r lth_pvr.account_transactions;
BEGIN
    IF jsonb_typeof(p_item) <> 'object' THEN
        RETURN NULL;
    END IF;
    r.transaction_id := left(lth_pvr.json_text(p_item->'id'), 200);
    r.exchange_account_id := p_exchange_account_id;
    r.transaction_type := left(coalesce(lth_pvr.json_text(p_item->'transactionType'->'type'),
                                        lth_pvr.json_text(p_item->'transactionType')), 100);
    r.description := left(lth_pvr.json_text(p_item->'transactionType'->'description'), 200);
    r.debit_currency := lth_pvr.ledger_currency(p_item->'debitCurrency');
    r.debit_value := lth_pvr.json_numeric(p_item->'debitValue');
    r.credit_currency := lth_pvr.ledger_currency(p_item->'creditCurrency');
    r.credit_value := lth_pvr.json_numeric(p_item->'creditValue');
    r.fee_currency := lth_pvr.ledger_currency(p_item->'feeCurrency');
    r.fee_value := lth_pvr.json_numeric(p_item->'feeValue');
    r.event_at := lth_pvr.json_time(p_item->'eventAt');
    r.additional_info := CASE WHEN jsonb_typeof(p_item->'additionalInfo') = 'object' THEN p_item->'additionalInfo' END;
    r.raw := p_item;
    r.source := p_source;
    r.recorded_at := p_now;
    IF r.transaction_id IS NULL OR r.transaction_type IS NULL OR r.event_at IS NULL
       OR (p_item ? 'debitValue' AND (r.debit_value IS NULL OR r.debit_value < 0 OR (r.debit_value > 0 AND r.debit_currency IS NULL)))
       OR (p_item ? 'creditValue' AND (r.credit_value IS NULL OR r.credit_value < 0 OR (r.credit_value > 0 AND r.credit_currency IS NULL)))
       OR (p_item ? 'feeValue' AND (r.fee_value IS NULL OR r.fee_value < 0 OR (r.fee_value > 0 AND r.fee_currency IS NULL))) THEN
        RETURN NULL;
    END IF;
    RETURN r;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_transaction_row(uuid, text, jsonb, timestamptz) FROM PUBLIC;
