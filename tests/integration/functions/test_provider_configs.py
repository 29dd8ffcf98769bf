"""A provider config its module refuses (a host off the module's allow-list, no
mode) is refused where configs are loaded, with one error line naming it, and
never used: through the real handlers against moto."""

from __future__ import annotations

import pytest

from cashier_core.models import ProviderConfig
from tests.support.customer_api import CustomerApi

ALICE = "cus-alice"


@pytest.mark.parametrize(
    "settings",
    [
        {"mode": "test", "api_base": "https://api.stripe.com.attacker.example"},
        {"api_base": "https://api.stripe.com"},  # no mode
    ],
)
def test_a_refused_config_is_logged_and_never_offered(
    api: CustomerApi, caplog: pytest.LogCaptureFixture, settings: dict[str, str]
) -> None:
    api.aws.provider_configs().put(
        ProviderConfig(
            brand_id="brand-alpha", provider="stripe", method_id="card-stripe-bad",
            display_name="Card", currencies=frozenset({"USD"}), settings=settings,
            secret_ref="cashier/providers/brand-alpha/stripe",
        )
    )  # fmt: skip
    status, body = api.methods(ALICE, "acc-alice-usd", explain=True)
    assert status == 200
    listed = [m["method_id"] for m in body["methods"] + body["excluded"]]
    assert "card-stripe-bad" not in listed
    assert "card-stripe" in listed  # the brand's good Stripe config still shows
    [refused] = [r for r in caplog.records if r.getMessage() == "provider config refused"][:1]
    assert refused.levelname == "ERROR"
    assert "brand-alpha/card-stripe-bad (stripe)" in refused.__dict__["reason"]
    status, body = api.deposit(
        ALICE,
        {"account_id": "acc-alice-usd", "method_id": "card-stripe-bad", "amount": "25.00", "currency": "USD"},
    )  # fmt: skip
    assert (status, body["error"]["code"]) == (422, "method_not_available")
    assert api.transactions_of(ALICE) == []


def test_a_loopback_stand_in_is_refused_on_a_deployed_stage(
    api: CustomerApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tests run as the local stack does (StageKind local); a deployed
    stage (which here also allows the sandbox, so the seed loads) refuses it."""
    monkeypatch.setenv("STAGE_KIND", "deployed")
    monkeypatch.setenv("ALLOW_SANDBOX_PROVIDER", "true")
    api.aws.provider_configs().put(
        ProviderConfig(
            brand_id="brand-alpha", provider="stripe", method_id="card-stripe-mock",
            display_name="Card", currencies=frozenset({"USD"}),
            settings={"mode": "test", "api_base": "http://127.0.0.1:12111"},
            secret_ref="cashier/providers/brand-alpha/stripe",
        )
    )  # fmt: skip
    status, body = api.methods(ALICE, "acc-alice-usd", explain=True)
    assert status == 200
    listed = [m["method_id"] for m in body["methods"] + body["excluded"]]
    assert "card-stripe-mock" not in listed
    assert "card-stripe" in listed
