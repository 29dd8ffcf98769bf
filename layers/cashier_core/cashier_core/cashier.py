"""Per-container wiring: one DynamoDB client, the stores, and short caches.

A Lambda container serves many invocations; provider configs, brand settings
and secrets change rarely, so each is read once per TTL rather than on every
request (this keeps a deposit's lifecycle within its AWS-call budget).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from cashier_core.clock import utc_now
from cashier_core.errors import ConfigurationError
from cashier_core.logs import logger
from cashier_core.models import (
    BrandSettings,
    CustomerRecord,
    ProviderConfig,
    TradingAccount,
)
from cashier_core.provider_config import ConfigScope
from cashier_core.providers import Credentials, get_provider
from cashier_core.settings import settings
from cashier_core.storage.cursor import CursorCodec
from cashier_core.storage.deliveries import DeliveryStore
from cashier_core.storage.limits import DepositLimitStore
from cashier_core.storage.pages import TransactionPages
from cashier_core.storage.parked import ParkedStore
from cashier_core.storage.records import (
    AccountStore,
    AuditStore,
    BrandStore,
    CustomerStore,
    ProviderConfigStore,
    read_customer_and_account,
)
from cashier_core.storage.tables import TableNames
from cashier_core.storage.transactions import TransactionStore
from cashier_core.storage.velocity import RateLimitStore
from cashier_core.telemetry import count

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from mypy_boto3_dynamodb.client import DynamoDBClient

CONFIG_CACHE_SECONDS: Final = 60
SECRET_CACHE_SECONDS: Final = 300


class _TtlCache[T]:
    def __init__(self, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._monotonic = monotonic
        self._entries: dict[str, tuple[float, T]] = {}

    def get(self, key: str, load: Callable[[], T]) -> T:
        now = self._monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        self._entries[key] = (now + self._seconds, value)
        return value

    def clear(self) -> None:
        self._entries.clear()


@functools.cache
def _secrets() -> SecretsProvider:
    # Powertools Parameters on a client of boto3's default session, which the
    # container has loaded already: the module-level get_secret would build a
    # new boto3 Session, ~60 ms of a cold start's first request.
    import boto3
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=boto3.client("secretsmanager"))


def forget_secrets() -> None:
    """Drop the cached secrets and their client (tests that rotate a secret or
    switch AWS worlds)."""
    _secrets.cache_clear()


def _read_secret(name: str) -> str:
    # One GetSecretValue per name per max_age.
    value = _secrets().get(name, max_age=SECRET_CACHE_SECONDS)
    if not isinstance(value, str):
        raise ConfigurationError(f"secret {name} is not a string")
    return value


class Cashier:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        tables: TableNames,
        *,
        clock: Callable[[], datetime] = utc_now,
        read_secret: Callable[[str], str] = _read_secret,
        cursor_key_secret: str = "",
        local_stage: bool = False,
    ) -> None:
        self.clock = clock
        self.dynamodb = dynamodb
        self._tables = tables
        self.transactions = TransactionStore(dynamodb, tables, clock)
        self.pages = TransactionPages(dynamodb, tables.transactions)
        self.deliveries = DeliveryStore(dynamodb, tables.webhook_deliveries)
        self.parked = ParkedStore(dynamodb, tables.webhook_deliveries)
        self.accounts = AccountStore(dynamodb, tables.accounts)
        self.customers = CustomerStore(dynamodb, tables.customers)
        self.brands = BrandStore(dynamodb, tables.brands)
        self.configs = ProviderConfigStore(dynamodb, tables.provider_configs)
        self.audit = AuditStore(dynamodb, tables.audit)
        self.rate_limits = RateLimitStore(dynamodb, tables.rate_limits)
        self.deposit_limits = DepositLimitStore(dynamodb, tables.rate_limits, tables.transactions)
        self._read_secret = read_secret
        self._cursor_key_secret = cursor_key_secret
        # Loopback provider stand-ins are accepted only on the local stack.
        self.local_stage = local_stage
        self._configs_by_brand: _TtlCache[list[ProviderConfig]] = _TtlCache(CONFIG_CACHE_SECONDS)
        self._configs_by_provider: _TtlCache[list[ProviderConfig]] = _TtlCache(CONFIG_CACHE_SECONDS)
        self._brands: _TtlCache[BrandSettings | None] = _TtlCache(CONFIG_CACHE_SECONDS)

    @classmethod
    def from_environment(cls) -> Cashier:
        import boto3

        config = settings()  # a missing variable stops the function's start-up here
        return cls(
            boto3.client("dynamodb"),
            config.tables,
            cursor_key_secret=config.cursor_key_secret,
            local_stage=config.local_stage,
        )

    def customer_and_account(
        self, customer_id: str, account_id: str
    ) -> tuple[CustomerRecord, TradingAccount | None]:
        """Both in one call; the account is None when missing or another
        customer's, so each caller keeps its own order of checks."""
        return read_customer_and_account(
            self.dynamodb,
            customers_table=self._tables.customers,
            accounts_table=self._tables.accounts,
            customer_id=customer_id,
            account_id=account_id,
        )

    def provider_configs(self, brand_id: str) -> list[ProviderConfig]:
        return self._configs_by_brand.get(
            brand_id, lambda: self._usable(self.configs.for_brand(brand_id))
        )

    def provider_configs_of(self, provider: str) -> list[ProviderConfig]:
        return self._configs_by_provider.get(
            provider, lambda: self._usable(self.configs.for_provider(provider))
        )

    def config_scope(self, config: ProviderConfig) -> ConfigScope | None:
        """The scope of a config its loaded module accepts; None otherwise."""
        provider = get_provider(config.provider)
        if provider is None:
            return None
        try:
            return provider.check_config(config, local_stage=self.local_stage)
        except ConfigurationError:
            return None

    def _usable(self, configs: list[ProviderConfig]) -> list[ProviderConfig]:
        """The configs as loaded, less those their module refuses: each refusal
        is one error line (and a ProviderConfigRefused metric), and the config
        is never used. A config whose module is not loaded stays, so that
        eligibility can say module_not_loaded."""
        usable = []
        for config in configs:
            provider = get_provider(config.provider)
            try:
                if provider is not None:
                    provider.check_config(config, local_stage=self.local_stage)
            except ConfigurationError as error:
                logger.error("provider config refused", extra={"reason": error.message})
                count("ProviderConfigRefused", provider=config.provider)
                continue
            usable.append(config)
        return usable

    def brand(self, brand_id: str) -> BrandSettings | None:
        return self._brands.get(brand_id, lambda: self.brands.get(brand_id))

    def credentials(self, config: ProviderConfig) -> Credentials:
        """The config's API credentials: JSON `{"api_key", ...}` at `secret_ref`.
        Webhook secrets are never here (webhook_secrets reads its own secret)."""
        document = self._secret_document(config, config.secret_ref)
        return Credentials(
            api_key=document.get("api_key"),
            extra={
                key: str(value)
                for key, value in document.items()
                if key not in ("api_key", "webhook_secret", "webhook_secrets")
            },
        )

    def webhook_secrets(self, config: ProviderConfig) -> tuple[str, ...]:
        """Every webhook secret accepted for the config (a rotation overlaps):
        JSON `{"webhook_secrets": [...]}` at `webhook_secret_ref`, the only
        secret the public webhook function may read."""
        document = self._secret_document(config, config.webhook_secret_ref)
        secrets = document.get("webhook_secrets") or []
        if not isinstance(secrets, list) or not all(isinstance(s, str) and s for s in secrets):
            raise ConfigurationError(f"webhook secrets of {config.method_id} are not strings")
        return tuple(secrets)

    def webhook_basic_auth(self, config: ProviderConfig) -> tuple[str, ...]:
        """`"user:password"` pairs the provider sends in its webhooks'
        Authorization header (Adyen's webhook basic auth), from the same
        webhook secret (`basic_auth`); empty when the config takes none."""
        document = self._secret_document(config, config.webhook_secret_ref)
        pairs = document.get("basic_auth") or []
        if not isinstance(pairs, list) or not all(isinstance(p, str) and ":" in p for p in pairs):
            raise ConfigurationError(f"basic_auth of {config.method_id} is not user:password pairs")
        return tuple(pairs)

    def _secret_document(self, config: ProviderConfig, name: str | None) -> dict[str, Any]:
        if not name:
            return {}
        try:
            document: Any = json.loads(self._read_secret(name))
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"secret of {config.method_id} is not JSON") from error
        if not isinstance(document, dict):
            raise ConfigurationError(f"secret of {config.method_id} is not a JSON object")
        return document

    def cursor_codec(self) -> CursorCodec:
        if not self._cursor_key_secret:
            raise ConfigurationError("this Cashier was built without a cursor key secret")
        return CursorCodec(self._read_secret(self._cursor_key_secret).encode("utf-8"))
