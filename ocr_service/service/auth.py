"""Who is calling, and what their role lets them do: users, passwords, API tokens, roles.

Passwords are hashed with Argon2id (``argon2-cffi``'s PasswordHasher, its RFC 9106 defaults); API
tokens are random, shown once, and stored as their sha256 (``repository.create_token``), revocable.
There is no default user, password or secret anywhere: the first admin is made with
``ocr-service users add NAME --role admin``. The API checks tokens with :func:`authenticate`; the
review station will add browser sessions (with CSRF protection and login throttling) beside it, all
ending in the same :class:`Principal`.
"""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from ocr_service.errors import ConfigError, PermissionDeniedError
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import ApiToken, User

CLERK, REVIEWER, SUPERVISOR, EXPORTER, ADMIN = "clerk", "reviewer", "supervisor", "exporter", "admin"
ROLES = (CLERK, REVIEWER, SUPERVISOR, EXPORTER, ADMIN)

# What each role may do (the API's ``require(*roles)`` takes these). Every authenticated user reads
# batches, their status, files, pages (status and reason) and jobs.
CAN_INTAKE = (CLERK, ADMIN)  # create batches, upload files (and, later, rescans)
CAN_REVIEW = (REVIEWER, SUPERVISOR, ADMIN)  # the review queue
CAN_READ_RECORDS = (REVIEWER, SUPERVISOR, EXPORTER, ADMIN)  # field values and page images (personal data)
CAN_EXPORT = (EXPORTER, SUPERVISOR, ADMIN)
CAN_SUPERVISE = (SUPERVISOR, ADMIN)  # QA figures, queue views, assignment, priorities, operator statistics
CAN_REPORT = (EXPORTER, SUPERVISOR, ADMIN)  # field-work reports (docs/reports.md) and the issue list

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
USERNAME = re.compile(r"[\w.@-]{1,100}")

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, whatever the credential (API token now, a browser session later)."""

    user_id: int
    username: str
    role: str

    def allowed(self, *roles: str) -> bool:
        return not roles or self.role in roles

    def require(self, *roles: str, action: str = "do this") -> "Principal":
        if not self.allowed(*roles):
            raise PermissionDeniedError(f"user {self.username!r} (role {self.role}) may not {action}: "
                                        f"it needs the role {' or '.join(roles)}")
        return self


def principal_of(user: User) -> Principal:
    return Principal(user.id, user.username, user.role)


# -- passwords ------------------------------------------------------------------------------------

def check_password(password: str) -> str:
    """The password if it is acceptable; ConfigError otherwise (empty, short, too long, only spaces)."""
    if not password or not password.strip():
        raise ConfigError("the password is empty")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConfigError(f"the password is shorter than {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ConfigError(f"the password is longer than {MAX_PASSWORD_CHARS} characters")
    return password


def hash_password(password: str) -> str:
    """An Argon2id hash (PHC string, ``$argon2id$…``) of an acceptable password."""
    return _hasher.hash(check_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches the stored hash; False for a mismatch, no hash or a damaged hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones (rehash at login)."""
    return _hasher.check_needs_rehash(password_hash)


# -- users and tokens (what the CLI calls; each takes the caller's session) -----------------------

def check_username(username: str) -> str:
    name = unicodedata.normalize("NFC", username or "")
    if not USERNAME.fullmatch(name):
        raise ConfigError(f"user name {username[:40]!r} must be 1-100 letters, digits, '.', '_', '@' or '-'")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
    return role


def add_user(s: Session, username: str, password: str, *, role: str, actor: str, source: str = "cli") -> User:
    """A new active user with an Argon2id password hash; ConfigError for a bad name, role or
    password, ConflictError if the name is taken. Audited (the password never is)."""
    user = repo.create_user(s, check_username(username), role=check_role(role), password_hash=hash_password(password))
    repo.add_audit(s, actor=actor, action="user.create", entity_type="user", entity_id=user.id,
                   new={"username": user.username, "role": user.role}, source=source)
    return user


def list_users(s: Session) -> list[User]:
    out: list[User] = []
    after = None
    while True:
        page = repo.list_users(s, after=after, limit=1000)
        out += page.items
        if page.next is None:
            return out
        after = page.next


def create_token(s: Session, username: str, *, name: str = "api", actor: str,
                 source: str = "cli") -> tuple[str, ApiToken]:
    """A new API token for an active user: the token (shown once, never stored) and its row."""
    user = repo.get_user(s, check_username(username))
    if not user.active:
        raise PermissionDeniedError(f"user {user.username!r} is not active")
    token, row = repo.create_token(s, user.id, (name or "api")[:100])
    repo.add_audit(s, actor=actor, action="token.create", entity_type="api_token", entity_id=row.id,
                   new={"user": user.username, "name": row.name}, source=source)
    return token, row


def revoke_token(s: Session, token_id: int, *, actor: str, source: str = "cli") -> ApiToken:
    """Revoke a token by its id (from ``tokens create``'s report or the audit log). Idempotent."""
    row = repo.revoke_token(s, token_id)
    repo.add_audit(s, actor=actor, action="token.revoke", entity_type="api_token", entity_id=row.id,
                   new={"revoked_at": row.revoked_at.isoformat()}, source=source)
    return row


def authenticate(s: Session, token: str) -> Principal:
    """The principal an API token stands for; AuthError for an unknown, revoked or inactive one."""
    return principal_of(repo.user_for_token(s, token))




def verify_login(password_hash: str | None, password: str) -> bool:
    """``verify_password`` for a login: a login naming no known user (``password_hash`` None) is
    checked against a throwaway hash, so it costs the same time as a wrong password (no user
    enumeration by timing), and is always False."""
    if password_hash is None:
        verify_password(_dummy_hash(), password)
        return False
    return verify_password(password_hash, password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))
