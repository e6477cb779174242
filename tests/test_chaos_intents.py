"""The chaos soak's intent check (worker.lab.chaos.intents) on fabricated ground truth and database rows:
a clean fallback passes, and each kind of violation — an intent over-executed, a replacement without a
confirmed cancel, one that reached VALR before its original's cancel, one of an order VALR filled, two
replacements of one original, a replacement for the wrong quantity, a price fallback fired by a
favourable move, a replacement after a person's cancel turned the fallback off — is detected by name.
(The pure function the soak's exit code rests on: this is the proof it can fail.)"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from worker.lab.chaos.intents import VIOLATION_KINDS, OrderRow, Quote, check_intents, epoch

INTENT = "11111111-1111-4111-8111-111111111111"
ORIGINAL = "22222222-2222-4222-8222-222222222222"
REPLACEMENT = "33333333-3333-4333-8333-333333333333"
T0 = "2026-11-27T10:00:00.000Z"


def valr_order(cid: str, order_id: str, quantity: str, filled: str, status: str, created: str, history: list) -> dict:
    return {"orderId": order_id, "customerOrderId": cid, "quantity": quantity, "filledQuantity": filled,
            "status": status, "createdAt": created, "updatedAt": history[-1][1] if history else created,
            "history": [{"status": s, "at": at} for s, at in history]}


def trade(cid: str, quantity: str) -> dict:
    return {"id": f"t-{cid}-{quantity}", "customerOrderId": cid, "quantity": quantity}


def clean_case() -> tuple[dict, list[OrderRow]]:
    """A BUY of 0.0010 filled 0.0004 as a limit, cancelled by its age fallback, the 0.0006 VALR did not
    execute bought at market after the cancel."""
    truth = {
        "orders": [
            valr_order(INTENT, "v1", "0.0010", "0.0004", "Cancelled", "2026-11-27T10:00:00.100Z",
                       [("Placed", "2026-11-27T10:00:00.100Z"), ("Partially Filled", "2026-11-27T10:00:01.000Z"),
                        ("Cancelled", "2026-11-27T10:00:03.000Z")]),
            valr_order(REPLACEMENT, "v2", "0.0006", "0.0006", "Filled", "2026-11-27T10:00:03.050Z",
                       [("Filled", "2026-11-27T10:00:03.060Z")]),
        ],
        "trades": [trade(INTENT, "0.0004"), trade(REPLACEMENT, "0.0006")],
    }
    orders = [
        OrderRow(ORIGINAL, INTENT, INTENT, "BUY", Decimal("0.0010"), "cancelled", Decimal("950000"), "v1",
                 fallback_reason="age", fallback_outcome="replaced", created_at=epoch(T0),
                 fallback_requested_at=epoch("2026-11-27T10:00:02.900Z")),
        OrderRow(REPLACEMENT, INTENT, REPLACEMENT, "BUY", Decimal("0.0006"), "filled", None, "v2",
                 replaces_order_id=ORIGINAL),
    ]
    return truth, orders


def only(check, kind: str) -> None:
    found = {k: v for k, v in check.violations.items() if v}
    assert set(found) == {kind}, found
    assert not check.ok


def test_a_clean_fallback_passes_and_is_counted():
    truth, orders = clean_case()
    check = check_intents(truth, orders)
    assert check.ok, check.problems()
    assert (check.intents, check.fallbacks_by_reason, check.outcomes) == (1, {"age": 1}, {"replaced": 1})
    assert (check.replacements, check.replacements_on_valr, check.replacements_filled) == (1, 1, 1)
    assert set(check.summary()["violations"]) == set(VIOLATION_KINDS)


def test_an_intent_that_executed_more_than_it_asked_is_detected():
    truth, orders = clean_case()
    truth["trades"].append(trade(REPLACEMENT, "0.0001"))  # one trade more than the remainder
    only(check_intents(truth, orders), "over_executed")


def test_a_replacement_while_the_original_is_still_open_on_valr_is_detected():
    truth, orders = clean_case()
    truth["orders"][0].update(status="Partially Filled", history=truth["orders"][0]["history"][:2])
    only(check_intents(truth, orders), "replaced_without_confirmed_cancel")


def test_a_replacement_whose_original_the_database_does_not_hold_as_cancelled_is_detected():
    truth, orders = clean_case()
    orders[0] = replace(orders[0], status="submitted")
    only(check_intents(truth, orders), "replaced_without_confirmed_cancel")


def test_a_replacement_that_reached_valr_before_the_cancel_completed_is_detected():
    truth, orders = clean_case()
    truth["orders"][1]["createdAt"] = "2026-11-27T10:00:02.950Z"  # the 202 of the DELETE, not the Cancelled
    only(check_intents(truth, orders), "replaced_before_cancel_confirmed")


def test_a_replacement_of_an_order_valr_filled_completely_is_detected():
    truth, orders = clean_case()
    truth["orders"][0].update(status="Filled", filledQuantity="0.0010",
                              history=[*truth["orders"][0]["history"][:2], {"status": "Filled", "at": T0}])
    truth["trades"] = [trade(INTENT, "0.0010")]
    truth["orders"][1].update(status="Failed", filledQuantity="0")  # it did not even execute
    only(check_intents(truth, orders), "replaced_a_filled_order")


def test_two_replacements_of_one_original_are_detected():
    truth, orders = clean_case()
    second = "44444444-4444-4444-8444-444444444444"
    orders.append(replace(orders[1], exchange_order_id=second, customer_order_id=second, ext_order_id="v3"))
    truth["orders"].append(valr_order(second, "v3", "0.0006", "0", "Failed", "2026-11-27T10:00:03.070Z",
                                      [("Failed", "2026-11-27T10:00:03.080Z")]))
    only(check_intents(truth, orders), "replaced_twice")


def test_a_replacement_for_the_full_quantity_after_a_partial_fill_is_detected():
    truth, orders = clean_case()
    orders[1] = replace(orders[1], qty=Decimal("0.0010"))  # our fill sum was late: the whole order again
    truth["orders"][1].update(quantity="0.0010", filledQuantity="0.0005", status="Cancelled")
    truth["trades"][1] = trade(REPLACEMENT, "0.0005")  # still within the intent: only the qty rule catches it
    only(check_intents(truth, orders), "replacement_qty_wrong")


def price_case(ask_after: str) -> tuple[dict, list[OrderRow], list[Quote]]:
    """A BUY at 995,000 with a 2 % price fallback (threshold 1,014,900); the market then moved to `ask_after`."""
    truth, orders = clean_case()
    orders[0] = replace(orders[0], price=Decimal("995000"), fallback_reason="price",
                        fallback_price_move=Decimal("0.02"))
    quotes = [Quote(epoch(T0) - 10, Decimal("999000"), Decimal("1000000")),
              Quote(epoch("2026-11-27T10:00:02.000Z"), Decimal("999000") * Decimal(ask_after) / 1000000,
                    Decimal(ask_after))]
    return truth, orders, quotes


def test_a_price_fallback_after_an_adverse_move_that_crossed_its_threshold_passes():
    check = check_intents(*price_case("1020000"))
    assert check.ok, check.problems()
    assert check.fallbacks_by_reason == {"price": 1}


def test_a_price_fallback_fired_by_a_favourable_move_is_detected():
    only(check_intents(*price_case("990000")), "price_fired_without_adverse_move")


def test_a_price_fallback_on_an_adverse_move_short_of_its_threshold_is_detected():
    only(check_intents(*price_case("1010000")), "price_fired_without_adverse_move")


def test_a_sell_fires_only_when_the_bid_falls_by_its_move():
    truth, orders, _ = price_case("1020000")
    orders[0] = replace(orders[0], side="SELL", price=Decimal("1005000"))
    orders[1] = replace(orders[1], side="SELL")
    down = [Quote(epoch(T0) - 10, Decimal("999000"), Decimal("1000000")),
            Quote(epoch("2026-11-27T10:00:02.000Z"), Decimal("984000"), Decimal("985000"))]
    up = [down[0], Quote(down[1].at, Decimal("1019000"), Decimal("1020000"))]
    assert check_intents(truth, orders, down).ok
    only(check_intents(truth, orders, up), "price_fired_without_adverse_move")


def test_the_first_violation_names_its_intent_for_the_report_story():
    truth, orders = clean_case()
    truth["trades"].append(trade(REPLACEMENT, "0.0001"))
    assert check_intents(truth, orders).first_intent == INTENT
    assert check_intents(*clean_case()).first_intent is None


def spike_case(spike_s: float, confirm_ms: int) -> tuple[dict, list[OrderRow], list[Quote]]:
    """The price case's order (threshold 1,014,900), its ask 2 % up at 10:00:02 for `spike_s`, then back;
    the fallback fired 900 ms after the jump."""
    truth, orders, quotes = price_case("1020000")
    orders[0] = replace(orders[0], fallback_price_confirm_ms=confirm_ms)
    return truth, orders, quotes + [Quote(quotes[1].at + spike_s, Decimal("999000"), Decimal("1000000"))]


def test_a_price_fallback_fired_by_a_spike_shorter_than_its_confirmation_is_detected():
    only(check_intents(*spike_case(0.05, 500)), "price_fired_without_adverse_move")
    assert check_intents(*spike_case(0.05, 0)).ok      # no confirmation asked: a crossing is a crossing
    assert check_intents(*spike_case(0.6, 500)).ok     # held past its confirmation before it reverted
    assert check_intents(*spike_case(0.3, 500)).ok     # within the delivery slack of it


def persons_cancel_case() -> tuple[dict, list[OrderRow]]:
    """The same order, but a person cancelled it right after its fallback fired (fallback_off): VALR
    cancelled it, and nothing replaced it."""
    truth, orders = clean_case()
    truth["orders"].pop()
    truth["trades"].pop()
    return truth, [replace(orders[0], fallback_outcome="cancelled_by_person")]


def test_a_persons_cancel_that_stopped_the_fallback_passes_and_is_counted():
    truth, orders = persons_cancel_case()
    check = check_intents(truth, orders, persons_cancels=[ORIGINAL])
    assert check.ok, check.problems()
    assert (check.persons_cancels, check.replacements) == (1, 0)


def test_a_replacement_after_a_persons_cancel_is_detected():
    truth, orders = clean_case()  # replaced, although a person cancelled it while its fallback was in flight
    only(check_intents(truth, orders, persons_cancels=[ORIGINAL]), "replaced_after_persons_cancel")
    # The database's word alone (a person's cancel the harness did not ask for) is enough too.
    orders[0] = replace(orders[0], fallback_outcome="cancelled_by_person")
    only(check_intents(truth, orders), "replaced_after_persons_cancel")


def test_a_persons_cancel_whose_outcome_was_overwritten_is_detected():
    truth, orders = persons_cancel_case()
    orders[0] = replace(orders[0], fallback_outcome="below_minimum")
    only(check_intents(truth, orders, persons_cancels=[ORIGINAL]), "replaced_after_persons_cancel")
