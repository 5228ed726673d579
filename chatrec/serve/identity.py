"""Who a web or API user is: server-issued, signed, unguessable session tokens (itsdangerous) and their key.

A token is `user_id.signature`: the user id is 128 random bits made by the server, and the signature (HMAC-SHA256
under the deployment's secret key) proves the server issued it. A client cannot pick, guess or alter an id, and the
id travels only in an HttpOnly cookie or an `Authorization: Bearer` header, never in a URL. The key is
`CHATREC_SECRET_KEY` when set (share it between processes or machines), else `DATA_DIR/secret.key`, made once with
mode 0600, so tokens survive a restart and every process on one data folder accepts them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from pathlib import Path

from itsdangerous import BadSignature, Signer

from chatrec.errors import ConfigError

COOKIE = "chatrec_session"
KEY_FILE = "secret.key"
USER_ID = re.compile(r"^web-[A-Za-z0-9_-]{22}$")  # "web-" + 16 random bytes, base64url
_SALT = "chatrec.session.v1"


def new_user_id() -> str:
    """A fresh user id: 128 bits from the OS's random source."""
    return "web-" + secrets.token_urlsafe(16)


class Identity:
    """Issues and checks session tokens under one secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ConfigError("the session secret key must be at least 16 bytes")
        self._signer = Signer(key, salt=_SALT, digest_method=hashlib.sha256)

    def issue(self) -> tuple[str, str]:
        """(token, user id) for a new user."""
        user_id = new_user_id()
        return self._signer.sign(user_id).decode("ascii"), user_id

    def user(self, token: str | None) -> str | None:
        """The user id a token was issued for, or None for a missing, altered or foreign token."""
        if not token or len(token) > 200:
            return None
        try:
            user_id = self._signer.unsign(token.encode("ascii")).decode("ascii")
        except (BadSignature, UnicodeError):
            return None
        # one spelling per token: base64's last character has spare bits that unsign would let pass altered
        canonical = hmac.compare_digest(self._signer.sign(user_id), token.encode("ascii"))
        return user_id if canonical and USER_ID.match(user_id) else None


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def load_key(data_dir: Path, configured: str | None = None) -> bytes:
    """The secret key: the configured one, else the data folder's key file (created on first use, mode 0600)."""
    if configured:
        return configured.encode("utf-8")
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: of two processes starting at once, one writes the key and the other reads it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(48))
    for _ in range(40):  # a second process may read while the first is still writing the key
        key = path.read_bytes().decode("ascii", errors="replace").strip()
        if len(key) >= 32 and "\ufffd" not in key:
            return key.encode("ascii")
        time.sleep(0.05)
    raise ConfigError(
        f"{path} is not a chatrec secret key; delete it to make a new one "
        "(every session token issued under it stops working)"
    )
