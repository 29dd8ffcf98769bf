"""Credits, holds, releases and reversals: each one TransactWriteItems with its
ledger entry. After every test the conftest checks balance == sum(ledger)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.stub import Stubber

from cashier_core.errors import (
    AccountClosed,
    AccountCurrencyMismatch,
    AccountNotFound,
    AlreadyApplied,
    InsufficientFunds,
    RetryableConflict,
    TransactionNotFound,
    TransitionRefused,
)
from cashier_core.models import AccountStatus, LedgerKind, TradingAccount
from cashier_core.statuses import Status
from tests.support import builders
from tests.support.aws import LocalAws

SOURCE = "credit_worker"


def open_account(aws: LocalAws, balance: str = "0.00", **overrides: object) -> TradingAccount:
    account = builders.account(balance=Decimal(balance), **overrides)
    aws.accounts().create(account, builders.T0)
    return account


def balance(aws: LocalAws, account: TradingAccount) -> Decimal:
    return aws.accounts().get(account.account_id).balance


def ledger_kinds(aws: LocalAws, account: TradingAccount) -> list[LedgerKind]:
    return sorted(entry.kind for entry in aws.accounts().ledger(account.account_id))


def test_an_opening_balance_is_the_accounts_first_ledger_entry(aws: LocalAws) -> None:
    account = open_account(aws, "100.00")
    assert balance(aws, account) == Decimal("100.00")
    assert ledger_kinds(aws, account) == [LedgerKind.OPENING_BALANCE]


def test_credit_moves_status_balance_and_ledger_together(aws: LocalAws) -> None:
    account = open_account(aws, "10.00")
    store = aws.transactions()
    confirmed = store.create(
        builders.transaction(account, status=Status.PROVIDER_CONFIRMED, amount="25.50")
    )
    credited = store.credit(confirmed, source=SOURCE)

    assert credited.status is Status.CREDITED
    assert credited.version == confirmed.version + 1
    assert store.get(confirmed.transaction_id) == credited
    assert balance(aws, account) == Decimal("35.50")
    [entry] = [e for e in aws.accounts().ledger(account.account_id) if e.kind is LedgerKind.CREDIT]
    assert entry.amount == Decimal("25.50")
    assert entry.entry_id == f"{confirmed.transaction_id}#credit"


def test_crediting_twice_credits_once(aws: LocalAws) -> None:
    account = open_account(aws)
    store = aws.transactions()
    confirmed = store.create(builders.transaction(account, status=Status.PROVIDER_CONFIRMED))
    store.credit(confirmed, source=SOURCE)

    with pytest.raises(AlreadyApplied) as again:
        store.credit(confirmed, source=SOURCE)
    assert again.value.current is not None
    assert again.value.current.status is Status.CREDITED
    assert balance(aws, account) == Decimal("25.00")


def test_a_stale_copy_is_refused_and_gets_the_current_item(aws: LocalAws) -> None:
    account = open_account(aws)
    store = aws.transactions()
    review = store.create(builders.transaction(account, status=Status.MANUAL_REVIEW))
    confirmed = store.change_status(
        review.transaction_id, Status.PROVIDER_CONFIRMED, reason="reviewed", source="backoffice"
    )
    with pytest.raises(TransitionRefused) as stale:
        store.credit(review.model_copy(update={"status": Status.PROVIDER_CONFIRMED}), source=SOURCE)
    assert stale.value.current == confirmed
    assert store.credit(stale.value.current, source=SOURCE).status is Status.CREDITED


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.PROVIDER_CONFIRMED])
def test_only_provider_confirmed_deposits_are_credited(aws: LocalAws, status: Status) -> None:
    account = open_account(aws)
    store = aws.transactions()
    existing = store.create(builders.transaction(account, status=status))
    with pytest.raises((TransitionRefused, AlreadyApplied)):
        store.credit(existing, source=SOURCE)
    assert store.get(existing.transaction_id) == existing
    assert balance(aws, account) == 0


def test_credit_of_a_missing_transaction_writes_nothing(aws: LocalAws) -> None:
    account = open_account(aws)
    ghost = builders.transaction(account, status=Status.PROVIDER_CONFIRMED)
    with pytest.raises(TransactionNotFound):
        aws.transactions().credit(ghost, source=SOURCE)
    assert ledger_kinds(aws, account) == []


@pytest.mark.parametrize(
    ("account_change", "error"),
    [
        ({"missing": True}, AccountNotFound),
        ({"currency": "EUR", "balance": Decimal("0.00")}, AccountCurrencyMismatch),
        ({"status": AccountStatus.CLOSED}, AccountClosed),
        ({"customer_id": "cus-mallory"}, AccountNotFound),
    ],
)
def test_a_credit_the_account_refuses_is_a_permanent_error_and_writes_nothing(
    aws: LocalAws, account_change: dict[str, object], error: type[Exception]
) -> None:
    intended = builders.account()
    store = aws.transactions()
    confirmed = store.create(builders.transaction(intended, status=Status.PROVIDER_CONFIRMED))
    if not account_change.get("missing"):
        aws.accounts().create(intended.model_copy(update=account_change), builders.T0)

    with pytest.raises(error):
        store.credit(confirmed, source=SOURCE)
    assert store.get(confirmed.transaction_id) == confirmed
    assert [e for e in aws.accounts().ledger(intended.account_id)] == []


def test_withdrawal_hold_debits_and_records_in_one_go(aws: LocalAws) -> None:
    account = open_account(aws, "100.00")
    store = aws.transactions()
    withdrawal = builders.withdrawal(account, "60.00")
    store.open_withdrawal(withdrawal)
    assert store.get(withdrawal.transaction_id) == withdrawal
    assert balance(aws, account) == Decimal("40.00")
    assert LedgerKind.WITHDRAWAL_HOLD in ledger_kinds(aws, account)


def test_holds_never_overdraw_and_a_refused_hold_writes_nothing(aws: LocalAws) -> None:
    account = open_account(aws, "100.00")
    store = aws.transactions()

    store.open_withdrawal(builders.withdrawal(account, "60.00"))
    refused = builders.withdrawal(account, "60.00")
    with pytest.raises(InsufficientFunds):
        store.open_withdrawal(refused)
    with pytest.raises(TransactionNotFound):
        store.get(refused.transaction_id)
    store.open_withdrawal(builders.withdrawal(account, "40.00"))  # exactly the rest is allowed
    assert balance(aws, account) == Decimal("0.00")


def test_the_same_withdrawal_id_holds_once(aws: LocalAws) -> None:
    account = open_account(aws, "100.00")
    store = aws.transactions()
    withdrawal = builders.withdrawal(account, "10.00")
    store.open_withdrawal(withdrawal)
    with pytest.raises(AlreadyApplied):
        store.open_withdrawal(withdrawal)
    assert balance(aws, account) == Decimal("90.00")


def test_another_customers_account_cannot_be_held(aws: LocalAws) -> None:
    account = open_account(aws, "100.00")
    foreign = builders.withdrawal(account.model_copy(update={"customer_id": "cus-mallory"}))
    with pytest.raises(AccountNotFound):
        aws.transactions().open_withdrawal(foreign)
    assert balance(aws, account) == Decimal("100.00")


@pytest.mark.parametrize(
    ("before", "target"),
    [
        (Status.MANUAL_REVIEW, Status.CANCELLED),
        (Status.MANUAL_REVIEW, Status.FAILED),
        (Status.PROVIDER_CONFIRMED, Status.FAILED),
    ],
)
def test_a_released_hold_gives_the_funds_back_once(
    aws: LocalAws, before: Status, target: Status
) -> None:
    account = open_account(aws, "100.00")
    store = aws.transactions()
    withdrawal = store.open_withdrawal(builders.withdrawal(account, "30.00"))
    if before is not Status.MANUAL_REVIEW:
        withdrawal = store.change_status(
            withdrawal.transaction_id, before, reason="approved", source="backoffice"
        )
    released = store.release_withdrawal_hold(
        withdrawal, target, reason="rejected", source="backoffice"
    )
    assert released.status is target
    assert balance(aws, account) == Decimal("100.00")
    with pytest.raises((AlreadyApplied, TransitionRefused)):
        store.release_withdrawal_hold(released, target, reason="again", source="backoffice")
    assert balance(aws, account) == Decimal("100.00")


@pytest.mark.parametrize("target", [Status.REFUNDED, Status.CHARGEBACK])
def test_a_reversal_after_credit_may_take_the_balance_negative(
    aws: LocalAws, target: Status
) -> None:
    account = open_account(aws)
    store = aws.transactions()
    credited = store.credit(
        store.create(builders.transaction(account, status=Status.PROVIDER_CONFIRMED)),
        source=SOURCE,
    )
    store.open_withdrawal(builders.withdrawal(account, "20.00"))
    reversed_ = store.reverse_credit(credited, target, reason="provider said so", source="p")
    assert reversed_.status is target
    assert balance(aws, account) == Decimal("-20.00")
    with pytest.raises((AlreadyApplied, TransitionRefused)):
        store.reverse_credit(reversed_, target, reason="again", source="p")
    assert balance(aws, account) == Decimal("-20.00")


def test_a_reversal_lands_on_a_closed_account(aws: LocalAws) -> None:
    account = open_account(aws)
    store = aws.transactions()
    credited = store.credit(
        store.create(builders.transaction(account, status=Status.PROVIDER_CONFIRMED)),
        source=SOURCE,
    )
    aws.dynamodb.update_item(
        TableName=aws.tables.accounts,
        Key={"account_id": {"S": account.account_id}, "sk": {"S": "ACCOUNT"}},
        UpdateExpression="SET #s = :closed",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":closed": {"S": "closed"}},
    )
    store.reverse_credit(credited, Status.CHARGEBACK, reason="dispute", source="p")
    assert balance(aws, account) == Decimal("0.00")


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_contention_inside_a_transaction_is_retryable(aws: LocalAws, reason: str) -> None:
    account = open_account(aws)
    store = aws.transactions()
    confirmed = store.create(builders.transaction(account, status=Status.PROVIDER_CONFIRMED))
    stubber = Stubber(aws.dynamodb)
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        http_status_code=400,
        modeled_fields={
            "CancellationReasons": [{"Code": reason}, {"Code": "None"}, {"Code": "None"}]
        },
    )
    with stubber, pytest.raises(RetryableConflict):
        store.credit(confirmed, source=SOURCE)
    assert store.credit(confirmed, source=SOURCE).status is Status.CREDITED


def test_a_deposit_credited_again_after_a_reversed_chargeback_gets_a_second_entry(
    aws: LocalAws,
) -> None:
    # credited -> chargeback (reversal) -> manual_review (chargeback reversed)
    # -> provider_confirmed (BackOffice) -> credited: two credits, one reversal,
    # each with its own ledger entry, none refused as a duplicate of the other.
    account = open_account(aws, "0.00")
    store = aws.transactions()
    confirmed = store.create(builders.transaction(account, status=Status.PROVIDER_CONFIRMED))
    credited = store.credit(confirmed, source=SOURCE)
    reversed_ = store.reverse_credit(
        credited, Status.CHARGEBACK, reason="chargeback", source="provider:adyen"
    )
    review = store.apply_change(
        reversed_, Status.MANUAL_REVIEW, reason="chargeback reversed", source="provider:adyen"
    )
    reconfirmed = store.apply_change(
        review, Status.PROVIDER_CONFIRMED, reason="credit again", source="backoffice:test"
    )
    again = store.credit(reconfirmed, source=SOURCE)

    assert again.status is Status.CREDITED
    assert balance(aws, account) == Decimal("25.00")
    entries = sorted(e.entry_id for e in aws.accounts().ledger(account.account_id))
    tid = confirmed.transaction_id
    assert entries == sorted([f"{tid}#credit", f"{tid}#reversal", f"{tid}#credit#2"])
    with pytest.raises(AlreadyApplied):
        store.credit(reconfirmed, source=SOURCE)
    assert balance(aws, account) == Decimal("25.00")
