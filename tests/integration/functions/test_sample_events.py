"""Every file in events/ drives its function, as `sam local invoke -e` would."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cashier_core.statuses import Status
from cashier_local.webhook_events import resign
from tests.support.lambdas import EVENTS_DIR, reply, sample_event
from tests.support.lifecycle import Lifecycle

SAMPLE_DEPOSIT = "f1b32a90-7eda-5681-a5f0-824bcf8a966f"  # from (cus-alice, sample-deposit-0001)
EVENT_FUNCTIONS = {
    "session_authorizer.json": "SessionAuthorizerFunction",
    "get_cashier_methods.json": "GetCashierMethodsFunction",
    "create_cashier_deposit.json": "CreateCashierDepositFunction",
    "create_cashier_withdrawal.json": "CreateCashierWithdrawalFunction",
    "get_cashier_transactions.json": "GetCashierTransactionsFunction",
    "webhook_sandbox.json": "ProcessCashierWebhookFunction",
    "webhook_stripe.json": "ProcessCashierWebhookFunction",
    "webhook_adyen.json": "ProcessCashierWebhookFunction",
    "sqs_credit.json": "CreditWorkerFunction",
    "schedule.json": "CreditSweeperFunction",
}


def test_every_event_file_has_its_function() -> None:
    assert {path.name for path in EVENTS_DIR.glob("*.json")} == set(EVENT_FUNCTIONS)


def test_the_sample_deposit_its_webhook_and_its_credit_message_end_credited(
    lifecycle: Lifecycle,
) -> None:
    status, body = reply(
        lifecycle.api.raw(
            "CreateCashierDepositFunction", sample_event("create_cashier_deposit.json")
        )
    )
    assert (status, body["transaction"]["transaction_id"]) == (201, SAMPLE_DEPOSIT)

    committed = sample_event("webhook_sandbox.json")
    status, _ = reply(lifecycle.api.raw("ProcessCashierWebhookFunction", committed))
    assert status == 401  # signed with the example secret long ago: it must not verify
    fresh = resign(committed, lifecycle.sandbox_secret())
    assert reply(lifecycle.api.raw("ProcessCashierWebhookFunction", fresh)) == (
        200,
        {"received": True},
    )

    # The committed message carries an older snapshot: the credit still lands, once.
    for _ in range(2):
        assert lifecycle.api.raw("CreditWorkerFunction", sample_event("sqs_credit.json")) == {
            "batchItemFailures": []
        }
    assert lifecycle.transaction(SAMPLE_DEPOSIT).status is Status.CREDITED
    assert lifecycle.api.aws.accounts().get("acc-alice-usd").balance == Decimal("125.00")


@pytest.mark.parametrize(
    ("name", "secret_of"), [("webhook_stripe.json", "stripe"), ("webhook_adyen.json", "adyen")]
)
def test_stripe_and_adyen_samples_verify_once_signed_with_the_stacks_secret(
    lifecycle: Lifecycle, name: str, secret_of: str
) -> None:
    lifecycle.api.raw("CreateCashierDepositFunction", sample_event("create_cashier_deposit.json"))
    secret = lifecycle.api.secrets[f"cashier/providers/brand-alpha/{secret_of}"]["webhook_secrets"][
        0
    ]
    response = lifecycle.api.raw(
        "ProcessCashierWebhookFunction", resign(sample_event(name), secret)
    )
    assert response["statusCode"] == 200
    # The sample deposit is a sandbox payment: another provider's event cannot move it.
    assert lifecycle.transaction(SAMPLE_DEPOSIT).status is Status.PENDING_PAYMENT
    assert [d["outcome"]["S"] for d in lifecycle.deliveries()] == ["unknown_transaction"]


@pytest.mark.parametrize("function_id", ["CreditSweeperFunction", "PaymentJanitorFunction"])
def test_the_schedule_event_runs_the_scheduled_functions(
    lifecycle: Lifecycle, function_id: str
) -> None:
    result = lifecycle.api.raw(function_id, sample_event("schedule.json"))
    assert result in ({"re_enqueued": 0}, {"asked": 0, "changed": {}})
