"""Generate docs/cli.md from the commands themselves: ``python -m twores_cli.reference``."""

from __future__ import annotations

import click

from twores_cli.main import cli


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            found += _walk(command.commands[name], [*path, name])
    return found


def render() -> str:
    lines = [
        "# Command line reference / 命令行参考",
        "",
        "Generated from the commands by `python -m twores_cli.reference > docs/cli.md`;",
        "a test fails when this page is stale. Exit codes: 0 done, 1 error, 2 usage,",
        "3 input rejected (nothing changed). Errors go to stderr in the chosen language;",
        "in Chinese (the default) the English follows, for every exit code.",
        "",
        'Shell completion: `eval "$(_TWORES_COMPLETE=bash_source twores)"` in `~/.bashrc`',
        "(`zsh_source` and `fish_source` for zsh and fish).",
        "",
        "Output: `--format` applies to commands that print a table, and to those whose",
        "outcome is one record (`visit record`, `visit import`, `schedule`, `problems show`,",
        "`import`, `letters generate`, `audit verify`): one JSON object (English keys), or",
        "one CSV or sheet row under its keys. `csv`, `json`",
        "and `xlsx` write only the data to stdout, messages go to stderr. `xlsx` is binary:",
        "it is written only when stdout is a file or pipe (`twores --format xlsx kpis > k.xlsx`)",
        "and refused on a terminal (exit 2); use `--format csv` or `twores export` there.",
        "Tables are never cut: piped, each row keeps one line; on a narrow terminal a wide",
        "table is split into several, each repeating the first column.",
        "",
        "Databases: a command that reads needs an existing database; a missing SQLite file is",
        "an error (run `twores init` or `twores demo` first). `init`, `demo`, `synth`,",
        "`import` and `db upgrade` create it. A database that cannot be opened, read or",
        "reached is an error naming it (exit 1). Errors (exit 1) and usage errors (exit 2)",
        "print a Chinese line before the English one unless `--lang en`.",
        "",
        "Environment variables (an option given on the command line wins):",
        "",
        "* `TWORES_DB`: the database when `--db` is not given (a URL or an SQLite file;",
        "  default `twores.db` in the working folder).",
        "* `TWORES_LANG`: `zh` or `en`, the language when `--lang` is not given (default `zh`).",
        "* `TWORES_DISABLED_PLUGINS`: installed plugins not to load, comma-separated",
        "  (`inner_mongolia,gansu`); `--region` naming one of them is an error.",
        "* `TWORES_DISABLE_PLUGIN_AUTOLOAD`: any value but empty, `0`, `false` or `no` loads",
        "  no installed plugin at all (the national rules only).",
        "* `TWORES_WEB_SECRET` (`serve`): the secret CSRF tokens are signed with; set it so",
        "  they survive restarts and agree between workers (unset: a new one each start).",
        "* `FORWARDED_ALLOW_IPS` (`serve`, read by uvicorn): the proxies whose",
        "  `X-Forwarded-For` names the client (default `127.0.0.1,::1`; docs/web.md).",
        "",
    ]
    for path, command in _walk(cli, ["twores"]):
        # the settings a real invocation inherits from the top group (``-h, --help``)
        settings = {**cli.context_settings, **command.context_settings}
        with click.Context(
            command,
            info_name=" ".join(path),
            terminal_width=100,
            max_content_width=100,
            **settings,
        ) as ctx:
            text = command.get_help(ctx)
        lines += [f"## `{' '.join(path)}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
