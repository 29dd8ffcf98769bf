"""Table and index names. Physical names come from the settings (template.yaml
sets them); index and key names are fixed here and match template.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Indexes of the transactions table.
BY_CUSTOMER_INDEX: Final = "by_customer"
BY_ACCOUNT_INDEX: Final = "by_account"
BY_PROVIDER_REFERENCE_INDEX: Final = "by_provider_reference"
# Sparse and sharded: "<type>#<status>#<shard>" of what someone still has to act on.
BY_WORK_KEY_INDEX: Final = "by_work_key"
# Index of the provider configs table: every brand's configs of one provider.
BY_PROVIDER_INDEX: Final = "by_provider"
# Index of the webhook deliveries table: the provider events of one transaction.
BY_TRANSACTION_INDEX: Final = "by_transaction"
# Sparse index of the same table: parked events by state ("open", "unresolved").
BY_PARKED_STATE_INDEX: Final = "by_parked_state"

# The accounts table holds each account item and its ledger under one partition.
ACCOUNT_SORT_KEY: Final = "ACCOUNT"
LEDGER_SORT_PREFIX: Final = "LEDGER#"

# Sessions and idempotency records expire through DynamoDB TTL on this attribute.
TTL_ATTRIBUTE: Final = "expires_at_epoch"


@dataclass(frozen=True, slots=True)
class TableNames:
    transactions: str = ""
    accounts: str = ""
    customers: str = ""
    provider_configs: str = ""
    sessions: str = ""
    brands: str = ""
    webhook_deliveries: str = ""
    audit: str = ""
    rate_limits: str = ""
