"""The review station's security: the per-installation secret, session cookies, CSRF tokens, login
throttling and the security headers of every page.

- The secret is 32 random bytes in ``<data_dir>/secret_key`` (mode 0600), made on the first run;
  there is no default, and a key file others can read is refused.
- A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure over https, or always with
  ``cookie_secure = "always"``); the server keeps only its sha256 (the ``sessions`` table), with an
  idle and an absolute expiry.
- The CSRF token of a session is HMAC-SHA256(secret, session token): sent in a hidden field or the
  ``X-CSRF-Token`` header and checked on every state-changing request. The login form (no session
  yet) uses a random double-submit cookie instead.
- Logins are throttled per user name and client address: MAX_FAILURES failures in THROTTLE_WINDOW
  (counted from the audit log) refuse further attempts with 429 until the window has passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ocr_service.errors import ConfigError

SECRET_FILE = "secret_key"
SESSION_COOKIE = "ocr_session"
LOGIN_CSRF_COOKIE = "ocr_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
MAX_FAILURES = 5
THROTTLE_WINDOW = dt.timedelta(minutes=15)

CSP = ("default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")
PAGE_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def secret_key(data_dir: Path) -> bytes:
    """The installation's secret, created (0600, exclusively) on first use."""
    path = Path(data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"the secret key file is readable by others (mode {stat.S_IMODE(mode):o}): "
                          f"run `chmod 600` on it", file=str(path))
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 64:
        raise ConfigError("the secret key file is damaged (expected 64 hex digits); delete it to make a new "
                          "one (every browser session then ends)", file=str(path))
    return bytes.fromhex(key)


def csrf_token(secret: bytes, session_token: str) -> str:
    return hmac.new(secret, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def throttle_key(username: str, ip: str) -> str:
    """The audit entity id of a (user name, client address) pair; hashed so any name fits."""
    return hashlib.sha256(f"{username}\0{ip}".encode()).hexdigest()[:40]


class PageHeaders:
    """Security headers on every response outside /api: the strict CSP, no framing, nosniff, no
    referrer; pages (HTML) are also never cached."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(PAGE_HEADERS)]
                headers += PAGE_HEADERS
                ctype = dict(message.get("headers", [])).get(b"content-type", b"")
                if ctype.startswith(b"text/html"):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
