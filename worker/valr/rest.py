"""Async VALR REST client (httpx). Every number VALR sends stays as received (strings stay strings,
bare JSON numbers become Decimal or int, never float), so answers can go verbatim to SQL as jsonb."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Awaitable, Callable

import httpx

from worker.valr.errors import (
    DUPLICATE_CUSTOMER_ORDER_ID_CODE, ORDER_NOT_FOUND_CODE, AuthenticationError, ClockSkewError,
    DuplicateCustomerOrderId, OrderNotFound, PlacementAnswerLost, RateLimited, TransportError, ValrError,
)
from worker.valr.pairs import PairTable
from worker.valr.ratelimit import RequestBudget, shared_budget, wait_after_429
from worker.valr.signing import Credentials, auth_headers, next_timestamp_ms, wall_clock

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.valr.com"
TRADE_PAGE = 100  # VALR's maximum `limit` on trade history
HISTORY_PAGE = 200  # transaction history: VALR refuses a larger `limit` (its examples use 100)


class PlacementNotSent(Exception):
    """The database refused this placement attempt (`may_send` answered False): nothing was sent.
    `attempt` > 1: every earlier attempt was refused by VALR with a 429, so VALR holds nothing."""

    def __init__(self, attempt: int) -> None:
        super().__init__(f"placement attempt {attempt} not sent: the database refused it")
        self.attempt = attempt


# Asked right before each placement attempt leaves (after any budget or 429 wait): may it go now?
MaySend = Callable[[int], Awaitable[bool]]


@dataclass(frozen=True)
class PlacedOrder:
    id: str
    customer_order_id: str


def loads(text: str | bytes) -> Any:
    """VALR JSON → Python, with bare decimals as Decimal (ints, e.g. sequenceId, stay exact ints)."""
    return json.loads(text, parse_float=Decimal, parse_constant=str)  # NaN/Infinity stay strings


def dumps(body: dict[str, Any]) -> str:
    """Compact JSON with Decimals as strings: the exact text that is signed and sent."""
    return json.dumps(body, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def iso_ms(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds, as VALR prints and accepts it."""
    moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    """VALR's timestamps, which may carry nanoseconds ('2025-06-17T13:02:41.280178906Z')."""
    text = text.strip().replace("Z", "+00:00")
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        tz = rest[len(digits):] or "+00:00"
        text = f"{head}.{(digits + '000000')[:6]}{tz}"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class ValrClient:
    """One process's view of VALR's REST API. Each account method takes `subaccount_id` first
    ("" = the primary account); it is sent as X-VALR-SUB-ACCOUNT-ID and signed."""

    def __init__(self, base_url: str, credentials: Credentials, *, requests_per_minute: int = 1000,
                 timeout: float = 10.0, pairs: PairTable | None = None, max_429_retries: int = 3,
                 wait_on_429: bool = True, budget: RequestBudget | None = None,
                 clock: Callable[[], float] = wall_clock) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.pairs = pairs if pairs is not None else PairTable()
        self.requests_sent: Counter[str] = Counter()
        self._budget = budget if budget is not None else shared_budget(requests_per_minute)
        self._max_429_retries = max_429_retries
        self._wait_on_429 = wait_on_429
        self._clock = clock
        self._last_ms = 0
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout)

    def __repr__(self) -> str:
        return f"ValrClient({self.base_url!r}, api_key={self.credentials.api_key[:6]!r}…)"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "ValrClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- orders -------------------------------------------------------------------------------

    async def place_limit_order(self, subaccount_id: str, *, pair: str, side: str, quantity: Decimal,
                                price: Decimal, customer_order_id: str, post_only: bool = False,
                                time_in_force: str = "GTC", may_send: MaySend | None = None) -> PlacedOrder:
        """POST /v1/orders/limit. 202 means accepted, not placed: the outcome arrives by WebSocket or
        status poll. No answer after sending → PlacementAnswerLost (look the order up, never resend).
        `may_send(attempt)` is asked right before each attempt (the first, and each retry after a 429)
        leaves; False → PlacementNotSent. Each attempt is bounded by the client's timeout in total."""
        side = _side(side)
        quantity, price = Decimal(quantity), Decimal(price)
        self.pairs.check(pair, quantity, price)
        body = {"side": side, "quantity": format(quantity, "f"), "price": format(price, "f"),
                "pair": pair, "postOnly": post_only, "customerOrderId": customer_order_id,
                "timeInForce": time_in_force}
        answer = await self._request("POST", "/v1/orders/limit", "POST /v1/orders/limit",
                                     subaccount_id, body=body, placement=True, may_send=may_send)
        return PlacedOrder(id=str(answer["id"]), customer_order_id=str(answer.get("customerOrderId") or customer_order_id))

    async def place_market_order(self, subaccount_id: str, *, pair: str, side: str, base_amount: Decimal,
                                 customer_order_id: str, may_send: MaySend | None = None) -> PlacedOrder:
        """POST /v1/orders/market with baseAmount (both sides). Like a limit order: 202 = accepted; the
        fills, or a refusal (e.g. "Insufficient Balance"), arrive by WebSocket or status poll. No answer
        after sending → PlacementAnswerLost (look the order up, never resend)."""
        side = _side(side)
        base_amount = Decimal(base_amount)
        rule = self.pairs.get(pair)
        if rule is not None:  # VALR truncates baseAmount to the pair's decimals: refuse instead
            rule.check(base_amount, rule.tick_size)
        body = {"side": side, "baseAmount": format(base_amount, "f"), "pair": pair,
                "customerOrderId": customer_order_id}
        answer = await self._request("POST", "/v1/orders/market", "POST /v1/orders/market",
                                     subaccount_id, body=body, placement=True, may_send=may_send)
        return PlacedOrder(id=str(answer["id"]), customer_order_id=str(answer.get("customerOrderId") or customer_order_id))

    async def order_status(self, subaccount_id: str, pair: str, *, order_id: str | None = None,
                           customer_order_id: str | None = None) -> dict:
        if (order_id is None) == (customer_order_id is None):
            raise ValueError("give exactly one of order_id and customer_order_id")
        if order_id is not None:
            path, route = f"/v1/orders/{pair}/orderid/{order_id}", "GET /v1/orders/{pair}/orderid/{id}"
        else:
            path = f"/v1/orders/{pair}/customerorderid/{customer_order_id}"
            route = "GET /v1/orders/{pair}/customerorderid/{id}"
        return await self._request("GET", path, route, subaccount_id, order_lookup=True)

    async def order_history_detail(self, subaccount_id: str, order_id: str) -> list[dict]:
        """Every status snapshot of the order, newest first."""
        return await self._request("GET", f"/v1/orders/history/detail/orderid/{order_id}",
                                   "GET /v1/orders/history/detail/orderid/{id}", subaccount_id, order_lookup=True)

    async def open_orders(self, subaccount_id: str) -> list[dict]:
        return await self._request("GET", "/v1/orders/open", "GET /v1/orders/open", subaccount_id)

    async def cancel_order(self, subaccount_id: str, pair: str, *, order_id: str | None = None,
                           customer_order_id: str | None = None) -> None:
        """DELETE /v1/orders/order → 202. The cancellation itself is confirmed by an ORDER_STATUS_UPDATE
        (or refused by FAILED_CANCEL_ORDER)."""
        if (order_id is None) == (customer_order_id is None):
            raise ValueError("give exactly one of order_id and customer_order_id")
        body = {"orderId": order_id} if order_id is not None else {"customerOrderId": customer_order_id}
        body["pair"] = pair
        await self._request("DELETE", "/v1/orders/order", "DELETE /v1/orders/order", subaccount_id,
                            body=body, order_lookup=True)

    async def order_trades(self, subaccount_id: str, pair: str, order_id: str, *,
                           since: datetime | None = None) -> list[dict]:
        """The fills of one order, oldest first. VALR has no per-order endpoint: page the account's trade
        history (100 rows, newest first, `beforeId`) from `since` (the order's submission) and keep the
        rows of this order."""
        trades: list[dict] = []
        before_id: str | None = None
        while True:
            params: dict[str, str] = {"limit": str(TRADE_PAGE)}
            if since is not None:
                params["startTime"] = iso_ms(since)
            if before_id is not None:
                params["beforeId"] = before_id
            page = await self._request("GET", "/v1/account/tradehistory", "GET /v1/account/tradehistory",
                                       subaccount_id, params=params)
            trades.extend(row for row in page if row.get("orderId") == order_id
                          and (not pair or row.get("currencyPair", pair) == pair))
            if len(page) < TRADE_PAGE or (since is not None and _older_than(page[-1], since)):
                break
            before_id = str(page[-1]["id"])
        trades.reverse()
        return trades

    # ---- account ------------------------------------------------------------------------------

    async def transaction_history(self, subaccount_id: str, *, limit: int = HISTORY_PAGE,
                                  before_id: str | None = None, start_time: datetime | None = None) -> list[dict]:
        """One page of GET /v1/account/transactionhistory, newest first, as received (`beforeId`: the
        transactions older than that id; `startTime`: none older than it). lth_pvr.record_transaction_page
        reads it and says whether to go on."""
        params: dict[str, str] = {"limit": str(limit)}
        if before_id is not None:
            params["beforeId"] = before_id
        if start_time is not None:
            params["startTime"] = iso_ms(start_time)
        return await self._request("GET", "/v1/account/transactionhistory", "GET /v1/account/transactionhistory",
                                   subaccount_id, params=params)

    async def transaction_history_across(self, *, start: datetime, end: datetime, skip: int = 0,
                                         limit: int = HISTORY_PAGE) -> list[dict]:
        """One page of GET /v1/account/transactionhistory/subaccounts (primary key only): every
        subaccount's transactions within start..end (both inclusive, at most 7 days apart), newest
        first, `skip`/`limit` over all of them, grouped per subaccount, as received
        (lth_pvr.record_subaccount_window_page reads it and says whether to go on)."""
        params = {"skip": str(skip), "limit": str(limit), "startTime": iso_ms(start), "endTime": iso_ms(end)}
        return await self._request("GET", "/v1/account/transactionhistory/subaccounts",
                                   "GET /v1/account/transactionhistory/subaccounts", "", params=params)

    async def balances_all(self) -> list[dict]:
        """GET /v1/account/balances/all (primary key only): every account's non-zero balances, grouped
        per account, the primary as "0", as received (lth_pvr.record_balances_all reads it)."""
        return await self._request("GET", "/v1/account/balances/all", "GET /v1/account/balances/all", "")

    async def balances(self, subaccount_id: str) -> list[dict]:
        """GET /v1/account/balances as received (lth_pvr.record_balance_snapshot reads it)."""
        return await self._request("GET", "/v1/account/balances", "GET /v1/account/balances", subaccount_id)

    async def check_credentials(self) -> None:
        """One signed read-only request (GET /v1/account/balances on the key's own account): raises
        AuthenticationError when VALR refuses the key, before anything is placed with it."""
        await self._request("GET", "/v1/account/balances", "GET /v1/account/balances", "")

    # ---- public -------------------------------------------------------------------------------

    async def server_time(self) -> datetime:
        answer = await self._request("GET", "/v1/public/time", "GET /v1/public/time", None)
        if answer.get("time"):
            return parse_time(str(answer["time"]))
        return datetime.fromtimestamp(int(answer["epochTime"]), timezone.utc)

    async def check_clock(self, max_skew_seconds: float = 30) -> float:
        """Local clock minus VALR's, in seconds. Refuses (ClockSkewError) beyond the limit: VALR would
        refuse every signed request."""
        before = self._clock()
        server = (await self.server_time()).timestamp()
        after = self._clock()
        skew = (before + after) / 2 - server
        # VALR stamped its time somewhere between our two readings: the true skew is within half the
        # round trip of the estimate. Refused only when it is surely beyond the limit — a request that
        # waited (a 429 storm, a slow network) widens the interval, never fails a good clock.
        if abs(skew) - (after - before) / 2 > max_skew_seconds:
            err = ClockSkewError(
                f"local clock is {skew:+.1f}s off VALR's server time (limit {max_skew_seconds:g}s): VALR refuses "
                f"requests signed with a stale timestamp; synchronise the clock (NTP) and start again")
            err.skew = skew  # type: ignore[attr-defined]  # the measurement, for the worker's record
            raise err
        return skew

    async def market_summary(self, pair: str) -> dict:
        """GET /v1/public/{pair}/marketsummary: askPrice, bidPrice, lastTradedPrice, created … (public;
        VALR caches it for 10 s)."""
        return await self._request("GET", f"/v1/public/{pair}/marketsummary",
                                   "GET /v1/public/{pair}/marketsummary", None)

    async def public_pairs(self) -> list[dict]:
        """GET /v1/public/pairs as received (lth_pvr.refresh_pairs reads it)."""
        return await self._request("GET", "/v1/public/pairs", "GET /v1/public/pairs", None)

    async def public_order_types(self) -> list[dict]:
        """GET /v1/public/ordertypes: `[{"currencyPair", "orderTypes": [...]}]`, every pair at once."""
        return await self._request("GET", "/v1/public/ordertypes", "GET /v1/public/ordertypes", None)

    # ---- transport ----------------------------------------------------------------------------

    async def _request(self, method: str, path: str, route: str, subaccount_id: str | None, *,
                       body: dict | None = None, params: dict[str, str] | None = None,
                       placement: bool = False, order_lookup: bool = False, may_send: MaySend | None = None) -> Any:
        """One call, with the client-side budget and VALR's 429 wait. `subaccount_id=None` = public."""
        attempt = 0
        while True:
            await self._budget.acquire()
            if may_send is not None and not await may_send(attempt + 1):
                raise PlacementNotSent(attempt + 1)
            response = await self._send(method, path, route, subaccount_id, body, params, placement)
            if response.status_code != 429:
                return self._answer(response, route, order_lookup, placement)
            # A 429 proves the request was not accepted, so even an order POST may be retried.
            # Without Retry-After, until the next minute by the clock the requests are signed with.
            wait = wait_after_429(response.headers.get("Retry-After"), self._clock())
            attempt += 1
            if not self._wait_on_429 or attempt > self._max_429_retries:
                raise RateLimited(route, wait)
            log.warning("VALR rate limit on %s: waiting %.1fs (attempt %d)", route, wait, attempt)
            await asyncio.sleep(wait)

    async def _send(self, method: str, path: str, route: str, subaccount_id: str | None,
                    body: dict | None, params: dict[str, str] | None, placement: bool) -> httpx.Response:
        url = httpx.URL(self.base_url + path, params=params)
        signed_path = url.raw_path.decode()  # path + query exactly as it goes on the wire
        text = dumps(body) if body is not None else ""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if subaccount_id is not None:
            headers.update(auth_headers(self.credentials, method, signed_path, text, subaccount_id,
                                        self._timestamp_ms()))
        self.requests_sent[route] += 1
        try:
            # One bound for the whole request (httpx's timeout is per phase): a placement's lost-answer
            # grace must not expire while this request may still reach VALR.
            async with asyncio.timeout(self._timeout):
                return await self._http.request(method, url, content=text.encode() if body is not None else None,
                                                headers=headers)
        except TimeoutError:
            cls = PlacementAnswerLost if placement else TransportError
            raise cls(f"{route}: no answer from VALR within {self._timeout:g}s") from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransportError(f"{route}: could not connect to VALR ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            # Sent (or partly sent) and no answer: for an order, VALR may have accepted it.
            cls = PlacementAnswerLost if placement else TransportError
            raise cls(f"{route}: no answer from VALR ({type(exc).__name__})") from None

    def _timestamp_ms(self) -> int:
        # Unique within a moment: two identical requests in one millisecond would carry the same
        # signature, and VALR (like the simulator) may refuse the second as a replay. Follows the clock.
        self._last_ms = next_timestamp_ms(int(self._clock() * 1000), self._last_ms)
        return self._last_ms

    def _answer(self, response: httpx.Response, route: str, order_lookup: bool, placement: bool) -> Any:
        status = response.status_code
        if status >= 500:
            cls = PlacementAnswerLost if placement else TransportError
            raise cls(f"{route}: VALR answered {status}", status=status)
        if status < 400:
            return loads(response.content) if response.content.strip() else None
        code, message = _error_body(response)
        raise _classify(status, code, message, order_lookup)


def _classify(status: int, code: int | None, message: str, order_lookup: bool) -> ValrError:
    """VALR's refusal → its error class, by VALR's error code. The message is read only when the body
    carries no code (a bare 404, an HTML page): VALR's wording changes, its codes do not."""
    if status in (401, 403):
        return AuthenticationError(status, code, message)
    if code == DUPLICATE_CUSTOMER_ORDER_ID_CODE:
        return DuplicateCustomerOrderId(status, code, message)
    if order_lookup and (code == ORDER_NOT_FOUND_CODE or (code is None and status == 404)):
        return OrderNotFound(status, code, message)
    return ValrError(status, code, message)


def _side(side: str) -> str:
    side = side.upper()
    if side not in ("BUY", "SELL"):
        raise ValueError(f"side must be BUY or SELL, got {side!r}")
    return side


def _error_body(response: httpx.Response) -> tuple[int | None, str]:
    try:
        body = loads(response.content)
    except ValueError:
        return None, response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        code = body.get("code")
        return (int(code) if isinstance(code, (int, str)) and str(code).lstrip("-").isdigit() else None,
                str(body.get("message", "")))
    return None, str(body)[:200]


def _older_than(row: dict, since: datetime) -> bool:
    """Is this trade history row from before `since` (naive datetimes are taken as UTC)?"""
    since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    try:
        return parse_time(str(row["tradedAt"])) < since
    except (KeyError, ValueError):
        return False
