"""GetCashierMethods and CreateCashierDeposit: the rules, in order.

Deposit checks, each with its own code, in this order:
1. deposits_not_allowed (the customer's hard gate, before any method rule)
2. account_not_found (another customer's account answers the same)
3. account_currency_mismatch
4. method_not_available (the same evaluate_methods as GetCashierMethods)
5. amount_* (format for the currency), then amount_below_minimum / amount_above_maximum,
   then amount_not_payable_at_provider (the provider's own units would reject
   or round it: Stripe takes ISK in whole kronur only)
6. return_url_invalid
7. deposit_limit_exceeded (422: the customer's daily, weekly or monthly deposit
   limit in this currency, limits.py; the body names the period, the limit,
   what remains and when the period resets)
8. deposit_rate_limited (429: the customer's deposits-per-minute cap, velocity.py)

Then the transaction is written (created) before the provider is called, in
one TransactWriteItems with the deposit-limit counters it is counted in, each
capped period's only while the deposit still fits: concurrent deposits can
never overshoot a limit, the loser gets the same refusal.

What happens to the provider's outcome:
- created payment: pending_payment with provider_reference and redirect/instructions;
- refusal or error or timeout: failed, with the reason. A timeout is ambiguous
  (the provider may have created the payment); if it later reports success,
  the transition table sends failed -> manual_review, so the money is never
  lost and never credited without a person;
- a crash between the write and the provider's answer leaves `created`: a retry
  with the same Idempotency-Key lands on the same transaction (its id comes
  from the key) and continues, and the janitor moves `created` older than its
  age limit on, so nothing stays in created.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from cashier_core.cashier import Cashier
from cashier_core.eligibility import (
    Direction,
    MethodEvaluation,
    check_limits,
    evaluate_methods,
    require_eligible,
    within_allowance,
)
from cashier_core.errors import (
    AccountCurrencyMismatch,
    AccountNotFound,
    AlreadyApplied,
    AmountNotPayableAtProvider,
    CashierError,
    DepositLimitExceeded,
    DepositsNotAllowed,
    IdempotencyKeyReused,
    MethodNotAvailable,
    ProviderRefused,
    ProviderUnavailable,
    RetryableConflict,
    ReturnUrlInvalid,
    TransactionNotFound,
)
from cashier_core.lifecycle import PaymentNotStarted, PaymentStarted
from cashier_core.limits import (
    Allowance,
    Cap,
    Period,
    allowances,
    effective_caps,
    first_refusal,
    windows,
)
from cashier_core.logs import logger
from cashier_core.models import (
    BrandSettings,
    CustomerRecord,
    TradingAccount,
    Transaction,
    new_transaction,
)
from cashier_core.money import format_amount, parse_amount, validate_currency
from cashier_core.providers import PaymentRequest, get_provider, loaded_provider_names
from cashier_core.request_ids import is_same_request, transaction_id_for_request
from cashier_core.statuses import Status, TransactionType
from cashier_core.telemetry import count
from cashier_core.transitions import execute
from cashier_core.velocity import take_deposit_slot


def evaluate_for(
    cashier: Cashier, customer: CustomerRecord, account: TradingAccount, *, payout: bool = False
) -> MethodEvaluation:
    """The brand's methods for this account: to deposit, or (`payout`) to withdraw."""
    loaded = loaded_provider_names()

    def redirects(provider_name: str) -> bool:
        provider = get_provider(provider_name)
        return bool(provider and provider.redirects)

    def takes(provider_name: str, currency: str) -> bool:
        provider = get_provider(provider_name)
        return bool(provider and provider.currencies.takes(currency))

    return evaluate_methods(
        customer,
        account,
        cashier.provider_configs(customer.brand_id),
        is_loaded=loaded.__contains__,
        redirects=redirects,
        payout=payout,
        takes=takes,
    )


@dataclass(frozen=True, slots=True)
class AccountMethods:
    """What GetCashierMethods answers: the account, and its brand's methods
    sorted into eligible and excluded (both empty when deposits are not allowed)."""

    account: TradingAccount
    deposit_allowed: bool
    evaluation: MethodEvaluation
    # Each limited period of the account's currency: its limit, used and remaining.
    allowances: tuple[Allowance, ...] = ()
    direction: Direction = Direction.DEPOSIT
    withdrawal_allowed: bool = True


def list_methods(cashier: Cashier, customer_id: str, account_id: str) -> AccountMethods:
    customer, account = cashier.customer_and_account(customer_id, account_id)
    if account is None:
        raise AccountNotFound()
    if not customer.deposit_allowed:
        return AccountMethods(
            account,
            deposit_allowed=False,
            evaluation=MethodEvaluation([], []),
            withdrawal_allowed=customer.withdrawal_allowed,
        )
    limited = limit_allowances(cashier, customer, account.currency)
    evaluation = within_allowance(evaluate_for(cashier, customer, account), limited)
    return AccountMethods(
        account,
        deposit_allowed=True,
        evaluation=evaluation,
        allowances=tuple(limited),
        withdrawal_allowed=customer.withdrawal_allowed,
    )


def deposit_caps(cashier: Cashier, customer: CustomerRecord, currency: str) -> dict[Period, Cap]:
    brand = cashier.brand(customer.brand_id)
    return effective_caps(brand.deposit_limits if brand else {}, customer, currency)


def limit_allowances(
    cashier: Cashier,
    customer: CustomerRecord,
    currency: str,
    caps: dict[Period, Cap] | None = None,
    at: datetime | None = None,
) -> list[Allowance]:
    """The customer's limited periods at `at` (now) in `currency`, with what the counters hold."""
    caps = deposit_caps(cashier, customer, currency) if caps is None else caps
    if not caps:
        return []
    now = cashier.clock() if at is None else at
    keys = [w.counter_key for w in windows(now) if w.period in caps]
    usage = cashier.deposit_limits.usage(customer.customer_id, currency, keys)
    return allowances(caps, usage, now)


def limit_refusal(allowance: Allowance, currency: str) -> DepositLimitExceeded:
    """The 422 that says which period, its limit, what remains and when it resets."""

    def money(amount: Decimal | None) -> str | None:
        return format_amount(amount, currency) if amount is not None else None

    resets = allowance.window.resets_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    remaining = allowance.amount_remaining
    what = (
        f"{money(remaining)} {currency} remains"
        if remaining is not None and allowance.count_remaining != 0
        else "no deposit remains"
    )
    return DepositLimitExceeded(
        f"This deposit would exceed your {allowance.window.period.value} deposit limit: "
        f"{what} until {resets}.",
        limit={
            "period": allowance.window.period.value,
            "period_key": allowance.window.key,
            "currency": currency,
            "limit_amount": money(allowance.cap.amount),
            "limit_count": allowance.cap.count,
            "used_amount": money(allowance.used.amount),
            "used_count": allowance.used.count,
            "remaining_amount": money(remaining),
            "remaining_count": allowance.count_remaining,
            "resets_at": resets,
        },
    )


def validate_return_url(url: str | None, brand: BrandSettings | None) -> str | None:
    """https only, on one of the brand's hosts; no userinfo, IP literal, odd port
    or characters a browser might read differently from us."""
    if url is None:
        return None
    if brand is None or any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        raise ReturnUrlInvalid()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ReturnUrlInvalid() from None
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or "@" in parts.netloc or not host or not host.isascii():
        raise ReturnUrlInvalid()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ReturnUrlInvalid("return_url may not be an IP address.")
    if port not in (None, 443):
        raise ReturnUrlInvalid()
    for allowed in brand.return_url_hosts:
        if host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])):
            return url
    raise ReturnUrlInvalid()


@dataclass(frozen=True, slots=True)
class DepositRequest:
    """A customer's deposit request, as the handler parsed it; the customer is
    the authorizer's, never the body's."""

    customer_id: str
    account_id: str
    method_id: str
    amount: str  # as sent: parsed here for the account's currency
    currency: str
    return_url: str | None
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class DepositResult:
    transaction: Transaction
    # Set when the provider did not create the payment (the transaction is failed).
    provider_error: CashierError | None = None


def create_deposit(
    cashier: Cashier, request: DepositRequest, *, webhook_base_url: str | None
) -> DepositResult:
    customer, account = cashier.customer_and_account(request.customer_id, request.account_id)
    if not customer.deposit_allowed:  # the hard gate, before anything about the account
        raise DepositsNotAllowed()
    if account is None:
        raise AccountNotFound()
    currency = validate_currency(request.currency)
    if currency != account.currency:
        raise AccountCurrencyMismatch()
    method = require_eligible(evaluate_for(cashier, customer, account), request.method_id)
    amount = parse_amount(request.amount, currency)
    check_limits(method, amount)
    _check_payable(method.config.provider, amount, currency)
    return_url = validate_return_url(request.return_url, cashier.brand(customer.brand_id))
    caps = deposit_caps(cashier, customer, currency)

    wanted = new_transaction(
        transaction_id=transaction_id_for_request(
            TransactionType.DEPOSIT, customer.customer_id, request.idempotency_key
        ),
        transaction_type=TransactionType.DEPOSIT,
        customer_id=customer.customer_id,
        account_id=account.account_id,
        brand_id=customer.brand_id,
        method_id=method.config.method_id,
        provider=method.config.provider,
        amount=amount,
        currency=currency,
        source="customer",
        reason="deposit requested",
        at=cashier.clock(),
    )
    # Counted in every period it is created in, so a limit added later sees it.
    current = windows(wanted.created_at)
    wanted = wanted.model_copy(update={"counted_in": tuple(w.counter_key for w in current)})
    caps_by_key = {w.counter_key: caps[w.period] for w in current if w.period in caps}
    # Measured in the periods the deposit is counted in (its own created_at),
    # not a later clock reading that may have crossed midnight.
    at = wanted.created_at
    refusal = _limit_refusal(cashier, customer, currency, caps, amount, at=at)
    if refusal is not None and not _exists(cashier, wanted.transaction_id):
        raise refusal  # a retry of a deposit already created continues below
    take_deposit_slot(cashier, customer.customer_id)  # 429 past the per-minute cap
    try:
        transaction = cashier.transactions.create(wanted, caps_by_key)
        count("DepositCreated", provider=method.config.provider)
    except AlreadyApplied as existing:
        transaction = _same_request(existing, wanted)
    except DepositLimitExceeded as lost:
        # Another deposit took the room between the read and the write.
        refusal = _limit_refusal(cashier, customer, currency, caps, amount, at=at)
        raise refusal or RetryableConflict("The deposit limits changed; retry.") from lost

    if transaction.status is not Status.CREATED:
        return DepositResult(transaction)
    return _start_payment(cashier, transaction, return_url, webhook_base_url)


def _check_payable(provider_name: str, amount: Decimal, currency: str) -> None:
    """Refuse, before anything is written, an amount the provider would reject
    or round in its own units (Stripe: whole kronur only); never round it."""
    provider = get_provider(provider_name)
    refusal = provider.currencies.refusal(currency, amount) if provider else None
    if refusal is not None:
        raise AmountNotPayableAtProvider(f"{refusal}.")


def _limit_refusal(
    cashier: Cashier,
    customer: CustomerRecord,
    currency: str,
    caps: dict[Period, Cap],
    amount: Decimal,
    *,
    at: datetime,
) -> DepositLimitExceeded | None:
    refused = first_refusal(limit_allowances(cashier, customer, currency, caps, at), amount)
    return limit_refusal(refused, currency) if refused is not None else None


def _exists(cashier: Cashier, transaction_id: str) -> bool:
    try:
        cashier.transactions.get(transaction_id)
    except TransactionNotFound:
        return False
    return True


def _same_request(existing: AlreadyApplied, wanted: Transaction) -> Transaction:
    """A retry of the same request finds its transaction; another request under
    the same key (after the idempotency record expired) is refused."""
    current = existing.current
    if current is None or not is_same_request(current, wanted):
        raise IdempotencyKeyReused() from existing
    return current


def _start_payment(
    cashier: Cashier,
    transaction: Transaction,
    return_url: str | None,
    webhook_base_url: str | None,
) -> DepositResult:
    provider_name = transaction.provider or ""
    provider = get_provider(provider_name)
    config = next(
        (
            c
            for c in cashier.provider_configs(transaction.brand_id)
            if c.method_id == transaction.method_id
        ),
        None,
    )
    if provider is None or config is None:
        raise MethodNotAvailable()
    error: CashierError
    try:
        created = provider.create_payment(
            PaymentRequest(
                transaction=transaction,
                config=config,
                credentials=cashier.credentials(config),
                return_url=return_url,
                webhook_url=f"{webhook_base_url}/cashier/webhook/{provider_name}"
                if webhook_base_url
                else None,
            )
        )
    except (ProviderRefused, ProviderUnavailable) as refused:
        error = refused
    except Exception:
        # A module bug must not leave the transaction in created.
        logger.exception(
            "provider module failed", extra={"transaction_id": transaction.transaction_id}
        )
        error = ProviderUnavailable("The payment provider module failed.")
    else:
        started = PaymentStarted(
            provider=provider_name,
            status=created.status,
            provider_reference=created.provider_reference,
            redirect_url=created.redirect_url,
            instructions=dict(created.instructions) if created.instructions else None,
        )
        # If a webhook got there first (an instant payment), its status stands.
        result = execute(cashier, transaction, started, source=f"provider:{provider_name}")
        return DepositResult(result.transaction)

    count("DepositProviderFailed", provider=provider_name, reason=error.code)
    not_started = PaymentNotStarted(provider_name, error.code, error.message)
    result = execute(cashier, transaction, not_started, source=f"provider:{provider_name}")
    return DepositResult(result.transaction, provider_error=error if result.written else None)
