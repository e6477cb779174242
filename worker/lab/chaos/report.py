"""The chaos soak's figures beyond truth.check(): how long the database lagged the exchange, what
recovery cost in REST calls, and the full story of the first order that differs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import psycopg

from worker.lab.truth import EXPECTED_STATUS, TruthCheck

PUBLIC_PREFIX = "GET /v1/public/"
PLACEMENT = "POST /v1/orders/limit"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def lag_figures(conn: psycopg.Connection, truth: dict) -> dict:
    """For every change on the exchange (an order placed, an order's final status, a trade), the time
    from its ground-truth timestamp to the database showing it: the order `submitted` (first
    applied event or submitted_at), its final status applied, the fill recorded. Early answers (the
    202 arrives before VALR's own "Placed" stamp) count as 0."""
    orders = {r[0]: r for r in conn.execute(
        "SELECT customer_order_id::text, exchange_order_id, submitted_at FROM lth_pvr.exchange_orders").fetchall()}
    applied: dict[tuple[str, str], datetime] = {}
    for intent, status, at in conn.execute(
            """SELECT o.customer_order_id::text, e.new_status, min(e.received_at)
                 FROM lth_pvr.order_events e JOIN lth_pvr.exchange_orders o USING (exchange_order_id)
                WHERE e.outcome = 'applied' GROUP BY 1, 2""").fetchall():
        applied[(intent, status)] = at
    recorded = dict(conn.execute("SELECT trade_id, recorded_at FROM lth_pvr.order_fills").fetchall())

    lags: list[tuple[float, str, str, float]] = []   # (seconds, kind, what, exchange epoch seconds)
    for order in truth["orders"]:
        cid = order["customerOrderId"]
        row = orders.get(cid)
        if row is None:
            continue
        first_open = next((h for h in order["history"] if EXPECTED_STATUS.get(h["status"]) == "submitted"), None)
        shown = applied.get((cid, "submitted")) or row[2]
        if first_open is not None and shown is not None:
            at = parse_iso(first_open["at"])
            lags.append(((shown - at).total_seconds(), "placed", cid, at.timestamp()))
        final = EXPECTED_STATUS.get(order["status"])
        if final in ("filled", "cancelled", "failed"):
            at = next((h["at"] for h in order["history"] if h["status"] == order["status"]), order["updatedAt"])
            shown = applied.get((cid, final))
            if shown is not None:
                lags.append(((shown - parse_iso(at)).total_seconds(), "final_status", cid, parse_iso(at).timestamp()))
    for trade in truth["trades"]:
        at = recorded.get(trade["id"])
        if at is not None:
            traded = parse_iso(trade["tradedAt"])
            lags.append(((at - traded).total_seconds(), "fill", trade["customerOrderId"], traded.timestamp()))

    values = sorted(max(0.0, s) for s, _, _, _ in lags)
    worst = max(lags, default=(0.0, None, None, None))
    by_kind = {kind: round(max((max(0.0, s) for s, k, _, _ in lags if k == kind), default=0.0), 3)
               for kind in ("placed", "final_status", "fill")}
    return {
        "max_lag_s": round(max(0.0, worst[0]), 3),
        "max_lag_kind": worst[1], "max_lag_order": worst[2],
        "lag_p50_s": round(_quantile(values, 0.50), 3),
        "lag_p95_s": round(_quantile(values, 0.95), 3),
        "lag_p99_s": round(_quantile(values, 0.99), 3),
        "max_lag_by_kind_s": by_kind,
        "lag_samples": len(values),
        "samples": lags,
    }


# A change on the exchange counts under the latest fault that began before it, while that fault lasted
# or within this long after (recovery takes a moment); otherwise under "no fault".
FAULT_SHADOW_S = 30.0


def lag_by_fault_class(samples: list[tuple[float, str, str, float]], records: list) -> dict[str, dict]:
    """The lag distribution per fault class: each sample under the fault it happened in the shadow of."""
    spans = sorted(((r.wall, r.wall + ((r.until_s - r.at_s) if r.until_s is not None else 0.0) + FAULT_SHADOW_S,
                     r.kind) for r in records), key=lambda span: span[0])
    by_class: dict[str, list[float]] = {}
    for seconds, _, _, at in samples:
        kind = next((k for begin, end, k in reversed(spans) if begin <= at <= end), "no fault")
        by_class.setdefault(kind, []).append(max(0.0, seconds))
    out = {}
    for kind, values in sorted(by_class.items()):
        values.sort()
        out[kind] = {"n": len(values), "p50_s": round(_quantile(values, 0.5), 3),
                     "p95_s": round(_quantile(values, 0.95), 3), "p99_s": round(_quantile(values, 0.99), 3),
                     "max_s": round(values[-1], 3)}
    return out


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))]


def rest_figures(counters: dict, truth: dict) -> dict:
    """REST calls beyond the one placement each accepted order needs: every lookup, reconciliation,
    poll, trade-history page, and every call refused by an injected 429/5xx."""
    rest = counters.get("rest", {})
    signed = {route: n for route, n in rest.items() if not route.startswith(PUBLIC_PREFIX)}
    accepted = len(truth["orders"])
    return {
        "recovery_rest_calls": sum(signed.values()) - accepted,
        "placement_posts": signed.get(PLACEMENT, 0),
        "placements_accepted": accepted,
        "rest_by_endpoint": dict(sorted(rest.items())),
        "ws_connections": counters.get("ws_connections"),
        "ws_refused": counters.get("ws_refused"),
    }


def first_problem_order(check: TruthCheck, truth: dict) -> str | None:
    """The customerOrderId (an original's = its intent_id) of the first differing order, fills resolved to their order."""
    by_trade = {t["id"]: t["customerOrderId"] for t in truth["trades"]}
    for cid in check.placed_twice + check.not_in_database:
        return cid
    for text in check.status_mismatch:
        return text.split(":", 1)[0]
    for trade_id in check.fills_lost + check.fills_doubled:
        return by_trade.get(trade_id, trade_id)
    return None


def order_story(conn: psycopg.Connection, truth: dict, cid: str) -> list[str]:
    """Everything known about one order: the database row, its event log, its fills, and the
    exchange's ground truth (status history and trades)."""
    lines = [f"order customerOrderId {cid} (every order of its intent)"]
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    try:
        rows = cur.execute(
            """SELECT exchange_order_id, status, filled_qty, ext_order_id, created_at, submitted_at, updated_at,
                      requires_polling, poll_count, failed_reason
                 FROM lth_pvr.exchange_orders
                WHERE intent_id = (SELECT intent_id FROM lth_pvr.exchange_orders WHERE customer_order_id::text = %s)
                ORDER BY created_at""", (cid,)).fetchall()
    except psycopg.Error as exc:
        return lines + [f"  (database unreadable: {exc})"]
    for row in rows:
        lines.append("  database: " + ", ".join(f"{k}={v}" for k, v in row.items()))
        for e in cur.execute(
                """SELECT event_id, received_at, source, kind, outcome, old_status, new_status, exchange_time, detail
                     FROM lth_pvr.order_events WHERE exchange_order_id = %s ORDER BY event_id""",
                (row["exchange_order_id"],)).fetchall():
            lines.append(f"    event {e['event_id']} {e['received_at']:%H:%M:%S.%f} {e['source']}/{e['kind']} "
                         f"{e['outcome']} {e['old_status']}->{e['new_status']}"
                         + (f" exchange_time={e['exchange_time']:%H:%M:%S.%f}" if e["exchange_time"] else "")
                         + (f" ({e['detail']})" if e["detail"] else ""))
        for f in cur.execute(
                "SELECT trade_id, qty, price, source, traded_at, recorded_at FROM lth_pvr.order_fills "
                "WHERE exchange_order_id = %s ORDER BY traded_at", (row["exchange_order_id"],)).fetchall():
            lines.append(f"    fill {f['trade_id']} qty {f['qty']} @ {f['price']} via {f['source']} "
                         f"traded {f['traded_at']:%H:%M:%S.%f} recorded {f['recorded_at']:%H:%M:%S.%f}")
    if not rows:
        lines.append("  database: no such order")
    for order in (o for o in truth["orders"] if o["customerOrderId"] == cid):
        lines.append(f"  exchange: orderId {order['orderId']} subaccount {order['subaccountId'] or 'primary'} "
                     f"{order['status']} filled {order['filledQuantity']} of {order['quantity']}"
                     + (f" ({order['failedReason']})" if order["failedReason"] else ""))
        lines.extend(f"    {h['at']} {h['status']}" for h in order["history"])
    for trade in (t for t in truth["trades"] if t["customerOrderId"] == cid):
        lines.append(f"  exchange trade {trade['id']} qty {trade['quantity']} @ {trade['price']} at {trade['tradedAt']}")
    return lines


def filled_total(truth: dict) -> Decimal:
    return sum((Decimal(t["quantity"]) for t in truth["trades"]), Decimal(0))
