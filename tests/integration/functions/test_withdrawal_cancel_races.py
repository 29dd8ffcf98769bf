"""Customer cancel against every BackOffice action, really concurrently: one
container per request, moto's calls atomic; whatever wins, the hold is
released at most once and the balance matches what happened."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from types import ModuleType

import pytest

from cashier_core.backoffice import Operator, approve_withdrawal, fail_payout, reject_withdrawal
from cashier_core.errors import CashierError
from cashier_core.models import LedgerKind
from cashier_core.statuses import Status
from cashier_core.withdrawals import cancel_withdrawal
from tests.support.backoffice import OPERATOR, BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lambdas import load_function
from tests.support.withdrawals import ALICE, BOB_OPS, approve, balance, set_brand, withdraw

Action = Callable[[ModuleType, str], str]


def _cancel(container: ModuleType, withdrawal: str) -> str:
    return repr(cancel_withdrawal(container.cashier, ALICE, withdrawal).applied)


def _approve(principal: str) -> Action:
    def run(container: ModuleType, withdrawal: str) -> str:
        result = approve_withdrawal(
            container.cashier, Operator(principal), withdrawal, payout_reference="PO", note="n"
        )
        return result.transaction.status.api_name

    return run


def _reject(container: ModuleType, withdrawal: str) -> str:
    return reject_withdrawal(
        container.cashier, Operator(BOB_OPS), withdrawal, reason="no KYC"
    ).transaction.status.api_name


def _fail(container: ModuleType, withdrawal: str) -> str:
    return fail_payout(
        container.cashier, Operator(BOB_OPS), withdrawal, reason="bounced"
    ).transaction.status.api_name


FUNCTIONS = {
    _cancel: "CancelCashierWithdrawalFunction",
    _reject: "BackOfficeRejectWithdrawalFunction",
    _fail: "BackOfficeFailPayoutFunction",
}


def _race(actions: list[Action], withdrawal: str) -> list[str]:
    containers = [
        load_function(FUNCTIONS.get(action, "BackOfficeApproveWithdrawalFunction"))
        for action in actions
    ]
    start = threading.Barrier(len(actions))

    def one(index: int) -> str:
        start.wait()
        try:
            return actions[index](containers[index], withdrawal)
        except CashierError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        return list(pool.map(one, range(len(actions))))


def _check(api: CustomerApi, withdrawal: str, outcomes: list[str]) -> None:
    current = api.aws.transactions().get(withdrawal)
    entries = [
        e for e in api.aws.accounts().ledger("acc-alice-usd") if e.transaction_id == withdrawal
    ]
    releases = [e for e in entries if e.kind is LedgerKind.HOLD_RELEASE]
    assert len(releases) <= 1, (outcomes, releases)
    assert "internal_error" not in outcomes, outcomes
    if current.status in (Status.CANCELLED, Status.FAILED):
        assert (len(releases), balance(api)) == (1, Decimal("100.00")), outcomes
    else:
        assert current.status in (Status.PROVIDER_CONFIRMED, Status.MANUAL_REVIEW), outcomes
        assert (len(releases), balance(api)) == (0, Decimal("70.00")), outcomes


@pytest.mark.parametrize("round_", range(3))
def test_cancel_twice_approve_reject_and_fail_at_once(
    api: CustomerApi, atomic_moto: None, round_: int
) -> None:
    withdrawal = withdraw(api, "30.00")
    outcomes = _race([_cancel, _cancel, _approve(OPERATOR), _reject, _fail], withdrawal)
    _check(api, withdrawal, outcomes)


@pytest.mark.parametrize("round_", range(3))
def test_cancel_racing_the_second_approval(
    api: CustomerApi, atomic_moto: None, round_: int
) -> None:
    set_brand(api, second_approval_over={"USD": Decimal("20.00")})
    withdrawal = withdraw(api, "30.00")
    assert approve(BackOffice(api), withdrawal)[1]["transaction"]["status_name"] == "manual_review"
    outcomes = _race([_cancel, _approve(BOB_OPS), _cancel, _approve(OPERATOR)], withdrawal)
    _check(api, withdrawal, outcomes)
    current = api.aws.transactions().get(withdrawal)
    if current.status is Status.PROVIDER_CONFIRMED:
        assert current.history[-1].source.endswith("ops-bob"), outcomes


def test_fail_payout_after_a_cancel_is_refused_and_releases_nothing_more(
    api: CustomerApi,
) -> None:
    withdrawal = withdraw(api, "30.00")
    assert api.cancel(ALICE, withdrawal)[0] == 200
    backoffice = BackOffice(api)
    assert backoffice.payout_failed(withdrawal)[0] == 409
    status, rejected = backoffice.reject(withdrawal)  # answers "already" (applied=false)
    assert status == 409 or rejected["applied"] is False
    assert backoffice.approve(withdrawal)[0] == 409
    assert balance(api) == Decimal("100.00")


def test_cancel_of_another_customers_withdrawal_and_of_a_deposit_is_404(
    api: CustomerApi,
) -> None:
    withdrawal = withdraw(api, "30.00")
    assert api.cancel("cus-bob", withdrawal)[0] == 404
    assert api.cancel("cus-dan", withdrawal)[0] == 404
    assert balance(api) == Decimal("70.00")
