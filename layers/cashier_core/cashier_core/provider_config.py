"""What a provider config may say, checked when it is loaded, and the scope it
gives the events verified for it.

Each module checks its own configs (PaymentProvider.check_config): base URLs
are https hosts from the module's own allow-list (a loopback base only on a
local stage, where stand-ins listen), return URLs are https, and the config
says whether it is test or live. A config that fails is refused where configs
are loaded (Cashier), with one error log line naming it, and never used: its
methods do not show, its secrets verify nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from cashier_core.errors import ConfigurationError
from cashier_core.models import ProviderConfig

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, slots=True)
class ConfigScope:
    """The world a config's payments live in. `live` is None for a module
    whose provider has no test/live split (the sandbox, bank wires)."""

    live: bool | None = None
    merchant_account: str | None = None


def refuse(config: ProviderConfig, problem: str) -> ConfigurationError:
    return ConfigurationError(
        f"provider config {config.brand_id}/{config.method_id} ({config.provider}): {problem}"
    )


def check_url(
    config: ProviderConfig,
    setting: str,
    *,
    allowed_host: Callable[[str], bool] | None,
    local_stage: bool,
) -> str | None:
    """The setting's URL, or None when unset. It must be https with a host name
    that `allowed_host` accepts (any name when None, never an IP address), no
    user info; http(s) on loopback only on a local stage."""
    url = config.settings.get(setting)
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # a malformed port raises here
    except ValueError:
        raise refuse(config, f"{setting} is not a URL") from None
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise refuse(config, f"{setting} may not carry user info or a fragment")
    if host in LOOPBACK_HOSTS:
        if local_stage and parts.scheme in ("http", "https"):
            return url
        raise refuse(config, f"{setting} is a loopback address, allowed only on a local stage")
    if parts.scheme != "https":
        raise refuse(config, f"{setting} must be an https URL")
    if _is_ip(host) or not host:
        raise refuse(config, f"{setting} must name a host, not an IP address")
    if allowed_host is not None and not allowed_host(host):
        raise refuse(config, f"{setting} host {host!r} is not one of {config.provider}'s hosts")
    return url


def check_mode(config: ProviderConfig, setting: str, values: dict[str, bool]) -> bool:
    """The config's declared test/live mode; refused when missing or unknown."""
    raw = config.settings.get(setting)
    if raw not in values:
        raise refuse(config, f"{setting} must be one of {', '.join(sorted(values))}")
    return values[raw]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
