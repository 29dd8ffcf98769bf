"""Which payment methods a trading account may use, and why the others may not.

GetCashierMethods, CreateCashierDeposit and CreateCashierWithdrawal (when it
names a method) all call `evaluate_methods`, so the list a client shows and the
check a request passes cannot disagree.

Order of the rules, first match wins, and what CRM force-enable can override:
1. module_not_loaded     - never overridable: there is no code to take the payment
2. payouts_unsupported   - withdrawals only: the config does not pay out (`payouts`);
                           never overridable, a capability rather than a choice
3. country_blocked       - never overridable: a legal or risk decision
4. country_not_allowed   - never overridable, for the same reason
5. currency_unsupported  - never overridable: the config does not list it
   currency_not_taken_by_provider - never overridable: the module's own table
                           of the provider's currencies lacks it (Stripe has no
                           CLF), however the config was written
6. disabled_by_crm       - the customer's own force-disable
7. method_disabled       - the brand's config is disabled; CRM force-enable re-admits it
8. limit_reached         - GetCashierMethods only (`within_allowance`): a deposit limit
                           leaves nothing this method could take; CreateCashierDeposit
                           answers `deposit_limit_exceeded` instead, with the period

Limits: a deposit's are the config's `limits`, replaced by the CRM's per-customer
limits; a withdrawal's are the config's `withdrawal_limits` (the CRM's limits
are deposit limits and do not apply).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from cashier_core.errors import AmountAboveMaximum, AmountBelowMinimum, MethodNotAvailable
from cashier_core.limits import Allowance, amount_remaining, nothing_remains
from cashier_core.models import AmountLimits, CustomerRecord, ProviderConfig, TradingAccount


class Direction(StrEnum):
    """Which way the money goes: what a methods list is for."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


class ExclusionReason(StrEnum):
    MODULE_NOT_LOADED = "module_not_loaded"
    PAYOUTS_UNSUPPORTED = "payouts_unsupported"
    COUNTRY_BLOCKED = "country_blocked"
    COUNTRY_NOT_ALLOWED = "country_not_allowed"
    CURRENCY_UNSUPPORTED = "currency_unsupported"
    CURRENCY_NOT_TAKEN_BY_PROVIDER = "currency_not_taken_by_provider"
    DISABLED_BY_CRM = "disabled_by_crm"
    METHOD_DISABLED = "method_disabled"
    LIMIT_REACHED = "limit_reached"


@dataclass(frozen=True, slots=True)
class EligibleMethod:
    config: ProviderConfig
    limits: AmountLimits  # in the account's currency, after CRM overrides
    redirects: bool


@dataclass(frozen=True, slots=True)
class ExcludedMethod:
    config: ProviderConfig
    reason: ExclusionReason


@dataclass(frozen=True, slots=True)
class MethodEvaluation:
    eligible: list[EligibleMethod]
    excluded: list[ExcludedMethod]

    def find(self, method_id: str) -> EligibleMethod | ExcludedMethod | None:
        for eligible in self.eligible:
            if eligible.config.method_id == method_id:
                return eligible
        for excluded in self.excluded:
            if excluded.config.method_id == method_id:
                return excluded
        return None


def _exclusion(  # noqa: PLR0911 - one return per rule, in order
    customer: CustomerRecord,
    account: TradingAccount,
    config: ProviderConfig,
    is_loaded: Callable[[str], bool],
    *,
    payout: bool,
    takes: Callable[[str, str], bool],
) -> ExclusionReason | None:
    overrides = customer.crm_overrides
    if not is_loaded(config.provider):
        return ExclusionReason.MODULE_NOT_LOADED
    if payout and not config.payouts:
        return ExclusionReason.PAYOUTS_UNSUPPORTED
    if customer.country in config.countries_blocked:
        return ExclusionReason.COUNTRY_BLOCKED
    if config.countries_allowed and customer.country not in config.countries_allowed:
        return ExclusionReason.COUNTRY_NOT_ALLOWED
    if account.currency not in config.currencies:
        return ExclusionReason.CURRENCY_UNSUPPORTED
    if not takes(config.provider, account.currency):
        return ExclusionReason.CURRENCY_NOT_TAKEN_BY_PROVIDER
    if config.method_id in overrides.disabled_methods:
        return ExclusionReason.DISABLED_BY_CRM
    if not config.enabled and config.method_id not in overrides.enabled_methods:
        return ExclusionReason.METHOD_DISABLED
    return None


def evaluate_methods(
    customer: CustomerRecord,
    account: TradingAccount,
    configs: Iterable[ProviderConfig],
    *,
    is_loaded: Callable[[str], bool],
    redirects: Callable[[str], bool],
    payout: bool = False,
    takes: Callable[[str, str], bool] = lambda _provider, _currency: True,
) -> MethodEvaluation:
    """Every config of the customer's brand, sorted into eligible and excluded;
    `payout` for a withdrawal, whose method must also pay out; `takes(provider,
    currency)` is the loaded module's own table of currencies."""
    eligible: list[EligibleMethod] = []
    excluded: list[ExcludedMethod] = []
    for config in sorted(configs, key=lambda c: c.method_id):
        if config.brand_id != customer.brand_id or account.brand_id != customer.brand_id:
            continue  # another brand's config is not "excluded", it does not exist here
        reason = _exclusion(customer, account, config, is_loaded, payout=payout, takes=takes)
        if reason is not None:
            excluded.append(ExcludedMethod(config, reason))
            continue
        if payout:
            limits = config.withdrawal_limits.get(account.currency, AmountLimits())
        else:
            limits = customer.crm_overrides.limits.get(config.method_id, {}).get(
                account.currency, config.limits.get(account.currency, AmountLimits())
            )
        eligible.append(EligibleMethod(config, limits, redirects(config.provider)))
    return MethodEvaluation(eligible, excluded)


def require_eligible(evaluation: MethodEvaluation, method_id: str) -> EligibleMethod:
    found = evaluation.find(method_id)
    if isinstance(found, EligibleMethod):
        return found
    reason = found.reason.value if found is not None else "unknown_method"
    raise MethodNotAvailable(f"This payment method is not available for this account ({reason}).")


def check_limits(method: EligibleMethod, amount: Decimal) -> None:
    limits = method.limits
    if limits.min_amount is not None and amount < limits.min_amount:
        raise AmountBelowMinimum(f"The minimum for this method is {limits.min_amount}.")
    if limits.max_amount is not None and amount > limits.max_amount:
        raise AmountAboveMaximum(f"The maximum for this method is {limits.max_amount}.")


def within_allowance(evaluation: MethodEvaluation, limited: list[Allowance]) -> MethodEvaluation:
    """The evaluation as the customer's deposit limits leave it: each method's
    maximum becomes the smaller of its own and what remains; a method that
    could take nothing (nothing remains, or less than its minimum) is excluded
    as limit_reached."""
    if not limited:
        return evaluation
    remaining = amount_remaining(limited)
    exhausted = nothing_remains(limited)
    eligible: list[EligibleMethod] = []
    excluded = list(evaluation.excluded)
    for method in evaluation.eligible:
        own = method.limits
        if exhausted or (
            remaining is not None and own.min_amount is not None and own.min_amount > remaining
        ):
            excluded.append(ExcludedMethod(method.config, ExclusionReason.LIMIT_REACHED))
            continue
        if remaining is not None and (own.max_amount is None or remaining < own.max_amount):
            own = AmountLimits(min_amount=own.min_amount, max_amount=remaining)
        eligible.append(EligibleMethod(method.config, own, method.redirects))
    excluded.sort(key=lambda e: e.config.method_id)
    return MethodEvaluation(eligible, excluded)
