"""Sealed tokens: short payloads the server hands out and takes back unchanged.

A token is base64url of ``payload ‖ mac``, the mac a truncated HMAC-SHA256 under a key
derived from the server's secret and the token's purpose, so a token of one kind (a list
cursor, an activity cursor, a change-feed position) is refused by every other, and a
damaged or hand-made one by all.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_MAC_BYTES = 10


class Seal:
    """Seals and opens the payloads of one purpose."""

    def __init__(self, secret: str, label: str) -> None:
        key = hashlib.sha256(label.encode() + b"\x00" + secret.encode()).digest()
        # Keyed once: copying a keyed HMAC costs half of keying a new one, 30 times a page.
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def seal(self, payload: bytes) -> str:
        """The token carrying ``payload``."""
        raw = payload + self._mac(payload)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def open(self, token: str, size: int, max_length: int) -> bytes | None:
        """The payload of ``size`` bytes ``token`` carries, or None if we did not seal it."""
        if len(token) > max_length or not token.isascii():
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        payload, mac = raw[:size], raw[size:]
        if len(payload) != size or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        return payload

    def _mac(self, payload: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(payload)
        return mac.digest()[:_MAC_BYTES]
