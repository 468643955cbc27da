"""Sign-in users in the SQL store (table ``web_users``, migration 0008) and the failed
sign-ins the throttle counts (table ``sign_in_failures``, migration 0017).

Users are few and cold, so the table carries no ancestor codes; scope checks go through
the unit of work's hierarchy like every other write. Failed sign-ins belong to no area
and are read and written by the sign-in service as the system only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from twores.core.ports import UpsertResult, WritesBusyError
from twores.core.security import Role, outside_scope
from twores.core.users import User
from twores.plugins.sqlalchemy.tables import code

#: Own metadata: the table is created by migration 0008, not by the backend's tables.
metadata = sa.MetaData()

web_users = sa.Table(
    "web_users",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("area_code", code(), nullable=True),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("cadre_id", sa.String(64), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
)

#: One row per failed sign-in; times are UTC ISO strings of fixed width (ordered as text).
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("client", sa.String(64), nullable=True),
    sa.Column("failed_at", sa.String(40), nullable=False),
    sa.Index("ix_sign_in_failures_username", "username", "failed_at"),
    sa.Index("ix_sign_in_failures_client", "client", "failed_at"),
    sa.Index("ix_sign_in_failures_failed_at", "failed_at"),
)

#: SQLite: the seconds a sign-in waits for the database's write lock (which an import, a
#: schedule run or any other writer may hold for minutes) before it counts by reading alone
#: (:class:`SqlSignInFailures`).
SQLITE_SIGN_IN_WAIT = 0.5

#: Audited fields: never the password hash (only whether it changed).
AUDITED = ("display_name", "role", "area_code", "cadre_id", "active")


def _user(row: Any) -> User:
    return User(
        username=row.username,
        display_name=row.display_name,
        role=Role.of(row.role),
        area_code=row.area_code,
        password_hash=row.password_hash,
        cadre_id=row.cadre_id,
        active=bool(row.active),
    )


def _audited(user: User | None, password_changed: bool) -> dict[str, Any] | None:
    if user is None:
        return None
    found: dict[str, Any] = {name: getattr(user, name) for name in AUDITED}
    found["role"] = user.role.value
    found["password_changed"] = password_changed
    return found


class SqlUserRepository:
    def __init__(self, uow: Any) -> None:
        self.uow = uow

    def _visible(self, user: User) -> bool:
        root = self.uow.scope.area_code
        if root is None:
            return True
        return user.area_code is not None and self.uow.guard.allows(user.area_code)

    def get(self, username: str) -> User | None:
        row = self.uow.connection.execute(
            sa.select(web_users).where(web_users.c.username == username)
        ).first()
        user = None if row is None else _user(row)
        return user if user is not None and self._visible(user) else None

    def stream(self) -> Iterator[User]:
        rows = self.uow.connection.execute(sa.select(web_users).order_by(web_users.c.username))
        yield from (u for u in map(_user, rows) if self._visible(u))

    def upsert(self, user: User) -> UpsertResult:
        self.uow.claim_writes()  # before reading the row it compares with (once per unit)
        scope = self.uow.scope
        if scope.role not in (Role.ADMIN, Role.OFFICE) or not self._visible(user):
            raise outside_scope(scope, f"用户 {user.username}", f"user {user.username}")
        if user.role is Role.ADMIN and scope.role is not Role.ADMIN:
            raise outside_scope(scope, "管理员账号", "admin accounts")
        row = self.uow.connection.execute(
            sa.select(web_users).where(web_users.c.username == user.username)
        ).first()
        before = None if row is None else _user(row)
        if before is not None and not self._visible(before):
            raise outside_scope(scope, f"用户 {user.username}", f"user {user.username}")
        if before is not None and before.role is Role.ADMIN and scope.role is not Role.ADMIN:
            raise outside_scope(scope, "管理员账号", "admin accounts")
        if before == user:
            return UpsertResult(unchanged=1)
        values = {
            "display_name": user.display_name,
            "role": user.role.value,
            "area_code": user.area_code,
            "password_hash": user.password_hash,
            "cadre_id": user.cadre_id,
            "active": user.active,
        }
        if before is None:
            self.uow.connection.execute(
                sa.insert(web_users).values(username=user.username, **values)
            )
        else:
            self.uow.connection.execute(
                sa.update(web_users).where(web_users.c.username == user.username).values(**values)
            )
        changed = before is None or before.password_hash != user.password_hash
        self.uow.record(
            "web_user",
            [(user.username, _audited(before, False), _audited(user, changed))],
        )
        return UpsertResult(inserted=1) if before is None else UpsertResult(updated=1)


def _stamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("sign-in failure times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class SqlSignInFailures:
    """Failed sign-ins; only a nationwide (system) scope reads or writes them, one unit of
    work at a time (an advisory lock on PostgreSQL, waited for as long as the unit waits
    for a writer; the write lock, taken before reading, on SQLite).

    SQLite has one write lock for the whole database, which a CLI import holds for
    minutes: there the lock is waited for :data:`SQLITE_SIGN_IN_WAIT` seconds at most, and
    if another writer still holds it the repository is only read (:attr:`writable` false:
    :meth:`recent` answers what was committed, as reads never wait in WAL mode; :meth:`add`,
    :meth:`clear` and :meth:`prune` raise :class:`~twores.core.ports.WritesBusyError`). The
    sign-in service then counts the attempt in its process until it can store it
    (:mod:`twores.services.sign_in`)."""

    def __init__(self, uow: Any) -> None:
        if uow.scope.area_code is not None or uow.scope.role is not Role.ADMIN:
            raise outside_scope(uow.scope, "登录失败记录", "failed sign-ins")
        self.uow = uow
        #: Whether this unit holds the sign-in lock, so may count (SQLite: see above).
        self.writable = True
        if not uow.store.is_sqlite:
            uow.claim_writer("twores.sign_in")
            return
        waits = uow.writes_wait
        uow.writes_wait = min(waits, SQLITE_SIGN_IN_WAIT)
        try:
            uow.claim_writer("twores.sign_in")
        except WritesBusyError:
            self.writable = False  # another writer holds the database: read only
        finally:
            uow.writes_wait = waits

    def _writing(self) -> None:
        if not self.writable:
            raise WritesBusyError()

    def recent(
        self, *, since: datetime, limit: int, username: str | None = None, client: str | None = None
    ) -> list[datetime]:
        table = sign_in_failures.c
        who = table.username == username if username is not None else table.client == client
        rows = self.uow.connection.execute(
            sa.select(table.failed_at)
            .where(who, table.failed_at > _stamp(since))
            .order_by(table.failed_at.desc())
            .limit(limit)
        )
        return [datetime.fromisoformat(at) for at in rows.scalars()]

    def add(self, username: str, client: str | None, at: datetime) -> None:
        self._writing()
        self.uow.connection.execute(
            sa.insert(sign_in_failures).values(
                id=uuid.uuid4().hex, username=username, client=client, failed_at=_stamp(at)
            )
        )

    def clear(self, username: str) -> int:
        self._writing()
        done = self.uow.connection.execute(
            sa.delete(sign_in_failures).where(sign_in_failures.c.username == username)
        )
        return int(done.rowcount)

    def prune(self, before: datetime) -> int:
        self._writing()
        done = self.uow.connection.execute(
            sa.delete(sign_in_failures).where(sign_in_failures.c.failed_at < _stamp(before))
        )
        return int(done.rowcount)
