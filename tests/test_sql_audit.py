"""The ledger's audit in SQL (issue 23): VALR's trade transactions against order_fills per order, VALR's
balances against the opening checkpoint plus every transaction since, findings and their resolution, the
verdict, the ledger_mismatch alert and the daily job's request. Explicit p_now throughout."""

from __future__ import annotations

import uuid

import pytest
from psycopg.types.json import Jsonb

from tests.support.sql import T0, at, fill, make_account, one, rows, scalar, submitted_order, trade_payload

DAY = T0.date()


def trade_tx(ext: str, qty: str = "0.001", fee: str = "0.0000001", *, tx_id: str | None = None,
             stamp: str = "2025-03-03T12:00:02.000Z") -> dict:
    """A LIMIT_BUY as GET /v1/account/transactionhistory gives it: the base credited net of its fee."""
    from decimal import Decimal
    return {"transactionType": {"type": "LIMIT_BUY", "description": "Limit Buy"},
            "debitCurrency": "ZAR", "debitValue": str(Decimal(qty) * 1000000),
            "creditCurrency": "BTC", "creditValue": str(Decimal(qty) - Decimal(fee)),
            "feeCurrency": "BTC", "feeValue": fee, "eventAt": stamp,
            "additionalInfo": {"costPerCoin": 1000000, "currencyPairSymbol": "BTCZAR", "orderId": ext},
            "id": tx_id or str(uuid.uuid4())}


def deposit_tx(amount: str, stamp: str, currency: str = "BTC") -> dict:
    return {"transactionType": {"type": "BLOCKCHAIN_RECEIVE", "description": "Receive"},
            "creditCurrency": currency, "creditValue": amount, "eventAt": stamp, "id": str(uuid.uuid4())}


def history(conn, account, items, now=T0) -> None:
    conn.execute("SELECT * FROM lth_pvr.record_transactions(%s, 'rest', %s, %s)", (account, Jsonb(items), now))


def balance(conn, account, total: str, updated: str, currency: str = "BTC") -> None:
    item = {"currency": currency, "available": total, "reserved": "0", "total": total, "updatedAt": updated}
    conn.execute("SELECT lth_pvr.record_balances(%s, 'rest', %s, %s)", (account, Jsonb([item]), T0))


def audit(conn, account=None, now=T0, day=DAY) -> tuple[int, list[dict]]:
    run = scalar(conn, "SELECT audit_run_id FROM lth_pvr.begin_audit_run(%s, %s, 'test', %s)", (day, account, now))
    return run, rows(conn, "SELECT * FROM lth_pvr.compare_audit_run(%s, %s)", (run, now))


def finish(conn, run, now=T0) -> dict:
    return one(conn, "SELECT * FROM lth_pvr.finish_audit_run(%s, NULL, %s)", (run, now))


def alerts(conn, now) -> list[str]:
    return [r["name"] for r in rows(conn, "SELECT * FROM lth_pvr.alerts(%s)", (now,))]


def test_a_day_whose_trades_match_the_fills_is_clean_with_its_counts(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="E1")
    fill(postgresql, account, trade_payload("t1", "E1", "0.001"))
    history(postgresql, account, [trade_tx("E1")])
    run, findings = audit(postgresql, account)
    assert findings == []
    verdict = finish(postgresql, run)
    assert (verdict["verdict"], verdict["orders_compared"], verdict["findings"]) == ("clean", 1, 0)
    assert order_id and "ledger_mismatch" not in alerts(postgresql, T0)
    # Another day touched nothing: clean, nothing compared.
    other, findings = audit(postgresql, account, day=DAY.replace(day=2))
    assert findings == [] and finish(postgresql, other)["orders_compared"] == 0


def test_a_trade_valr_has_and_we_lack_is_named_then_recorded_and_resolved(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="E1")
    fill(postgresql, account, trade_payload("t1", "E1", "0.0004"))
    history(postgresql, account, [trade_tx("E1", "0.0004", tx_id="tx-1"),
                                  trade_tx("E1", "0.0006", tx_id="tx-2", stamp="2025-03-03T12:00:03.000Z")])
    run, findings = audit(postgresql, account, now=at(hours=1))
    [found] = findings
    assert (found["kind"], found["exchange_order_id"], found["ext_order_id"]) == ("missing_fill", order_id, "E1")
    assert found["transaction_ids"] == ["tx-1", "tx-2"]
    assert (found["valr_trades"], found["our_fills"]) == (2, 1)
    assert (str(found["valr_qty"]), str(found["our_qty"])) == ("0.0010000", "0.0004")
    assert "ledger_mismatch" in alerts(postgresql, at(hours=1))
    assert scalar(postgresql, "SELECT lth_pvr.resolve_matched_findings(%s, 'x', %s)", (run, at(hours=1))) == 0
    fill(postgresql, account, trade_payload("t2", "E1", "0.0006", traded="2025-03-03T12:00:03.000Z"), "poll")
    assert scalar(postgresql, "SELECT lth_pvr.resolve_matched_findings(%s, 'fetched', %s)", (run, at(hours=1))) == 1
    verdict = finish(postgresql, run, at(hours=1))
    assert (verdict["verdict"], verdict["findings"], verdict["findings_resolved"]) == ("mismatch", 1, 1)
    resolved = one(postgresql, "SELECT * FROM lth_pvr.audit_findings")
    assert (resolved["resolution"], resolved["resolved_by"]) == ("fetched", "audit")
    assert "ledger_mismatch" not in alerts(postgresql, at(hours=1))


@pytest.mark.parametrize("valr, ours, kind", [
    ((2, "1", "0.1"), (1, "0.5", "0.05"), "missing_fill"),
    ((1, "0.5", "0.05"), (2, "1", "0.1"), "unknown_fill"),
    ((1, "0.5", "0.05"), (1, "0.4", "0.05"), "qty_mismatch"),
    ((1, "0.5", "0.05"), (1, "0.5", "0.04"), "fee_mismatch"),
    ((1, "1", "0.1"), (2, "1", "0.1"), None),  # one history record for two trades: equal totals match
])
def test_which_finding_an_orders_totals_make(postgresql, valr, ours, kind):
    assert scalar(postgresql, "SELECT lth_pvr.audit_order_finding(%s, %s, %s, %s, %s, %s)", (*valr, *ours)) == kind


def test_a_fill_valr_lacks_and_an_order_we_never_placed(postgresql):
    account = make_account(postgresql)
    submitted_order(postgresql, account, ext="E1")
    fill(postgresql, account, trade_payload("t1", "E1", "0.001"))
    history(postgresql, account, [trade_tx("E9", tx_id="tx-9")])
    _, findings = audit(postgresql, account)
    kinds = {f["ext_order_id"]: (f["kind"], f["exchange_order_id"] is None) for f in findings}
    assert kinds == {"E1": ("unknown_fill", False), "E9": ("missing_fill", True)}


def test_balances_open_a_checkpoint_then_add_every_transaction_since_and_name_a_mismatch(postgresql):
    account = make_account(postgresql)
    balance(postgresql, account, "1", "2025-03-03T11:00:00Z")
    run, findings = audit(postgresql, account)
    assert findings == [] and finish(postgresql, run)["checkpoints_set"] == 1
    # A deposit: its transaction and the balance it moved (stamped a millisecond apart, either way).
    history(postgresql, account, [deposit_tx("0.5", "2025-03-03T12:01:00.001Z")])
    balance(postgresql, account, "1.5", "2025-03-03T12:01:00Z")
    run, findings = audit(postgresql, account, now=at(minutes=10))
    assert findings == [] and finish(postgresql, run, at(minutes=10))["currencies_compared"] == 1
    # VALR's balance moved by more than its transactions say.
    late = deposit_tx("0.2", "2025-03-03T12:20:00Z")
    history(postgresql, account, [late])
    balance(postgresql, account, "1.9", "2025-03-03T12:20:00Z")
    run, [found] = audit(postgresql, account, now=at(minutes=30))
    assert (found["kind"], found["currency"], found["transaction_ids"]) == ("balance_mismatch", "BTC", [late["id"]])
    assert (str(found["valr_balance"]), str(found["our_balance"])) == ("1.9", "1.7")
    assert finish(postgresql, run, at(minutes=30))["verdict"] == "mismatch"
    # A person's word: resolved, and VALR's settled balance opens the check again.
    assert scalar(postgresql, "SELECT lth_pvr.resolve_audit_finding(%s, 'bank adjustment', %s)",
                  (found["finding_id"], at(minutes=31)))
    run, findings = audit(postgresql, account, now=at(minutes=40))
    assert findings == [] and finish(postgresql, run, at(minutes=40))["checkpoints_set"] == 1


def test_a_balance_still_moving_is_not_compared(postgresql):
    account = make_account(postgresql)
    balance(postgresql, account, "1", "2025-03-03T11:59:59.500Z")
    run, findings = audit(postgresql, account)
    verdict = finish(postgresql, run)
    assert findings == [] and (verdict["currencies_unsettled"], verdict["checkpoints_set"]) == (1, 0)


def test_the_daily_job_asks_once_from_the_hour_and_a_worker_claims_it(postgresql, db_url):
    from tests.support.sql import listener, received
    postgresql.execute("UPDATE lth_pvr.settings SET value = 13 WHERE name = 'audit_hour_utc'")
    postgresql.commit()
    watch = listener(db_url, "lth_pvr_ledger_audit")
    assert scalar(postgresql, "SELECT lth_pvr.ledger_audit_tick(%s)", (T0,)) is None
    run = scalar(postgresql, "SELECT lth_pvr.ledger_audit_tick(%s)", (at(hours=1),))
    assert run and scalar(postgresql, "SELECT lth_pvr.ledger_audit_tick(%s)", (at(hours=2),)) is None
    postgresql.commit()
    assert received(watch, expect=1) == [("lth_pvr_ledger_audit", str(run))]
    [claimed] = rows(postgresql, "SELECT * FROM lth_pvr.claim_ledger_audits('w1', %s)", (at(hours=1),))
    assert (claimed["audit_run_id"], str(claimed["day"])) == (run, "2025-03-02")
    assert rows(postgresql, "SELECT * FROM lth_pvr.claim_ledger_audits('w2', %s)", (at(hours=1),)) == []
    assert len(rows(postgresql, "SELECT * FROM lth_pvr.claim_ledger_audits('w2', %s)", (at(hours=2),))) == 1


def test_readers_read_the_audit_operators_resolve_and_only_functions_write(postgresql, reader_url, operator_url,
                                                                            worker_url):
    import psycopg
    account = make_account(postgresql)
    history(postgresql, account, [trade_tx("E9")])
    run, [found] = audit(postgresql, account)
    postgresql.commit()
    with psycopg.connect(reader_url) as reader:
        assert reader.execute("SELECT kind FROM lth_pvr.v_audit_findings").fetchall() == [("missing_fill",)]
        assert reader.execute("SELECT audit_run_id FROM lth_pvr.v_audit_runs").fetchall() == [(run,)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("SELECT lth_pvr.resolve_audit_finding(%s, 'x')", (found["finding_id"],))
    with psycopg.connect(worker_url) as worker:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            worker.execute("UPDATE lth_pvr.audit_findings SET resolved_at = now(), resolution = 'x'")
    with psycopg.connect(operator_url) as operator:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            operator.execute("DELETE FROM lth_pvr.audit_findings")
        operator.rollback()
        assert operator.execute("SELECT lth_pvr.resolve_audit_finding(%s, 'a trade made on VALR by hand')",
                                (found["finding_id"],)).fetchone()[0] is True
    assert one(postgresql, "SELECT resolution FROM lth_pvr.audit_findings")["resolution"] == \
        "a trade made on VALR by hand"


def test_a_difference_found_again_is_one_open_finding_and_one_that_matches_later_is_resolved(postgresql):
    account = make_account(postgresql)
    submitted_order(postgresql, account, ext="E1")
    history(postgresql, account, [trade_tx("E1", tx_id="tx-1"), trade_tx("E9", tx_id="tx-9")])
    first, _ = audit(postgresql, account)
    finish(postgresql, first)
    fill(postgresql, account, trade_payload("t1", "E1", "0.001"), "poll")  # the worker's safety net, since
    second, findings = audit(postgresql, account, now=at(hours=1))
    assert [(f["ext_order_id"], f["resolved_at"]) for f in findings] == [("E9", None)]
    earlier = {r["ext_order_id"]: r["resolution"] for r in rows(
        postgresql, "SELECT * FROM lth_pvr.audit_findings WHERE audit_run_id = %s", (first,))}
    assert earlier == {"E1": f"matched at audit #{second}",
                       "E9": f"superseded by finding #{findings[0]['finding_id']} (audit #{second})"}
    alert = one(postgresql, "SELECT * FROM lth_pvr.alerts(%s) WHERE name = 'ledger_mismatch'", (at(hours=1),))
    assert alert["measured"] == 1 and "E9" in alert["detail"]


def test_a_day_the_daily_audit_did_not_prove_alerts_until_an_audit_of_that_day_finishes(postgresql):
    postgresql.execute("UPDATE lth_pvr.settings SET value = 13 WHERE name = 'audit_hour_utc'")
    failed = scalar(postgresql, "SELECT lth_pvr.ledger_audit_tick(%s)", (at(hours=1),))
    rows(postgresql, "SELECT * FROM lth_pvr.claim_ledger_audits('w1', %s)", (at(hours=1),))
    assert "ledger_audit_failed" not in alerts(postgresql, at(hours=1, minutes=5))  # running, within 2 × claim
    one(postgresql, "SELECT * FROM lth_pvr.finish_audit_run(%s, 'TransportError: VALR unreachable', %s)",
        (failed, at(hours=1, minutes=5)))
    [fired] = rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s) WHERE name = 'ledger_audit_failed'",
                   (at(hours=1, minutes=6),))
    assert fired["level"] == "warning" and "2025-03-02 (TransportError: VALR unreachable)" in fired["detail"]
    # The operator proves the day by hand: a finished audit of that day for every account clears it.
    by_hand, _ = audit(postgresql, day=DAY.replace(day=2), now=at(hours=2))
    finish(postgresql, by_hand, now=at(hours=2))
    assert "ledger_audit_failed" not in alerts(postgresql, at(hours=2))
    # The next day's audit is asked and no worker ever runs it: the day is named once 2 × audit_claim_seconds pass.
    unrun = scalar(postgresql, "SELECT lth_pvr.ledger_audit_tick(%s)", (at(hours=25),))
    assert unrun and "ledger_audit_failed" not in alerts(postgresql, at(hours=25, minutes=19))
    assert "ledger_audit_failed" in alerts(postgresql, at(hours=25, minutes=21))
