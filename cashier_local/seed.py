"""The local seed: brands, customers, accounts, provider configs, secrets, sessions.

Records use the domain models' own field names. Provider secrets are never in
the file: a value "generate" becomes a fresh random value at load time
("generate:sk_test_" one with that prefix), and the
loaded values are reported back (the local stack prints and serves them).
Session tokens are local demo identities, stored hashed like real ones.
"""

from __future__ import annotations

import json
import secrets as random_secrets
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cashier_core.models import (
    BrandSettings,
    CustomerRecord,
    ProviderConfig,
    TradingAccount,
)
from cashier_core.sessions import SESSION_CUSTOMER, CustomerSession, hash_session_token
from cashier_core.storage.records import (
    AccountStore,
    BrandStore,
    CustomerStore,
    ProviderConfigStore,
)
from cashier_core.storage.sessions import SessionStore
from cashier_core.storage.tables import TableNames

DEFAULT_SEED: Final = Path(__file__).parent / "seeds" / "default.json"
SCHEMA_PATH: Final = Path(__file__).parent / "seed.schema.json"
GENERATE: Final = "generate"


class SeedSession(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="A label printed next to the token")
    token: str = Field(min_length=16, description="Local demo bearer token; stored hashed")
    customer_id: str
    brand_id: str
    type: str = SESSION_CUSTOMER
    expires_at: datetime


class Seed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    brands: list[BrandSettings]
    customers: list[CustomerRecord]
    accounts: list[TradingAccount]
    provider_configs: list[ProviderConfig]
    # Secrets Manager name -> JSON document; string values "generate" are drawn at load.
    secrets: dict[str, dict[str, Any]] = Field(default_factory=dict)
    sessions: list[SeedSession] = Field(default_factory=list)


class SeedError(ValueError):
    """A seed file that cannot be loaded; the message names the bad field."""


def seed_json_schema() -> dict[str, Any]:
    """The seed's JSON Schema, generated from the domain models (seed.schema.json)."""
    schema = Seed.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Cashier local seed"
    return schema


def read_seed(path: Path = DEFAULT_SEED) -> Seed:
    """Validate against the committed JSON Schema (Powertools Validation), then
    against the models for what a schema cannot say (cross-field rules)."""
    from aws_lambda_powertools.utilities.validation import SchemaValidationError, validate

    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SeedError(f"{path}: cannot read the seed: {error}") from None
    try:
        validate(event=document, schema=json.loads(SCHEMA_PATH.read_text()))
    except SchemaValidationError as error:
        raise SeedError(f"{path}: {error.name}: {error.validation_message}") from None
    try:
        return Seed.model_validate(document)
    except ValidationError as error:
        problem = error.errors()[0]
        where = "data" + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"]
        )
        raise SeedError(f"{path}: {where}: {problem['msg']}") from None


def _generated(value: Any) -> Any:
    if value == GENERATE:
        # Hex, because Adyen's HMAC keys are hex; any provider takes it.
        return random_secrets.token_hex(32)
    if isinstance(value, str) and value.startswith(f"{GENERATE}:"):
        # "generate:sk_test_": a key whose prefix says its kind and mode (Stripe).
        return value.removeprefix(f"{GENERATE}:") + random_secrets.token_hex(32)
    if isinstance(value, list):
        return [_generated(item) for item in value]
    if isinstance(value, dict):
        return {key: _generated(item) for key, item in value.items()}
    return value


def apply_seed(
    seed: Seed, *, dynamodb: Any, secretsmanager: Any, tables: TableNames, now: datetime
) -> dict[str, dict[str, Any]]:
    """Write the seed; returns the secrets as loaded (generated values filled in)."""
    brands = BrandStore(dynamodb, tables.brands)
    for brand in seed.brands:
        brands.put(brand)
    customers = CustomerStore(dynamodb, tables.customers)
    for customer in seed.customers:
        customers.put(customer)
    accounts = AccountStore(dynamodb, tables.accounts)
    for account in seed.accounts:
        accounts.create(account, now)
    configs = ProviderConfigStore(dynamodb, tables.provider_configs)
    for config in seed.provider_configs:
        configs.put(config)
    loaded: dict[str, dict[str, Any]] = {}
    for name, document in seed.secrets.items():
        loaded[name] = _generated(document)
        secretsmanager.create_secret(Name=name, SecretString=json.dumps(loaded[name]))
    sessions = SessionStore(dynamodb, tables.sessions)
    for session in seed.sessions:
        sessions.put(
            CustomerSession(
                token_hash=hash_session_token(session.token),
                customer_id=session.customer_id,
                brand_id=session.brand_id,
                type=session.type,
                expires_at=session.expires_at,
            )
        )
    return loaded


def main() -> int:
    """Rewrite seed.schema.json from the models."""
    SCHEMA_PATH.write_text(json.dumps(seed_json_schema(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {SCHEMA_PATH.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
