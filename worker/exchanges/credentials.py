"""Each account's credentials, from the environment only: `credential_ref` (NULL: the exchange's default,
VALR / BINANCE / KRAKEN / COINBASE) names `<REF>_API_KEY`, `<REF>_API_SECRET` and, where the exchange
has one, `<REF>_API_PASSPHRASE`. Never in the database, never in a log line, an error or a `repr`: a
refusal names the variable, not its value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

EXCHANGES = ("valr", "binance", "kraken", "coinbase")
VALR_DEFAULT_REF = "VALR"
# The exact line today's VALR-only deployments see (tests/test_worker_e2e.py checks it).
NEVER_A_FLAG = "required in the environment (never a flag: flags show in ps)"


class CredentialMissing(ValueError):
    """An account's credential is not in the environment: the message names the account and the variable."""


@dataclass(frozen=True)
class ExchangeCredentials:
    api_key: str
    api_secret: str = field(repr=False)
    passphrase: str | None = field(default=None, repr=False)
    ref: str = ""

    def secrets(self) -> list[str]:
        """What must never be logged (logs.register_secret)."""
        return [s for s in (self.api_secret, self.passphrase) if s]


def default_ref(exchange: str) -> str:
    return exchange.upper()


def env_prefix(exchange: str, credential_ref: str | None) -> str:
    """The variables' prefix: REF upper-cased, anything not a letter, digit or _ as _ (a shell name)."""
    ref = (credential_ref or default_ref(exchange)).upper()
    return re.sub(r"[^A-Z0-9_]", "_", ref)


def needs_passphrase(exchange: str) -> bool:
    """Whether the exchange's ccxt class requires a password (Coinbase Pro's passphrase did; Binance,
    Kraken and Coinbase Advanced Trade do not): ccxt's own `requiredCredentials`, not our guess."""
    if exchange == "valr":
        return False
    import ccxt  # the REST classes carry the same requiredCredentials as ccxt.pro's

    return bool(getattr(ccxt, exchange)().requiredCredentials.get("password"))


def account_name(account: Mapping[str, Any]) -> str:
    label = account.get("label") or account.get("subaccount_id") or "primary"
    return f"account {label} ({account['exchange_account_id']}, {account['exchange']})"


def resolve(account: Mapping[str, Any], env: Mapping[str, str]) -> ExchangeCredentials:
    """One account's credentials, or CredentialMissing naming the account and the variable."""
    exchange = account["exchange"]
    prefix = env_prefix(exchange, account.get("credential_ref"))
    wanted = [f"{prefix}_API_KEY", f"{prefix}_API_SECRET"]
    if needs_passphrase(exchange):
        wanted.append(f"{prefix}_API_PASSPHRASE")
    for name in wanted:
        if not env.get(name):
            if prefix == VALR_DEFAULT_REF and exchange == "valr":
                raise CredentialMissing(f"{name}: {NEVER_A_FLAG}")  # today's line, unchanged
            raise CredentialMissing(f"{name}: {NEVER_A_FLAG}; {account_name(account)} uses it")
    return ExchangeCredentials(api_key=env[wanted[0]], api_secret=env[wanted[1]],
                               passphrase=env.get(wanted[2]) if len(wanted) > 2 else None, ref=prefix)


def valr_required(accounts: Iterable[Mapping[str, Any]]) -> bool:
    """The default VALR key is required unless the database has accounts and none of them uses it:
    a database with no account yet is a VALR deployment, as before the exchange seam."""
    accounts = list(accounts)
    return not accounts or any(a["exchange"] == "valr" and env_prefix("valr", a.get("credential_ref")) == "VALR"
                               for a in accounts)


def resolve_all(accounts: Iterable[Mapping[str, Any]], env: Mapping[str, str]) -> dict[Any, ExchangeCredentials]:
    """Every account's credentials by exchange_account_id; the first missing one raises (one line)."""
    return {a["exchange_account_id"]: resolve(a, env) for a in accounts}
