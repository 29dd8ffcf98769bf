"""The sandbox's hosted page over HTTP: what it refuses, and that it never sends a
second webhook, follows a foreign return_url or writes a value unescaped."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.test_walkthroughs import deposit, status_of

pytestmark = pytest.mark.e2e
CARD = {"card_number": "4242424242424242", "expiry": "12/34", "cvc": "123"}


def page_path(created: dict[str, Any]) -> tuple[str, dict[str, str]]:
    url = urlsplit(created["redirect_url"])
    return url.path, {k: v[0] for k, v in parse_qs(url.query).items()}


def test_the_page_is_a_checkout_with_a_test_mode_banner_and_no_external_asset(
    stack: LocalStack,
) -> None:
    created = deposit(stack, amount="25.00")
    answer = stack.http.get(created["redirect_url"])
    assert answer.status == 200
    html = answer.body.decode()
    for expected in ("TEST MODE", "Alpha Markets", "25.00 <span>USD</span>", "Pay 25.00 USD",
                     "4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0025 0000 3155"):  # fmt: skip
        assert expected in html
    assert not re.search(r"<script|<link|src=|https?://(?!alpha\.example)", html)
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]


def test_a_paid_deposit_is_never_paid_twice_from_the_page(stack: LocalStack) -> None:
    created = deposit(stack)
    path, fields = page_path(created)
    first = stack.http.post(path, form={**fields, "action": "pay", **CARD})
    assert first.status == 303
    status_of(stack, created["transaction"]["transaction_id"], 3)
    again = stack.http.post(path, form={**fields, "action": "pay", **CARD})
    assert again.status == 409
    assert "Payment successful" in again.body.decode()
    cancelled = stack.http.post(path, form={**fields, "action": "cancel"})
    assert cancelled.status == 409
    status_of(stack, created["transaction"]["transaction_id"], 3)


@pytest.mark.parametrize(
    "return_url",
    [
        "https://evil.example/steal",
        "javascript:alert(1)",
        "http://alpha.example/return",
        "https://alpha.example:8443/return",
    ],
)
def test_a_return_url_the_deposit_could_not_have_had_is_never_followed_nor_echoed(
    stack: LocalStack, return_url: str
) -> None:
    created = deposit(stack)
    path, fields = page_path(created)
    shown = stack.http.get(path + "?" + urlencode({**fields, "return_url": return_url}))
    assert shown.status == 200
    assert return_url not in shown.body.decode()
    assert "<script>" not in shown.body.decode()
    paid = stack.http.post(path, form={**fields, "return_url": return_url, "action": "pay", **CARD})
    assert paid.status == 303
    location = paid.headers["Location"]
    assert location.startswith("/_sandbox/return/")
    assert "return_url" not in location
    result = stack.http.get(location)
    assert return_url not in result.body.decode()


def test_a_return_url_on_the_brands_host_is_written_escaped(stack: LocalStack) -> None:
    return_url = 'https://alpha.example/"><script>alert(1)</script>'
    created = deposit(stack)
    path, fields = page_path(created)
    paid = stack.http.post(path, form={**fields, "return_url": return_url, "action": "pay", **CARD})
    result = stack.http.get(paid.headers["Location"]).body.decode()
    assert "<script>" not in result
    assert "https://alpha.example/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in result


def test_the_page_answers_only_for_a_matching_reference_and_transaction(
    stack: LocalStack,
) -> None:
    created = deposit(stack)
    path, _ = page_path(created)
    other = deposit(stack)
    _, other_fields = page_path(other)
    assert stack.http.get(path + "?" + urlencode(other_fields)).status == 404
    assert stack.http.get(path + "?transaction_id=%3Cscript%3E").status == 404
    refused = stack.http.post(path, form={**other_fields, "action": "pay", **CARD})
    assert refused.status == 404
    status_of(stack, other["transaction"]["transaction_id"], 1)
    assert stack.http.get("/_sandbox/elsewhere").status == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"card_number": "4242"}, "Your card number is incomplete."),
        ({"card_number": "4242424242424241"}, "Your card number is invalid."),
        ({"card_number": "5555555555554444"}, "This is test mode: use one of the test cards"),
        ({"expiry": "13/30"}, "expiry date is incomplete"),
        ({"expiry": "01/20"}, "expiry date is in the past"),
        ({"cvc": "12"}, "security code is incomplete"),
    ],
)
def test_a_form_error_is_shown_and_sends_nothing(
    stack: LocalStack, fields: dict[str, str], message: str
) -> None:
    created = deposit(stack)
    path, hidden = page_path(created)
    answer = stack.http.post(path, form={**hidden, "action": "pay", **CARD, **fields})
    assert answer.status == 422
    assert message.replace("'", "&#x27;") in answer.body.decode()
    status_of(stack, created["transaction"]["transaction_id"], 1)
