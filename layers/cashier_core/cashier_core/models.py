"""The domain's records (pydantic v2).

They are what storage reads and writes, and also the local seed file format,
so field names here are the names in the seed. Unknown fields are refused.
`defer_build` keeps schema building out of every Lambda's cold start.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Final, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from cashier_core.money import currency_exponent, quantize
from cashier_core.sessions import MAX_IDENTIFIER_LENGTH
from cashier_core.statuses import (
    INITIAL_STATUS,
    LEGACY_REASONS,
    PublicReason,
    Status,
    TransactionType,
)

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=MAX_IDENTIFIER_LENGTH)]


class DomainModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _check_currency_scale(amount: Decimal | None, currency: str) -> None:
    if amount is None:
        return
    currency_exponent(currency)  # raises UnknownCurrency
    if amount != quantize(amount, currency):
        raise ValueError(f"{amount} has more decimals than {currency} allows")


class AmountLimits(DomainModel):
    """Inclusive bounds in one currency; either side may be open."""

    min_amount: Decimal | None = None
    max_amount: Decimal | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for bound in (self.min_amount, self.max_amount):
            if bound is not None and (not bound.is_finite() or bound <= 0):
                raise ValueError("limits are positive finite amounts")
        if (
            self.min_amount is not None
            and self.max_amount is not None
            and self.min_amount > self.max_amount
        ):
            raise ValueError("min_amount is above max_amount")
        return self

    def check_scale(self, currency: str) -> None:
        _check_currency_scale(self.min_amount, currency)
        _check_currency_scale(self.max_amount, currency)


class MoneyEffect(StrEnum):
    """What a change did to a deposit's money (positions.py adds these up)."""

    CREDIT = "credit"  # credited to the account (ledger entry)
    REVERSAL = "reversal"  # taken back from the account: a refund or a chargeback (ledger entry)
    # The provider took it back before we credited anything: no ledger entry,
    # but a later credit owes that much less.
    REVERSED_BEFORE_CREDIT = "reversed_before_credit"
    # Money taken back came back to us (a dispute won, a refund failed): no
    # ledger entry; a person re-credits it through the one credit path.
    REINSTATED = "reinstated"
    # A refund the provider reported of money a withdrawal routed back to this
    # deposit (return to source): the withdrawal's hold already took it from
    # the account, so no ledger entry.
    RETURNED_TO_SOURCE = "returned_to_source"
    # A provider's running total of refunds that moved nothing, kept with the
    # time the provider made it: a refund failure delivered after it is read
    # against it (the total already left the failed refund out). No ledger entry.
    TOTAL_SEEN = "total_seen"


class PeriodLimit(DomainModel):
    """A cap on one calendar period's deposits: a sum, a number, or both."""

    amount: Decimal | None = None
    count: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.amount is None and self.count is None:
            raise ValueError("a period limit has an amount, a count, or both")
        if self.amount is not None and (not self.amount.is_finite() or self.amount < 0):
            raise ValueError("a limit amount is a finite amount, zero or more")
        return self


class DepositLimits(DomainModel):
    """One currency's deposit caps per calendar period in UTC (cashier_core.limits)."""

    daily: PeriodLimit | None = None
    weekly: PeriodLimit | None = None
    monthly: PeriodLimit | None = None

    def check_scale(self, currency: str) -> None:
        for limit in (self.daily, self.weekly, self.monthly):
            if limit is not None:
                _check_currency_scale(limit.amount, currency)


def _check_deposit_limits(limits: dict[str, DepositLimits]) -> None:
    for currency, per_period in limits.items():
        per_period.check_scale(currency)


class StatusChange(DomainModel):
    status: Status
    at: datetime
    # The internal note: operators' words, provider text. BackOffice only.
    reason: str
    # Who caused it: "customer", "provider:<name>", "credit_worker", "backoffice:<principal>", ...
    source: str
    # What the customer is told; None on changes written before codes existed.
    code: PublicReason | None = None
    # The money this change moved or recorded, unsigned (None on changes that
    # move none, and on changes written before amounts were recorded).
    money_effect: MoneyEffect | None = None
    money_amount: Decimal | None = None
    # The provider's id of that movement (a refund, a dispute's withdrawal).
    money_reference: str | None = None
    # For money that came back: the movement it returns, when the provider names it.
    money_returns: str | None = None
    # Of a reversal, the part that was a withdrawal's return to source (no
    # ledger entry: the withdrawal's hold took it). RETURNED_TO_SOURCE when all of it was.
    money_to_source: Decimal | None = None
    # Of a reversal, the part taken from what waited to be re-credited (no
    # ledger entry: the re-credit owes that much less).
    money_before_credit: Decimal | None = None
    # A failed refund's time at the provider, or a running total's (money_total)
    # (epoch seconds), where the provider says.
    money_occurred_at: int | None = None
    # A refund failure reported before its refund: the failed amount, kept to
    # read a running total made before it (nothing moved).
    money_failed_first: Decimal | None = None
    # A running total of refunds this change read (with money_occurred_at, when
    # the provider made it): the latest says what the provider's refunds stand at.
    money_total: Decimal | None = None

    @property
    def public_reason(self) -> PublicReason:
        return self.code if self.code is not None else LEGACY_REASONS[self.status]


class Transaction(DomainModel):
    transaction_id: Identifier
    type: TransactionType
    customer_id: Identifier
    account_id: Identifier
    brand_id: Identifier
    method_id: Identifier | None = None
    provider: Identifier | None = None
    amount: Decimal
    currency: CurrencyCode
    status: Status
    provider_reference: str | None = None
    # What the provider reported capturing, when it differed from `amount` (the
    # deposit went to review): refunds and disputes are measured against it.
    provider_amount: Decimal | None = None
    provider_currency: CurrencyCode | None = None
    redirect_url: str | None = None
    # What the customer must do when there is no redirect (bank wire details).
    instructions: dict[str, str] | None = None
    # Where a withdrawal is paid out to; never logged.
    payout_details: dict[str, str] | None = None
    # A withdrawal over the brand's second_approval_over: who approved it first
    # (it waits for a different principal to complete the approval).
    first_approved_by: str | None = None
    # The route the approving operators chose (return to source): a source
    # deposit's id -> the amount refunded to it, "withdrawal_method" -> the rest.
    # Set by the first approval of two; the second approves that same route.
    payout_route: dict[str, str] | None = None
    # A deposit's share of approved withdrawals' routes: withdrawal id -> the
    # amount to be refunded to it. Written with the approval, pinned to the
    # deposit's version, so one deposit's money is routed back only once.
    payout_returns: dict[str, str] | None = None
    created_at: datetime
    updated_at: datetime
    history: tuple[StatusChange, ...]
    version: int = Field(ge=1)
    # The deposit-limit periods ("daily#2026-12-07", ...) this deposit was counted
    # in when it was created, so a failure gives back to those, not to the
    # periods of the day it fails (cashier_core.limits).
    counted_in: tuple[str, ...] = ()
    # Set, once, by the status change that gave the counted share back.
    counted_released: bool = False

    @model_validator(mode="after")
    def _money(self) -> Self:
        if not self.amount.is_finite() or self.amount <= 0:
            raise ValueError("a transaction amount is positive")
        _check_currency_scale(self.amount, self.currency)
        return self


def new_transaction(
    *,
    transaction_id: str | None = None,
    transaction_type: TransactionType,
    customer_id: str,
    account_id: str,
    brand_id: str,
    amount: Decimal,
    currency: str,
    source: str,
    reason: str,
    at: datetime,
    code: PublicReason | None = None,
    method_id: str | None = None,
    provider: str | None = None,
    payout_details: dict[str, str] | None = None,
) -> Transaction:
    """A transaction in its type's initial status, at version 1.

    Pass `transaction_id` when it must be chosen before the first attempt (see
    `transaction_id_for_request`); otherwise a fresh one is drawn.
    """
    status = INITIAL_STATUS[transaction_type]
    if code is None:
        code = (
            PublicReason.DEPOSIT_REQUESTED
            if transaction_type is TransactionType.DEPOSIT
            else PublicReason.WITHDRAWAL_REQUESTED
        )
    return Transaction(
        transaction_id=transaction_id or str(uuid.uuid4()),
        type=transaction_type,
        customer_id=customer_id,
        account_id=account_id,
        brand_id=brand_id,
        method_id=method_id,
        provider=provider,
        payout_details=payout_details,
        amount=amount,
        currency=currency,
        status=status,
        created_at=at,
        updated_at=at,
        history=(StatusChange(status=status, at=at, reason=reason, source=source, code=code),),
        version=1,
    )


class BrandSettings(DomainModel):
    """Per-brand settings that are not a payment method."""

    brand_id: Identifier
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    # Hosts a deposit's return_url may point at; "*.example.com" admits subdomains.
    return_url_hosts: frozenset[Annotated[str, StringConstraints(pattern=r"^(\*\.)?[a-z0-9.-]+$")]]
    # currency -> the deposit caps every customer of the brand has.
    deposit_limits: dict[CurrencyCode, DepositLimits] = Field(default_factory=dict)

    # Whether a customer may cancel a withdrawal still waiting for BackOffice
    # (PaymentIQ has the same switch); on unless the brand turns it off.
    customer_cancels_withdrawals: bool = True
    # Four eyes: a withdrawal above this amount (per currency) needs a second
    # approval by a different principal; at or under it one approval is enough.
    second_approval_over: dict[CurrencyCode, Decimal] = Field(default_factory=dict)
    # Return to source: the providers whose deposits (cards, wallets) a payout
    # should go back to first; empty: every payout goes by its own method.
    return_to_source_providers: frozenset[Identifier] = frozenset()

    @model_validator(mode="after")
    def _limits_and_thresholds(self) -> Self:
        _check_deposit_limits(self.deposit_limits)
        for currency, threshold in self.second_approval_over.items():
            if not threshold.is_finite() or threshold < 0:
                raise ValueError("second_approval_over amounts are finite and not negative")
            _check_currency_scale(threshold, currency)
        return self


class CrmOverrides(DomainModel):
    """Per-customer decisions of the CRM team, applied on top of provider configs.

    force-enable re-admits a method the customer's brand config has disabled;
    it never overrides a country block or a provider module that is not loaded.
    """

    disabled_methods: frozenset[Identifier] = frozenset()
    enabled_methods: frozenset[Identifier] = frozenset()
    # method_id -> currency -> limits; these replace the config's limits.
    limits: dict[Identifier, dict[CurrencyCode, AmountLimits]] = Field(default_factory=dict)
    # currency -> deposit caps; a period given here replaces the brand's (lower or higher).
    deposit_limits: dict[CurrencyCode, DepositLimits] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        both = self.disabled_methods & self.enabled_methods
        if both:
            raise ValueError(f"methods both disabled and enabled: {sorted(both)}")
        _check_deposit_limits(self.deposit_limits)
        for per_currency in self.limits.values():
            for currency, limits in per_currency.items():
                limits.check_scale(currency)
        return self


class CustomerRecord(DomainModel):
    customer_id: Identifier
    brand_id: Identifier
    country: CountryCode
    deposit_allowed: bool = True
    withdrawal_allowed: bool = True
    crm_overrides: CrmOverrides = Field(default_factory=CrmOverrides)
    # currency -> caps the customer set themselves: they only ever lower the others.
    self_limits: dict[CurrencyCode, DepositLimits] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _limits_scale(self) -> Self:
        _check_deposit_limits(self.self_limits)
        return self


class AccountStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class TradingAccount(DomainModel):
    account_id: Identifier
    customer_id: Identifier
    brand_id: Identifier
    currency: CurrencyCode
    balance: Decimal = Decimal(0)
    status: AccountStatus = AccountStatus.OPEN

    @model_validator(mode="after")
    def _money(self) -> Self:
        if not self.balance.is_finite():
            raise ValueError("balance must be finite")
        _check_currency_scale(self.balance, self.currency)
        return self


_SECRET_LOOKING_KEYS = ("secret", "password", "api_key", "apikey", "private", "hmac", "token")


class ProviderConfig(DomainModel):
    """One payment method of one brand, served by one provider module."""

    brand_id: Identifier
    provider: Identifier
    method_id: Identifier
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    enabled: bool = True
    # Whether a withdrawal may name this method: it pays money out, not only in.
    payouts: bool = False
    currencies: frozenset[CurrencyCode]
    countries_allowed: frozenset[CountryCode] = frozenset()  # empty: every country
    countries_blocked: frozenset[CountryCode] = frozenset()
    limits: dict[CurrencyCode, AmountLimits] = Field(default_factory=dict)
    # A withdrawal's own bounds per currency when it names this method (it must
    # pay out); `limits` are a deposit's.
    withdrawal_limits: dict[CurrencyCode, AmountLimits] = Field(default_factory=dict)
    settings: dict[str, str] = Field(default_factory=dict)
    # Name of the Secrets Manager secret holding the API credentials (JSON
    # {"api_key", ...}); never the values. Only the functions that call
    # providers (deposit, janitor) may read names under this prefix.
    secret_ref: (
        Annotated[str, StringConstraints(pattern=r"^cashier/providers/[A-Za-z0-9/_+=.@-]{1,200}$")]
        | None
    ) = None
    # Name of the secret holding the webhook secrets (JSON {"webhook_secrets":
    # [...]}, several during a rotation). The public webhook function may read
    # only names under this prefix, never an API key.
    webhook_secret_ref: (
        Annotated[str, StringConstraints(pattern=r"^cashier/webhooks/[A-Za-z0-9/_+=.@-]{1,200}$")]
        | None
    ) = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for currency in self.currencies:
            currency_exponent(currency)
        for currency, limits in [*self.limits.items(), *self.withdrawal_limits.items()]:
            if currency not in self.currencies:
                raise ValueError(f"limits given for {currency}, which is not in currencies")
            limits.check_scale(currency)
        if self.withdrawal_limits and not self.payouts:
            raise ValueError("withdrawal_limits given for a method that does not pay out")
        for key in self.settings:
            if any(word in key.lower() for word in _SECRET_LOOKING_KEYS):
                raise ValueError(f"setting {key!r} looks like a secret; put it in secret_ref")
        return self


class LedgerKind(StrEnum):
    # The balance an account was opened (or migrated) with, so that even a
    # seeded account's balance is the sum of its entries.
    OPENING_BALANCE = "opening_balance"
    CREDIT = "credit"
    WITHDRAWAL_HOLD = "withdrawal_hold"
    HOLD_RELEASE = "hold_release"
    REVERSAL = "reversal"

    @property
    def sign(self) -> int:
        return -1 if self in (LedgerKind.WITHDRAWAL_HOLD, LedgerKind.REVERSAL) else 1

    @property
    def enters(self) -> frozenset[Status]:
        """The statuses a movement of this kind moves its transaction into."""
        return _ENTERED_BY_KIND[self]

    @property
    def needs_open_account(self) -> bool:
        """A credit or a new hold needs an open account. A release or a reversal
        must land even on a closed account: the money already moved."""
        return self in (LedgerKind.CREDIT, LedgerKind.WITHDRAWAL_HOLD)

    @property
    def needs_cover(self) -> bool:
        """Only a hold may not overdraw; a reversal may take the balance negative
        (the money left through the provider), which is reported, not refused."""
        return self is LedgerKind.WITHDRAWAL_HOLD


_ENTERED_BY_KIND: Final[dict[LedgerKind, frozenset[Status]]] = {
    LedgerKind.OPENING_BALANCE: frozenset(),
    LedgerKind.CREDIT: frozenset({Status.CREDITED}),
    # A hold is written with the withdrawal itself: there is never a second.
    LedgerKind.WITHDRAWAL_HOLD: frozenset(),
    LedgerKind.HOLD_RELEASE: frozenset({Status.CANCELLED, Status.FAILED}),
    LedgerKind.REVERSAL: frozenset({Status.REFUNDED, Status.CHARGEBACK}),
}


class LedgerEntry(DomainModel):
    """An immutable balance movement. The balance is the sum of these."""

    entry_id: str
    account_id: Identifier
    transaction_id: Identifier | None = None  # None only for an opening balance
    kind: LedgerKind
    amount: Decimal  # signed: credits and releases positive, holds and reversals negative
    currency: CurrencyCode
    created_at: datetime

    @classmethod
    def for_transaction(
        cls,
        transaction: Transaction,
        kind: LedgerKind,
        at: datetime,
        amount: Decimal | None = None,
        entry_id: str | None = None,
    ) -> Self:
        """The entry of the movement about to be applied to `transaction` as read,
        for `amount` (unsigned; the transaction's own amount when not given).

        A deposit may be credited again after a reversed chargeback, so the id
        counts the movements of this kind its history already shows: the same
        on every retry of one movement, different for the next movement."""
        earlier = sum(1 for change in transaction.history if change.status in kind.enters)
        moved = transaction.amount if amount is None else amount
        return cls(
            entry_id=entry_id or ledger_entry_id(transaction.transaction_id, kind, earlier + 1),
            account_id=transaction.account_id,
            transaction_id=transaction.transaction_id,
            kind=kind,
            amount=moved * kind.sign,
            currency=transaction.currency,
            created_at=at,
        )

    @classmethod
    def opening_balance(cls, account: TradingAccount, at: datetime) -> Self:
        return cls(
            entry_id=f"{account.account_id}#{LedgerKind.OPENING_BALANCE.value}",
            account_id=account.account_id,
            transaction_id=None,
            kind=LedgerKind.OPENING_BALANCE,
            amount=account.balance,
            currency=account.currency,
            created_at=at,
        )


def movement_entry_id(transaction_id: str, kind: LedgerKind, reference: str) -> str:
    """A movement named by the provider (a refund, a dispute's withdrawal): its
    id is the provider's, so every event reporting it lands it once. A long
    reference is hashed to keep the key small."""
    if len(reference) > 128 or not reference.isprintable():
        reference = "h-" + hashlib.sha256(reference.encode("utf-8")).hexdigest()
    return f"{transaction_id}#{kind.value}#{reference}"


def ledger_entry_id(transaction_id: str, kind: LedgerKind, occurrence: int = 1) -> str:
    """Chosen before the first attempt and the same on every retry, so the
    ledger's attribute_not_exists condition makes each movement happen once.
    The first movement of a kind keeps the short form."""
    suffix = f"#{occurrence}" if occurrence > 1 else ""
    return f"{transaction_id}#{kind.value}{suffix}"


class WebhookDelivery(DomainModel):
    """One verified provider event, stored once: the de-duplication record and
    the evidence of what the provider said (headers minus secrets)."""

    delivery_id: str  # "<provider>#<provider event id>"
    provider: Identifier
    provider_event_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    transaction_id: str | None = None
    target: Status | None = None
    raw_status: str = ""
    outcome: str = "applied"
    received_at: datetime
    body: str
    headers: dict[str, str]

    @staticmethod
    def id_for(provider: str, provider_event_id: str) -> str:
        return f"{provider}#{provider_event_id}"


class ParkedState(StrEnum):
    OPEN = "open"  # looked up again on every janitor run
    UNRESOLVED = "unresolved"  # still naming nothing of ours after the provider's retry window


class ParkedEvent(DomainModel):
    """A verified provider event that named no transaction of ours when it came
    (the provider was faster than our own write, or it names the payment by a
    reference we learn later). Kept, with the verified body, until the janitor
    or the provider's retry finds its transaction; never acknowledged and lost."""

    parked_id: str  # "parked#<provider>#<provider event id>"
    provider: Identifier
    provider_event_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    raw_status: str = ""
    received_at: datetime
    body: str
    headers: dict[str, str]
    state: ParkedState = ParkedState.OPEN
    # "<brand>#<method>" of the configs whose webhook secret verified it, so the
    # janitor applies it with the same scope check the webhook would have.
    signed_by: tuple[str, ...] = ()

    @staticmethod
    def id_for(provider: str, provider_event_id: str) -> str:
        return f"parked#{provider}#{provider_event_id}"


class AuditRecord(DomainModel):
    """One BackOffice action, append-only: who did what to which record, why,
    when, and the status before and after. Its id is fixed by the subject and
    the version it acted on, so a retried action can never be recorded twice."""

    subject_id: Identifier  # the transaction or account acted on
    audit_id: str
    action: Identifier
    principal: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    # The person behind the principal: the role session's source identity
    # (the BackOffice roles' trust policy makes the session name equal to it),
    # an IAM user's name, or "customer:<id>". None on records written before.
    operator: Annotated[str, StringConstraints(max_length=128)] | None = None
    reason: Annotated[str, StringConstraints(max_length=1024)]
    at: datetime
    status_before: Status | None = None
    status_after: Status | None = None
    details: dict[str, str] | None = None

    @staticmethod
    def id_for_change(version_before: int, action: str) -> str:
        return f"v{version_before:08d}#{action}"
