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

from chatrec.errors import ConfigError, InputError

COOKIE = "chatrec_session"
KEY_FILE = "secret.key"
USER_ID = re.compile(r"^(?:web-[A-Za-z0-9_-]{22}|host-[0-9a-f]{32})$")  # random ("web-"), or the host's ("host-")
HOST_LEEWAY_S = 30  # clock difference allowed between the host's server and this one
HOST_MAX_LIFETIME_S = 24 * 3600  # a host token valid for longer than this is refused (a leaked one must expire)
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
        self._host_salt = hmac.new(key, b"chatrec.host-user.v1", hashlib.sha256).digest()  # ids unlinkable elsewhere

    def issue(self) -> tuple[str, str]:
        """(token, user id) for a new user."""
        user_id = new_user_id()
        return self._signer.sign(user_id).decode("ascii"), user_id

    def issue_for_host(self, host_token: str, host_secret: str | None) -> tuple[str, str]:
        """(token, user id) for the host site's logged-in user named by `host_token`: a JWT (HS256) the host's
        backend signed with the shared `host_secret`, with `sub` (its user id) and `exp`. The same `sub` always gets
        the same chatrec user, on any device or process; `InputError` for a token that is unsigned, altered,
        expired, too long-lived or signed with another secret, and when no secret is configured."""
        import jwt

        if not host_secret:
            raise InputError("This server accepts no host-signed user ids (CHATREC_HOST_SECRET is not set).")
        try:
            claims = jwt.decode(
                host_token,
                host_secret,
                algorithms=["HS256"],
                options={"require": ["sub", "exp"]},
                leeway=HOST_LEEWAY_S,
            )
        except jwt.PyJWTError as exc:
            raise InputError(f"The host's user token is not valid ({type(exc).__name__}).") from None
        if float(claims["exp"]) - time.time() > HOST_MAX_LIFETIME_S + HOST_LEEWAY_S:
            raise InputError("The host's user token is valid for too long (at most 24 hours).")
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub or len(sub) > 256:
            raise InputError("The host's user token names no user (sub must be a non-empty string).")
        user_id = "host-" + hmac.new(self._host_salt, sub.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
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
