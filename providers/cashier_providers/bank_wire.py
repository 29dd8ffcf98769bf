"""Bank wire: no redirect and no webhook.

create_payment returns wire instructions with a unique reference; the deposit
waits in pending_payment until BackOffice matches the received wire to the
reference and confirms it. The beneficiary details are the config's
non-secret settings (beneficiary, iban, bic, bank_name).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cashier_core.errors import ProviderUnavailable, WebhookRejected
from cashier_core.models import ProviderConfig, Transaction
from cashier_core.money import format_amount
from cashier_core.provider_amounts import ProviderCurrencies, iso_currencies
from cashier_core.provider_config import ConfigScope
from cashier_core.providers import (
    CreatedPayment,
    Credentials,
    PaymentRequest,
    PaymentStatus,
    WebhookAnswer,
    WebhookEvent,
)
from cashier_core.statuses import Status

INSTRUCTION_SETTINGS: Final = ("beneficiary", "iban", "bic", "bank_name")


def reference_for(transaction_id: str) -> str:
    """Short, unambiguous to type (base32, no 0/1/8/9), and derived from our id."""
    digest = hashlib.sha256(transaction_id.encode()).digest()
    return "BW-" + base64.b32encode(digest)[:12].decode()


ISO_CURRENCIES: Final = iso_currencies("bank wire")


@dataclass(frozen=True)
class BankWireProvider:
    name: str = "bank_wire"
    redirects: bool = False
    payment_expiry: timedelta = timedelta(days=14)
    reports_amounts: bool = True
    # ISO's units for every currency: its amounts are our decimal strings.
    currencies: ProviderCurrencies = ISO_CURRENCIES

    def check_config(self, config: ProviderConfig, *, local_stage: bool) -> ConfigScope:
        return ConfigScope()  # no URLs, no test/live split: BackOffice confirms each wire

    def create_payment(self, request: PaymentRequest) -> CreatedPayment:
        settings = request.config.settings
        missing = [key for key in INSTRUCTION_SETTINGS if not settings.get(key)]
        if missing:
            raise ProviderUnavailable(f"The bank wire method lacks settings: {', '.join(missing)}.")
        transaction = request.transaction
        reference = reference_for(transaction.transaction_id)
        instructions = {key: settings[key] for key in INSTRUCTION_SETTINGS}
        instructions |= {
            "reference": reference,
            "amount": format_amount(transaction.amount, transaction.currency),
            "currency": transaction.currency,
        }
        return CreatedPayment(
            provider_reference=reference, status=Status.PENDING_PAYMENT, instructions=instructions
        )

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: datetime
    ) -> str:
        raise WebhookRejected("Bank wires are confirmed by BackOffice, never by webhook.")

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        return []

    def answer(self) -> WebhookAnswer:
        return WebhookAnswer()

    def query_status(
        self, transaction: Transaction, config: ProviderConfig, credentials: Credentials
    ) -> PaymentStatus | None:
        return None


PROVIDER = BankWireProvider()
