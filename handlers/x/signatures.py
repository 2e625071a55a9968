"""X webhook security, pure: the CRC answer and the payload signature check.

Both are HMAC-SHA256 keyed with the app's consumer secret, base64, prefixed `sha256=`: of the
`crc_token` for the GET challenge, of the raw request body for every POST (header
`x-twitter-webhooks-signature`). The POST check compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "x-twitter-webhooks-signature"


def sign(consumer_secret: str, message: bytes) -> str:
    digest = hmac.new(consumer_secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def crc_response(consumer_secret: str, crc_token: str) -> dict[str, str]:
    """The JSON body answering `GET ?crc_token=...`."""
    return {"response_token": sign(consumer_secret, crc_token.encode())}


def is_valid_signature(consumer_secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of exactly `body` (constant-time compare)."""
    if not header:
        return False
    expected = sign(consumer_secret, body).encode()
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))
