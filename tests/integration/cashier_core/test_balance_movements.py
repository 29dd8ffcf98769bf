"""Credits, holds, releases and reversals: each one TransactWriteItems with its
ledger entry, decided by lifecycle.decide and written by transitions.execute
(the storage condition itself is driven with hand-built Moves only where it is
what a test is about). After every test the conftest checks balance == sum(ledger)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.stub import Stubber

from cashier_core.cashier import Cashier
from cashier_core.crediting import credit
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
from cashier_core.lifecycle import (
    CreditAttempt,
    LedgerMovement,
    Move,
    OperatorAction,
    OperatorActionKind,
    Outcome,
    ProviderEffect,
    ProviderReport,
    Signal,
    decide,
)
from cashier_core.models import AccountStatus, LedgerKind, TradingAccount, Transaction
from cashier_core.statuses import PublicReason, Status, TransactionType
from cashier_core.storage.codec import to_item
from cashier_core.storage.conditions import work_key_of
from cashier_core.transitions import Executed, execute
from tests.support import builders
from tests.support.aws import LocalAws

SOURCE = "credit_worker"
OPERATOR = "backoffice:test"
PROVIDER = "provider:sandbox"


def open_account(aws: LocalAws, balance: str = "0.00", **overrides: object) -> TradingAccount:
    account = builders.account(balance=Decimal(balance), **overrides)
    aws.accounts().create(account, builders.T0)
    return account


def balance(aws: LocalAws, account: TradingAccount) -> Decimal:
    return aws.accounts().get(account.account_id, consistent=True).balance


def ledger_kinds(aws: LocalAws, account: TradingAccount) -> list[LedgerKind]:
    return sorted(entry.kind for entry in aws.accounts().ledger(account.account_id))


def cashier_of(aws: LocalAws) -> Cashier:
    return Cashier(aws.dynamodb, aws.tables)


def run(aws: LocalAws, transaction: Transaction, signal: Signal, source: str) -> Executed:
    return execute(cashier_of(aws), transaction, signal, source=source)


def provider_says(target: Status, transaction: Transaction, raw_status: str = "") -> ProviderReport:
    """What the sandbox reports: its status for the deposit, with the deposit's own amount."""
    effect = ProviderEffect.of_status(target)
    assert effect is not None
    return ProviderReport(
        provider="sandbox",
        effect=effect,
        raw_status=raw_status or target.api_name,
        amount=transaction.amount,
        currency=transaction.currency,
    )


def confirmed_deposit(aws: LocalAws, account: TradingAccount, amount: str = "25.00") -> Transaction:
    return aws.transactions().create(
        builders.transaction(account, status=Status.PROVIDER_CONFIRMED, amount=amount)
    )


def credited_deposit(aws: LocalAws, account: TradingAccount) -> Transaction:
    result = run(aws, confirmed_deposit(aws, account), CreditAttempt(), SOURCE)
    assert result.written
    return result.transaction


def credit_move(transaction: Transaction) -> Move:
    """The Move a credit attempt on a provider_confirmed deposit is, built by hand:
    for tests of the write's own condition, whatever the item really holds."""
    return Move(
        Outcome.APPLY,
        code=PublicReason.CREDITED,
        note="credited to the trading account",
        target=Status.CREDITED,
        ledger=LedgerMovement(LedgerKind.CREDIT, transaction.amount),
        sources=frozenset({Status.PROVIDER_CONFIRMED}),
    )


def test_an_opening_balance_is_the_accounts_first_ledger_entry(aws: LocalAws) -> None:
    account = open_account(aws, "100.00")
    assert balance(aws, account) == Decimal("100.00")
    assert ledger_kinds(aws, account) == [LedgerKind.OPENING_BALANCE]


# --- credits ---------------------------------------------------------------------
def test_credit_moves_status_balance_and_ledger_together(aws: LocalAws) -> None:
    account = open_account(aws, "10.00")
    confirmed = confirmed_deposit(aws, account, "25.50")
    result = run(aws, confirmed, CreditAttempt(), SOURCE)

    credited = result.transaction
    assert result.written
    assert result.move.ledger == LedgerMovement(
        LedgerKind.CREDIT, Decimal("25.50"), f"{confirmed.transaction_id}#credit"
    )
    assert credited.status is Status.CREDITED
    assert credited.version == confirmed.version + 1
    assert credited.history[-1].code is PublicReason.CREDITED
    assert aws.transactions().get(confirmed.transaction_id) == credited
    assert balance(aws, account) == Decimal("35.50")
    [entry] = [e for e in aws.accounts().ledger(account.account_id) if e.kind is LedgerKind.CREDIT]
    assert entry.amount == Decimal("25.50")
    assert entry.entry_id == f"{confirmed.transaction_id}#credit"


def test_crediting_twice_credits_once(aws: LocalAws) -> None:
    account = open_account(aws)
    confirmed = confirmed_deposit(aws, account)
    run(aws, confirmed, CreditAttempt(), SOURCE)

    # The same (now stale) copy again: the write is refused on the version, the
    # executor decides again on the stored item and finds it credited.
    again = run(aws, confirmed, CreditAttempt(), SOURCE)
    assert (again.written, again.move.outcome) == (False, Outcome.ALREADY)
    assert again.transaction.status is Status.CREDITED
    assert again.transaction == aws.transactions().get(confirmed.transaction_id)
    assert balance(aws, account) == Decimal("25.00")
    assert ledger_kinds(aws, account) == [LedgerKind.CREDIT]


def test_the_ledger_entry_id_alone_stops_a_second_credit(aws: LocalAws) -> None:
    """Even were the status write undone (it cannot be: both land in one
    transaction), the credit's deterministic entry id refuses a second credit."""
    account = open_account(aws)
    confirmed = confirmed_deposit(aws, account)
    run(aws, confirmed, CreditAttempt(), SOURCE)
    key = work_key_of(confirmed.type, confirmed.status, confirmed.transaction_id)
    aws.dynamodb.put_item(
        TableName=aws.tables.transactions, Item=to_item(confirmed, work_key=key)
    )  # back to provider_confirmed at version 1, the credit's entry still there

    with pytest.raises(AlreadyApplied):
        aws.transactions().write(confirmed, decide(confirmed, CreditAttempt()), source=SOURCE)
    assert aws.transactions().get(confirmed.transaction_id) == confirmed
    assert balance(aws, account) == Decimal("25.00")


def test_a_stale_copy_is_refused_and_gets_the_current_item(aws: LocalAws) -> None:
    account = open_account(aws)
    review = aws.transactions().create(builders.transaction(account, status=Status.MANUAL_REVIEW))
    action = OperatorAction(OperatorActionKind.CREDIT_REVIEWED_DEPOSIT, note="reviewed")
    confirmed = run(aws, review, action, OPERATOR).transaction
    assert confirmed.status is Status.PROVIDER_CONFIRMED

    # A copy that believes it is confirmed, but was read at the review's version.
    stale = review.model_copy(update={"status": Status.PROVIDER_CONFIRMED})
    with pytest.raises(TransitionRefused) as refused:
        aws.transactions().write(stale, decide(stale, CreditAttempt()), source=SOURCE)
    assert refused.value.current == confirmed
    assert balance(aws, account) == 0

    # The executor decides again on the current item and credits it once.
    result = run(aws, stale, CreditAttempt(), SOURCE)
    assert result.written
    assert result.transaction.status is Status.CREDITED
    assert result.transaction.version == confirmed.version + 1
    assert balance(aws, account) == Decimal("25.00")


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.PROVIDER_CONFIRMED])
def test_only_provider_confirmed_deposits_are_credited(aws: LocalAws, status: Status) -> None:
    account = open_account(aws)
    store = aws.transactions()
    existing = store.create(builders.transaction(account, status=status))

    move = decide(existing, CreditAttempt())
    expected = Outcome.ALREADY if status is Status.CREDITED else Outcome.SKIP
    assert (move.outcome, move.ledger) == (expected, None)
    result = run(aws, existing, CreditAttempt(), SOURCE)
    assert not result.written
    # A credit Move written anyway is refused by the condition: the item is not
    # in the credit's source status.
    with pytest.raises(TransitionRefused) as refused:
        store.write(existing, credit_move(existing), source=SOURCE)
    assert refused.value.current == existing
    assert store.get(existing.transaction_id) == existing
    assert balance(aws, account) == 0


@pytest.mark.parametrize("status", [Status.MANUAL_REVIEW, Status.PROVIDER_CONFIRMED])
def test_a_withdrawal_is_never_credited(aws: LocalAws, status: Status) -> None:
    account = open_account(aws, "100.00")
    store = aws.transactions()
    withdrawal = store.open_withdrawal(builders.withdrawal(account, "30.00"))
    if status is Status.PROVIDER_CONFIRMED:
        approve = OperatorAction(OperatorActionKind.APPROVE_WITHDRAWAL, payout_reference="P-1")
        withdrawal = run(aws, withdrawal, approve, OPERATOR).transaction
    assert withdrawal.status is status

    assert decide(withdrawal, CreditAttempt()).outcome is Outcome.IGNORE
    assert not run(aws, withdrawal, CreditAttempt(), SOURCE).written
    assert credit(cashier_of(aws), withdrawal.transaction_id, builders.T0).value == (
        "not_creditable"
    )
    # The table has no credited for a withdrawal: such a Move is never sent.
    with pytest.raises(ValueError, match="wider than the table"):
        store.write(withdrawal, credit_move(withdrawal), source=SOURCE)
    # A copy that claims to be a deposit is refused by the condition on the type.
    posing = withdrawal.model_copy(update={"type": TransactionType.DEPOSIT})
    with pytest.raises(TransitionRefused):
        store.write(posing, credit_move(posing), source=SOURCE)
    assert store.get(withdrawal.transaction_id) == withdrawal
    assert balance(aws, account) == Decimal("70.00")


@pytest.mark.parametrize(
    "forged",
    [
        {"amount": Decimal("999999.00")},
        {"currency": "EUR"},
        {"account_id": "acc-mallory", "customer_id": "cus-mallory"},
        {"account_id": "acc-mallory"},
        {"customer_id": "cus-mallory"},
    ],
    ids=["amount", "currency", "account-and-customer", "account", "customer"],
)
def test_a_credit_pinned_to_other_money_than_the_stored_deposits_is_refused(
    aws: LocalAws, forged: dict[str, object]
) -> None:
    """The write pins amount, currency, account and customer to the copy it was
    decided on: a copy that differs from the stored deposit (a forged or edited
    message) credits nothing anywhere; the executor then credits the stored one."""
    alice = open_account(aws)
    mallory = open_account(aws, account_id="acc-mallory", customer_id="cus-mallory")
    mallory_eur = open_account(aws, account_id="acc-mallory-eur", currency="EUR")
    stored = confirmed_deposit(aws, alice)
    copy = stored.model_copy(update=forged)

    with pytest.raises(TransitionRefused) as refused:
        aws.transactions().write(copy, decide(copy, CreditAttempt()), source=SOURCE)
    assert refused.value.current == stored
    for account in (alice, mallory, mallory_eur):
        assert balance(aws, account) == 0

    result = run(aws, copy, CreditAttempt(), SOURCE)
    assert result.written
    assert result.transaction.amount == stored.amount
    assert balance(aws, alice) == Decimal("25.00")
    assert balance(aws, mallory) == 0
    assert balance(aws, mallory_eur) == 0


def test_credit_of_a_missing_transaction_writes_nothing(aws: LocalAws) -> None:
    account = open_account(aws)
    ghost = builders.transaction(account, status=Status.PROVIDER_CONFIRMED)
    with pytest.raises(TransactionNotFound):
        run(aws, ghost, CreditAttempt(), SOURCE)
    with pytest.raises(TransactionNotFound):
        credit(cashier_of(aws), ghost.transaction_id, builders.T0)
    assert ledger_kinds(aws, account) == []
    assert balance(aws, account) == 0


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
    confirmed = confirmed_deposit(aws, intended)
    if not account_change.get("missing"):
        aws.accounts().create(intended.model_copy(update=account_change), builders.T0)

    with pytest.raises(error):
        run(aws, confirmed, CreditAttempt(), SOURCE)
    assert store.get(confirmed.transaction_id) == confirmed
    assert [e for e in aws.accounts().ledger(intended.account_id)] == []


# --- withdrawal holds ------------------------------------------------------------
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
    ("approved_first", "kind", "target"),
    [
        (False, OperatorActionKind.REJECT_WITHDRAWAL, Status.CANCELLED),
        (False, OperatorActionKind.FAIL_PAYOUT, Status.FAILED),
        (True, OperatorActionKind.FAIL_PAYOUT, Status.FAILED),
    ],
)
def test_a_released_hold_gives_the_funds_back_once(
    aws: LocalAws, approved_first: bool, kind: OperatorActionKind, target: Status
) -> None:
    account = open_account(aws, "100.00")
    store = aws.transactions()
    withdrawal = store.open_withdrawal(builders.withdrawal(account, "30.00"))
    if approved_first:
        approve = OperatorAction(OperatorActionKind.APPROVE_WITHDRAWAL, payout_reference="P-1")
        withdrawal = run(aws, withdrawal, approve, OPERATOR).transaction
        assert balance(aws, account) == Decimal("70.00")  # approval keeps the hold

    action = OperatorAction(kind, note="bank returned it")
    released = run(aws, withdrawal, action, OPERATOR)
    assert released.written
    assert released.move.ledger == LedgerMovement(LedgerKind.HOLD_RELEASE, Decimal("30.00"))
    assert released.transaction.status is target
    assert balance(aws, account) == Decimal("100.00")

    # Again, from the stale copy and from the current one: nothing more is released.
    for copy in (withdrawal, released.transaction):
        again = run(aws, copy, action, OPERATOR)
        assert (again.written, again.move.outcome) == (False, Outcome.ALREADY)
    with pytest.raises(TransitionRefused):
        store.write(withdrawal, decide(withdrawal, action), source=OPERATOR)
    assert balance(aws, account) == Decimal("100.00")
    assert ledger_kinds(aws, account) == sorted(
        [LedgerKind.OPENING_BALANCE, LedgerKind.WITHDRAWAL_HOLD, LedgerKind.HOLD_RELEASE]
    )


def test_a_paid_out_withdrawal_cannot_be_rejected_back_onto_the_balance(aws: LocalAws) -> None:
    account = open_account(aws, "100.00")
    withdrawal = aws.transactions().open_withdrawal(builders.withdrawal(account, "30.00"))
    approve = OperatorAction(OperatorActionKind.APPROVE_WITHDRAWAL, payout_reference="P-1")
    approved = run(aws, withdrawal, approve, OPERATOR).transaction
    reject = OperatorAction(OperatorActionKind.REJECT_WITHDRAWAL, note="too late")
    refused = run(aws, approved, reject, OPERATOR)
    assert (refused.written, refused.move.outcome) == (False, Outcome.REFUSE)
    assert balance(aws, account) == Decimal("70.00")


# --- reversals -------------------------------------------------------------------
@pytest.mark.parametrize("target", [Status.REFUNDED, Status.CHARGEBACK])
def test_a_reversal_after_credit_may_take_the_balance_negative(
    aws: LocalAws, target: Status
) -> None:
    account = open_account(aws)
    credited = credited_deposit(aws, account)
    aws.transactions().open_withdrawal(builders.withdrawal(account, "20.00"))

    reversed_ = run(aws, credited, provider_says(target, credited), PROVIDER)
    assert reversed_.written
    assert reversed_.move.ledger == LedgerMovement(
        LedgerKind.REVERSAL, Decimal("25.00"), f"{credited.transaction_id}#reversal"
    )
    assert reversed_.transaction.status is target
    assert balance(aws, account) == Decimal("-20.00")

    for copy in (credited, reversed_.transaction):
        again = run(aws, copy, provider_says(target, copy), PROVIDER)
        assert (again.written, again.move.outcome) == (False, Outcome.ALREADY)
    with pytest.raises(TransitionRefused):
        aws.transactions().write(
            credited, decide(credited, provider_says(target, credited)), source=PROVIDER
        )
    assert balance(aws, account) == Decimal("-20.00")


@pytest.mark.parametrize("target", [Status.REFUNDED, Status.CHARGEBACK])
def test_a_refund_or_chargeback_before_the_credit_reverses_nothing(
    aws: LocalAws, target: Status
) -> None:
    account = open_account(aws)
    confirmed = confirmed_deposit(aws, account)
    stopped = run(aws, confirmed, provider_says(target, confirmed), PROVIDER)
    assert stopped.written
    assert stopped.move.ledger is None
    assert not run(aws, stopped.transaction, CreditAttempt(), SOURCE).written
    assert balance(aws, account) == 0
    assert ledger_kinds(aws, account) == []


def test_a_reversal_lands_on_a_closed_account(aws: LocalAws) -> None:
    account = open_account(aws)
    credited = credited_deposit(aws, account)
    aws.dynamodb.update_item(
        TableName=aws.tables.accounts,
        Key={"account_id": {"S": account.account_id}, "sk": {"S": "ACCOUNT"}},
        UpdateExpression="SET #s = :closed",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":closed": {"S": "closed"}},
    )
    result = run(aws, credited, provider_says(Status.CHARGEBACK, credited), PROVIDER)
    assert result.written
    assert balance(aws, account) == Decimal("0.00")
    assert LedgerKind.REVERSAL in ledger_kinds(aws, account)


# --- contention and repeated credits ----------------------------------------------
@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_contention_inside_a_transaction_is_retryable(aws: LocalAws, reason: str) -> None:
    account = open_account(aws)
    confirmed = confirmed_deposit(aws, account)
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
        run(aws, confirmed, CreditAttempt(), SOURCE)
    assert aws.transactions().get(confirmed.transaction_id) == confirmed
    assert balance(aws, account) == 0
    assert run(aws, confirmed, CreditAttempt(), SOURCE).transaction.status is Status.CREDITED
    assert balance(aws, account) == Decimal("25.00")


def test_a_deposit_credited_again_after_a_reversed_chargeback_gets_a_second_entry(
    aws: LocalAws,
) -> None:
    # credited -> chargeback (reversal) -> manual_review (chargeback reversed)
    # -> provider_confirmed (BackOffice) -> credited: two credits, one reversal,
    # each with its own ledger entry, none refused as a duplicate of the other.
    account = open_account(aws, "0.00")
    credited = credited_deposit(aws, account)
    charged_back = run(
        aws, credited, provider_says(Status.CHARGEBACK, credited, "CHARGEBACK:true"), PROVIDER
    ).transaction
    reinstated = ProviderReport(
        "sandbox", ProviderEffect.REINSTATED, "CHARGEBACK_REVERSED:true", Decimal("25.00"), "USD"
    )
    review = run(aws, charged_back, reinstated, PROVIDER).transaction
    assert review.status is Status.MANUAL_REVIEW
    action = OperatorAction(OperatorActionKind.CREDIT_REVIEWED_DEPOSIT, note="credit again")
    reconfirmed = run(aws, review, action, OPERATOR).transaction
    again = run(aws, reconfirmed, CreditAttempt(), SOURCE)

    assert again.written
    assert again.transaction.status is Status.CREDITED
    assert balance(aws, account) == Decimal("25.00")
    entries = sorted(e.entry_id for e in aws.accounts().ledger(account.account_id))
    tid = credited.transaction_id
    assert entries == sorted([f"{tid}#credit", f"{tid}#reversal", f"{tid}#credit#2"])
    repeat = run(aws, reconfirmed, CreditAttempt(), SOURCE)
    assert (repeat.written, repeat.move.outcome) == (False, Outcome.ALREADY)
    with pytest.raises(TransitionRefused):
        aws.transactions().write(reconfirmed, credit_move(reconfirmed), source=SOURCE)
    assert balance(aws, account) == Decimal("25.00")
