"""Signing (official vectors, subaccount, query string), secrets kept out of reprs, frame parsing,
pair precision rules, URL derivation — the client's pure parts."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest

from worker.valr import (
    AccountSocket, AuthenticationError, Credentials, PairTable, PrecisionError, ValrClient, parse_frame,
    sign_request, ws_url,
)
from worker.valr.signing import auth_headers

SECRET = "4961b74efac86b25cce8fbe4c9811c4c7a787b7a5996660afcc2e287ad864363"


def test_official_get_vector():
    assert sign_request(SECRET, 1558014486185, "GET", "/v1/account/balances") == (
        "9d52c181ed69460b49307b7891f04658e938b21181173844b5018b2fe783a6d4"
        "c62b8e67a03de4d099e7437ebfabe12c56233b73c6a0cc0f7ae87e05f6289928")


def test_official_post_vector():
    body = '{"customerOrderId":"ORDER-000001","pair":"BTCUSDC","side":"BUY","quoteAmount":"80000"}'
    assert sign_request(SECRET, 1558017528946, "POST", "/v1/orders/market", body) == (
        "09f536e3dfdad58443f16010a97a0a21ad27486b7b8d6d4103170d885410ed77"
        "f037f1fa628474190d4f5c08ca12c1acc850901f1c2e75c6d906ec3b32b008d0")


def _reference(message: str) -> str:
    return hmac.new(SECRET.encode(), message.encode(), hashlib.sha512).hexdigest()


def test_subaccount_id_is_appended_to_the_signed_message():
    signed = sign_request(SECRET, 1558014486185, "get", "/v1/orders/open", "", "1234567890")
    assert signed == _reference("1558014486185GET/v1/orders/open1234567890")
    assert signed != sign_request(SECRET, 1558014486185, "GET", "/v1/orders/open")


def test_query_string_is_part_of_the_signed_path():
    path = "/v1/account/tradehistory?limit=100&beforeId=0197d494-f5bb"
    assert sign_request(SECRET, 1, "GET", path) == _reference(f"1GET{path}")
    assert sign_request(SECRET, 1, "GET", path) != sign_request(SECRET, 1, "GET", "/v1/account/tradehistory")


def test_auth_headers_carry_subaccount_only_when_given():
    creds = Credentials("key", SECRET)
    primary = auth_headers(creds, "GET", "/ws/account", timestamp_ms=5)
    sub = auth_headers(creds, "GET", "/ws/account", subaccount_id="42", timestamp_ms=5)
    assert "X-VALR-SUB-ACCOUNT-ID" not in primary
    assert sub["X-VALR-SUB-ACCOUNT-ID"] == "42"
    assert sub["X-VALR-SIGNATURE"] == sign_request(SECRET, 5, "GET", "/ws/account", "", "42")


def test_secret_never_in_repr_str_or_errors():
    creds = Credentials("my-api-key-123", SECRET)
    client = ValrClient("http://127.0.0.1:1", creds)
    sock = AccountSocket("http://127.0.0.1:1", creds, "7")
    for text in (repr(creds), str(creds), repr(client), repr(sock), f"{creds}", str(AuthenticationError(401, -1, "x"))):
        assert SECRET not in text
        assert SECRET[:12] not in text


def test_parse_frame_keeps_strings_and_reads_bare_numbers_as_decimal():
    event = parse_frame('{"type":"NEW_ACCOUNT_TRADE","data":{"price":"1149530","quantity":0.1,"id":"t1",'
                        '"orderId":"o1"}}')
    assert event is not None and event.type == "NEW_ACCOUNT_TRADE"
    assert event.data["price"] == "1149530"
    assert event.data["quantity"] == Decimal("0.1") and not isinstance(event.data["quantity"], float)
    assert event.order_id == "o1" and event.raw["type"] == "NEW_ACCOUNT_TRADE" and event.received_at > 0


@pytest.mark.parametrize("text", [
    "", "not json", "[1,2]", '{"data":{}}', '{"type":42}', '{"type":"ORDER_STATUS_UPDATE","data":"x"}',
    '{"type":"OPEN_ORDERS_UPDATE","data":{}}',
])
def test_parse_frame_rejects_malformed(text):
    assert parse_frame(text) is None


def test_parse_frame_keeps_a_type_it_does_not_know_for_the_socket_to_ignore():
    event = parse_frame('{"type":"SOMETHING_NEW","data":{}}')
    assert event is not None and event.type == "SOMETHING_NEW" and not event.is_order_event


def test_pair_table_from_database_rows_and_precision_errors():
    table = PairTable.from_rows([
        {"pair": "BTCZAR", "base_decimal_places": 8, "tick_size": Decimal("1")},
        {"pair": "XRPZAR", "base_decimal_places": 6, "tick_size": Decimal("0.01")},
        {"pair": "USDTZAR", "base_decimal_places": 2, "tick_size": Decimal("0.001")},
    ])
    table.check("BTCZAR", Decimal("0.00000001"), Decimal("1000000"))
    table.check("XRPZAR", Decimal("1.123456"), Decimal("10.01"))
    with pytest.raises(PrecisionError, match=r"quantity .* more than 8 decimal places"):
        table.check("BTCZAR", Decimal("0.000000001"), Decimal("1000000"))
    with pytest.raises(PrecisionError, match=r"price 10.005 is not a multiple of the tick size 0.01"):
        table.check("XRPZAR", Decimal("1"), Decimal("10.005"))
    with pytest.raises(PrecisionError, match="USDTZAR"):
        table.check("USDTZAR", Decimal("1.001"), Decimal("18.5"))
    assert isinstance(PrecisionError("x"), ValueError)
    table.check("NEWPAIR", Decimal("0.123456789123"), Decimal("0.0000001"))  # unknown: the database decided
    assert len(PairTable()) == 0  # no rules of its own: they come from lth_pvr.pairs


def test_ws_url_follows_the_base_url():
    assert ws_url("https://api.valr.com") == "wss://api.valr.com/ws/account"
    assert ws_url("http://127.0.0.1:8080/") == "ws://127.0.0.1:8080/ws/account"
