"""The BackOffice functions invoked through their real handlers, as API Gateway
calls them once a SigV4 signature has been verified (AWS_IAM)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cashier_core.models import AuditRecord
from cashier_local import template
from cashier_local.events import api_event, authorizer_context, operator_identity
from tests.support.customer_api import CustomerApi
from tests.support.lambdas import reply

OPERATOR = "arn:aws:sts::123456789012:assumed-role/cashier-backoffice-operator/ops-alice"
ROUTES = {
    route.function_id: route for route in template.routes() if route.api_id == "BackOfficeApi"
}


@dataclass
class BackOffice:
    api: CustomerApi

    def event(
        self,
        function_id: str,
        *,
        path_id: str | None = None,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        principal: str | None = OPERATOR,
        customer_context: bool = False,
    ) -> dict[str, Any]:
        route = ROUTES[function_id]
        parameter = re.search(r"\{(\w+)\}", route.path)
        path_parameters = {parameter.group(1): path_id} if parameter and path_id else None
        path = re.sub(r"\{\w+\}", path_id or "", route.path)
        raw = (
            json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        )
        return api_event(
            method=route.method,
            resource=route.path,
            path=path,
            headers=[("Content-Type", "application/json")],
            query=query or [],
            path_parameters=path_parameters,
            body=raw,
            identity=operator_identity(principal) if principal else None,
            authorizer=authorizer_context("cus-alice", "brand-alpha") if customer_context else None,
        )

    def call(self, function_id: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return reply(self.api.raw(function_id, self.event(function_id, **kwargs)))

    # --- the operations ------------------------------------------------------
    def withdrawals(self, **query: str) -> tuple[int, dict[str, Any]]:
        return self.call("BackOfficeListWithdrawalsFunction", query=list(query.items()))

    def deposits(self, **query: str) -> tuple[int, dict[str, Any]]:
        return self.call("BackOfficeListDepositsFunction", query=list(query.items()))

    def withdrawal(self, transaction_id: str) -> tuple[int, dict[str, Any]]:
        return self.call("BackOfficeGetWithdrawalFunction", path_id=transaction_id)

    def approve(
        self, transaction_id: str, reference: str = "PAYOUT-1"
    ) -> tuple[int, dict[str, Any]]:
        body = {"payout_reference": reference, "note": "checked the IBAN"}
        return self.call("BackOfficeApproveWithdrawalFunction", path_id=transaction_id, body=body)

    def reject(
        self, transaction_id: str, reason: str = "KYC incomplete"
    ) -> tuple[int, dict[str, Any]]:
        return self.call(
            "BackOfficeRejectWithdrawalFunction", path_id=transaction_id, body={"reason": reason}
        )

    def payout_failed(self, transaction_id: str) -> tuple[int, dict[str, Any]]:
        return self.call(
            "BackOfficeFailPayoutFunction",
            path_id=transaction_id,
            body={"reason": "bank returned the payout"},
        )

    def resolve(self, transaction_id: str, decision: str) -> tuple[int, dict[str, Any]]:
        body = {"decision": decision, "reason": "checked with the provider"}
        return self.call("BackOfficeResolveDepositFunction", path_id=transaction_id, body=body)

    def retry_credit(self, transaction_id: str) -> tuple[int, dict[str, Any]]:
        return self.call(
            "BackOfficeRetryCreditFunction",
            path_id=transaction_id,
            body={"reason": "account reopened"},
        )

    def confirm_wire(
        self, reference: str, amount: str, currency: str
    ) -> tuple[int, dict[str, Any]]:
        body = {"reference": reference, "amount": amount, "currency": currency, "reason": "MT940"}
        return self.call("BackOfficeConfirmBankWireFunction", body=body)

    def reconcile(self, account_id: str) -> tuple[int, dict[str, Any]]:
        return self.call("BackOfficeReconcileAccountFunction", path_id=account_id)

    def reconcile_deposit_limits(self, customer_id: str) -> tuple[int, dict[str, Any]]:
        return self.call("BackOfficeReconcileDepositLimitsFunction", path_id=customer_id)

    # --- the audit trail -------------------------------------------------------
    def audit(self, subject_id: str) -> list[AuditRecord]:
        from cashier_core.storage.records import AuditStore

        return AuditStore(self.api.aws.dynamodb, self.api.aws.tables.audit).of(subject_id)
