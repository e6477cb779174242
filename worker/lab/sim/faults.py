"""Fault injection state, set by flag at start or at run time through POST /_sim/faults."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RestError:
    status: int
    until: float | None = None      # monotonic deadline, or
    remaining: int | None = None    # number of requests still to fail
    retry_after: float | None = None
    route: str | None = None         # only requests of this route ("DELETE /v1/orders/order"), or all
    hold_s: float = 0.0              # "drop": how long the request hangs before the connection drops

    def applies_to(self, route: str) -> bool:
        return self.route is None or self.route == route

    def active(self) -> bool:
        if self.remaining is not None:
            return self.remaining > 0
        return self.until is not None and time.monotonic() < self.until


@dataclass
class Faults:
    silent: bool = False                   # sockets stay open, no events are delivered
    pong: bool = True                      # False: PING goes unanswered (a dead-but-open socket)
    close_after_events: int | None = None  # close every account socket after N more events
    drop_fraction: float = 0.0
    duplicate_fraction: float = 0.0
    reorder: bool = False                  # deliver events in swapped pairs
    rest_error: RestError | None = None
    lose_placement_answers: int = 0        # accept the next n placements, then drop the connection
    latency_ms: int = 0                    # added before every REST answer
    # The cancel → market-order path:
    lose_cancel_answers: int = 0           # carry out the next n cancels, then drop the connection
    cancel_delay_ms: int = 0               # a cancel completes (and frees its funds) this long after 202
    fill_before_cancel: int = 0            # the next n cancelled orders fill completely first (a fill
                                           #   racing the cancel: the cancel then fails)
    trade_silent: bool = False             # trade sockets stay open, answer PING, send no summaries
    trade_muted_pairs: list[str] = field(default_factory=list)  # pairs the trade feed leaves out of its
                                           #   frames (their subscription is accepted; REST still answers)
    refuse_cancels: int = 0                # the next n DELETEs: 202, then FAILED_CANCEL_ORDER, order stays open
    # Readings of VALR the evidence leaves open (VALR's documentation is silent on each):
    status_updates: bool = True            # False: ORDER_STATUS_UPDATE never sent (a client that never subscribed?)
    subscribe_answer: str | None = None    # the answer to SUBSCRIBE: None (silence), SUBSCRIBED or UNSUPPORTED
    duplicate_refusal: bool = False        # True: a reused open customerOrderId is refused at once (400 -11502)
                                           #   instead of accepted (202) and then Failed
    trade_down: bool = False               # trade sockets closed and new ones refused (503)
    # Auto mode: orders placed in these subaccounts rest (nothing matches them) until the subaccount
    # leaves the list; then the matching model plays them as any other. Hundreds of open orders in
    # one subaccount make every OPEN_ORDERS_UPDATE VALR sends there hundreds of items long.
    resting_subaccounts: list[str] = field(default_factory=list)
    key_revoked: bool = False              # the key was deleted at VALR: every signed request is refused
    key_not_primary: bool = False          # the key is a subaccount's own: primary-only routes answer 401
    hold_authentication: bool = False      # new account sockets get no AUTHENTICATED while set (a slow
                                           #   handshake: claimed orders wait for their socket, unsent)
    # The account ledger (NEW_ACCOUNT_HISTORY_RECORD frames only; the transactions stay in REST history):
    history_drop: int = 0                  # the next n history records never reach the socket
    history_duplicate: int = 0             # the next n are sent twice
    history_reorder: bool = False          # each history record swapped with the next one
    history_drop_fraction: float = 0.0     # (chaos) a share of history records dropped / sent twice
    history_duplicate_fraction: float = 0.0
    fills_off_socket: int = 0              # the next n fills: trade, status and open-orders frames never
                                           #   sent; their history record and balances are
    reservation_updates: bool = False      # BALANCE_UPDATE also when a resting order reserves or frees funds
    extra: dict[str, Any] = field(default_factory=dict)

    def update(self, changes: dict[str, Any]) -> list[str]:
        """Apply a /_sim/faults body. Returns the one-shot actions requested (close_sockets,
        malformed_frame) for the caller to perform now."""
        actions: list[str] = []
        if changes.get("reset"):
            self.__init__()  # type: ignore[misc]
        for key, value in changes.items():
            if key == "reset":
                continue
            if key in ("close_sockets", "malformed_frame", "close_trade_sockets"):
                if value:
                    actions.append(key)
            elif key == "rest_error":
                self.rest_error = _rest_error(value) if value else None
            elif key == "subscribe_answer":
                if value not in (None, "SUBSCRIBED", "UNSUPPORTED"):
                    raise ValueError("subscribe_answer must be null, SUBSCRIBED or UNSUPPORTED")
                self.subscribe_answer = value
            elif key in ("silent", "pong", "reorder", "trade_silent", "status_updates", "duplicate_refusal",
                         "trade_down", "key_revoked", "key_not_primary", "hold_authentication", "history_reorder",
                         "reservation_updates"):
                self.__setattr__(key, bool(value))
            elif key in ("drop_fraction", "duplicate_fraction", "history_drop_fraction", "history_duplicate_fraction"):
                fraction = float(value)
                if not 0.0 <= fraction <= 1.0:
                    raise ValueError(f"{key} must be within [0, 1]")
                self.__setattr__(key, fraction)
            elif key in ("close_after_events",):
                self.close_after_events = None if value is None else int(value)
            elif key in ("lose_placement_answers", "latency_ms", "lose_cancel_answers", "cancel_delay_ms",
                         "fill_before_cancel", "refuse_cancels", "history_drop", "history_duplicate",
                         "fills_off_socket"):
                self.__setattr__(key, int(value))
            elif key == "trade_muted_pairs":
                self.trade_muted_pairs = [str(pair).upper() for pair in value or []]
            elif key == "resting_subaccounts":
                self.resting_subaccounts = [str(sub) for sub in value or []]
            else:
                raise ValueError(f"unknown fault {key!r}")
        return actions

    def history_copies(self, draw: float) -> int:
        """How many copies of one history record go out (0: dropped), counting the faults down."""
        if self.history_drop > 0:
            self.history_drop -= 1
            return 0
        if self.history_duplicate > 0:
            self.history_duplicate -= 1
            return 2
        if draw < self.history_drop_fraction:
            return 0
        return 2 if draw < self.history_drop_fraction + self.history_duplicate_fraction else 1

    def take_fill_off_socket(self) -> bool:
        if self.fills_off_socket > 0:
            self.fills_off_socket -= 1
            return True
        return False

    def take_rest_error(self, route: str) -> RestError | None:
        """The error to answer this request (`METHOD /template`) with, if one is active (counts it down)."""
        err = self.rest_error
        if err is None or not err.active() or not err.applies_to(route):
            return None
        if err.remaining is not None:
            err.remaining -= 1
        return err

    def describe(self) -> dict[str, Any]:
        state = asdict(self)
        state.pop("extra")
        if self.rest_error is not None:
            err = self.rest_error
            state["rest_error"] = {
                "status": err.status, "active": err.active(), "remaining": err.remaining,
                "seconds_left": None if err.until is None else max(0.0, round(err.until - time.monotonic(), 3)),
                "retry_after": err.retry_after, "route": err.route, "hold_s": err.hold_s,
            }
        return state


def _rest_error(spec: dict[str, Any]) -> RestError:
    """`status`: 429 (Retry-After only when `retry_after` is given, as VALR may omit it), a 5xx, or
    "drop" (no answer: the connection is dropped after `hold_s`, as a timeout looks to the client)."""
    status = 0 if spec["status"] == "drop" else int(spec["status"])
    if status not in (0, 429, 500, 502, 503, 504):
        raise ValueError('rest_error.status must be 429, a 5xx or "drop"')
    retry_after = float(spec["retry_after"]) if spec.get("retry_after") is not None else None
    shape = dict(retry_after=retry_after, route=spec.get("route"), hold_s=float(spec.get("hold_s", 0)))
    if spec.get("count") is not None:
        return RestError(status, remaining=int(spec["count"]), **shape)
    return RestError(status, until=time.monotonic() + float(spec.get("seconds", 60)), **shape)
