"""Opaque, tamper-evident pagination cursors.

A cursor is base64url(JSON position) "." base64url(HMAC-SHA256). The MAC also
covers a context string (the caller's customer id and the query's filters), so
a cursor that was altered, or issued to another customer or another query,
fails verification. Written here rather than taken from a library because it
is twenty lines over the standard library and must not add to cold start.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Final

from cashier_core.errors import InvalidCursor

MAX_CURSOR_LENGTH: Final = 1024


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, signing_key: bytes) -> None:
        if len(signing_key) < 32:
            raise ValueError("the cursor signing key must be at least 32 bytes")
        self._key = signing_key

    def _mac(self, payload: bytes, context: str) -> bytes:
        return hmac.new(
            self._key, context.encode("utf-8") + b"\0" + payload, hashlib.sha256
        ).digest()

    def encode(self, position: dict[str, str], context: str) -> str:
        payload = json.dumps(position, sort_keys=True, separators=(",", ":")).encode("utf-8")
        return f"{_b64encode(payload)}.{_b64encode(self._mac(payload, context))}"

    def decode(self, cursor: str, context: str) -> dict[str, str]:
        if not cursor or len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise InvalidCursor()
        payload_text, mac_text = cursor.split(".")
        try:
            payload, mac = _b64decode(payload_text), _b64decode(mac_text)
        except (binascii.Error, ValueError):
            raise InvalidCursor() from None
        if not hmac.compare_digest(mac, self._mac(payload, context)):
            raise InvalidCursor()
        position = json.loads(payload)
        if not isinstance(position, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in position.items()
        ):
            raise InvalidCursor()
        return position
