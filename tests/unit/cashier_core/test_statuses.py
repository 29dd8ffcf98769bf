"""The transition table, pinned pair by pair for both transaction types."""

from __future__ import annotations

import itertools

import pytest

from cashier_core.statuses import (
    ALLOWED_SOURCES,
    INITIAL_STATUS,
    OPERATOR_ONLY,
    WORK_QUEUE_STATUSES,
    Status,
    TransactionType,
    allowed_sources,
    automatic_sources,
    can_transition,
    is_final,
)

# Rows are the current status, columns the target; x means allowed.
DEPOSIT_MATRIX = """
    0 1 2 3 4 5 6 7 8 9
0   . x x . . x x . . x
1   . . x . . x x . . x
2   . . x x x . . x x x
3   . . . x . . . x x x
4   . . x . x . . x x x
5   . . . . . . . . . x
6   . . . . . . . . . x
7   . . . . . . . x . x
8   . . . . . . . . x x
9   . . x . . x . x x x
"""

WITHDRAWAL_MATRIX = """
    0 1 2 3 4 5 6 7 8 9
0   . . . . . . . . . .
1   . . . . . . . . . .
2   . . . . . x . . . .
3   . . . . . . . . . .
4   . . . . . . . . . .
5   . . . . . . . . . .
6   . . . . . . . . . .
7   . . . . . . . . . .
8   . . . . . . . . . .
9   . . x . . x x . . x
"""


def _allowed_pairs(matrix: str) -> set[tuple[Status, Status]]:
    rows = [line.split() for line in matrix.strip().splitlines()[1:]]
    return {
        (Status(int(row[0])), Status(column))
        for row in rows
        for column, mark in enumerate(row[1:])
        if mark == "x"
    }


EXPECTED = {
    TransactionType.DEPOSIT: _allowed_pairs(DEPOSIT_MATRIX),
    TransactionType.WITHDRAWAL: _allowed_pairs(WITHDRAWAL_MATRIX),
}
ALL_PAIRS = list(itertools.product(TransactionType, Status, Status))


def test_status_numbers_are_the_public_api() -> None:
    assert {status.value: status.api_name for status in Status} == {
        0: "created",
        1: "pending_payment",
        2: "provider_confirmed",
        3: "credited",
        4: "credit_failed",
        5: "failed",
        6: "cancelled",
        7: "refunded",
        8: "chargeback",
        9: "manual_review",
    }


@pytest.mark.parametrize(("transaction_type", "source", "target"), ALL_PAIRS)
def test_every_pair_follows_the_table(
    transaction_type: TransactionType, source: Status, target: Status
) -> None:
    expected = (source, target) in EXPECTED[transaction_type]
    assert can_transition(transaction_type, source, target) is expected


def test_the_table_names_every_target_for_both_types() -> None:
    for table in ALLOWED_SOURCES.values():
        assert set(table) == set(Status)


def test_only_partial_reversals_and_a_withdrawals_first_of_two_approvals_keep_the_status() -> None:
    """credited -> credited and manual_review -> manual_review record part of a
    deposit refunded or charged back; refunded -> refunded and chargeback ->
    chargeback a refund failure or a running total that moves nothing, and
    provider_confirmed / credit_failed to themselves such a total while the
    credit waits; a withdrawal's manual_review ->
    manual_review records who approved first (at most once). Nothing else
    moves to itself."""
    moves_to_itself = {
        (transaction_type, status)
        for transaction_type, status in itertools.product(TransactionType, Status)
        if can_transition(transaction_type, status, status)
    }
    assert moves_to_itself == {
        (TransactionType.DEPOSIT, Status.PROVIDER_CONFIRMED),
        (TransactionType.DEPOSIT, Status.CREDITED),
        (TransactionType.DEPOSIT, Status.CREDIT_FAILED),
        (TransactionType.DEPOSIT, Status.MANUAL_REVIEW),
        (TransactionType.DEPOSIT, Status.REFUNDED),
        (TransactionType.DEPOSIT, Status.CHARGEBACK),
        (TransactionType.WITHDRAWAL, Status.MANUAL_REVIEW),
    }


def test_nothing_re_enters_created() -> None:
    for transaction_type in TransactionType:
        assert not ALLOWED_SOURCES[transaction_type][Status.CREATED]


def test_refunded_leaves_only_for_a_person_when_the_refund_came_back() -> None:
    # refunded -> refunded records a refund failure or a running total that
    # moves nothing, with its time (lifecycle._total_seen).
    exits = {t for t in Status if can_transition(TransactionType.DEPOSIT, Status.REFUNDED, t)}
    assert exits == {Status.MANUAL_REVIEW, Status.REFUNDED}
    assert not is_final(TransactionType.DEPOSIT, Status.REFUNDED)


def test_failed_cancelled_and_chargeback_leave_only_for_manual_review() -> None:
    for sticky in (Status.FAILED, Status.CANCELLED, Status.CHARGEBACK):
        exits = {t for t in Status if can_transition(TransactionType.DEPOSIT, sticky, t)}
        # chargeback -> chargeback records what moves nothing (lifecycle._total_seen).
        assert exits - {Status.CHARGEBACK} == {Status.MANUAL_REVIEW}


def test_refund_and_chargeback_need_money_taken_first() -> None:
    # manual_review may hold captured money (a mismatched success): a refund or
    # dispute then must stop review from ever crediting it.
    money_taken = {
        Status.PROVIDER_CONFIRMED,
        Status.CREDITED,
        Status.CREDIT_FAILED,
        Status.MANUAL_REVIEW,
    }
    for target in (Status.REFUNDED, Status.CHARGEBACK):
        # refunded -> refunded records what moves nothing (see above).
        sources = ALLOWED_SOURCES[TransactionType.DEPOSIT][target] - {target}
        assert sources == money_taken


def test_late_success_after_failed_or_cancelled_goes_to_manual_review() -> None:
    for gone in (Status.FAILED, Status.CANCELLED):
        assert not can_transition(TransactionType.DEPOSIT, gone, Status.PROVIDER_CONFIRMED)
        assert can_transition(TransactionType.DEPOSIT, gone, Status.MANUAL_REVIEW)


def test_only_provider_confirmed_is_credited() -> None:
    for transaction_type in TransactionType:
        sources = ALLOWED_SOURCES[transaction_type][Status.CREDITED] - {Status.CREDITED}
        assert sources <= {Status.PROVIDER_CONFIRMED}


def test_withdrawals_start_in_manual_review_and_never_touch_deposit_states() -> None:
    assert INITIAL_STATUS[TransactionType.WITHDRAWAL] is Status.MANUAL_REVIEW
    deposit_only = {Status.PENDING_PAYMENT, Status.CREDITED, Status.CREDIT_FAILED}
    for status in deposit_only | {Status.REFUNDED, Status.CHARGEBACK}:
        assert not ALLOWED_SOURCES[TransactionType.WITHDRAWAL][status]


def test_work_queue_holds_exactly_the_statuses_someone_must_act_on() -> None:
    assert {
        Status.CREATED,
        Status.PENDING_PAYMENT,
        Status.PROVIDER_CONFIRMED,
        Status.CREDIT_FAILED,
        Status.MANUAL_REVIEW,
    } == WORK_QUEUE_STATUSES[TransactionType.DEPOSIT]


def test_an_approved_withdrawal_is_nobodys_work() -> None:
    """Approval (provider_confirmed) is the end of BackOffice's part: no scheduled
    job may mistake it for a deposit waiting to be credited."""
    assert WORK_QUEUE_STATUSES[TransactionType.WITHDRAWAL] == {Status.MANUAL_REVIEW}


def test_only_a_person_takes_a_deposit_out_of_review_except_for_money_that_left() -> None:
    deposit = TransactionType.DEPOSIT
    leaving = {
        target for target in Status if Status.MANUAL_REVIEW in automatic_sources(deposit, target)
    }
    # Review to review: a partial reversal recorded while a person looks.
    assert leaving == {Status.REFUNDED, Status.CHARGEBACK, Status.MANUAL_REVIEW}


@pytest.mark.parametrize("transaction_type", list(TransactionType))
def test_automatic_sources_are_the_table_less_what_only_a_person_may_do(
    transaction_type: TransactionType,
) -> None:
    for target in Status:
        automatic = automatic_sources(transaction_type, target)
        assert automatic <= allowed_sources(transaction_type, target)
        for source in allowed_sources(transaction_type, target) - automatic:
            assert (source, target) in OPERATOR_ONLY[transaction_type]
    assert Status.MANUAL_REVIEW not in automatic_sources(
        TransactionType.DEPOSIT, Status.PROVIDER_CONFIRMED
    )
    assert Status.CREDIT_FAILED not in automatic_sources(
        TransactionType.DEPOSIT, Status.PROVIDER_CONFIRMED
    )


def test_every_reason_code_is_explained_and_every_status_has_a_legacy_code() -> None:
    from cashier_core.statuses import LEGACY_REASONS, REASON_MEANINGS, PublicReason

    assert set(REASON_MEANINGS) == set(PublicReason)
    assert set(LEGACY_REASONS) == set(Status)


def test_a_withdrawals_first_of_two_approvals_is_a_persons_and_keeps_it_waiting() -> None:
    withdrawal = TransactionType.WITHDRAWAL
    assert can_transition(withdrawal, Status.MANUAL_REVIEW, Status.MANUAL_REVIEW)
    assert (Status.MANUAL_REVIEW, Status.MANUAL_REVIEW) in OPERATOR_ONLY[withdrawal]
    assert Status.MANUAL_REVIEW not in automatic_sources(withdrawal, Status.MANUAL_REVIEW)
    # A deposit's review -> review is a provider's: a partial reversal recorded.
    deposit = TransactionType.DEPOSIT
    assert Status.MANUAL_REVIEW in automatic_sources(deposit, Status.MANUAL_REVIEW)
