"""The office page's guards: the password (scrypt), the CSRF token, and which files may be served.

Only files inside the inbox, outbox and data folders are ever served; a request path is resolved
(symlinks and ``..`` included) and must stay inside its folder.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from pipeline.core.errors import BadArgsError

# scrypt cost: 2**15 × 8 × 1 takes about 32 MiB and a tenth of a second, once per request with a password.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD_CHARS = 8


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$<salt>$<hash>`` (base64), the value of the setting ``web_password_hash``."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise BadArgsError(f"密码至少 {MIN_PASSWORD_CHARS} 个字符。")
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)))


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=128 * 1024 * 1024, dklen=32)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def csrf_token(secret: bytes, action: str) -> str:
    """A token bound to this server's secret and the form's action."""
    return hmac.new(secret, action.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, action: str, token: str) -> bool:
    return hmac.compare_digest(csrf_token(secret, action), token or "")


def inside(root: Path, relative: str) -> Path | None:
    """``root/relative`` when it is an existing file inside ``root`` after resolving; else None."""
    if not relative or "\x00" in relative or relative.startswith(("/", "\\")):
        return None
    base = root.resolve()
    try:
        target = (base / relative).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")
