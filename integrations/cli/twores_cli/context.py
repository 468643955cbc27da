"""State shared by every command: language, database, regions, output format."""

from __future__ import annotations

from typing import NoReturn

import attrs
import click
from rich.console import Console
from rich.status import Status

import twores
from twores.services.stores import open_store

#: Documented exit codes.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3


@attrs.define
class Context:
    lang: str = "zh"
    db: str | None = None
    regions: tuple[str, ...] | None = None
    output: str = "table"
    console: Console = attrs.field(factory=Console)
    errors: Console = attrs.field(factory=lambda: Console(stderr=True))
    _app: twores.Twores | None = None

    def t(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    @property
    def app(self) -> twores.Twores:
        if self._app is None:
            self._app = twores.build(**self._plugin_options())
        return self._app

    def _plugin_options(self) -> dict[str, object]:
        if self.regions is None:
            return {}
        from importlib.metadata import entry_points

        installed = {ep.name for ep in entry_points(group="twores")}
        return {"blocked": sorted(installed - set(self.regions))}

    def store(self) -> twores.Store:
        return open_store(self.app, self.db)

    def scope(
        self, area: str | None = None, actor: str = "cli", role: str | None = None
    ) -> twores.Scope:
        """The caller's scope: ``role`` if given, else an office for an area, else admin."""
        chosen = twores.Role(role) if role else (twores.Role.OFFICE if area else twores.Role.ADMIN)
        return twores.Scope(actor, chosen, area)

    def working(self, zh: str, en: str) -> Status:
        """A spinner on stderr while a long operation runs (shown on terminals only)."""
        return self.errors.status(self.t(zh, en))

    def fail(self, error: twores.TworesError, code: int = EXIT_ERROR) -> NoReturn:
        self.errors.print(f"[red]{error.message(self.lang)}[/]", highlight=False)  # type: ignore[arg-type]
        raise SystemExit(code)


pass_context = click.make_pass_decorator(Context)
