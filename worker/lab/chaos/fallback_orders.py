"""The chaos soak's limit orders with a fallback (issue 16), and what the report says of them.

A seeded share of the run's orders carry a fallback, priced from the market at the moment they are
inserted: an age fallback places the order beyond the reach of every price jump and spike of the run
(AGE_OFFSET) with a fallback_after of 2–6 s; a price fallback places it 0.2–0.8 % away with a
fallback_price_move that a 0.3–1 % adverse move crosses (sometimes also a 15–30 s fallback_after). Of
each reason, every other order goes to a subaccount whose orders rest (the simulator's matching model
leaves them to the market, so an age fallback there always fires, and a price fallback fires on a
jump); the others stay in their customer's subaccount, where the matching model may fill them partly or
wholly before or while the fallback cancels them — the races the intent check is for. Alternating, not
drawn: a run whose age orders all drew their customer's subaccount had every one filled before its
fallback was due, and no age fallback fired.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from worker.lab.chaos.faults import JUMP_LIMIT, SPIKE_LIMIT, FaultRecord
from worker.lab.chaos.intents import IntentCheck, Quote


# The mid stays within JUMP_LIMIT of the run's start and a spike moves it SPIKE_LIMIT further, so no
# price of the run is more than REACH times another (a quote at the band's foot, a spike at its top):
# an age order further from its quote than that, plus the spread's margin, is reached by nothing.
REACH = (1 + JUMP_LIMIT) * (1 + SPIKE_LIMIT) / (1 - JUMP_LIMIT)
AGE_OFFSET = (REACH - 1 + 0.01, REACH - 1 + 0.03)


@dataclass(frozen=True)
class FallbackOrder:
    reason: str                   # the trigger it is built to meet: "age" or "price"
    offset: Decimal               # how far from the market it is priced (a fraction)
    after_s: float | None         # fallback_after, seconds
    move: Decimal | None          # fallback_price_move
    resting: int | None           # index of the resting subaccount it goes to, or None: its own


def plan_fallbacks(seed: int, count: int, share: float, resting_subaccounts: int) -> dict[int, FallbackOrder]:
    """Which of the run's `count` orders carry a fallback, and which: from their own seeded stream, so
    the run's other orders are drawn as they always were."""
    rng = random.Random(f"chaos-fallback-{seed}")
    plan = {}
    planned = Counter()  # per reason: the first, third, … rest
    for index in range(count):
        if rng.random() >= share:
            continue
        reason = "age" if rng.random() < 0.5 else "price"
        resting = rng.randrange(resting_subaccounts) if resting_subaccounts and planned[reason] % 2 == 0 else None
        planned[reason] += 1
        if reason == "age":
            plan[index] = FallbackOrder("age", Decimal(str(round(rng.uniform(*AGE_OFFSET), 4))),
                                        round(rng.uniform(2, 6), 1), None, resting)
        else:
            offset = round(rng.uniform(0.002, 0.008), 4)
            move = Decimal(str(round(offset + rng.uniform(0.003, 0.010), 4)))
            after = round(rng.uniform(15, 30), 1) if rng.random() < 0.3 else None
            plan[index] = FallbackOrder("price", Decimal(str(offset)), after, move, resting)
    return plan


def limit_price(side: str, offset: Decimal, quote: Quote) -> Decimal:
    """A limit price `offset` away from the market, on the side it does not reach: under the ask for a
    BUY, over the bid for a SELL (whole rand: BTCZAR's tick)."""
    if side == "BUY":
        return (quote.ask * (1 - offset)).to_integral_value(rounding=ROUND_FLOOR)
    return (quote.bid * (1 + offset)).to_integral_value(rounding=ROUND_CEILING)


def insert_fallback_order(db, account, order, fallback: FallbackOrder, quote: Quote) -> None:
    """What a strategy types in psql for a limit order with a fallback; a retry after a lost answer is a no-op."""
    db.rows("""INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty,
                                                      fallback_after, fallback_price_move)
               VALUES (%s, %s, 'BTCZAR', %s, %s, %s, %s * interval '1 second', %s) ON CONFLICT DO NOTHING""",
            (account, order.intent, order.side, limit_price(order.side, fallback.offset, quote), order.qty,
             fallback.after_s, fallback.move))


def fallback_fault_classes(check: IntentCheck, records: list[FaultRecord], counters: dict) -> dict[str, dict]:
    """Per fault class of issue 16: injected, what happened, and the intent violations it is there to provoke."""
    count = Counter(r.kind for r in records)
    used = Counter()
    for r in records:
        used[r.kind] += r.used or 0
    v = {kind: len(found) for kind, found in check.violations.items()}
    summaries_rest = sum(n for route, n in counters.get("rest", {}).items() if route.endswith("/marketsummary"))
    jumps = [r for r in records if r.kind == "price_jump"]
    favourable = sum(1 for r in jumps if "in favour of" in r.detail)
    replaced = check.outcomes.get("replaced", 0)
    return {
        "cancel_answer_lost": {
            "injected": count["cancel_answer_lost"],
            "what_happened": f"cancel answers dropped after VALR carried them out: {used['cancel_answer_lost']}; "
                             f"replacements {check.replacements}, placed twice or without a confirmed cancel: "
                             f"{v['replaced_twice'] + v['replaced_without_confirmed_cancel']}",
            "mismatches": v["replaced_twice"] + v["replaced_without_confirmed_cancel"]},
        "fill_races_cancel": {
            "injected": count["fill_races_cancel"],
            "what_happened": f"orders VALR filled completely before the cancel: {used['fill_races_cancel']}; "
                             f"fallbacks that found VALR had filled first: {check.outcomes.get('filled', 0)}; "
                             f"replacements of a filled order: {v['replaced_a_filled_order']}; intents over-executed: "
                             f"{v['over_executed']}",
            "mismatches": v["replaced_a_filled_order"] + v["over_executed"]},
        "cancel_delay": {
            "injected": count["cancel_delay"],
            "what_happened": f"replacements on VALR {check.replacements_on_valr} (filled {check.replacements_filled}, "
                             f"failed {check.replacements_failed}); reaching VALR before their original's "
                             f"cancel: {v['replaced_before_cancel_confirmed']}; quantity not VALR's unexecuted "
                             f"remainder: {v['replacement_qty_wrong']}",
            "mismatches": v["replaced_before_cancel_confirmed"] + v["replacement_qty_wrong"]},
        "trade_socket_dropped": {
            "injected": count["trade_socket_dropped"],
            "what_happened": f"trade socket connections {counters.get('trade_connections')}; market summaries "
                             f"read over REST meanwhile: {summaries_rest}",
            "mismatches": 0},
        "trade_socket_silent": {
            "injected": count["trade_socket_silent"],
            "what_happened": "price fallbacks fired on a move that never crossed their threshold (a stale or "
                             f"favourable price): {v['price_fired_without_adverse_move']}",
            "mismatches": v["price_fired_without_adverse_move"]},
        "price_jump": {
            "injected": len(jumps),
            "what_happened": f"{len(jumps) - favourable} against resting price-fallback orders, {favourable} in "
                             f"their favour; price fallbacks fired {check.fallbacks_by_reason.get('price', 0)}, "
                             f"of which without an adverse move crossing the threshold (favourable jumps that "
                             f"fired): {v['price_fired_without_adverse_move']}; replaced {replaced}",
            "mismatches": v["price_fired_without_adverse_move"]},
        "trade_pair_muted": {
            "injected": count["trade_pair_muted"],
            "what_happened": f"the pair left out of the trade feed while its socket stayed up; market summaries "
                             f"read over REST (stale pairs, socket up or not): {summaries_rest}; price fallbacks "
                             f"fired {check.fallbacks_by_reason.get('price', 0)}",
            "mismatches": 0},
        "price_spike": {
            "injected": count["price_spike"],
            "what_happened": "one-frame spikes (0-50 ms) against resting price-fallback orders; price fallbacks "
                             "fired without a move that crossed and held for their confirmation: "
                             f"{v['price_fired_without_adverse_move']}",
            "mismatches": v["price_fired_without_adverse_move"]},
        "person_cancels_fallback": {
            "injected": count["person_cancels_fallback"],
            "what_happened": f"fallbacks a person's cancel reached while their cancel was in flight: "
                             f"{check.persons_cancels} (answered fallback_off: {used['person_cancels_fallback']}); "
                             f"replaced all the same: {v['replaced_after_persons_cancel']}",
            "mismatches": v["replaced_after_persons_cancel"]},
    }
