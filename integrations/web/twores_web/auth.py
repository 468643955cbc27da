"""Who is asking: SSO authenticators first, then the signed-in session.

An authenticator is any callable ``(request) -> username | None``: it vouches for a user
(e.g. from a header set by the provincial SSO gateway); the user must exist and be active
in the database, which gives the role and area. The session stores the username and a
stamp of the password it was opened with; the user it names is read again at most every
``USER_TTL`` seconds (2 s), so a changed role, a deactivated account or a new password
(which ends every session opened before it) takes effect at once when changed through this
process and within those seconds when changed by another (the CLI, another worker).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from litestar import Request
from litestar.exceptions import NotAuthorizedException

import twores
from twores.services.users import User, known_user

#: An SSO hook: a request in, the username it vouches for (or None) out.
Authenticator = Callable[[Request[Any, Any, Any]], str | None]

SESSION_USER = "user"
SESSION_STAMP = "password"


@attrs.frozen
class Me:
    """The signed-in user as the API shows it (no password hash)."""

    username: str
    display_name: str
    role: twores.Role
    area_code: str | None
    cadre_id: str | None
    can_write: bool
    can_unmask: bool
    keeps_ledgers: bool = False

    @classmethod
    def of(cls, user: User) -> Me:
        scope = user.scope
        return cls(
            user.username,
            user.display_name,
            user.role,
            user.area_code,
            user.cadre_id,
            scope.can_write,
            scope.can_unmask,
            scope.keeps_ledgers,
        )


def request_user(
    request: Request[Any, Any, Any],
    app: twores.Twores,
    store: twores.Store,
    authenticators: Sequence[Authenticator],
) -> User | None:
    for authenticate in authenticators:
        username = authenticate(request)
        if username:
            return known_user(app, store, username)
    return session_user(request, app, store)


def session_user(
    request: Request[Any, Any, Any],
    app: twores.Twores,
    store: twores.Store,
    *,
    lookup: bool = True,
) -> User | None:
    """The user the signed-in session names (``known_user``: with ``lookup`` off, only a
    remembered one), None when not signed in or when the session was opened before the
    user's password was last changed."""
    username = session_username(request)
    user = known_user(app, store, username, lookup=lookup) if username else None
    if user is None or request.session.get(SESSION_STAMP) != password_stamp(user):
        return None
    return user


def session_data(user: User) -> dict[str, str]:
    """What a session opened for ``user`` holds."""
    return {SESSION_USER: user.username, SESSION_STAMP: password_stamp(user)}


def password_stamp(user: User) -> str:
    """A digest of the user's password hash (kept server-side): a new password changes it."""
    digest = hashlib.blake2b((user.password_hash or "").encode(), digest_size=16)
    return digest.hexdigest()


def session_username(request: Request[Any, Any, Any]) -> str | None:
    """The username the signed-in session holds (None: not signed in)."""
    if not request.scope.get("session"):
        return None
    username = request.session.get(SESSION_USER)
    return username if isinstance(username, str) and username else None


def client_address(request: Request[Any, Any, Any]) -> str | None:
    """The client's address, as the sign-in throttle counts it (behind a reverse proxy,
    the one the server took from ``X-Forwarded-For``: see docs/web.md)."""
    return request.client.host if request.client else None


def require_user(user: User | None) -> User:
    if user is None:
        raise NotAuthorizedException("请先登录 | sign in first")
    return user
