"""Each module checks its configs: https hosts from its own allow-list, a
loopback stand-in only on a local stage, and a declared test/live mode."""

from __future__ import annotations

from typing import Any

import pytest

from cashier_core.errors import ConfigurationError
from cashier_core.models import ProviderConfig
from cashier_core.provider_config import ConfigScope
from cashier_core.providers import PaymentProvider
from cashier_providers.adyen import AdyenProvider
from cashier_providers.bank_wire import BankWireProvider
from cashier_providers.sandbox import SandboxProvider
from cashier_providers.stripe import StripeProvider

STRIPE, ADYEN, SANDBOX = StripeProvider(), AdyenProvider(), SandboxProvider()
ADYEN_TEST = {"live": "false", "merchant_account": "AlphaMarketsECOM"}


def config(provider: str, **settings: str) -> ProviderConfig:
    return ProviderConfig(
        brand_id="brand-alpha", provider=provider, method_id=f"card-{provider}",
        display_name="Card", currencies=frozenset({"EUR"}), settings=settings,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("module", "settings", "local", "scope"),
    [
        (STRIPE, {"mode": "test"}, False, ConfigScope(live=False)),
        (STRIPE, {"mode": "live", "api_base": "https://api.stripe.com"}, False, ConfigScope(live=True)),
        (STRIPE, {"mode": "test", "api_base": "http://127.0.0.1:12111"}, True, ConfigScope(live=False)),
        (STRIPE, {"mode": "test", "success_url": "https://alpha.example/ok"}, False, ConfigScope(live=False)),
        (ADYEN, ADYEN_TEST, False, ConfigScope(live=False, merchant_account="AlphaMarketsECOM")),
        (ADYEN, {**ADYEN_TEST, "api_base": "https://checkout-test.adyen.com"}, False, ConfigScope(False, "AlphaMarketsECOM")),
        (ADYEN, {**ADYEN_TEST, "live": "true", "api_base": "https://1797a841fbb37ca7-AdyenDemo-checkout-live.adyenpayments.com/checkout".lower()}, False, ConfigScope(True, "AlphaMarketsECOM")),
        (SANDBOX, {}, False, ConfigScope()),
        (SANDBOX, {"hosted_page_url": "http://127.0.0.1:3000/_sandbox/pay"}, True, ConfigScope()),
        (BankWireProvider(), {}, False, ConfigScope()),
    ],
)  # fmt: skip
def test_good_configs_give_their_scope(
    module: PaymentProvider, settings: dict[str, str], local: bool, scope: ConfigScope
) -> None:
    assert module.check_config(config(module.name, **settings), local_stage=local) == scope


@pytest.mark.parametrize(
    ("module", "settings", "local", "problem"),
    [
        (STRIPE, {}, True, "mode must be one of live, test"),
        (STRIPE, {"mode": "sandbox"}, True, "mode must be one of"),
        (STRIPE, {"mode": "test", "api_base": "https://api.stripe.com.evil.example"}, False, "not one of stripe's hosts"),
        (STRIPE, {"mode": "test", "api_base": "http://api.stripe.com"}, False, "must be an https URL"),
        (STRIPE, {"mode": "test", "api_base": "http://127.0.0.1:12111"}, False, "loopback address, allowed only on a local stage"),
        (STRIPE, {"mode": "test", "api_base": "https://10.0.0.5"}, False, "not an IP address"),
        (STRIPE, {"mode": "test", "api_base": "https://user:pw@api.stripe.com"}, False, "user info"),
        (STRIPE, {"mode": "test", "success_url": "http://alpha.example/ok"}, False, "must be an https URL"),
        (ADYEN, {"merchant_account": "AlphaMarketsECOM"}, False, "live must be one of false, true"),
        (ADYEN, {"live": "false"}, False, "merchant_account is missing"),
        (ADYEN, {**ADYEN_TEST, "api_base": "https://attacker.example"}, False, "not one of adyen's hosts"),
        (ADYEN, {**ADYEN_TEST, "live": "true"}, False, "live config names its live api_base"),
        (ADYEN, {**ADYEN_TEST, "live": "true", "api_base": "https://checkout-test.adyen.com"}, False, "not one of adyen's hosts"),
        (ADYEN, {**ADYEN_TEST, "api_base": "https://x-checkout-live.adyenpayments.com"}, False, "not one of adyen's hosts"),
        (ADYEN, {**ADYEN_TEST, "return_url": "javascript:alert(1)"}, False, "https"),
        (SANDBOX, {"hosted_page_url": "http://127.0.0.1:3000/_sandbox/pay"}, False, "only on a local stage"),
        (SANDBOX, {"hosted_page_url": "https://pay.example/_sandbox"}, True, "not one of sandbox's hosts"),
    ],
)  # fmt: skip
def test_bad_configs_are_refused_with_what_is_wrong(
    module: PaymentProvider, settings: dict[str, Any], local: bool, problem: str
) -> None:
    with pytest.raises(ConfigurationError, match="provider config brand-alpha/card-") as caught:
        module.check_config(config(module.name, **settings), local_stage=local)
    assert problem in caught.value.message
