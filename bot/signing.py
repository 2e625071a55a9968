"""The service's one signing key, and HMAC signatures made with it.

Visitor cookies, vote CSRF tokens, job tokens and private media links are all
HMAC-SHA256(key, "<purpose>:<message>"), cut to 18 bytes and written as URL-safe base64: a
signature made for one purpose is never valid for another. The key is COOKIE_SECRET, or a
random one made on first start and kept in `<data dir>/cookie-secret` (readable by the owner
only), so signatures survive a restart and every process on that data dir agrees.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from bot.settings import SettingsError

SECRET_FILE = "cookie-secret"
_SIGNATURE_BYTES = 18


class Signer:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, purpose: str, message: str) -> str:
        digest = hmac.new(self._key, f"{purpose}:{message}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:_SIGNATURE_BYTES]).decode()

    def verify(self, purpose: str, message: str, signature: str | None) -> bool:
        """Constant-time check that `signature` is `sign(purpose, message)`."""
        if not signature:
            return False
        expected = self.sign(purpose, message).encode()
        return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))


def load_key(configured: str | None, data_dir: Path) -> bytes:
    """COOKIE_SECRET when set; otherwise the key in `<data_dir>/cookie-secret`, made on first
    start. It is written to a temporary file and linked into place, so two processes starting
    together end up with the same key."""
    if configured:
        return configured.encode()
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        temporary = data_dir / f".{SECRET_FILE}-{secrets.token_hex(8)}"
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(handle, "w") as stream:
                stream.write(secrets.token_hex(32))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            temporary.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise SettingsError(f"COOKIE_SECRET: unset, and {path} holds no usable key (delete it)")
    return key.encode()
