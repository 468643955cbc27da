"""Sign-in users: create, change, authenticate (argon2 password hashes).

argon2-cffi comes with the ``web`` extra and is imported only when a password is hashed or
checked. Every change goes through the caller's scope and is audited without the hash.
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
import weakref
from typing import Any

import attrs

from twores.bootstrap import Twores
from twores.core.errors import InvalidValueError, TworesError
from twores.core.ports import Store, UpsertResult
from twores.core.security import Role, Scope
from twores.core.users import User
from twores.services.lookups import check_office

__all__ = [
    "AuthenticationError",
    "Role",
    "User",
    "add_user",
    "authenticate",
    "find_user",
    "hash_password",
    "known_user",
    "list_users",
    "verify_password",
]

MIN_PASSWORD = 8


class AuthenticationError(TworesError):
    """Unknown user, wrong password or inactive account (one message for all three)."""

    code = "authentication_failed"

    def __init__(self) -> None:
        super().__init__("用户名或密码错误", "wrong username or password")


def _hasher() -> Any:
    try:
        from argon2 import PasswordHasher
    except ImportError as error:  # pragma: no cover - the web extra brings it
        raise TworesError(
            "需要安装 argon2-cffi（pip install 'twores[web]'）",
            "argon2-cffi is needed (pip install 'twores[web]')",
        ) from error
    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (at least 8 characters)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidValueError(
            "password", "*" * len(password), "至少 8 个字符", "must be at least 8 characters"
        )
    return str(_hasher().hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def add_user(
    app: Twores,
    store: Store,
    scope: Scope,
    user: User,
    *,
    password: str | None = None,
) -> UpsertResult:
    """Create or change ``user`` (hashing ``password`` when given); the user's area must
    exist and lie inside the caller's scope, and a cadre user's area must hold their
    cadre's (else they would see an area that is not theirs and not their own desk)."""
    if password is not None:
        user = _with_hash(user, hash_password(password))
    with store.unit_of_work(scope) as uow:
        uow.claim_writes()  # before the first read of what it writes
        if user.area_code is not None and uow.areas.get(user.area_code) is None:
            raise InvalidValueError(
                "area_code", user.area_code, "区划不存在或不在辖区内", "no such area in scope"
            )
        cadre = uow.cadres.get(user.cadre_id) if user.cadre_id is not None else None
        if user.cadre_id is not None and cadre is None:
            raise InvalidValueError(
                "cadre_id", user.cadre_id, "干部不存在或不在辖区内", "no such cadre in scope"
            )
        hierarchy = uow.areas.hierarchy()
        if cadre is not None and not hierarchy.holds(user.area_code, cadre.area_code):
            raise InvalidValueError(
                "area_code",
                user.area_code,
                f"干部 {cadre.name} 的辖区 {cadre.area_code} 不在该用户的区域内",
                f"cadre {cadre.name}'s area {cadre.area_code} is outside the user's area",
            )
        users = app.plugins.user_repository(uow)
        if password is None:
            known = users.get(user.username)
            if known is not None and user.password_hash is None:
                user = _with_hash(user, known.password_hash)
        result = users.upsert(user)
        uow.commit()
    _forget(store, user.username)
    return result


def _with_hash(user: User, password_hash: str | None) -> User:
    import attrs

    return attrs.evolve(user, password_hash=password_hash)


def find_user(app: Twores, store: Store, username: str) -> User | None:
    """The active user ``username`` (read as the system: used by sign-in and SSO)."""
    with store.unit_of_work(Scope.system("sign-in")) as uow:
        user = app.plugins.user_repository(uow).get(username)
    return user if user is not None and user.active else None


#: How long a signed-in user read by :func:`known_user` is trusted. A change made through
#: :func:`add_user` in this process takes effect at once; one made by another process (the
#: CLI, another worker) within this many seconds.
USER_TTL = 2.0
_USERS_MAX = 10_000

_lock = threading.Lock()
#: Per store: username -> (read at, user), and a counter bumped by every change.
_users: weakref.WeakKeyDictionary[Store, dict[str, tuple[float, User]]] = (
    weakref.WeakKeyDictionary()
)
_changes: weakref.WeakKeyDictionary[Store, int] = weakref.WeakKeyDictionary()


def known_user(app: Twores, store: Store, username: str, *, lookup: bool = True) -> User | None:
    """:func:`find_user`, remembered per process for :data:`USER_TTL` seconds (every request
    of a signed-in session asks). With ``lookup`` off, only what is remembered (None when
    nothing fresh is)."""
    now = time.monotonic()
    with _lock:
        found = _users.get(store, {}).get(username)
        changes = _changes.get(store, 0)
    if found is not None and now - found[0] < USER_TTL:
        return found[1]
    if not lookup:
        return None
    user = find_user(app, store, username)
    if user is not None:
        with _lock:  # not when a change came in while reading: it may be older than that
            if _changes.get(store, 0) == changes:
                remembered = _users.setdefault(store, {})
                if len(remembered) >= _USERS_MAX:
                    remembered.clear()
                remembered[username] = (now, user)
    return user


def _forget(store: Store, username: str) -> None:
    with _lock:
        _changes[store] = _changes.get(store, 0) + 1
        _users.get(store, {}).pop(username, None)


def authenticate(app: Twores, store: Store, username: str, password: str) -> User:
    """The user whose password this is, else :class:`AuthenticationError`. Unthrottled:
    sign-ins from outside go through :func:`twores.services.sign_in.sign_in`."""
    user = find_user(app, store, username)
    # without a password to check, check a decoy: as slow, so timing tells no one who exists
    stored = user.password_hash if user is not None else None
    matches = verify_password(stored or _decoy_hash(), password)
    if user is None or not stored or not matches:
        raise AuthenticationError()
    return user


@functools.cache
def _decoy_hash() -> str:
    return hash_password(secrets.token_hex(16))


#: Who may see the accounts of an area: its office (or an admin).
MANAGING_USERS = ("账号管理", "managing accounts")


def list_users(app: Twores, store: Store, scope: Scope) -> list[User]:
    """The accounts in ``scope`` (an office's or admin's), never with their password hash."""
    check_office(scope, MANAGING_USERS)
    with store.unit_of_work(scope) as uow:
        found = app.plugins.user_repository(uow).stream()
        return [attrs.evolve(u, password_hash=None) for u in found]
