"""Adyen's HMAC (checked against the Adyen library's own helper) and bank wire."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from Adyen.util import generate_notification_sig
from hypothesis import given
from hypothesis import strategies as st

from cashier_core.errors import ProviderUnavailable, WebhookRejected
from cashier_core.models import ProviderConfig
from cashier_core.providers import Credentials, PaymentRequest
from cashier_core.statuses import Status
from cashier_providers.adyen import AdyenProvider, notification_signature
from cashier_providers.bank_wire import PROVIDER as BANK_WIRE
from tests.support import builders

KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
OTHER_KEY = "00" * 32
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def item(**overrides: Any) -> dict[str, Any]:
    base = {
        "amount": {"currency": "EUR", "value": 2500}, "eventCode": "AUTHORISATION",
        "eventDate": "2026-11-24T12:00:00+01:00", "merchantAccountCode": "AlphaMarketsECOM",
        "merchantReference": "txn-1", "pspReference": "7914073381342284", "reason": "", "success": "true",
    }  # fmt: skip
    base.update(overrides)
    return base


def signed(entry: dict[str, Any], key: str = KEY) -> dict[str, Any]:
    return {**entry, "additionalData": {"hmacSignature": notification_signature(entry, key)}}


def batch(*entries: dict[str, Any]) -> bytes:
    return json.dumps(
        {"live": "false", "notificationItems": [{"NotificationRequestItem": e} for e in entries]}
    ).encode()


text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters=":"), max_size=20)


@given(psp=text, reference=text, code=st.sampled_from(["AUTHORISATION", "REFUND", "CHARGEBACK"]),
       value=st.integers(min_value=0, max_value=10**9), success=st.sampled_from(["true", "false"]))  # fmt: skip
def test_our_signature_equals_the_adyen_librarys(
    psp: str, reference: str, code: str, value: int, success: str
) -> None:
    entry = item(pspReference=psp, merchantReference=reference, eventCode=code, success=success,
                 amount={"currency": "EUR", "value": value})  # fmt: skip
    assert notification_signature(entry, KEY) == generate_notification_sig(entry, KEY).decode()


def test_a_batch_verifies_only_if_every_item_does() -> None:
    good = signed(item())
    AdyenProvider().verify_webhook(
        batch(good, signed(item(pspReference="2"))), {}, [OTHER_KEY, KEY], NOW
    )
    with pytest.raises(WebhookRejected):
        AdyenProvider().verify_webhook(
            batch(good, signed(item(pspReference="2"), OTHER_KEY)), {}, [KEY], NOW
        )
    tampered = {**good, "amount": {"currency": "EUR", "value": 2501}}
    with pytest.raises(WebhookRejected):
        AdyenProvider().verify_webhook(batch(tampered), {}, [KEY], NOW)
    with pytest.raises(WebhookRejected):
        AdyenProvider().verify_webhook(batch(item()), {}, [KEY], NOW)  # unsigned
    with pytest.raises(WebhookRejected):
        AdyenProvider().verify_webhook(b"{}", {}, [KEY], NOW)


@pytest.mark.parametrize(
    ("code", "success", "target"),
    [("AUTHORISATION", "true", Status.PROVIDER_CONFIRMED), ("AUTHORISATION", "false", Status.FAILED),
     ("CANCELLATION", "true", Status.CANCELLED), ("REFUND", "true", Status.REFUNDED),
     ("CHARGEBACK", "true", Status.CHARGEBACK), ("CHARGEBACK_REVERSED", "true", Status.MANUAL_REVIEW)],
)  # fmt: skip
def test_event_codes_map(code: str, success: str, target: Status) -> None:
    original = "" if code == "AUTHORISATION" else "8815000000000001"
    [event] = AdyenProvider().parse_webhook(
        batch(signed(item(eventCode=code, success=success, originalReference=original)))
    )
    assert event.target is target
    assert (event.amount, event.currency) == (Decimal("25.00"), "EUR")
    assert event.provider_event_id == f"7914073381342284:{code}:{success}"
    if code == "AUTHORISATION":
        # Our reference names the payment; its pspReference becomes the deposit's.
        assert event.transaction_id == "txn-1"
    else:
        # A modification names the payment by originalReference only: its
        # merchantReference is the request's, which may be anyone's.
        assert event.transaction_id is None
        assert event.provider_references == (original,)


def test_duplicates_in_one_batch_and_unmapped_codes_are_dropped() -> None:
    events = AdyenProvider().parse_webhook(
        batch(signed(item()), signed(item()), signed(item(eventCode="REPORT_AVAILABLE")))
    )
    assert len(events) == 1


def test_the_answer_is_accepted() -> None:
    answer = AdyenProvider().answer()
    assert (answer.status_code, answer.body, answer.content_type) == (
        200,
        "[accepted]",
        "text/plain",
    )


ADYEN_CONFIG = ProviderConfig(
    brand_id="b", provider="adyen", method_id="card-adyen", display_name="Card",
    currencies=frozenset({"EUR"}), settings={"live": "false", "merchant_account": "AlphaMarketsECOM", "api_base": "https://checkout-test.adyen.com"},
)  # fmt: skip


def adyen_request(amount: str = "25.00", currency: str = "EUR") -> PaymentRequest:
    account = builders.account(currency=currency, balance="0")
    transaction = builders.transaction(account, amount=amount)
    return PaymentRequest(
        transaction, ADYEN_CONFIG, Credentials(api_key="k"), "https://alpha.example/r", None
    )


def test_create_payment_posts_a_payment_link_with_our_reference() -> None:
    seen: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    def post(url: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        seen.append((url, dict(headers), json.loads(body)))
        return 201, json.dumps({"id": "PL123", "url": "https://test.adyen.link/PL123"}).encode()

    payment = adyen_request()
    created = AdyenProvider(post=post).create_payment(payment)
    assert (created.provider_reference, created.redirect_url) == (
        "PL123",
        "https://test.adyen.link/PL123",
    )
    url, headers, body = seen[0]
    assert url == "https://checkout-test.adyen.com/v71/paymentLinks"
    assert body["amount"] == {"value": 2500, "currency": "EUR"}
    assert body["reference"] == payment.transaction.transaction_id
    assert headers["X-API-Key"] == "k"
    assert headers["Idempotency-Key"] == f"paymentlink-{payment.transaction.transaction_id}"


def test_an_unreachable_adyen_is_unavailable() -> None:
    def post(url: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        raise OSError("network is unreachable")

    with pytest.raises(ProviderUnavailable):
        AdyenProvider(post=post).create_payment(adyen_request())


def test_bank_wire_gives_instructions_and_takes_no_webhooks() -> None:
    config = ProviderConfig(
        brand_id="b", provider="bank_wire", method_id="wire", display_name="Wire", currencies=frozenset({"EUR"}),
        settings={"beneficiary": "Alpha", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "bank_name": "CB"},
    )  # fmt: skip
    transaction = builders.transaction(builders.account(currency="EUR"), amount="100.00")
    created = BANK_WIRE.create_payment(
        PaymentRequest(transaction, config, Credentials(), None, None)
    )
    assert created.redirect_url is None
    assert created.instructions is not None
    assert created.instructions["reference"] == created.provider_reference
    assert created.instructions["amount"] == "100.00"
    with pytest.raises(WebhookRejected):
        BANK_WIRE.verify_webhook(b"{}", {}, ["s"], NOW)


def test_the_verifying_key_and_the_events_world_are_reported() -> None:
    body = batch(signed(item()), signed(item(pspReference="2")))
    assert AdyenProvider().verify_webhook(body, {}, [OTHER_KEY, KEY], NOW) == KEY
    events = AdyenProvider().parse_webhook(body)
    assert {(e.live, e.merchant_account) for e in events} == {(False, "AlphaMarketsECOM")}


def test_a_batch_whose_items_need_two_keys_is_refused() -> None:
    """One webhook signs with one key: items verifying only with different
    brands' keys are not one delivery of ours."""
    body = batch(signed(item()), signed(item(pspReference="2"), OTHER_KEY))
    with pytest.raises(WebhookRejected):
        AdyenProvider().verify_webhook(body, {}, [OTHER_KEY, KEY], NOW)


def test_isk_is_sent_and_read_in_adyens_hundredths() -> None:
    """Adyen's table gives ISK two decimals (ISO: none): 5,000 ISK is 500000."""
    [event] = AdyenProvider().parse_webhook(
        batch(signed(item(amount={"currency": "ISK", "value": 500000})))
    )
    assert (event.amount, event.currency) == (Decimal("5000"), "ISK")


@pytest.mark.parametrize(
    ("amount", "currency", "value"),
    [
        ("5000", "ISK", 500000),
        ("990", "CLP", 99000),
        ("15000.00", "IDR", 15000),
        ("1.234", "KWD", 1234),
    ],
)
def test_payment_links_carry_adyens_own_minor_units(amount: str, currency: str, value: int) -> None:
    seen: list[dict[str, Any]] = []

    def post(url: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        seen.append(json.loads(body))
        return 201, json.dumps({"id": "PL1", "url": "https://test.adyen.link/PL1"}).encode()

    AdyenProvider(post=post).create_payment(adyen_request(amount, currency))
    assert seen[0]["amount"] == {"value": value, "currency": currency}
