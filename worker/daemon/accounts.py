"""Which exchange each account is on, and its I/O: the runner routes every claimed row through here.

VALR accounts keep the worker's one VALR client (its key is VALR_API_KEY, as before the exchange seam),
except a VALR account on a key of its own (credential_ref: a customer's own VALR account beside the
primary account's subaccounts), which gets a VALR client with that key and a session context around it;
an account on an exchange reached through ccxt gets its own adapter (its own key: credential_ref) and a
session context whose client is that adapter, so placement and the REST follow-ups run the same code
for every exchange. Credentials are resolved at start for every account (a missing one refuses the
start, one line); an account first seen later is resolved when first leased, and a missing credential
then is one ERROR line naming it and the account is left alone (nothing claimed, no session).
"""

from __future__ import annotations

import asyncio

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from uuid import UUID

from worker.daemon.lookups import Lookups
from worker.daemon.session import SessionContext
from worker.db.store import Store
from worker.exchanges.credentials import (
    VALR_DEFAULT_REF, CredentialMissing, ExchangeCredentials, account_name, env_prefix, resolve,
)
from worker.logs import event, register_secret
from worker.valr import AuthenticationError, Credentials, RateLimited, TransportError, ValrClient, ValrError

if TYPE_CHECKING:  # ccxt (2-4 s to import on the 2-core machine) only once a ccxt account needs it
    from worker.exchanges.ccxt_adapter import CcxtAdapter

log = logging.getLogger("worker.accounts")


class ExchangeAccounts:
    def __init__(self, store: Store, env: Mapping[str, str], base_urls: Mapping[str, str | None],
                 valr_base_url: str = "https://api.valr.com", valr_requests_per_minute: int = 1000,
                 rate_limits: Mapping[str, float | None] | None = None) -> None:
        self.store = store
        self.valr_base_url, self.valr_requests_per_minute = valr_base_url, valr_requests_per_minute
        self.env = env
        self.base_urls = base_urls
        self.rate_limits = rate_limits or {}  # <EXCHANGE>_RATE_LIMIT_MS: ccxt's rateLimit (None: ccxt's own)
        self.rows: dict[UUID, dict] = {}                 # account_exchanges rows, by account
        self.adapters: dict[UUID, CcxtAdapter] = {}      # ccxt accounts' adapters (their own keys)
        self.valr_clients: dict[UUID, ValrClient] = {}   # VALR accounts on a key of their own
        self.contexts: dict[UUID, SessionContext] = {}   # ccxt accounts' session contexts
        self.refs: dict[UUID, str] = {}                  # ccxt accounts' environment prefixes
        self.unusable: dict[UUID, str] = {}              # accounts whose credential is missing: why
        self.public: dict[str, CcxtAdapter] = {}         # one keyless adapter per ccxt exchange: prices, pairs

    async def load(self, account_ids: Iterable[UUID] | None = None) -> list[dict]:
        rows = await self.store.account_exchanges(list(account_ids) if account_ids is not None else None)
        for row in rows:
            self.rows[row["exchange_account_id"]] = row
        return rows

    def resolve_at_start(self, rows: list[dict]) -> None:
        """Every ccxt account's credential, now: CredentialMissing (one line) refuses the start."""
        for row in rows:
            if self._own_key(row):
                self._keep(row, resolve(row, self.env))

    async def check_keys(self) -> None:
        """One signed read-only request per ccxt account (its open orders) before anything is placed: a
        key its exchange refuses stops the start (CredentialMissing's one line, naming the account) rather
        than every order failing. The exchange unreachable: said, and left to the sessions."""
        for account_id, adapter in self.adapters.items():
            row, ref = self.rows[account_id], self.refs[account_id]
            try:
                await adapter.open_orders(row["subaccount_id"])
            except AuthenticationError as exc:
                raise CredentialMissing(f"{ref}_API_KEY: {row['exchange']} refused the key ({exc.message[:200]}): "
                                        f"check {ref}_API_KEY and {ref}_API_SECRET; {account_name(row)} uses it") from None
            except (TransportError, RateLimited, ValrError) as exc:
                event(log, "could not check the account's key yet; the first signed request will", logging.WARNING,
                      account=account_name(row), error=str(exc)[:200])

    async def resolve_new(self, account_ids: Iterable[UUID]) -> None:
        """Accounts leased but not seen at start: resolved now; a missing credential is said once."""
        unknown = [a for a in account_ids if a not in self.rows]
        if not unknown:
            return
        for row in await self.load(unknown):
            if not self._own_key(row):
                continue
            try:
                self._keep(row, resolve(row, self.env))
            except CredentialMissing as exc:
                self.unusable[row["exchange_account_id"]] = str(exc)
                event(log, "account left alone: its credential is missing", logging.ERROR,
                      account=account_name(row), error=str(exc))

    @staticmethod
    def _own_key(row: Mapping[str, Any]) -> bool:
        """Whether the account needs a client of its own: every ccxt account, and a VALR account whose
        credential_ref names another key than VALR_API_KEY's."""
        return row["exchange"] != "valr" or env_prefix("valr", row.get("credential_ref")) != VALR_DEFAULT_REF

    def _keep(self, row: dict, credentials: ExchangeCredentials) -> None:
        for secret in credentials.secrets():
            register_secret(secret)
        if row["exchange"] == "valr":
            self.valr_clients[row["exchange_account_id"]] = ValrClient(
                self.valr_base_url, Credentials(api_key=credentials.api_key, api_secret=credentials.api_secret),
                requests_per_minute=self.valr_requests_per_minute)
            return
        from worker.exchanges.ccxt_adapter import CcxtAdapter

        self.refs[row["exchange_account_id"]] = credentials.ref
        self.adapters[row["exchange_account_id"]] = CcxtAdapter(
            row["exchange"], credentials, self.base_urls.get(row["exchange"]), self.rate_limits.get(row["exchange"]))

    def exchange(self, account_id: UUID) -> str:
        """'valr' unless account_exchanges says otherwise (an account it has not named yet is VALR's)."""
        return (self.rows.get(account_id) or {}).get("exchange", "valr")

    def is_ccxt(self, account_id: UUID) -> bool:
        return account_id in self.adapters

    def context(self, account_id: UUID, valr: SessionContext) -> SessionContext:
        """The session context of an account: VALR's own, one around the account's own VALR key, or one
        whose client is the account's adapter."""
        own = self.valr_clients.get(account_id)
        if own is not None:
            if account_id not in self.contexts:
                self.contexts[account_id] = replace(valr, client=own, lookups=Lookups(own, valr.store),
                                                    credentials=own.credentials)
            return self.contexts[account_id]
        adapter = self.adapters.get(account_id)
        if adapter is None:
            return valr
        if account_id not in self.contexts:
            self.contexts[account_id] = replace(valr, client=adapter, lookups=Lookups(adapter, valr.store),
                                                clock=None, key_refused=self._key_refused(account_id))
        return self.contexts[account_id]

    def lookups(self, account_id: UUID, valr: Lookups) -> Lookups:
        own = self.valr_clients.get(account_id)
        if own is not None:
            return self.contexts[account_id].lookups if account_id in self.contexts else Lookups(own, self.store)
        adapter = self.adapters.get(account_id)
        if adapter is None:
            return valr
        return self.contexts[account_id].lookups if account_id in self.contexts else Lookups(adapter, self.store)

    def _key_refused(self, account_id: UUID):
        """An exchange refused this account's key on a placement: the refusal is that order's known
        outcome (nothing was placed); said as an ERROR naming the account. Other accounts go on."""
        async def refused(reason: str, order_id: UUID | None = None) -> None:
            event(log, "the exchange refused the account's key", logging.ERROR,
                  account=account_name(self.rows[account_id]), reason=reason)
            if order_id is not None:
                await self.store.record_placement_refused(order_id, "valr_error", reason)
        return refused

    def ccxt_exchanges(self) -> set[str]:
        return {self.rows[a]["exchange"] for a in self.adapters}

    def public_adapter(self, exchange: str) -> CcxtAdapter:
        if exchange not in self.public:
            from worker.exchanges.ccxt_adapter import CcxtAdapter

            self.public[exchange] = CcxtAdapter(exchange, None, self.base_urls.get(exchange),
                                                self.rate_limits.get(exchange))
        return self.public[exchange]

    def usable(self, account_ids: Iterable[Any]) -> list[UUID]:
        return [a for a in account_ids if a not in self.unusable]

    async def aclose(self) -> None:
        """Every client closed at once: each ccxt close ends with a pause of its own (ccxt's timeout_on_exit,
        250 ms for the transports to close), which one after another would add up at every stop."""
        clients = [*self.adapters.values(), *self.public.values(), *self.valr_clients.values()]
        await asyncio.gather(*(client.aclose() for client in clients))
