"""The safety net: idle ticks do nothing, stale orders are marked and NOTIFYd, targeted polls, EXPLAIN."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from tests.support.sql import (
    T0, at, lease, listener, make_account, make_order, one, order, received, rows, scalar, status_payload,
    submitted_order, update,
)
from worker.db.migrate import cron_job_name, migrate, unschedule_jobs

TICK = "SELECT lth_pvr.safety_net_tick(%s)"


def poll(conn, order_id, result="ok", payload=None, error=None, now=T0) -> dict:
    return one(conn, "SELECT * FROM lth_pvr.record_poll(%s, %s, %s, %s, %s)",
               (order_id, result, Jsonb(payload) if payload is not None else None, error, now))


def test_nothing_stale_means_no_notify_and_nothing_marked(postgresql, db_url):
    account = make_account(postgresql)
    recent = submitted_order(postgresql, account, ext="valr-1")
    poll(postgresql, recent, payload=status_payload("valr-1", "Placed"), now=at(minutes=9))
    postgresql.commit()
    with listener(db_url, "lth_pvr_poll") as listen:
        assert scalar(postgresql, TICK, (at(minutes=10),)) == 0
        postgresql.commit()
        assert received(listen) == []
    assert order(postgresql, recent)["poll_due_at"] is None
    assert rows(postgresql, "SELECT orders_due, notified FROM lth_pvr.safety_net_runs") == [
        {"orders_due": 0, "notified": False}]


def test_stale_orders_are_marked_and_notified_with_ids(postgresql, db_url):
    account = make_account(postgresql)
    a = submitted_order(postgresql, account, ext="valr-1")
    b = submitted_order(postgresql, account, ext="valr-2")
    postgresql.commit()
    with listener(db_url, "lth_pvr_poll") as listen:
        assert scalar(postgresql, TICK, (at(minutes=10),)) == 2
        postgresql.commit()
        got = received(listen, expect=1)
    assert len(got) == 1 and set(got[0][1].split(",")) == {str(a), str(b)}
    assert order(postgresql, a)["poll_due_at"] == at(minutes=10)
    claimed = rows(postgresql, "SELECT * FROM lth_pvr.claim_due_polls('w1', 500, %s)", (at(minutes=10),))
    assert {(c["exchange_order_id"], c["reason"]) for c in claimed} == {(a, "poll"), (b, "poll")}
    # Claimed: not handed out again for 2 minutes, then again (the poller may have died).
    assert rows(postgresql, "SELECT * FROM lth_pvr.claim_due_polls('w1', 500, %s)", (at(minutes=11),)) == []
    assert len(rows(postgresql, "SELECT * FROM lth_pvr.claim_due_polls('w1', 500, %s)", (at(minutes=12, seconds=1),))) == 2


def test_simulated_clock_moves_orders_in_and_out_of_due(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    due = lambda now: [r["exchange_order_id"] for r in rows(  # noqa: E731
        postgresql, "SELECT * FROM lth_pvr.safety_net_due(%s)", (now,))]
    assert due(T0) == [order_id]                       # never polled
    poll(postgresql, order_id, payload=status_payload("valr-1", "Placed"), now=at(minutes=10))
    assert due(at(minutes=11)) == []                   # polled 1 minute ago
    assert due(at(minutes=12)) == []                   # exactly 2 minutes: still recent
    assert due(at(minutes=12, seconds=1)) == [order_id]
    update(postgresql, account, status_payload("valr-1", "Filled", remaining="0"), now=at(minutes=13))
    assert due(at(hours=5)) == []                      # terminal: requires_polling = false


def test_record_poll_bookkeeping_never_moves_updated_at_nor_terminates(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    scalar(postgresql, TICK, (at(minutes=10),))
    before = order(postgresql, order_id)
    assert poll(postgresql, order_id, "not_found", error="Invalid Order", now=at(minutes=11))["outcome"] == "not_found"
    assert poll(postgresql, order_id, "error", error="timeout", now=at(minutes=12))["outcome"] == "error"
    unchanged = poll(postgresql, order_id, payload=status_payload("valr-1", "Placed"), now=at(minutes=13))
    assert unchanged["outcome"] == "unchanged"
    o = order(postgresql, order_id)
    assert (o["status"], o["poll_count"], o["poll_failures"]) == ("submitted", 3, 2)
    assert o["updated_at"] == before["updated_at"] and o["last_polled_at"] == at(minutes=13)
    assert o["poll_due_at"] is None and o["poll_claimed_at"] is None and o["reconcile_due_at"] is None
    filled = poll(postgresql, order_id, payload=status_payload("valr-1", "Filled", remaining="0"), now=at(minutes=14))
    assert (filled["old_status"], filled["new_status"], filled["outcome"]) == ("submitted", "filled", "applied")


def test_a_poll_answer_about_another_order_is_refused(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    assert poll(postgresql, order_id, payload=status_payload("valr-999", "Filled"))["outcome"] == "not_ours"
    assert order(postgresql, order_id)["status"] == "submitted"


def test_request_poll_outcomes(postgresql, db_url):
    account = make_account(postgresql)
    queued = submitted_order(postgresql, account, ext="valr-1")
    recent = submitted_order(postgresql, account, ext="valr-2")
    done = submitted_order(postgresql, account, ext="valr-3")
    poll(postgresql, recent, payload=status_payload("valr-2", "Placed"), now=at(minutes=9))
    update(postgresql, account, status_payload("valr-3", "Cancelled"))
    pending = make_order(postgresql, account)
    unknown = "00000000-0000-0000-0000-000000000001"
    postgresql.commit()
    with listener(db_url, "lth_pvr_poll") as listen:
        result = rows(postgresql, "SELECT * FROM lth_pvr.request_poll(%s::uuid[], %s)",
                      ([str(x) for x in (queued, recent, done, pending, unknown, queued)], at(minutes=10)))
        postgresql.commit()
        got = received(listen, expect=1)
    assert [(str(r["exchange_order_id"]), r["outcome"]) for r in result] == [
        (str(queued), "queued"), (str(recent), "skipped_recent"), (str(done), "terminal"),
        (str(pending), "not_placed"), (unknown, "unknown_id")]
    assert got == [("lth_pvr_poll", str(queued))]
    assert order(postgresql, queued)["poll_due_at"] == at(minutes=10)


def test_request_poll_with_nothing_to_queue_sends_nothing(postgresql, db_url):
    postgresql.commit()
    with listener(db_url, "lth_pvr_poll") as listen:
        assert [r["outcome"] for r in rows(postgresql, "SELECT * FROM lth_pvr.request_poll(%s::uuid[])",
                                           (["00000000-0000-0000-0000-000000000001"],))] == ["unknown_id"]
        postgresql.commit()
        assert received(listen) == []


def test_notify_payload_stays_under_the_limit(postgresql, db_url):
    account = make_account(postgresql)
    postgresql.execute(
        """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty, status,
                                                ext_order_id, submitted_at)
           SELECT %s, gen_random_uuid(), 'BTCZAR', 'BUY', 1000000, 0.001, 'submitted', 'valr-' || i, %s
             FROM generate_series(1, 300) AS i""", (account, T0))
    postgresql.commit()
    with listener(db_url, "lth_pvr_poll") as listen:
        assert scalar(postgresql, TICK, (at(minutes=10),)) == 300
        postgresql.commit()
        assert received(listen, expect=1) == [("lth_pvr_poll", "*")]


def test_cron_job_command_runs_the_tick(postgresql, db_url, embedded_pg):
    migrate(db_url)
    try:
        with embedded_pg.connect(autocommit=True) as cron_conn:
            command = cron_conn.execute(
                "SELECT command FROM cron.job WHERE jobname = %s",
                (cron_job_name("poll_orders", postgresql.info.dbname),)).fetchone()[0]
    finally:
        unschedule_jobs(db_url)
    assert command == "SELECT lth_pvr.safety_net_tick()"
    account = make_account(postgresql)
    submitted_order(postgresql, account, ext="valr-1", now=at(hours=-1))
    postgresql.execute(command)
    assert scalar(postgresql, "SELECT orders_due FROM lth_pvr.safety_net_runs") == 1


def test_safety_net_selection_uses_the_partial_index(postgresql):
    account = make_account(postgresql)
    # 99,000 finished orders and 1,000 open ones; triggers off for the bulk load only.
    postgresql.execute("SET session_replication_role = replica")
    postgresql.execute(
        """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty, status,
                                                ext_order_id, submitted_at, requires_polling, last_polled_at)
           SELECT %s, gen_random_uuid(), 'BTCZAR', 'BUY', 1000000, 0.001,
                  CASE WHEN i <= 1000 THEN 'submitted' WHEN i %% 2 = 0 THEN 'filled' ELSE 'cancelled' END,
                  'valr-' || i, %s - i * interval '1 minute', i <= 1000,
                  CASE WHEN i %% 3 = 0 THEN %s - interval '1 hour' END
             FROM generate_series(1, 100000) AS i""", (account, T0, T0))
    postgresql.execute("SET session_replication_role = origin")
    postgresql.execute("ANALYZE lth_pvr.exchange_orders")
    plan = "\n".join(r[0] for r in postgresql.execute(
        "EXPLAIN SELECT * FROM lth_pvr.safety_net_due(%s)", (T0,)).fetchall())
    assert "idx_exchange_orders_requires_polling" in plan, plan
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.safety_net_due(%s)", (T0,)) == 1000


def test_an_account_whose_look_up_is_running_keeps_its_due_orders_unclaimed(postgresql):
    """The worker runs one look-up per account at a time: the orders of an account it names busy are not
    claimed (claimed and skipped, they waited poll_claim_seconds to be handed out again), and are
    handed out at the next claim once it is not busy."""
    busy, other = make_account(postgresql, "1"), make_account(postgresql, "2")
    waiting, free = submitted_order(postgresql, busy, ext="valr-1"), submitted_order(postgresql, other, ext="valr-2")
    lease(postgresql, "w1")
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET poll_due_at = %s, reconcile_due_at = NULL", (T0,))
    claim = "SELECT * FROM lth_pvr.claim_due_polls('w1', 500, %s, %s)"
    assert [r["exchange_order_id"] for r in rows(postgresql, claim, (at(seconds=1), [busy]))] == [free]
    assert order(postgresql, waiting)["poll_claimed_at"] is None
    assert [r["exchange_order_id"] for r in rows(postgresql, claim, (at(seconds=2), []))] == [waiting]


def test_a_reconciliation_is_left_to_the_socket_for_30_seconds(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")   # placed with no socket: reconcile owed
    assert order(postgresql, order_id)["reconcile_due_at"] == T0
    claim_polls = "SELECT * FROM lth_pvr.claim_due_polls('w1', 500, %s)"
    assert rows(postgresql, claim_polls, (at(seconds=29),)) == []
    [due] = rows(postgresql, claim_polls, (at(seconds=30),))
    assert (due["exchange_order_id"], due["reason"]) == (order_id, "reconcile")


def test_a_market_order_with_no_final_word_is_marked_for_a_lookup_after_its_delay(postgresql, db_url):
    # Issue 21 item 11: a market order finishes within seconds; with its frames lost it must not wait
    # for the 10-minute tick. Its lookup falls due market_order_lookup_seconds (5) after VALR accepted
    # it, the wait doubling per poll; a market order whose final word arrived costs no lookup.
    account = make_account(postgresql)
    lost, finished, limit = (submitted_order(postgresql, account, ext=f"valr-{n}") for n in range(3))
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET order_type = 'market', price = NULL "
                       "WHERE exchange_order_id IN (%s, %s)", (lost, finished))
    update(postgresql, account, status_payload("valr-1", "Filled", remaining="0"), now=at(seconds=1))
    postgresql.commit()
    mark = "SELECT array_agg(m) FROM lth_pvr.mark_market_lookups_due('w1', %s) m"
    due_in = "SELECT lth_pvr.next_market_lookup_due('w1', %s)"
    assert scalar(postgresql, due_in, (at(seconds=2),)) == 3
    assert scalar(postgresql, "SELECT lth_pvr.next_market_lookup_due('nobody', %s)", (at(seconds=2),)) is None
    with listener(db_url, "lth_pvr_poll") as listen:
        assert scalar(postgresql, mark, (at(seconds=4),)) is None
        assert scalar(postgresql, mark, (at(seconds=5),)) == [lost]
        postgresql.commit()
        assert received(listen, expect=1) == [("lth_pvr_poll", str(lost))]
    assert scalar(postgresql, due_in, (at(seconds=6),)) is None  # marked: none left to wake for
    assert [r["exchange_order_id"] for r in rows(
        postgresql, "SELECT * FROM lth_pvr.claim_due_polls('w1', 500, %s)", (at(seconds=6),))] == [lost]
    poll(postgresql, lost, payload=status_payload("valr-0", "Placed"), now=at(seconds=7))  # still open
    assert scalar(postgresql, due_in, (at(seconds=7),)) == 10  # then 10 s after that poll
    assert scalar(postgresql, mark, (at(seconds=17),)) == [lost]
