-- Owns: one VALR balance (BALANCE_UPDATE data or an item of GET /v1/account/balances) as the
-- balances row it records; NULL (malformed) without a currency code, available, reserved, total
-- (exact decimals) or a readable updatedAt. Never raises. Shared by record_balances and
-- record_ledger_frames (the frame's outcome).
CREATE OR REPLACE FUNCTION lth_pvr.ledger_balance_row(
    p_exchange_account_id uuid,
    p_source text,
    p_item jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS lth_pvr.balances
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    r lth_pvr.balances;
BEGIN
    IF jsonb_typeof(p_item) <> 'object' THEN
        RETURN NULL;
    END IF;
    r.exchange_account_id := p_exchange_account_id;
    r.currency := lth_pvr.ledger_currency(p_item->'currency');
    r.available := lth_pvr.json_numeric(p_item->'available');
    r.reserved := lth_pvr.json_numeric(p_item->'reserved');
    r.total := lth_pvr.json_numeric(p_item->'total');
    r.updated_at := lth_pvr.json_time(p_item->'updatedAt');
    r.recorded_at := p_now;
    r.source := p_source;
    r.raw := p_item;
    IF r.currency IS NULL OR r.available IS NULL OR r.reserved IS NULL OR r.total IS NULL OR r.updated_at IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN r;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_balance_row(uuid, text, jsonb, timestamptz) FROM PUBLIC;
