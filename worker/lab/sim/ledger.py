"""The account ledger: every transaction of every (sub)account, as VALR's transaction history serves it
(`GET /v1/account/transactionhistory`, newest first, `skip`/`limit` ≤ 200/`beforeId`, filters) and as
the account socket announces it (`NEW_ACCOUNT_HISTORY_RECORD`, currencies as objects where REST gives
codes). Money that enters or leaves: fiat deposits, crypto deposits with confirmations
(`NEW_PENDING_RECEIVE` while confirming), withdrawals with their fee, transfers between subaccounts.

One rule holds for every record: a currency's balance moves by creditValue − debitValue. The fee is
inside them (VALR's trade samples: creditValue is net of feeValue), never a third movement."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Callable

from worker.lab.sim.balances import currency_view
from worker.lab.sim.shapes import SimError, now_iso, num, uuid7

if TYPE_CHECKING:
    from worker.lab.sim.balances import Balances

Emit = Callable[[str, dict], None]

MAX_LIMIT = 200           # VALR: "The maximum allowed value of limit is 200"
DEFAULT_LIMIT = 100
WINDOW_MAX = timedelta(days=7)   # across subaccounts: startTime and endTime at most 7 days apart
WINDOW_DEFAULT = timedelta(days=1)  # across subaccounts: no times given → the last day
DESCRIPTIONS = {"FIAT_DEPOSIT": "Deposit", "BLOCKCHAIN_RECEIVE": "Receive", "BLOCKCHAIN_SEND": "Send",
                "FIAT_WITHDRAWAL": "Withdraw", "INTERNAL_TRANSFER": "Transfer", "MAKER_REWARD": "Maker Reward"}
PRIMARY_ID = "0"          # VALR names the primary account "0" in transfers and across-subaccount answers
_TRANSFERS = itertools.count(95513)


@dataclass
class Transaction:
    id: str
    subaccount_id: str
    type: str
    description: str
    event_at: str
    debit: tuple[str, Decimal] | None = None
    credit: tuple[str, Decimal] | None = None
    fee: tuple[str, Decimal] | None = None
    info: dict = field(default_factory=dict)
    at: datetime = field(init=False, repr=False)  # eventAt parsed once (filters, the across-subaccount order)

    def __post_init__(self) -> None:
        self.at = _parse_time(self.event_at)

    def rest_item(self) -> dict:
        """The REST item: currencies as codes, absent sides left out (VALR's samples)."""
        return self._shape(lambda code: code)

    def socket_record(self) -> dict:
        """NEW_ACCOUNT_HISTORY_RECORD's data: currencies as objects (ZAR's symbol "R", its code in shortName)."""
        return self._shape(currency_view)

    def _shape(self, currency: Callable[[str], object]) -> dict:
        item: dict = {"transactionType": {"type": self.type, "description": self.description}}
        for name, side in (("debit", self.debit), ("credit", self.credit), ("fee", self.fee)):
            if side is not None:
                item[f"{name}Currency"], item[f"{name}Value"] = currency(side[0]), num(side[1])
        item["eventAt"] = self.event_at
        if self.info:
            item["additionalInfo"] = self.info
        item["id"] = self.id
        return item

    def touches(self, currency: str) -> bool:
        return any(side is not None and side[0] == currency for side in (self.debit, self.credit))


@dataclass
class Query:
    """The filters of a transaction history request, validated as VALR documents them."""
    skip: int = 0
    limit: int = DEFAULT_LIMIT
    before_id: str | None = None
    types: frozenset[str] = frozenset()
    currency: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def parse(cls, params) -> "Query":
        try:
            skip, limit = int(params.get("skip", 0)), int(params.get("limit", DEFAULT_LIMIT))
            start = _parse_time(params["startTime"]) if params.get("startTime") else None
            end = _parse_time(params["endTime"]) if params.get("endTime") else None
        except ValueError:
            raise SimError(400, -11, "Validation Failed: bad skip, limit, startTime or endTime") from None
        if skip < 0 or limit < 1:
            raise SimError(400, -11, "Validation Failed: skip must be >= 0 and limit >= 1")
        if limit > MAX_LIMIT:  # VALR's error for this is unpublished: a 400 like its other validations
            raise SimError(400, -11, f"Validation Failed: limit must be at most {MAX_LIMIT}")
        types = frozenset(t.strip().upper() for t in params.get("transactionTypes", "").split(",") if t.strip())
        currency = params.get("currency", "").upper() or None
        return cls(skip, limit, params.get("beforeId") or None, types, currency, start, end)

    def windowed(self) -> "Query":
        """Across subaccounts: no times → the last day; one time → 7 days from/to it; never more than 7."""
        start, end = self.start, self.end
        if start is None and end is None:
            end = datetime.now(timezone.utc)
            start = end - WINDOW_DEFAULT
        elif end is None:
            end = min(start + WINDOW_MAX, datetime.now(timezone.utc))
        elif start is None:
            start = end - WINDOW_MAX
        if end - start > WINDOW_MAX:
            raise SimError(400, -11, "Validation Failed: startTime and endTime may not differ by more than 7 days")
        return Query(self.skip, self.limit, self.before_id, self.types, self.currency, start, end)

    def keeps(self, tx: Transaction) -> bool:
        if self.types and tx.type not in self.types:
            return False
        if self.currency and not tx.touches(self.currency):
            return False
        return (self.start is None or tx.at >= self.start) and (self.end is None or tx.at <= self.end)


class Ledger:
    """Transactions per subaccount ("" = primary), oldest first; pending crypto deposits by hash."""

    def __init__(self, emit: Emit, balances: "Balances") -> None:
        self.emit = emit
        self.balances = balances
        self._books: dict[str, list[Transaction]] = {}
        self._where: dict[str, tuple[str, int]] = {}   # id → (subaccount, position)
        self.pending: dict[str, tuple[str, dict]] = {}  # transaction hash → (subaccount, NEW_PENDING_RECEIVE data)

    # ---- recording --------------------------------------------------------------------------------

    def record(self, subaccount_id: str, kind: str, *, debit: tuple[str, Decimal] | None = None,
               credit: tuple[str, Decimal] | None = None, fee: tuple[str, Decimal] | None = None,
               info: dict | None = None, event_at: str | None = None, description: str | None = None) -> Transaction:
        """Append one transaction and announce it on the subaccount's sockets."""
        tx = Transaction(uuid7(), subaccount_id, kind, description or DESCRIPTIONS.get(kind, kind.title()),
                         event_at or now_iso(), debit, credit, fee, dict(info or {}))
        book = self._books.setdefault(subaccount_id, [])
        self._where[tx.id] = (subaccount_id, len(book))
        book.append(tx)
        self.emit(subaccount_id, {"type": "NEW_ACCOUNT_HISTORY_RECORD", "data": tx.socket_record()})
        return tx

    def _moved(self, subaccount_id: str, currency: str, amount: Decimal) -> None:
        """A balance change and its BALANCE_UPDATE (before the history record, as with a fill)."""
        self.balances.move(subaccount_id, currency, amount)
        self.emit(subaccount_id, {"type": "BALANCE_UPDATE", "data": self.balances.view(subaccount_id, currency)})

    def deposit_fiat(self, subaccount_id: str, currency: str, amount: Decimal, event_at: str | None = None) -> Transaction:
        self._moved(subaccount_id, currency, amount)
        return self.record(subaccount_id, "FIAT_DEPOSIT", credit=(currency, amount), event_at=event_at,
                           info={"reference": f"SIM{len(self._where) + 1:06d}"})

    def receive_crypto(self, subaccount_id: str, currency: str, amount: Decimal, confirmations: int,
                       every_s: float = 0.0) -> str:
        """A blockchain deposit: NEW_PENDING_RECEIVE per confirmation (1 … n, the last `confirmed`), then
        the credit (BLOCKCHAIN_RECEIVE). Returns its transaction hash."""
        tx_hash = "0x" + uuid7().replace("-", "") * 2
        pending = {"currency": currency_view(currency), "receiveAddress": "0xsim" + subaccount_id.rjust(8, "0"),
                   "transactionHash": tx_hash, "networkType": "Ethereum" if currency == "ETH" else currency,
                   "amount": float(amount), "createdAt": now_iso()[:19] + "Z", "confirmations": 0,
                   "confirmed": False, "indexInTx": 0}
        self.pending[tx_hash] = (subaccount_id, pending)
        loop = asyncio.get_running_loop()

        def confirm(count: int) -> None:
            pending.update(confirmations=count, confirmed=count >= confirmations)
            self.emit(subaccount_id, {"type": "NEW_PENDING_RECEIVE", "data": dict(pending)})
            if count < confirmations:
                loop.call_later(every_s, confirm, count + 1)
                return
            del self.pending[tx_hash]
            self._moved(subaccount_id, currency, amount)
            self.record(subaccount_id, "BLOCKCHAIN_RECEIVE", credit=(currency, amount),
                        info={"transactionHash": tx_hash, "address": pending["receiveAddress"],
                              "confirmations": confirmations})
        if confirmations <= 0:
            raise SimError(400, -11, "confirmations must be at least 1")
        loop.call_later(every_s, confirm, 1)
        return tx_hash

    def withdraw(self, subaccount_id: str, currency: str, amount: Decimal, fee: Decimal, *, fiat: bool) -> Transaction:
        """`amount` leaves the balance (debitValue); `fee` is the part of it the network or bank keeps."""
        if not self.balances.can_spend(subaccount_id, currency, amount):
            raise SimError(400, -1, "Insufficient Balance")
        self._moved(subaccount_id, currency, -amount)
        info = ({"bankName": "Simulated Bank", "accountNumber": "****0001"} if fiat
                else {"address": "0xsimdestination", "transactionHash": "0x" + uuid7().replace("-", "")})
        return self.record(subaccount_id, "FIAT_WITHDRAWAL" if fiat else "BLOCKCHAIN_SEND", debit=(currency, amount),
                           fee=(currency, fee) if fee else None, info=info)

    def transfer(self, from_id: str, to_id: str, currency: str, amount: Decimal) -> tuple[Transaction, Transaction]:
        """Between two accounts of the family: a debit in one and a credit in the other, one transferId."""
        if from_id == to_id:
            raise SimError(400, -11, "Validation Failed: fromId and toId must differ")
        if not self.balances.can_spend(from_id, currency, amount):
            raise SimError(400, -1, "Insufficient Balance")
        stamp, transfer_id = now_iso(), str(next(_TRANSFERS))
        info = {"reason": "SUB_ACCOUNT", "reasonDescription": "Transfer between subaccounts",
                "additional": f"Transfer from {_label(from_id)} to {_label(to_id)}", "transferId": transfer_id}
        self._moved(from_id, currency, -amount)
        out = self.record(from_id, "INTERNAL_TRANSFER", debit=(currency, amount), info=info, event_at=stamp)
        self._moved(to_id, currency, amount)
        into = self.record(to_id, "INTERNAL_TRANSFER", credit=(currency, amount), info=info, event_at=stamp)
        return out, into

    # ---- reading ----------------------------------------------------------------------------------

    def page(self, subaccount_id: str, query: Query) -> list[dict]:
        """GET /v1/account/transactionhistory: filtered, newest first, then beforeId, skip and limit. An
        unknown beforeId gives an empty page (what VALR does then is undocumented)."""
        book = self._books.get(subaccount_id, [])
        upto = len(book)
        if query.before_id is not None:
            where = self._where.get(query.before_id)
            if where is None or where[0] != subaccount_id:
                return []
            upto = where[1]
        rows = (book[i] for i in range(upto - 1, -1, -1) if query.keeps(book[i]))
        return [tx.rest_item() for tx in itertools.islice(rows, query.skip, query.skip + query.limit)]

    def across(self, query: Query, labels: dict[str, str]) -> list[dict]:
        """GET /v1/account/transactionhistory/subaccounts: every subaccount's transactions within the window,
        newest first, skip/limit over all of them, then grouped per account (VALR's shape)."""
        window = query.windowed()
        rows = [tx for sub, book in self._books.items() if sub for tx in book if window.keeps(tx)]
        rows.sort(key=lambda tx: (tx.at, tx.id), reverse=True)
        grouped: dict[str, dict] = {}
        for tx in rows[window.skip:window.skip + window.limit]:
            group = grouped.setdefault(tx.subaccount_id, {"id": tx.subaccount_id,
                                                          "label": labels.get(tx.subaccount_id, tx.subaccount_id),
                                                          "transactions": []})
            group["transactions"].append(tx.rest_item())
        return list(grouped.values())

    def subaccounts(self) -> list[str]:
        return [sub for sub in self._books if sub]

    def truth(self, subaccount_id: str) -> dict:
        return {"transactions": [tx.rest_item() for tx in self._books.get(subaccount_id, [])],
                "pending": [data for sub, data in self.pending.values() if sub == subaccount_id]}


def account_id(valr_id: str) -> str:
    """VALR's account id ("0" = primary) as the simulator keys it ("" = primary)."""
    return "" if str(valr_id) in ("", PRIMARY_ID) else str(valr_id)


def _label(subaccount_id: str) -> str:
    return subaccount_id or "Primary"


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
