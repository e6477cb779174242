"""The demo's ledger act (issue 23): a new subaccount without orders, whose socket the worker keeps open
(the demo runs it with --max-session 0); the simulator makes two fiat deposits of the same amount on the
same day and a crypto deposit that confirms over NEW_PENDING_RECEIVE frames before its credit. Each is
shown as a strategy sees it — NOTIFY lth_pvr_deposit on a LISTENing connection, with the time from the
deposit to the notification, and the row's source (`ws`: it came over the socket) — and the two equal
deposits are shown as two rows of v_deposits."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal

import psycopg

from worker.lab.worker_process import wait_for

SUBACCOUNT = "9200000"
AMOUNT = "500.00"
CONFIRMATIONS = 3


def run(conn: psycopg.Connection, database_url: str, sim, out, timeout_s: float = 30.0) -> dict:
    account = conn.execute(
        "INSERT INTO lth_pvr.exchange_accounts (subaccount_id, label) VALUES (%s, 'demo deposits') "
        "ON CONFLICT (exchange, upper(coalesce(credential_ref, exchange)), subaccount_id) DO UPDATE SET label = EXCLUDED.label RETURNING exchange_account_id",
        (SUBACCOUNT,)).fetchone()[0]
    conn.commit()
    wait_for(lambda: _watched(conn, account), timeout_s, "the deposit subaccount's socket and first sync", 0.05)
    out.note(f"subaccount {SUBACCOUNT} (no orders) watched over its socket; a strategy LISTENs on lth_pvr_deposit")
    with psycopg.connect(database_url, autocommit=True) as strategy:
        strategy.execute("LISTEN lth_pvr_deposit")
        seen = [_deposit(strategy, sim, out, f"fiat deposit R{AMOUNT}", lambda: sim.deposit(SUBACCOUNT, "ZAR", AMOUNT),
                         timeout_s)
                for _ in range(2)]
        seen.append(_deposit(strategy, sim, out, f"crypto deposit 0.005 BTC ({CONFIRMATIONS} confirmations)",
                             lambda: sim.deposit(SUBACCOUNT, "BTC", "0.005", kind="crypto",
                                                 confirmations=CONFIRMATIONS, confirm_every_ms=300), timeout_s))
    twins = conn.execute("SELECT count(*) FROM lth_pvr.v_deposits WHERE subaccount_id = %s AND currency = 'ZAR' "
                         "AND amount = %s AND event_at::date = current_date", (SUBACCOUNT, Decimal(AMOUNT))).fetchone()[0]
    conn.commit()
    out.note(f"v_deposits: the two R{AMOUNT} deposits of today are {twins} rows (VALR's id is the key, not the amount)")
    detected = [s for s in seen if s is not None]
    return {"deposits": len(seen), "detected_live": len(detected), "same_amount_rows": twins,
            "latency_ms": [s["latency_ms"] for s in detected], "kinds": [s["kind"] for s in detected],
            "sources": [s["source"] for s in detected], "ok": len(detected) == len(seen) and twins == 2}


def _watched(conn: psycopg.Connection, account: uuid.UUID) -> bool:
    """An authenticated socket open for the account, and the catch-up after its connect done."""
    row = conn.execute(
        """SELECT EXISTS (SELECT 1 FROM lth_pvr.ws_sessions WHERE exchange_account_id = %(a)s
                           AND authenticated_at IS NOT NULL AND closed_at IS NULL)
                  AND EXISTS (SELECT 1 FROM lth_pvr.ledger_cursors WHERE exchange_account_id = %(a)s
                               AND synced_at IS NOT NULL AND sync_requested_at IS NULL)""", {"a": account}).fetchone()
    conn.commit()
    return bool(row[0])


def _deposit(strategy: psycopg.Connection, sim, out, what: str, make, timeout_s: float) -> dict | None:
    """Make one deposit and wait for its NOTIFY; the time printed runs from the simulator's deposit to
    the notification's arrival (a crypto deposit's confirmations, shown as v_deposits sees them, included)."""
    began = time.monotonic()
    pending = make().get("pending", [])
    confirmed = 0
    while time.monotonic() - began < timeout_s:
        notes = list(strategy.notifies(timeout=0.05, stop_after=1))  # the generator holds the connection
        for note in notes:
            payload = json.loads(note.payload)
            ms = round((time.monotonic() - began) * 1000, 1)
            [(source,)] = strategy.execute("SELECT source FROM lth_pvr.account_transactions WHERE transaction_id = %s",
                                           (payload["transaction_id"],)).fetchall()
            out.note(f"{what}: NOTIFY lth_pvr_deposit after {ms} ms — {payload['kind']} {payload['amount']} "
                     f"{payload['currency']}, transaction {payload['transaction_id']} (via {source})")
            return {"latency_ms": ms, "kind": payload["kind"], "source": source}
        if pending:
            row = strategy.execute("SELECT max(confirmations) FROM lth_pvr.v_deposits WHERE transaction_hash = %s "
                                   "AND NOT confirmed", (pending[0],)).fetchone()
            if row[0] is not None and row[0] > confirmed:
                confirmed = row[0]
                out.note(f"  confirming: {confirmed}/{CONFIRMATIONS} (v_deposits, not yet credited)")
    out.note(f"{what}: no NOTIFY within {timeout_s:g} s")
    return None
