"""The Stripe objects the tests send are Stripe's published ones."""

from __future__ import annotations

import json

import pytest

from tests.support.providers import STRIPE_FIXTURES, stripe_event, stripe_object

SHARED = STRIPE_FIXTURES.parents[3] / "shared" / "provider-fixtures" / "stripe"
NAMES = ["charge", "checkout_session", "dispute", "event", "payment_intent", "refund"]


@pytest.mark.parametrize("name", NAMES)
def test_the_copy_is_the_shared_published_object(name: str) -> None:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not beside this checkout")
    ours = json.loads((STRIPE_FIXTURES / f"{name}.json").read_text())
    assert ours == json.loads((SHARED / f"{name}.json").read_text())


def test_our_values_go_into_a_whole_copy_and_the_fixture_stays_untouched() -> None:
    published = stripe_object("checkout_session")
    ours = stripe_object("checkout_session", id="cs_ours", amount_total=4000)
    assert (ours["id"], ours["amount_total"]) == ("cs_ours", 4000)
    assert set(ours) == set(published)
    assert stripe_object("checkout_session")["id"] == published["id"]


def test_an_event_is_the_published_event_around_our_object() -> None:
    event = json.loads(stripe_event("charge.refunded", stripe_object("charge")))
    published = json.loads((STRIPE_FIXTURES / "event.json").read_text())
    assert set(event) == set(published)
    assert (event["type"], event["data"]["object"]["object"]) == ("charge.refunded", "charge")
