"""The ledger's primary-key reads across subaccounts in SQL (issue 23): which accounts one window
syncs (claim_ledger_batch), the cursors moving only when the window is complete, the key's refusal
falling back to per-account reads, GET /v1/account/balances/all recorded per account."""

from __future__ import annotations

from datetime import datetime, timezone

from psycopg.types.json import Jsonb

from tests.support.sql import T0, at, make_account, one, rows, scalar, settle
from tests.test_sql_ledger import catch_up, cursor, deposit, session

BATCH = "SELECT * FROM lth_pvr.claim_ledger_batch(%s, 10000, %s)"
SYNCS = "SELECT exchange_account_id FROM lth_pvr.claim_ledger_syncs(%s, NULL, 100, %s)"


def caught_up(conn, *accounts, now=T0):
    """Each account's first sync, per account (never synced: no held_through yet)."""
    rows(conn, SYNCS, ("w0", now))
    for account in accounts:
        catch_up(conn, account, [], 200, now=now)


def window(conn, ids, groups, limit, skip, start, end, source="rest", now=at(minutes=61)):
    return one(conn, "SELECT * FROM lth_pvr.record_subaccount_window_page(%s, %s, %s, %s, %s, %s, %s, %s)",
               (ids, Jsonb(groups), limit, skip, start, end, source, now))


def test_one_window_syncs_the_due_subaccounts_and_moves_cursors_only_when_complete(postgresql):
    a, b, c = (make_account(postgresql, sub) for sub in ("1001", "1002", "1003"))
    primary = make_account(postgresql, "")
    caught_up(postgresql, a, b, c, primary)
    assert cursor(postgresql, a)["held_through"] == at(seconds=-30)   # the claim's ledger_window_end
    session(postgresql, c)                                            # c's socket is open
    assert rows(postgresql, BATCH, ("w1", at(minutes=30))) == []      # none due yet
    postgresql.execute("SELECT lth_pvr.request_ledger_sync(%s, %s)", (c, at(minutes=60)))  # c's connect asked
    batch = rows(postgresql, BATCH, ("w1", at(minutes=61)))
    assert {r["exchange_account_id"] for r in batch} == {a, b}        # not the primary, not c's requested sync
    start, end = batch[0]["window_start"], batch[0]["window_end"]
    assert (start, end) == (at(seconds=-30), at(minutes=61, seconds=-30))
    assert {r["exchange_account_id"] for r in rows(postgresql, SYNCS, ("w2", at(minutes=61)))} == {c, primary}
    a1, a2 = (deposit("1", tx_id=f"a-{i}", at_=f"2025-03-03T12:{10 + i}:00Z") for i in (1, 2))
    stranger = deposit("9", tx_id="s-1", at_="2025-03-03T12:05:00Z")
    first = window(postgresql, [a, b], [{"id": "1001", "label": "A", "transactions": [a2, a1]}], 2, 0, start, end)
    assert (first["received"], first["recorded"], first["done"], first["next_skip"]) == (2, 2, False, 2)
    assert cursor(postgresql, a)["held_through"] == at(seconds=-30)    # the window is not complete yet
    b1 = deposit("3", tx_id="b-1", at_="2025-03-03T12:01:00Z")
    last = window(postgresql, [a, b], [{"id": "1002", "label": "B", "transactions": [b1]}], 2, 2, start, end)
    assert (last["received"], last["done"]) == (1, True)
    for account, newest in ((a, "a-2"), (b, "b-1")):
        held = cursor(postgresql, account)
        assert (held["held_through"], held["newest_transaction_id"], held["sync_claimed_at"]) == (end, newest, None)
    unknown = window(postgresql, [a, b], [{"id": "9999", "label": "?", "transactions": [stranger]}], 2, 0, start, end)
    assert (unknown["unknown"], unknown["recorded"]) == (1, 0)
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.account_transactions") == 3
    late = deposit("4", tx_id="a-late", at_="2025-03-03T11:00:00Z")  # posted late, before the window
    rescan = window(postgresql, [a, b], [{"id": "1001", "label": "A", "transactions": [late]}], 200, 0,
                    at(days=-3), end, source="rescan", now=at(minutes=62))
    assert (rescan["recorded"], rescan["done"]) == (1, True)
    held = cursor(postgresql, a)
    assert (held["rescanned_at"], held["newest_transaction_id"], held["held_through"]) == (at(minutes=62), "a-2", end)


def test_a_window_that_does_not_reach_an_accounts_held_point_moves_nothing_for_it(postgresql):
    a = make_account(postgresql, "2001")
    caught_up(postgresql, a)
    rows(postgresql, BATCH, ("w1", at(minutes=61)))  # one account: below ledger_across_min_accounts
    assert cursor(postgresql, a)["sync_claimed_by"] is None
    window(postgresql, [a], [], 200, 0, at(minutes=1), at(minutes=60))   # starts after its held_through
    assert cursor(postgresql, a)["held_through"] == at(seconds=-30)


def test_a_refused_key_falls_back_to_per_account_reads_and_tries_again_a_day_later(postgresql, db_url):
    a, b = make_account(postgresql, "3001"), make_account(postgresql, "3002")
    caught_up(postgresql, a, b)
    batch = rows(postgresql, BATCH, ("w1", at(minutes=61)))
    assert len(batch) == 2
    postgresql.execute("SELECT lth_pvr.record_ledger_batch_failed('w1', %s, 'HTTP 401', true, %s)",
                       ([a, b], at(minutes=61)))
    assert rows(postgresql, BATCH, ("w1", at(minutes=62))) == []
    assert {r["exchange_account_id"] for r in rows(postgresql, SYNCS, ("w1", at(minutes=62)))} == {a, b}
    assert cursor(postgresql, a)["sync_error"] is None                 # a refusal is no failure
    assert len(rows(postgresql, BATCH, ("w1", at(hours=26)))) == 2     # retried after ledger_across_retry_hours
    postgresql.execute("SELECT lth_pvr.record_ledger_batch_failed('w1', %s, 'HTTP 500', false, %s)",
                       ([a, b], at(hours=26)))
    assert cursor(postgresql, b)["sync_error"] == "HTTP 500"
    assert len(rows(postgresql, BATCH, ("w1", at(hours=26, minutes=1)))) == 2  # not refused: still across


def test_a_requested_sync_and_a_cursor_older_than_seven_days_are_read_per_account(postgresql):
    a, b, c = (make_account(postgresql, sub) for sub in ("4001", "4002", "4003"))
    caught_up(postgresql, a, b, c)
    postgresql.execute("UPDATE lth_pvr.ledger_cursors SET held_through = %s WHERE exchange_account_id = %s",
                       (at(days=-8), c))
    postgresql.execute("SELECT lth_pvr.request_ledger_sync(%s, %s)", (b, at(minutes=61)))
    settle(postgresql, ledger_across_min_accounts=1)
    assert [r["exchange_account_id"] for r in rows(postgresql, BATCH, ("w1", at(minutes=61)))] == [a]


def test_balances_of_every_account_are_recorded_from_one_answer(postgresql):
    a, primary = make_account(postgresql, "5001"), make_account(postgresql, "")
    item = {"currency": "ZAR", "available": "10", "reserved": "0", "total": "10", "updatedAt": "2025-03-03T12:00:00Z"}
    answer = [{"account": {"label": "A", "id": "5001"}, "balances": [item]},
              {"account": {"label": "Primary", "id": "0"}, "balances": [dict(item, total="20", available="20")]},
              {"account": {"label": "Other", "id": "9999"}, "balances": [item]},
              {"account": {"label": "Empty", "id": "5002"}, "balances": []}]
    assert scalar(postgresql, "SELECT lth_pvr.record_balances_all(%s, %s)", (Jsonb(answer), T0)) == 2
    held = {r["exchange_account_id"]: r["total"]
            for r in rows(postgresql, "SELECT exchange_account_id, total FROM lth_pvr.balances")}
    assert held == {a: 10, primary: 20}


def test_a_batch_takes_along_the_subaccounts_due_later_so_all_share_one_phase(postgresql):
    a, b, c = (make_account(postgresql, sub) for sub in ("6001", "6002", "6003"))
    caught_up(postgresql, a, b)
    session(postgresql, c)  # a socket's scheduled sync is in the window too (its connect's catch-up is not)
    caught_up(postgresql, c, now=at(minutes=20))                     # due only at 80 minutes
    batch = rows(postgresql, BATCH, ("w1", at(minutes=61)))
    assert {r["exchange_account_id"] for r in batch} == {a, b, c}
    window(postgresql, [a, b, c], [], 200, 0, batch[0]["window_start"], batch[0]["window_end"])
    assert rows(postgresql, BATCH, ("w1", at(minutes=81))) == []     # none due: c was synced with them


def test_a_balance_balances_all_leaves_out_is_zero_unless_ours_is_newer_than_the_request(postgresql):
    """VALR lists non-zero balances only: BTC withdrawn to nothing must not keep showing its old amount;
    a BALANCE_UPDATE stamped after the request was sent (the socket, newer than VALR's answer) stays."""
    a, b = make_account(postgresql, "7001"), make_account(postgresql, "7002")
    held = [{"currency": c, "available": "1", "reserved": "0", "total": "1", "updatedAt": "2025-03-03T12:00:00Z"}
            for c in ("BTC", "ZAR")]
    late = {"currency": "ETH", "available": "2", "reserved": "0", "total": "2", "updatedAt": "2025-03-03T12:10:00Z"}
    scalar(postgresql, "SELECT lth_pvr.record_balances_all(%s, %s)",
           (Jsonb([{"account": {"id": "7001"}, "balances": held},
                   {"account": {"id": "7002"}, "balances": [*held, late]}]), T0))
    asked_at = datetime(2025, 3, 3, 12, 10, 0, tzinfo=timezone.utc)  # 30 s margin: ETH's update is newer
    answer = [{"account": {"id": "7001"}, "balances": [dict(held[1], updatedAt="2025-03-03T12:05:00Z")]}]
    written = scalar(postgresql, "SELECT lth_pvr.record_balances_all(%s, %s, %s)", (Jsonb(answer), T0, asked_at))
    totals = {(r["exchange_account_id"], r["currency"]): r["total"] for r in rows(
        postgresql, "SELECT exchange_account_id, currency, total FROM lth_pvr.balances")}
    assert totals == {(a, "BTC"): 0, (a, "ZAR"): 1, (b, "BTC"): 0, (b, "ZAR"): 0, (b, "ETH"): 2}
    assert written == 1 + 3
