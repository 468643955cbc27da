"""``twores db``: the database schema."""

from __future__ import annotations

import click

import twores
from twores.services.stores import database_url, open_store, shown_url
from twores_cli import databases
from twores_cli.context import Context, pass_context

#: The URL schemes of the SQL backend, whose stores log a migration made on opening.
_MIGRATED_SCHEMES = ("sqlite", "postgresql", "postgres")


@click.group("db")
def command() -> None:
    """Database schema / 数据库结构."""


@command.command("upgrade")
@pass_context
def upgrade(obj: Context) -> None:
    """Create or migrate the database to the latest schema / 升级数据库结构.

    \b
    Example:
      twores --db twores.db db upgrade
    """
    url = database_url(obj.db)
    databases.check(obj.db, create=True)
    # The SQL store migrates as it opens: told not to log it, since this command says it
    # (a backend without migrations, e.g. memory://, takes no such option).
    migrates = url.split("://", 1)[0].split("+", 1)[0] in _MIGRATED_SCHEMES
    store = open_store(obj.app, obj.db, **({"announce": False} if migrates else {}))
    try:
        migrated = getattr(store, "migrated", None)
        before, after = migrated if migrated is not None else (None, None)
        where = shown_url(str(store.url))
    finally:
        store.close()
    if before is None:
        done = obj.t(
            f"已创建数据库并升级到最新结构（{after}）：{where}",
            f"created the database at the latest revision {after}: {where}",
        )
    elif before != after:
        done = obj.t(
            f"已将数据库结构从 {before} 升级到 {after}（最新）：{where}",
            f"upgraded the database from {before} to {after}, the latest revision: {where}",
        )
    else:
        done = obj.t(
            f"数据库结构已是最新版本（{after}），无需升级：{where}",
            f"database at the latest revision {after} already, nothing to upgrade: {where}",
        )
    obj.console.print(done, highlight=False)


@command.command("grant-app-role")
@click.argument("role")
@click.option("--login", is_flag=True, help="Allow the role to sign in / 允许该角色登录")
@pass_context
def grant_app_role(obj: Context, role: str, login: bool) -> None:
    """PostgreSQL: create the app's role, owning no table, with its grants / 创建应用角色.

    Run as the tables' owner after ``db upgrade``. The app then connects as ROLE, and
    row-level security keeps every transaction inside the signed-in user's scope. Set a
    password yourself (``ALTER ROLE ... PASSWORD``) or use certificate authentication.

    \b
    Example:
      twores --db postgresql://owner@db/twores db grant-app-role twores_app --login
    """
    store = obj.store()
    grant = getattr(store, "grant_app_role", None)
    if grant is None or not getattr(store, "is_postgres", False):
        obj.fail(
            twores.TworesError(
                "行级安全需要 PostgreSQL 数据库", "row-level security needs PostgreSQL"
            )
        )
    try:
        grant(role, login=login)
    except twores.TworesError as error:
        obj.fail(error)
    obj.console.print(obj.t(f"已授权应用角色 {role}", f"granted the app role {role}"))
    store.close()
