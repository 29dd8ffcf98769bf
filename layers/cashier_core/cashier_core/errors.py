"""Domain errors. Each carries a stable code that clients may branch on.

The HTTP status sits on the error so the code-to-status mapping has one home;
handlers turn any CashierError into `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from cashier_core.models import Transaction


class CashierError(Exception):
    code: ClassVar[str] = "cashier_error"
    http_status: ClassVar[int] = 400
    default_message: ClassVar[str] = "The request could not be processed."
    # False for an outcome the service handles itself and never answers as an
    # error body (the README's error table lists only the ones a caller sees).
    sent_to_caller: ClassVar[bool] = True

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def body_fields(self) -> dict[str, Any]:
        """What the error body carries besides code and message (none by default)."""
        return {}


# --- money ---------------------------------------------------------------
class AmountError(CashierError):
    http_status = 422


class AmountNotAString(AmountError):
    code = "amount_not_a_string"
    default_message = 'Amounts are decimal strings such as "10.50", never JSON numbers.'


class AmountInvalidFormat(AmountError):
    code = "amount_invalid_format"
    default_message = 'The amount is not a plain decimal such as "10.50".'


class AmountNotFinite(AmountError):
    code = "amount_not_finite"
    default_message = "NaN and Infinity are not amounts."


class AmountExponentNotAllowed(AmountError):
    code = "amount_exponent_not_allowed"
    default_message = "Write the amount out in full; exponents such as 1e3 are refused."


class AmountNegative(AmountError):
    code = "amount_negative"
    default_message = "The amount must be positive."


class AmountZero(AmountError):
    code = "amount_zero"
    default_message = "The amount must be more than zero."


class AmountTooPrecise(AmountError):
    code = "amount_too_precise"
    default_message = "The amount has more decimals than the currency allows."


class AmountTooLarge(AmountError):
    code = "amount_too_large"
    default_message = "The amount is larger than any payment this service takes."


class UnknownCurrency(CashierError):
    code = "currency_unknown"
    http_status = 422
    default_message = "The currency is not an active ISO 4217 currency."


# --- lookups -------------------------------------------------------------
class NotFound(CashierError):
    http_status = 404


class TransactionNotFound(NotFound):
    code = "transaction_not_found"
    default_message = "No such transaction."


class AccountNotFound(NotFound):
    code = "account_not_found"
    default_message = "No such trading account."


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    default_message = "No such customer."


# --- status changes and balance movements --------------------------------
class TransitionRefused(CashierError):
    """The transaction was not in a status the target may be entered from.

    `current` is the item as DynamoDB held it when the condition failed, so the
    caller can tell a duplicate (already in the target) from a real conflict
    without reading again.
    """

    code = "invalid_transition"
    http_status = 409
    default_message = "The transaction cannot move to that status from its current one."

    def __init__(self, current: Transaction, message: str | None = None) -> None:
        super().__init__(message)
        self.current = current


class SecondApproverRequired(CashierError):
    """Four eyes: the principal who approved first cannot also approve second."""

    code = "second_approver_required"
    http_status = 409
    default_message = "You approved this withdrawal already; a second approver must complete it."


class PayoutRouteInvalid(CashierError):
    code = "payout_route_invalid"
    http_status = 422
    default_message = "The payout route does not fit this withdrawal and its deposits."


class RouteNotApproved(CashierError):
    """Four eyes: the second approver names another route than the first approved."""

    code = "route_not_approved"
    http_status = 409
    default_message = (
        "The first approver approved another payout route; approve that route, or reject."
    )


class PayoutReturnedToSource(CashierError):
    """A payout whose return to source the provider already reported refunded
    cannot be failed: the customer has that money."""

    code = "payout_returned_to_source"
    http_status = 409
    default_message = (
        "The provider already reported refunds of this payout's route; it cannot be "
        "failed here. Reconcile it with the provider's refunds."
    )


class PayoutReferenceRequired(CashierError):
    """The approval that pays out must name the payout (or the first approval did)."""

    code = "payout_reference_required"
    http_status = 422
    default_message = "The approval that completes a payout needs its payout_reference."


class AlreadyApplied(CashierError):
    """The balance movement exists already: a retry or a duplicate delivery."""

    code = "already_applied"
    http_status = 409
    default_message = "This movement was applied already."

    def __init__(self, message: str | None = None, *, current: Transaction | None = None) -> None:
        super().__init__(message)
        self.current = current


class DuplicateDelivery(CashierError):
    """This provider event was processed before; it changes nothing."""

    code = "duplicate_delivery"
    http_status = 200
    default_message = "This provider event was already processed."
    # The webhook acknowledges a duplicate with the provider's usual answer.
    sent_to_caller = False


class InsufficientFunds(CashierError):
    code = "insufficient_funds"
    http_status = 422
    default_message = "The account balance does not cover the amount."


class AccountCurrencyMismatch(CashierError):
    code = "account_currency_mismatch"
    http_status = 422
    default_message = "The currency is not the trading account's currency."


class AccountClosed(CashierError):
    code = "account_closed"
    http_status = 422
    default_message = "The trading account is closed."


class RetryableConflict(CashierError):
    """DynamoDB refused for contention or throttling; the same call may succeed later."""

    code = "conflict_retry"
    http_status = 409
    default_message = "A concurrent change got there first; retry the request."


class RouteChanged(RetryableConflict):
    """A deposit on the payout's route changed since the route was checked."""

    default_message = "A deposit on the route changed meanwhile; retry the request."


# --- pagination ----------------------------------------------------------
class InvalidCursor(CashierError):
    code = "invalid_cursor"
    http_status = 400
    default_message = "The cursor is not one this service issued for this query."


class InvalidPageSize(CashierError):
    code = "invalid_page_size"
    http_status = 400
    default_message = "The page size is out of range."


# --- eligibility ---------------------------------------------------------
class MethodNotAvailable(CashierError):
    code = "method_not_available"
    http_status = 422
    default_message = "This payment method is not available for this account."


class AmountBelowMinimum(CashierError):
    code = "amount_below_minimum"
    http_status = 422
    default_message = "The amount is below this method's minimum."


class AmountAboveMaximum(CashierError):
    code = "amount_above_maximum"
    http_status = 422
    default_message = "The amount is above this method's maximum."


class AmountNotPayableAtProvider(CashierError):
    """The provider would reject or round this amount (Stripe takes ISK only in
    whole kronur, KWD only in multiples of 0.010): refused before anything is
    written, never rounded."""

    code = "amount_not_payable_at_provider"
    http_status = 422
    default_message = "This payment method cannot take this exact amount in this currency."


# --- payment providers ---------------------------------------------------
class ProviderUnavailable(CashierError):
    """The provider could not be reached or failed; the outcome may be unknown."""

    code = "provider_unavailable"
    http_status = 502
    default_message = "The payment provider did not answer or failed; the deposit is marked failed."


class ProviderRefused(CashierError):
    """The provider answered and refused to create the payment."""

    code = "provider_refused"
    http_status = 422
    default_message = "The payment provider refused the payment."


class WebhookRejected(CashierError):
    """A delivery that is not provably from the provider: nothing is written."""

    code = "webhook_signature_invalid"
    http_status = 401
    default_message = "The webhook signature is missing, wrong or expired."


class WebhookMalformed(CashierError):
    code = "webhook_malformed"
    http_status = 400
    default_message = "The webhook body is not in the provider's format."


class ProviderNotFound(NotFound):
    code = "provider_not_found"
    default_message = "No such payment provider."


# --- customer gates --------------------------------------------------------
class DepositsNotAllowed(CashierError):
    code = "deposits_not_allowed"
    http_status = 403
    default_message = "Deposits are not allowed for this customer."


class DepositRateLimited(CashierError):
    """The customer created as many deposits this minute as the cap allows."""

    code = "deposit_rate_limited"
    http_status = 429
    default_message = "Too many deposits this minute; retry in a minute."


class DepositLimitExceeded(CashierError):
    """The deposit would take one of the customer's deposit limits past its cap
    (cashier_core.limits). The body says which period, its limit, what remains
    and when the period resets."""

    code = "deposit_limit_exceeded"
    http_status = 422
    default_message = "This deposit would exceed a deposit limit."

    def __init__(self, message: str | None = None, *, limit: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.limit = limit

    def body_fields(self) -> dict[str, Any]:
        return {"limit": self.limit} if self.limit is not None else {}


class CounterMismatch(CashierError):
    """A deposit-limit counter holds less than a deposit it counted gives back:
    never expected (BackOffice's limit recompute reports it)."""

    code = "counter_mismatch"
    http_status = 500
    default_message = "The deposit-limit counters disagree with the transactions."


class WithdrawalsNotAllowed(CashierError):
    code = "withdrawals_not_allowed"
    http_status = 403
    default_message = "Withdrawals are not allowed for this customer."


class WithdrawalCancellationNotAllowed(CashierError):
    code = "withdrawal_cancellation_not_allowed"
    http_status = 403
    default_message = "This brand's withdrawals cannot be cancelled online; contact support."


class ReturnUrlInvalid(CashierError):
    code = "return_url_invalid"
    http_status = 422
    default_message = "return_url must be an https URL on one of the brand's hosts."


# --- the HTTP surface ------------------------------------------------------
class Unauthorized(CashierError):
    code = "unauthorized"
    http_status = 401
    default_message = "A valid customer session is required."


class OperatorRequired(CashierError):
    code = "forbidden"
    http_status = 403
    default_message = "A BackOffice principal (a SigV4-signed request) is required."


class RouteNotFound(NotFound):
    code = "route_not_found"
    default_message = "No such route."


class BodyTooLarge(CashierError):
    code = "body_too_large"
    http_status = 413
    default_message = "The request body is too large."


class UnsupportedMediaType(CashierError):
    code = "unsupported_media_type"
    http_status = 415
    default_message = "Send the body as application/json."


class MalformedJson(CashierError):
    code = "malformed_json"
    http_status = 400
    default_message = "The body is not valid JSON."


class UnknownField(CashierError):
    code = "unknown_field"
    http_status = 422
    default_message = "The request has a field this endpoint does not take."


class RequestInvalid(CashierError):
    code = "validation_error"
    http_status = 422
    default_message = "The request is not valid."


class IdempotencyKeyRequired(CashierError):
    code = "idempotency_key_required"
    http_status = 400
    default_message = "Send an Idempotency-Key header (8 to 128 of A-Z a-z 0-9 - _)."


class IdempotencyKeyReused(CashierError):
    code = "idempotency_key_reused"
    http_status = 422
    default_message = "This Idempotency-Key was used with a different request body."


class IdempotencyInProgress(CashierError):
    code = "idempotency_request_in_progress"
    http_status = 409
    default_message = "A request with this Idempotency-Key is still being processed; retry."


class WebhookRetryLater(CashierError):
    """A verified refund or dispute names no payment we know yet: answered 503 and
    not stored, so the provider retries (Stripe for 3 days, Adyen for 30)."""

    code = "webhook_retry_later"
    http_status = 503
    default_message = "The event's payment is not known yet; retry later."


class CreditEnqueueFailed(CashierError):
    """The status changed but the credit message could not be sent: the provider
    must retry (its retry re-enqueues), so this is deliberately a 5xx."""

    code = "credit_enqueue_failed"
    http_status = 503
    default_message = "The event was recorded but could not be queued for crediting; retry."


class ConfigurationError(CashierError):
    """A deployment mistake (a missing setting or secret), never the caller's."""

    code = "configuration_error"
    http_status = 500
    default_message = "The service is misconfigured."
