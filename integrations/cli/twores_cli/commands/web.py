"""``twores serve`` (the web app under uvicorn) and ``twores users`` (sign-in accounts)."""

from __future__ import annotations

import json
import os
import socket

import click
from rich.table import Table

import twores
from twores.services import users
from twores_cli.context import EXIT_REJECTED, EXIT_USAGE, Context, pass_context

SECRET_ENV = "TWORES_WEB_SECRET"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address / 监听地址")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port / 端口"
)
@click.option(
    "--base-path",
    default="",
    help="Path the pages live under behind a proxy, e.g. /twores / 反向代理下的路径前缀",
)
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Send the session and CSRF cookies over HTTPS only (behind an HTTPS proxy) / "
    "仅通过 HTTPS 发送会话 Cookie",
)
@click.option(
    "--max-upload-mb",
    default=128,
    show_default=True,
    type=click.IntRange(1),
    help="Largest upload (a ledger) in MB / 上传文件大小上限（MB）",
)
@click.option(
    "--session-idle-minutes",
    default=480,
    show_default=True,
    type=click.IntRange(1),
    help="Sign-ins end after this many minutes unused / 登录闲置多少分钟后失效",
)
@pass_context
def serve_command(
    obj: Context,
    host: str,
    port: int,
    base_path: str,
    secure_cookies: bool,
    max_upload_mb: int,
    session_idle_minutes: int,
) -> None:
    """Serve the web pages and JSON API (OpenAPI at /schema) / 启动网页与 API 服务.

    Sign-in accounts come from ``twores users add``. Set TWORES_WEB_SECRET to keep CSRF
    tokens valid across restarts.

    \b
    Example:
      twores users add admin --name 管理员 --role admin --password-stdin
      twores serve --port 8000
      twores serve --base-path /twores   # behind a proxy that passes /twores/… as /…
      twores serve --secure-cookies      # served over HTTPS by a proxy
      twores serve --max-upload-mb 256   # province-sized .xlsx ledgers
      twores serve --session-idle-minutes 120   # shared computers: sign out sooner
    """
    try:
        import uvicorn

        from twores_web import create_app
    except ImportError:
        obj.fail(
            twores.TworesError(
                "需要安装网页组件：pip install 'twores[web]'",
                "the web extra is needed: pip install 'twores[web]'",
            )
        )
    _check_free(host, port)
    store = obj.store()
    try:
        app = create_app(
            obj.app,
            store,
            secret=os.environ.get(SECRET_ENV),
            base_path=base_path.rstrip("/"),
            secure_cookies=secure_cookies,
            request_max_body_size=max_upload_mb * 1024 * 1024,
            session_idle_timeout=session_idle_minutes * 60,
        )
    except twores.TworesError as error:
        obj.fail(error, EXIT_USAGE)
    obj.errors.print(obj.t(f"服务地址 http://{host}:{port}/", f"serving on http://{host}:{port}/"))
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except SystemExit as stopped:  # uvicorn exits 3 when it cannot start (docs: 3 = rejected)
        if stopped.code in (None, 0):
            raise
        raise twores.TworesError(
            f"服务未能在 {host}:{port} 上启动", f"the server did not start on {host}:{port}"
        ) from None
    finally:
        store.close()


def _check_free(host: str, port: int) -> None:
    """Fail before serving when ``host:port`` cannot be listened on (e.g. already in use)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind((host, port))
    except OSError as error:
        reason = error.strerror or str(error)
        raise twores.TworesError(
            f"无法在 {host}:{port} 上启动服务（{reason}）："
            "端口已被占用或地址不可用，请换用 --port 或 --host",
            f"cannot serve on {host}:{port} ({reason}): the port is in use or the address is "
            "not available; choose another --port or --host",
        ) from None


@click.group("users")
def users_group() -> None:
    """Sign-in accounts of the web app / 网页登录账号."""


@users_group.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Display name / 姓名")
@click.option(
    "--role",
    type=click.Choice([r.value for r in twores.Role]),
    required=True,
    help="Role / 角色",
)
@click.option("--area", default=None, help="Area subtree (admins may omit) / 辖区区划代码")
@click.option("--cadre", "cadre_id", default=None, help="Cadre id (role cadre) / 干部编号")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from stdin / 从标准输入读取密码"
)
@click.option("--inactive", is_flag=True, help="Create disabled / 停用账号")
@pass_context
def add_user(
    obj: Context,
    username: str,
    display_name: str,
    role: str,
    area: str | None,
    cadre_id: str | None,
    password_stdin: bool,
    inactive: bool,
) -> None:
    """Create or change a user (without a password: SSO only) / 新增或修改账号.

    \b
    Example:
      echo 'long-secret' | twores users add dwz --name 大圩镇食安办 --role office \\
          --area 450323101 --password-stdin
    """
    password = click.get_text_stream("stdin").readline().rstrip("\n") if password_stdin else None
    try:
        user = users.User(
            username, display_name, twores.Role(role), area, None, cadre_id, not inactive
        )
        store = obj.store()
        try:
            result = users.add_user(obj.app, store, obj.scope(), user, password=password)
        finally:
            store.close()
    except twores.InvalidValueError as error:
        obj.fail(error, EXIT_REJECTED)
    done = obj.t("新增", "created") if result.inserted else obj.t("已更新", "updated")
    obj.console.print(f"{done}: {username} ({twores.Role(role).label(obj.lang)}, {area or '-'})")


@users_group.command("list")
@pass_context
def list_users(obj: Context) -> None:
    """List users / 列出账号."""
    store = obj.store()
    try:
        found = users.list_users(obj.app, store, obj.scope())
    finally:
        store.close()
    if obj.output == "json":  # stable English keys and codes, as every JSON output
        records = [
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role.value,
                "area_code": u.area_code,
                "cadre_id": u.cadre_id,
                "active": u.active,
            }
            for u in found
        ]
        click.echo(json.dumps(records, ensure_ascii=False))
        return
    t = obj.t
    table = Table(
        t("账号", "username"),
        t("姓名", "name"),
        t("角色", "role"),
        t("辖区", "area"),
        t("干部编号", "cadre"),
        t("状态", "state"),
    )
    for user in found:
        state = t("启用", "active") if user.active else t("停用", "inactive")
        table.add_row(
            user.username,
            user.display_name,
            user.role.label(obj.lang),
            user.area_code or "-",
            user.cadre_id or "",
            state,
        )
    obj.show(table)
