-- Owns: warming a connection for the fallback's second leg — the Cancelled read that records VALR's
-- word, inserts the market replacement and hands it over (record_batch, then hand_over_replacements, as
-- the worker calls them) — rehearsed p_rounds times on throwaway rows, each rehearsal undone. So the
-- first real fallback a connection records does not pay for it: a backend compiles every PL/pgSQL
-- function it reaches on its first call, and plans each of their statements anew for its first five
-- executions (PostgreSQL's custom plans) before it keeps one. Measured in the bench (figure 8, 73
-- Cancelled reads over the worker's 10 connections): the server's execute took 31.8 ms on a
-- connection's first fallback, 17.9 on its second, 11.5, 10.7, 7.1, then 4.0 from its seventh; a worker
-- that sees a fallback now and then records every one cold.
-- Nothing of a rehearsal remains: each runs in a subtransaction that is rolled back (its rows, its
-- order_events, its NOTIFYs and locks go with it; only sequence numbers are used up), on rows no one else
-- can see or lock — its own account, pair (no real pair's rules are read or changed),
-- worker, lease, session and orders. VALR's word on a real order is never rehearsed. Best effort: a
-- rehearsal that fails (a schema being migrated, a row colliding with its throwaway ones) is undone like
-- the others and the connection is only colder — but it is said, never swallowed: what fails a
-- rehearsal may fail a real fallback. Returns how many rehearsals reached the hand-over (a test holds
-- it to p_rounds) and `failure`, NULL when every one did, else the first failed one's SQLSTATE and
-- message (the message only: no DETAIL, which may quote a row's values) and how many failed; the
-- worker logs it at WARNING.
-- Only where a fallback may come: without an open order whose fallback is still to fire there is
-- nothing to warm for, and ~60-100 ms of server time per connection (a worker opens ten at its start)
-- is spent for nothing; a connection the pool opens later, or replaces (hourly), is rehearsed then.
-- Called by the worker on every new connection of its pool (worker/db/pool_check.py warm_up).
CREATE OR REPLACE FUNCTION lth_pvr.rehearse_replacement(
    p_rounds int,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (handed_over int, failure text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_worker   text := 'rehearsal:' || pg_backend_pid();
    v_pair     text := 'REHEARSAL' || pg_backend_pid();  -- no other connection's rehearsal waits on it
    v_handed   int := 0;
    v_failed   int := 0;
    v_first    text;
    v_undone   boolean;  -- the rehearsal ran to its end: the exception that follows is its own undoing
    v_account  uuid;
    v_order    uuid;
    v_open     uuid;
    v_session  bigint;
    v_ext      text;
    v_placed   jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM exchange_orders o
                    WHERE is_open(o.status)
                      AND (o.fallback_after IS NOT NULL OR o.fallback_price_move IS NOT NULL)
                      AND o.fallback_requested_at IS NULL) THEN
        RETURN QUERY SELECT 0, NULL::text;
        RETURN;
    END IF;
    FOR i IN 1 .. coalesce(p_rounds, 0) LOOP
        v_undone := false;
        BEGIN
            v_account := gen_random_uuid();
            v_order := gen_random_uuid();
            v_open := gen_random_uuid();
            v_ext := 'rehearsal-' || v_order;
            -- its own subaccount id (letters and digits, never VALR's numeric ids): an account's
            -- (exchange, key, subaccount) is unique, and the primary account ('') is usually there already
            INSERT INTO exchange_accounts (exchange_account_id, subaccount_id, label)
            VALUES (v_account, 'rehearsal' || pg_backend_pid(), v_worker);
            INSERT INTO pairs (exchange, pair, base_decimal_places, tick_size, active, refreshed_at)
            VALUES ('valr', v_pair, 8, 1, true, p_now);
            INSERT INTO workers (worker_id, started_at, last_seen_at) VALUES (v_worker, p_now, p_now)
                ON CONFLICT DO NOTHING;
            INSERT INTO subaccount_leases (exchange_account_id, worker_id, acquired_at, expires_at)
            VALUES (v_account, v_worker, p_now, 'infinity');
            INSERT INTO ws_sessions (exchange_account_id, worker_id, opened_at, authenticated_at)
            VALUES (v_account, v_worker, p_now, p_now) RETURNING session_id INTO v_session;
            INSERT INTO exchange_orders (exchange_order_id, exchange_account_id, intent_id, pair, side, price, qty,
                                         status, ext_order_id, created_at, updated_at)
            VALUES (v_order, v_account, gen_random_uuid(), v_pair, 'BUY', 1, 1, 'submitted', v_ext, p_now, p_now);
            -- another open order of the account, listed by the read's OPEN_ORDERS_UPDATE as VALR lists
            -- the orders still open after the cancel: the list's path is warmed too
            INSERT INTO exchange_orders (exchange_order_id, exchange_account_id, intent_id, pair, side, price, qty,
                                         status, ext_order_id, created_at, updated_at)
            VALUES (v_open, v_account, gen_random_uuid(), v_pair, 'BUY', 1, 1, 'submitted', v_ext || '-open', p_now, p_now);
            PERFORM request_fallback(v_order, 'age', NULL, NULL, p_now);
            PERFORM count(*) FROM record_batch(v_session, jsonb_build_array(
                jsonb_build_object('type', 'ORDER_STATUS_UPDATE', 'data', jsonb_build_object(
                    'orderId', v_ext, 'orderStatusType', 'Cancelled', 'currencyPair', v_pair,
                    'originalPrice', '1', 'originalQuantity', '1', 'remainingQuantity', '1',
                    'orderSide', 'buy', 'orderType', 'limit', 'failedReason', '',
                    'orderUpdatedAt', p_now, 'orderCreatedAt', p_now)),
                jsonb_build_object('type', 'OPEN_ORDERS_UPDATE', 'data', jsonb_build_array(jsonb_build_object(
                    'orderId', v_ext || '-open', 'side', 'buy', 'quantity', '1', 'price', '1', 'currencyPair', v_pair,
                    'originalQuantity', '1', 'status', 'Placed', 'updatedAt', p_now, 'type', 'limit')))), p_now);
            v_placed := hand_over_replacements(v_session, ARRAY[v_order], p_now);
            IF jsonb_array_length(v_placed) = 0 THEN
                RAISE EXCEPTION 'the Cancelled read handed over no replacement' USING ERRCODE = 'no_data_found';
            END IF;
            v_handed := v_handed + jsonb_array_length(v_placed);
            v_undone := true;
            RAISE EXCEPTION 'rehearsal undone';
        EXCEPTION WHEN OTHERS THEN  -- undone: the rehearsal's rows, events and notifications with it
            IF NOT v_undone THEN
                v_failed := v_failed + 1;
                v_first := coalesce(v_first, 'SQLSTATE ' || SQLSTATE || ': ' || left(SQLERRM, 300));
            END IF;
        END;
    END LOOP;
    RETURN QUERY SELECT v_handed, CASE WHEN v_failed > 0
        THEN format('%s of %s rehearsals failed; the first: %s', v_failed, p_rounds, v_first) END;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.rehearse_replacement(int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.rehearse_replacement(int, timestamptz) TO valr_worker;
