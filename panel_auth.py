"""Who may use the supervisor's dashboard: users, passwords, sessions, CSRF tokens, roles.

Users come from PANEL_USERS in the environment (`name:role:argon2-hash`, separated by
`;`) and from the panel_users table; the environment wins for a name in both. Roles:
`viewer` (reads every page) and `supervisor` (also acts on leads and changes settings).
Passwords are argon2id hashes (argon2-cffi); a plain password is never stored or logged.

Sessions are a signed cookie (HMAC-SHA256 with PANEL_SECRET_KEY, 32+ characters) holding
the user name, the session's CSRF token and its expiry (PANEL_SESSION_HOURS, default 8).
The cookie is HttpOnly, SameSite=Strict, and Secure unless PANEL_COOKIE_SECURE=0 (plain
HTTP on loopback, tests). The role is read again on every request, so a user removed or
demoted loses access at once. WEBHOOK_TOKEN never opens a session.

    python panel_auth.py hash                      # prints an argon2 hash of a password read
                                                   # from the terminal (for PANEL_USERS)
    python panel_auth.py add-user NAME --role supervisor   # into panel_users (password asked)
    python panel_auth.py disable-user NAME
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

import db
import queries

logger = logging.getLogger(__name__)

ROLES = ("viewer", "supervisor")
COOKIE_NAME = "panel_session"
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_HASHER = PasswordHasher()
# A hash verified against when the user does not exist, so the time does not tell.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 10


class PanelConfigurationError(Exception):
    """The dashboard cannot run with these settings (one line, no secret in it)."""


@dataclass(frozen=True)
class User:
    """A dashboard user: name and role."""

    username: str
    role: str

    @property
    def can_act(self) -> bool:
        """Supervisors act on leads and change settings; viewers only read."""
        return self.role == "supervisor"


@dataclass(frozen=True)
class PanelSettings:
    """The dashboard's settings from the environment."""

    secret_key: bytes
    cookie_secure: bool = True
    session_seconds: int = 8 * 3600

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PanelSettings:
        """Read PANEL_SECRET_KEY (required, 32+ characters), PANEL_COOKIE_SECURE (default 1)
        and PANEL_SESSION_HOURS (default 8, 0.1-168). Raises PanelConfigurationError."""
        if environ is None:
            db.load_env_file()
            environ = os.environ
        key = environ.get("PANEL_SECRET_KEY", "").strip()
        if len(key) < 32:
            raise PanelConfigurationError(
                "PANEL_SECRET_KEY must be set to 32 or more random characters (make one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        secure = environ.get("PANEL_COOKIE_SECURE", "1").strip().lower() not in ("0", "false")
        try:
            hours = float(environ.get("PANEL_SESSION_HOURS", "8") or 8)
        except ValueError:
            hours = -1
        if not 0.1 <= hours <= 168:
            raise PanelConfigurationError("PANEL_SESSION_HOURS must be a number from 0.1 to 168")
        return cls(key.encode(), secure, int(hours * 3600))


# --- users ----------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (ValueError when shorter than MIN_PASSWORD)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def parse_env_users(text: str | None) -> dict[str, tuple[str, str]]:
    """PANEL_USERS text -> {name: (role, hash)}. Raises PanelConfigurationError naming the
    entry's position (never its hash) when an entry is malformed."""
    users: dict[str, tuple[str, str]] = {}
    for index, entry in enumerate((text or "").split(";"), start=1):
        entry = entry.strip()
        if not entry:
            continue
        parts = entry.split(":", 2)
        if len(parts) != 3 or not _NAME.fullmatch(parts[0]) or parts[1] not in ROLES:
            raise PanelConfigurationError(
                f"PANEL_USERS entry {index} must be name:viewer|supervisor:argon2-hash"
            )
        if not parts[2].startswith("$argon2"):
            raise PanelConfigurationError(f"PANEL_USERS entry {index}: the hash is not argon2")
        users[parts[0]] = (parts[1], parts[2])
    return users


def _lookup(username: str) -> tuple[str, str] | None:
    """(role, hash) of an enabled user, from PANEL_USERS then panel_users; else None."""
    env_users = parse_env_users(os.environ.get("PANEL_USERS"))
    if username in env_users:
        return env_users[username]
    with db.transaction("read panel user") as cur:
        row = db.fetch_one(cur, queries.PANEL_USER, {"username": username})
    if row is None or row["disabled"]:
        return None
    return row["role"], row["password_hash"]


def authenticate(username: str, password: str) -> User | None:
    """The user when the name and password match an enabled user, else None. Takes the
    same time whether or not the user exists."""
    if not isinstance(username, str) or not _NAME.fullmatch(username):
        username = ""
    found = _lookup(username) if username else None
    stored = found[1] if found else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return User(username, found[0]) if found else None


def current_user(username: str) -> User | None:
    """The user behind a session, with the role as it is now (None: removed or disabled)."""
    if not _NAME.fullmatch(username or ""):
        return None
    found = _lookup(username)
    return User(username, found[0]) if found else None


def save_user(username: str, password: str, role: str, *, disabled: bool = False) -> None:
    """Create or update a panel_users row (one transaction). ValueError for a bad name,
    role or a short password."""
    if not _NAME.fullmatch(username or ""):
        raise ValueError("a user name is 1-64 letters, digits, '_', '.', '@' or '-'")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    params = {"username": username, "password_hash": hash_password(password), "role": role,
              "disabled": disabled}  # fmt: skip
    db.run_in_transaction(
        lambda cur: db.execute(cur, queries.PANEL_UPSERT_USER, params), name="save panel user"
    )


# --- sessions and CSRF -----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_session(settings: PanelSettings, username: str, now: float | None = None) -> str:
    """A signed cookie value for a new session: {user, csrf, exp}, base64url + HMAC."""
    payload = {
        "u": username,
        "c": secrets.token_urlsafe(24),
        "e": int((now or time.time()) + settings.session_seconds),
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(settings.secret_key, body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def read_session(settings: PanelSettings, cookie: str | None, now: float | None = None) -> dict:
    """The session payload of a valid, unexpired cookie, else {}."""
    if not cookie or len(cookie) > 1024 or "." not in cookie:
        return {}
    body, _, signature = cookie.partition(".")
    expected = hmac.new(settings.secret_key, body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(signature)):
            return {}
        payload = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return {}
    if not isinstance(payload, dict) or not isinstance(payload.get("e"), int):
        return {}
    if payload["e"] < (now or time.time()):
        return {}
    return payload


def csrf_ok(session: Mapping[str, object], given: str | None) -> bool:
    """Whether the form's CSRF token is the session's (constant-time)."""
    expected = session.get("c")
    if not isinstance(expected, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


# --- command line ----------------------------------------------------------------------------


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the two passwords differ")
    return first


def main(argv: Sequence[str] | None = None) -> int:
    """`hash`, `add-user NAME --role R`, `disable-user NAME`; exit 0, 2 bad input, 3 db."""
    parser = argparse.ArgumentParser(description="Dashboard users.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("hash", help="print an argon2 hash of a password (stdin or prompt)")
    add = sub.add_parser("add-user", help="create or update a panel_users row")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="viewer")
    disable = sub.add_parser("disable-user", help="refuse a panel_users user from now on")
    disable.add_argument("username")
    args = parser.parse_args(argv)
    try:
        if args.command == "hash":
            print(hash_password(_read_password()))
        elif args.command == "add-user":
            save_user(args.username, _read_password(), args.role)
            print(f"user {args.username} saved ({args.role})")
        else:
            found = _lookup(args.username)
            if found is None:
                raise ValueError(f"no enabled user {args.username!r} in panel_users")
            save_user(args.username, secrets.token_urlsafe(32), found[0], disabled=True)
            print(f"user {args.username} disabled")
    except (ValueError, PanelConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except db.DatabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
