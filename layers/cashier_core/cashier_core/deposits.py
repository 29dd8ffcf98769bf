"""GetCashierMethods and CreateCashierDeposit: the rules, in order.

Deposit checks, each with its own code, in this order:
1. deposits_not_allowed (the customer's hard gate, before any method rule)
2. account_not_found (another customer's account answers the same)
3. account_currency_mismatch
4. method_not_available (the same evaluate_methods as GetCashierMethods)
5. amount_* (format for the currency), then amount_below_minimum / amount_above_maximum
6. return_url_invalid
7. deposit_rate_limited (429: the customer's deposits-per-minute cap, velocity.py)

Then the transaction is written (created) before the provider is called.

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
from urllib.parse import urlsplit

from cashier_core.cashier import Cashier
from cashier_core.eligibility import (
    Direction,
    MethodEvaluation,
    check_limits,
    evaluate_methods,
    require_eligible,
)
from cashier_core.errors import (
    AccountCurrencyMismatch,
    AccountNotFound,
    AlreadyApplied,
    CashierError,
    DepositsNotAllowed,
    IdempotencyKeyReused,
    MethodNotAvailable,
    ProviderRefused,
    ProviderUnavailable,
    ReturnUrlInvalid,
)
from cashier_core.lifecycle import PaymentNotStarted, PaymentStarted
from cashier_core.logs import logger
from cashier_core.models import (
    BrandSettings,
    CustomerRecord,
    TradingAccount,
    Transaction,
    new_transaction,
)
from cashier_core.money import parse_amount, validate_currency
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

    return evaluate_methods(
        customer,
        account,
        cashier.provider_configs(customer.brand_id),
        is_loaded=loaded.__contains__,
        redirects=redirects,
        payout=payout,
    )


@dataclass(frozen=True, slots=True)
class AccountMethods:
    """What GetCashierMethods answers: the account, and its brand's methods
    sorted into eligible and excluded (both empty when deposits are not allowed)."""

    account: TradingAccount
    deposit_allowed: bool
    evaluation: MethodEvaluation
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
    return AccountMethods(
        account,
        deposit_allowed=True,
        evaluation=evaluate_for(cashier, customer, account),
        withdrawal_allowed=customer.withdrawal_allowed,
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
    return_url = validate_return_url(request.return_url, cashier.brand(customer.brand_id))

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
    take_deposit_slot(cashier, customer.customer_id)  # 429 past the per-minute cap
    try:
        transaction = cashier.transactions.create(wanted)
        count("DepositCreated", provider=method.config.provider)
    except AlreadyApplied as existing:
        transaction = _same_request(existing, wanted)

    if transaction.status is not Status.CREATED:
        return DepositResult(transaction)
    return _start_payment(cashier, transaction, return_url, webhook_base_url)


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
