"""The fallback's statements run no SQL-language function left uninlined (one that is — a SET clause, a
FROM or a sub-select in its body — is parsed and planned again on every call from PL/pgSQL):
the Cancelled read that inserts, claims and stamps the replacement (record_batch with
hand_over_replacements), and the price read that fires a fallback and claims its cancel
(record_market_prices with hand_over_cancels). Measured once the plans are cached. The SQL functions
that cannot be inlined — allow_status_change (the volatile set_config), status_transition_is_legal and
market_order_price (sub-selects) — are PL/pgSQL since 2026-12-07, their plans kept for the session.
price_fallback_crossing is inlined too (no SET clause). Its inlined form once fired a BUY on an ask
below its threshold (test_sql_fallback): price_triggered_orders' `fired` rows were a plain CTE, so the
planner was free to call request_fallback (which writes) on a row before the crossing's `confirmed`
test; `fired` is MATERIALIZED now."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from tests.support.sql import at, cancelled, fallback_order, fire_age, make_account, open_session, rows
from tests.test_cancel_hand_over import price_frame
from tests.test_sql_perf_recording import sql_function_calls

CANCELLED_READ = """WITH b AS MATERIALIZED (SELECT * FROM lth_pvr.record_batch(%s, %s, %s))
                    SELECT lth_pvr.hand_over_replacements(%s, array_agg(b.exchange_order_id)
                                                          FILTER (WHERE lth_pvr.is_final(b.new_status)), %s) FROM b"""
PRICE_READ = """WITH f AS MATERIALIZED (SELECT * FROM lth_pvr.record_market_prices(%s, 'ws', %s))
                SELECT lth_pvr.hand_over_cancels('w1', array_agg(f.exchange_order_id), %s) FROM f"""


def uninlined_calls(postgresql, statements: list) -> tuple[dict[str, int], object]:
    """SQL-language function calls of the last statement, the others run first (plans cached); and
    what the last statement handed over."""
    with postgresql.transaction():
        postgresql.execute("SET LOCAL track_functions = 'all'")
        for query, params in statements[:-1]:
            rows(postgresql, query, params)
        before = sql_function_calls(postgresql)
        [last] = rows(postgresql, *statements[-1])
        after = sql_function_calls(postgresql)
    calls = {name: n - before.get(name, 0) for name, n in after.items() if n > before.get(name, 0)}
    return calls, next(iter(last.values()))


def test_the_cancelled_read_that_places_the_replacement(postgresql):
    reads = []
    for _ in range(7):
        account = make_account(postgresql)
        order_id, ext = fallback_order(postgresql, account, after="5 minutes")
        fire_age(postgresql, order_id)
        session = open_session(postgresql, account)
        frames = Jsonb([{"type": "ORDER_STATUS_UPDATE", "data": cancelled(ext, remaining="0.001")}])
        reads.append((CANCELLED_READ, (session, frames, at(minutes=7), session, at(minutes=7))))
    calls, handed_over = uninlined_calls(postgresql, reads)
    assert calls == {}
    assert [p["order_type"] for p in handed_over] == ["market"]


def test_the_price_read_that_fires_a_fallback(postgresql):
    reads = []
    for i in range(7):  # order i's threshold lies between jump i - 1 and jump i: each jump fires one order
        account = make_account(postgresql)
        fallback_order(postgresql, account, price="1000000", move=f"0.0{i + 1}")
        now = at(minutes=1 + i)
        reads.append((PRICE_READ, (Jsonb([price_frame(str(1_015_000 + 10_000 * i), now)]), now, now)))
    calls, handed_over = uninlined_calls(postgresql, reads)
    assert calls == {}
    assert len(handed_over) == 1  # the fired order's cancel, claimed in the same statement
