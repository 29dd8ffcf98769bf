"""`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` signatures.

The scheme Stripe documents and the sandbox uses: verify on the raw bytes before
parsing, allow several v1 values (secret rotation), compare in constant time,
and refuse timestamps more than `tolerance` away from now in either direction.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

from cashier_core.errors import WebhookRejected

DEFAULT_TOLERANCE_SECONDS = 300


def sign(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    now: datetime,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """The secret that signed `body`; WebhookRejected when none did."""
    if not header or len(header) > 4096:
        raise WebhookRejected("The signature header is missing.")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookRejected("The signature header has no timestamp or no v1 signature.")
    if abs(now.timestamp() - timestamp) > tolerance:
        raise WebhookRejected("The signature timestamp is outside the tolerance.")
    for secret in secrets:
        expected = sign(body, secret, timestamp).split("v1=", 1)[1]
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return secret
    raise WebhookRejected()
