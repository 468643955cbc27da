"""People who sign in (web users): a name, a role over an area subtree, a password hash.

The hash is opaque here (argon2 in the services); a user without one signs in only through
single sign-on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

import attrs

from twores.core.errors import InvalidValueError
from twores.core.ports import UpsertResult
from twores.core.security import Role, Scope

_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


def is_username(text: str) -> bool:
    """Whether ``text`` has the form of a username (2–64 letters, digits or _ . @ -)."""
    return isinstance(text, str) and _USERNAME.fullmatch(text) is not None


def _check_username(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _USERNAME.match(value):
        raise InvalidValueError(
            "username",
            value,
            "应为 2–64 个字母、数字或 _ . @ -",
            "must be 2-64 letters, digits or _ . @ -",
        )


def _check_display(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise InvalidValueError(
            "display_name", value, "不能为空且不超过 100 字", "must be 1-100 characters"
        )


@attrs.frozen
class User:
    """One person who signs in; ``area_code`` None means nationwide (admins only)."""

    username: str = attrs.field(validator=_check_username)
    display_name: str = attrs.field(validator=_check_display)
    role: Role = attrs.field(validator=attrs.validators.instance_of(Role))
    area_code: str | None = None
    password_hash: str | None = attrs.field(default=None, repr=False)
    #: The cadre this user acts as (role cadre): visits are recorded in that cadre's name.
    cadre_id: str | None = None
    active: bool = True

    def __attrs_post_init__(self) -> None:
        if self.area_code is None and self.role is not Role.ADMIN:
            raise InvalidValueError(
                "area_code", None, "只有系统管理员可以不限辖区", "only admins may have no area"
            )
        if self.role is Role.CADRE and not self.cadre_id:
            raise InvalidValueError(
                "cadre_id", None, "包保干部账号须指定干部编号", "a cadre user needs a cadre id"
            )

    @property
    def scope(self) -> Scope:
        return Scope(self.username, self.role, self.area_code, self.cadre_id)

    @property
    def acts_as(self) -> str:
        """Who the ledgers name for this user's steps: the cadre they act as, else the
        username (so a cadre's own problem is never verified under another name)."""
        return self.scope.acts_as


class UserRepository(Protocol):
    """Users within the caller's scope: reads see users whose area lies in the subtree;
    writes need an admin or office scope containing the user's area, and are audited
    (without the password hash)."""

    def get(self, username: str) -> User | None: ...
    def upsert(self, user: User) -> UpsertResult: ...
    def stream(self) -> Iterator[User]:
        """In username order."""
        ...


class SignInFailures(Protocol):
    """Failed sign-ins, kept while a sign-in throttle's window counts them: each names the
    username tried (as the throttle keys it) and the client address, if known. A unit of
    work that takes this repository holds the sign-in lock until it ends, so that counting
    and adding an attempt is one step across processes."""

    def recent(
        self, *, since: datetime, limit: int, username: str | None = None, client: str | None = None
    ) -> list[datetime]:
        """When the latest ``limit`` failures after ``since`` happened, newest first: those
        of ``username``, or (without one) those from ``client``."""
        ...

    def add(self, username: str, client: str | None, at: datetime) -> None:
        """Count an attempt as a failure (until :meth:`clear`)."""
        ...

    def clear(self, username: str) -> int:
        """Forget the failures of ``username``; how many there were."""
        ...

    def prune(self, before: datetime) -> int:
        """Forget the failures before ``before``; how many there were."""
        ...
