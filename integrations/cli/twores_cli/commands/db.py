"""``twores db``: the database schema."""

from __future__ import annotations

import click

from twores_cli.context import Context, pass_context


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
    store = obj.store()
    upgrade_to_head = getattr(store, "upgrade", None)
    if upgrade_to_head is not None:
        upgrade_to_head()
    revision = getattr(store, "revision", lambda: None)()
    obj.console.print(
        obj.t(
            f"数据库已是最新结构（{revision}）：{store.url}",
            f"database at revision {revision}: {store.url}",
        )
    )
    store.close()
