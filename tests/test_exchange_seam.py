"""The exchange seam's pure parts: where each exchange is (<EXCHANGE>_BASE_URL), each account's
credentials (resolved from the environment, refused in one line naming the account, never shown), the
quirks table read against ccxt as installed, and ccxt's exceptions as the worker's categories."""

from __future__ import annotations

import uuid

import ccxt
import pytest

from worker import logs
from worker.config import ConfigError, build_settings
from worker.daemon.accounts import ExchangeAccounts
from worker.exchanges.ccxt_adapter import QUIRKS, CcxtAdapter, as_tick_sizes, refusal
from worker.exchanges.credentials import CredentialMissing, resolve, resolve_all, valr_required
from worker.exchanges.urls import at_origin, point_at
from worker.valr import AuthenticationError, OrderNotFound, PlacementAnswerLost, RateLimited, TransportError, ValrError

SECRET = "s3cr3t-never-shown"


def account(exchange: str, ref: str | None = None, label: str = "desk") -> dict:
    return {"exchange_account_id": uuid.UUID(int=7), "exchange": exchange, "credential_ref": ref,
            "subaccount_id": "", "label": label}


def settings(env: dict):
    return build_settings(database_url="postgresql://u@h/db", valr_base_url=None, max_session=0,
                          socket_wait=0, log_format="text", env=env)


# -- where each exchange is -----------------------------------------------------------------------
def test_each_exchange_base_url_is_read_and_validated_like_valrs():
    s = settings({"KRAKEN_BASE_URL": "http://127.0.0.1:8123/"})
    assert s.exchange_base_urls == {"binance": None, "kraken": "http://127.0.0.1:8123", "coinbase": None}
    with pytest.raises(ConfigError, match=r"^BINANCE_BASE_URL: must be an http\(s\) URL"):
        settings({"BINANCE_BASE_URL": "ftp://example"})


def test_an_exchanges_rate_limit_is_ccxts_own_unless_the_operator_sets_it():
    s = settings({"KRAKEN_RATE_LIMIT_MS": "333"})
    assert s.exchange_rate_limits == {"binance": None, "kraken": 333.0, "coinbase": None}
    with pytest.raises(ConfigError, match=r"^COINBASE_RATE_LIMIT_MS: must be a positive number of milliseconds"):
        settings({"COINBASE_RATE_LIMIT_MS": "0"})
    accounts = ExchangeAccounts(None, {}, {}, rate_limits=s.exchange_rate_limits)
    assert accounts.public_adapter("kraken").ccxt.rateLimit == 333  # what ccxt's throttle spaces calls by
    assert accounts.public_adapter("binance").ccxt.rateLimit == ccxt.binance().rateLimit


def test_point_at_sends_every_ccxt_url_to_the_base_url_path_kept_ws_for_sockets():
    adapter = CcxtAdapter("binance", None, "http://127.0.0.1:8123")
    urls = adapter.ccxt.urls["api"]
    assert urls["public"].startswith("http://127.0.0.1:8123/api/")
    assert urls["ws"]["spot"].startswith("ws://127.0.0.1:8123/")
    assert at_origin("wss://ws.kraken.com/v2", "https://double:9") == "wss://double:9/v2"
    real = point_at(ccxt.kraken(), None).urls["api"]["public"]
    assert real.startswith("https://api.kraken.com")


# -- credentials ----------------------------------------------------------------------------------
def test_an_account_resolves_its_ref_upper_cased_and_the_default_by_exchange():
    env = {"DESK_B_API_KEY": "k1", "DESK_B_API_SECRET": SECRET, "KRAKEN_API_KEY": "k2", "KRAKEN_API_SECRET": SECRET}
    assert resolve(account("binance", "desk_b"), env).api_key == "k1"
    assert resolve(account("kraken"), env).api_key == "k2"


def test_a_missing_credential_is_one_line_naming_the_account_and_the_variable():
    with pytest.raises(CredentialMissing) as refused:
        resolve_all([account("coinbase", "ops")], {"OPS_API_KEY": "k"})
    line = str(refused.value)
    assert "\n" not in line
    assert line.startswith("OPS_API_SECRET: required in the environment")
    assert "account desk (00000000-0000-0000-0000-000000000007, coinbase)" in line


def test_valrs_default_key_keeps_todays_line_and_is_required_only_where_used():
    with pytest.raises(CredentialMissing, match=r"^VALR_API_KEY: required in the environment \(never a flag: "
                                                r"flags show in ps\)$"):
        resolve(account("valr"), {})
    assert valr_required([])  # no account yet: a VALR deployment, as before
    assert valr_required([account("valr"), account("binance")])
    assert not valr_required([account("binance"), account("valr", "second_valr")])


def test_secrets_never_in_repr_nor_in_logs():
    env = {"BINANCE_API_KEY": "key", "BINANCE_API_SECRET": SECRET}
    creds = resolve(account("binance"), env)
    assert SECRET not in repr(creds) and SECRET not in str(creds)
    accounts = ExchangeAccounts(None, env, {})
    accounts.resolve_at_start([account("binance")])  # registers the account's secret with the log masking
    assert SECRET not in repr(accounts.adapters[uuid.UUID(int=7)])
    assert SECRET not in repr(settings(env))
    assert logs._mask(f"signed with {SECRET}") == "signed with ***"


def test_none_of_the_three_asks_for_a_passphrase_in_ccxts_current_apis():
    for exchange in QUIRKS:
        assert not getattr(ccxt, exchange)().requiredCredentials.get("password"), exchange


# -- quirks, read against ccxt as installed -------------------------------------------------------
def test_the_quirks_table_matches_what_ccxt_offers():
    for exchange, quirks in QUIRKS.items():
        has = getattr(ccxt.pro, exchange)().has
        assert has["watchOrders"], exchange
        assert quirks.watch_my_trades == bool(has.get("watchMyTrades")), exchange
        assert has.get({"watch_ticker": "watchTicker", "watch_bids_asks": "watchBidsAsks"}[quirks.price_stream]), exchange
        if quirks.order_trades == "fetch_order_trades":
            assert has.get("fetchOrderTrades") is True, exchange
        else:
            assert has.get("fetchMyTrades"), exchange


def test_an_exchange_without_watch_my_trades_streams_orders_only():
    assert len(CcxtAdapter("coinbase", None, None).account_reads()) == 1
    assert len(CcxtAdapter("binance", None, None).account_reads()) == 2


def test_decimal_places_precision_becomes_tick_sizes():
    markets = {"BTC/USD": {"precision": {"amount": 8, "price": 1}}}
    assert as_tick_sizes(markets, ccxt.DECIMAL_PLACES)["BTC/USD"]["precision"] == {"amount": 1e-08, "price": 0.1}
    assert as_tick_sizes(markets, ccxt.TICK_SIZE) is markets


# -- ccxt's exceptions, the worker's categories ---------------------------------------------------
@pytest.mark.parametrize("raised, placing, category", [
    (ccxt.RateLimitExceeded("429"), True, RateLimited),
    (ccxt.DDoSProtection("418"), False, RateLimited),
    (ccxt.AuthenticationError("bad key"), True, AuthenticationError),
    (ccxt.OrderNotFound("unknown"), False, OrderNotFound),
    (ccxt.InsufficientFunds("no"), True, ValrError),
    (ccxt.RequestTimeout("slow"), True, PlacementAnswerLost),
    (ccxt.NetworkError("reset"), False, TransportError),
    (ccxt.DuplicateOrderId("dup"), True, PlacementAnswerLost),  # the exchange holds it: look it up
])
def test_ccxt_exceptions_become_the_workers_categories(raised, placing, category):
    assert type(refusal(raised, placing)) is category  # an answered refusal is never "could not ask"


def test_a_valr_account_on_its_own_key_gets_a_client_with_that_key_and_the_default_ones_do_not():
    """A customer's own VALR account (credential_ref CUST7) is placed, watched and looked up with CUST7's
    key — never with VALR_API_KEY's, which would act on the primary account — and a missing CUST7 key
    refuses the start naming the account."""
    from worker.daemon.session import SessionContext
    from worker.valr import Credentials

    env = {"VALR_API_KEY": "primary", "VALR_API_SECRET": "p" * 16, "CUST7_API_KEY": "cust7", "CUST7_API_SECRET": SECRET}
    own, default = account("valr", "cust7"), {**account("valr"), "exchange_account_id": uuid.UUID(int=8)}
    accounts = ExchangeAccounts(None, env, {}, "http://127.0.0.1:9", 60)
    accounts.resolve_at_start([own, default])
    valr = SessionContext(store=None, client=object(), lookups=object(), spawn=None, valr_base_url="",
                          credentials=Credentials("primary", "p" * 16))
    ctx = accounts.context(own["exchange_account_id"], valr)
    assert ctx.client.credentials.api_key == "cust7" and ctx.credentials.api_key == "cust7"
    assert ctx.lookups.client is ctx.client and SECRET not in repr(ctx.client)
    assert accounts.context(default["exchange_account_id"], valr) is valr  # the worker's own client
    assert not accounts.is_ccxt(own["exchange_account_id"])  # VALR's socket and code path, its own key
    with pytest.raises(CredentialMissing, match=r"CUST7_API_KEY: .*account desk"):
        ExchangeAccounts(None, {}, {}).resolve_at_start([own])
@pytest.mark.parametrize("exchange", list(QUIRKS))
def test_every_adapter_lists_the_accounts_open_orders_in_one_call(exchange):
    """The safety net and the reconciliation ask for every open order without a symbol: Binance's ccxt
    refuses that (an ExchangeError before any request) unless its option says the weight is known."""
    import asyncio
    import contextlib

    from worker.exchanges.credentials import ExchangeCredentials
    from worker.lab.demo_exchanges import LAB_RATE_LIMIT_MS, start_venue

    with contextlib.ExitStack() as stack:
        venue = start_venue(stack, exchange, paced=True)  # Kraken's ccxt throttle at the lab's pace

        async def listed() -> list:
            adapter = CcxtAdapter(exchange, ExchangeCredentials(venue.key, venue.double.server.keys[venue.key]),
                                  venue.double.base_url, LAB_RATE_LIMIT_MS.get(exchange))
            try:
                return await adapter.open_orders("")
            finally:
                await adapter.aclose()
        assert asyncio.run(listed()) == []


def test_the_sweep_hands_on_each_cached_update_once_and_forgets_what_the_cache_dropped():
    """ccxt keeps an update no waiting watch call returned in its cache: the sweep hands it on, once; an
    order's next version is new again; what the bounded cache dropped is forgotten (a persistent stream's
    memory stays flat)."""
    from worker.exchanges.ccxt_adapter import Unseen

    def order(oid: str, status: str, filled: float) -> dict:
        return {"id": oid, "status": status, "filled": filled, "remaining": 1 - filled, "lastUpdateTimestamp": filled}

    cache = [order("1", "open", 0.0)]
    unseen = Unseen(lambda: cache, orders=True)
    assert unseen.take([]) == []  # what the cache held at the start was handed on before
    cache.append(order("2", "open", 0.0))
    cache[0] = order("1", "closed", 1.0)  # FILLED arrived while no watch call waited
    assert [(o["id"], o["status"]) for o in unseen.take([])] == [("1", "closed"), ("2", "open")]
    assert unseen.take([cache[1]]) == []  # each once, whether read or swept
    cache[:] = [order(str(n), "open", 0.0) for n in range(3, 1003)]  # the cache rolled over
    assert len(unseen.take([])) == 1000 and len(unseen.seen) == 1000


def test_an_order_read_carries_no_trades_ccxt_accumulated_in_its_cache():
    """ccxt's Binance appends each trade to its cached order: read as it is, an order filled n times went
    to SQL with n trades at every update. The read hands the order on without them (its trades come as
    trades), and leaves ccxt's cache as it was."""
    from worker.exchanges.ccxt_adapter import Unseen

    trades = [{"id": str(n), "order": "1", "amount": 0.001} for n in range(500)]
    cached = {"id": "1", "status": "open", "filled": 0.5, "remaining": 0.5, "lastUpdateTimestamp": 2, "trades": trades}
    unseen = Unseen(lambda: [], orders=True)
    [read] = unseen.take([cached])
    assert "trades" not in read and read["filled"] == 0.5 and read["status"] == "open"
    assert cached["trades"] is trades and len(trades) == 500
    trade_stream = Unseen(lambda: [], orders=False)
    assert trade_stream.take([trades[0]]) == [trades[0]]  # a trade is handed on whole
