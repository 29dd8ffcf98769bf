"""Every file in events/ drives its function, as `sam local invoke -e` would."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cashier_core.statuses import Status
from cashier_local.webhook_events import resign, sample_events
from tests.support.lambdas import EVENTS_DIR, reply, sample_event
from tests.support.lifecycle import Lifecycle

SAMPLE_DEPOSIT = "f1b32a90-7eda-5681-a5f0-824bcf8a966f"  # from (cus-alice, sample-deposit-0001)
SAMPLE_WITHDRAWAL = "16ae4018-8371-5801-a07b-ae04b8ee0865"  # withdrawal scope, same key
SAMPLE_WIRE = "7cc0fbf3-84c0-53fa-8ea2-69298b13b828"  # (cus-carol, sample-wire-0001)
EVENT_FUNCTIONS = {
    "session_authorizer.json": "SessionAuthorizerFunction",
    "get_cashier_methods.json": "GetCashierMethodsFunction",
    "create_cashier_deposit.json": "CreateCashierDepositFunction",
    "create_cashier_withdrawal.json": "CreateCashierWithdrawalFunction",
    "cancel_cashier_withdrawal.json": "CancelCashierWithdrawalFunction",
    "get_cashier_transactions.json": "GetCashierTransactionsFunction",
    "webhook_sandbox.json": "ProcessCashierWebhookFunction",
    "webhook_stripe.json": "ProcessCashierWebhookFunction",
    "webhook_adyen.json": "ProcessCashierWebhookFunction",
    "sqs_credit.json": "CreditWorkerFunction",
    "schedule.json": "CreditSweeperFunction",
    "backoffice_list_withdrawals.json": "BackOfficeListWithdrawalsFunction",
    "backoffice_get_withdrawal.json": "BackOfficeGetWithdrawalFunction",
    "backoffice_approve_withdrawal.json": "BackOfficeApproveWithdrawalFunction",
    "backoffice_reject_withdrawal.json": "BackOfficeRejectWithdrawalFunction",
    "backoffice_fail_payout.json": "BackOfficeFailPayoutFunction",
    "backoffice_list_deposits.json": "BackOfficeListDepositsFunction",
    "backoffice_list_parked_events.json": "BackOfficeListParkedEventsFunction",
    "backoffice_resolve_deposit.json": "BackOfficeResolveDepositFunction",
    "backoffice_retry_credit.json": "BackOfficeRetryCreditFunction",
    "backoffice_confirm_bank_wire.json": "BackOfficeConfirmBankWireFunction",
    "backoffice_reconcile_account.json": "BackOfficeReconcileAccountFunction",
    "backoffice_reconcile_deposit_limits.json": "BackOfficeReconcileDepositLimitsFunction",
}


def run_sample(lifecycle: Lifecycle, name: str) -> tuple[int, dict]:
    return reply(lifecycle.api.raw(EVENT_FUNCTIONS[name], sample_event(name)))


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

    # The committed message names the deposit; the credit lands once, however often it comes.
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
    secret = lifecycle.api.secrets[f"cashier/webhooks/brand-alpha/{secret_of}"]["webhook_secrets"][
        0
    ]
    response = lifecycle.api.raw(
        "ProcessCashierWebhookFunction", resign(sample_event(name), secret)
    )
    assert response["statusCode"] == 200
    # The sample deposit is a sandbox payment: another provider's event cannot move it.
    assert lifecycle.transaction(SAMPLE_DEPOSIT).status is Status.PENDING_PAYMENT
    assert [d["outcome"]["S"] for d in lifecycle.deliveries()] == [
        "ignored: another provider's deposit"
    ]


@pytest.mark.parametrize("function_id", ["CreditSweeperFunction", "PaymentJanitorFunction"])
def test_the_schedule_event_runs_the_scheduled_functions(
    lifecycle: Lifecycle, function_id: str
) -> None:
    result = lifecycle.api.raw(function_id, sample_event("schedule.json"))
    assert result in (
        {"re_enqueued": 0},
        {"asked": 0, "changed": {}, "parked_resolved": 0, "parked_given_up": 0},
    )


def test_the_backoffice_withdrawal_samples_list_approve_refuse_and_fail_the_sample_withdrawal(
    lifecycle: Lifecycle,
) -> None:
    status, _ = run_sample(lifecycle, "create_cashier_withdrawal.json")
    assert status == 201
    status, listed = run_sample(lifecycle, "backoffice_list_withdrawals.json")
    assert [w["transaction_id"] for w in listed["withdrawals"]] == [SAMPLE_WITHDRAWAL]
    status, view = run_sample(lifecycle, "backoffice_get_withdrawal.json")
    assert (status, view["transaction"]["transaction_id"]) == (200, SAMPLE_WITHDRAWAL)
    assert view["suggestion"]["route"] == {"withdrawal_method": "30.00"}  # no deposits yet
    status, approved = run_sample(lifecycle, "backoffice_approve_withdrawal.json")
    assert (status, approved["transaction"]["status_name"]) == (200, "provider_confirmed")
    status, refused = run_sample(lifecycle, "backoffice_reject_withdrawal.json")
    assert (status, refused["error"]["code"]) == (409, "invalid_transition")
    status, failed = run_sample(lifecycle, "backoffice_fail_payout.json")
    assert (status, failed["transaction"]["status_name"]) == (200, "failed")
    status, report = run_sample(lifecycle, "backoffice_reconcile_account.json")
    assert (status, report["balance"], report["balanced"]) == (200, "100.00", True)


def test_the_cancel_sample_cancels_the_sample_withdrawal_once(lifecycle: Lifecycle) -> None:
    status, _ = run_sample(lifecycle, "create_cashier_withdrawal.json")
    assert status == 201
    assert lifecycle.api.aws.accounts().get("acc-alice-usd").balance == Decimal("70.00")
    status, cancelled = run_sample(lifecycle, "cancel_cashier_withdrawal.json")
    assert (status, cancelled["applied"]) == (200, True)
    assert cancelled["transaction"]["transaction_id"] == SAMPLE_WITHDRAWAL
    assert cancelled["transaction"]["status_name"] == "cancelled"
    status, again = run_sample(lifecycle, "cancel_cashier_withdrawal.json")
    assert (status, again["applied"]) == (200, False)
    assert lifecycle.api.aws.accounts().get("acc-alice-usd").balance == Decimal("100.00")


def test_the_backoffice_deposit_samples_resolve_retry_and_confirm_a_wire(
    lifecycle: Lifecycle,
) -> None:
    run_sample(lifecycle, "create_cashier_deposit.json")
    deposit = lifecycle.transaction(SAMPLE_DEPOSIT)
    mismatch = lifecycle.sandbox_body(deposit, "succeeded", amount="24.00")
    assert lifecycle.sandbox_webhook(mismatch)[0] == 200
    status, listed = run_sample(lifecycle, "backoffice_list_deposits.json")
    assert [d["transaction"]["transaction_id"] for d in listed["deposits"]] == [SAMPLE_DEPOSIT]
    status, resolved = run_sample(lifecycle, "backoffice_resolve_deposit.json")
    assert (status, resolved["transaction"]["status_name"]) == (200, "provider_confirmed")
    lifecycle.drain()
    assert lifecycle.transaction(SAMPLE_DEPOSIT).status is Status.CREDITED
    status, retried = run_sample(lifecycle, "backoffice_retry_credit.json")
    assert (status, retried["applied"]) == (200, False)  # credited already

    status, _ = lifecycle.api.deposit(
        "cus-carol",
        {
            "account_id": "acc-carol-eur",
            "method_id": "wire-eur",
            "amount": "100.00",
            "currency": "EUR",
        },
        key="sample-wire-0001",
    )
    assert status == 201
    status, confirmed = run_sample(lifecycle, "backoffice_confirm_bank_wire.json")
    assert (status, confirmed["transaction"]["transaction_id"]) == (200, SAMPLE_WIRE)
    assert confirmed["transaction"]["status_name"] == "provider_confirmed"


@pytest.mark.parametrize(
    "name", ["webhook_sandbox.json", "webhook_stripe.json", "webhook_adyen.json"]
)
def test_the_committed_webhook_samples_are_what_the_generator_writes(name: str) -> None:
    """Regenerated by `python -m cashier_local.webhook_events`, in the providers'
    own shapes (Stripe's published Event and Checkout Session; every Adyen field)."""
    generated = sample_events()[name]
    committed = sample_event(name)
    assert (committed["body"], committed["headers"]) == (generated["body"], generated["headers"])
