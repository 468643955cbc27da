"""`twores synth` says when it raises --cadres (as `demo` does); the CLI reference lists
the environment variables the command line reads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from twores.plugins.manager import DISABLE_AUTOLOAD_ENV, DISABLED_PLUGINS_ENV
from twores.services.stores import DB_ENV
from twores_cli import reference
from twores_cli.commands.web import SECRET_ENV
from twores_cli.main import cli

TWORES = [sys.executable, "-m", "twores_cli.main"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*TWORES, *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def _synth(tmp_path: Path, cadres: str, *lang: str) -> subprocess.CompletedProcess[str]:
    db = str(tmp_path / f"s{cadres}{''.join(lang)}.db")
    made = _run(*lang, "--db", db, "synth", "--businesses", "10", "--cadres", cadres,
                "--area", "450323101", "--out", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    return made


def test_synth_says_it_made_more_cadres_than_asked(tmp_path: Path) -> None:
    made = _synth(tmp_path, "5")
    made_count = made.stdout.split("干部 ", 1)[1].split("，", 1)[0]
    assert int(made_count) > 5
    assert f"注意：--cadres 5 少于区划数，每个区划至少一名干部，已按 {made_count} 名生成" in (
        made.stderr
    )
    assert f"note: --cadres 5 is fewer than the areas; each area has at least one cadre, so " \
        f"{made_count} were made" in made.stderr  # fmt: skip


def test_synth_in_english_notes_once(tmp_path: Path) -> None:
    made = _synth(tmp_path, "5", "--lang", "en")
    assert made.stderr.count("note: --cadres 5 is fewer than the areas") == 1
    assert "注意" not in made.stderr


def test_synth_with_enough_cadres_has_no_note(tmp_path: Path) -> None:
    made = _synth(tmp_path, "100")
    assert "--cadres" not in made.stderr  # 22 areas: 100 is enough (spread by tier, ±1)


def test_synth_help_says_the_minimum(tmp_path: Path) -> None:
    shown = _run("synth", "--help", cwd=tmp_path)
    assert "at least one per city, county, township and village" in " ".join(shown.stdout.split())


def test_the_cli_reference_lists_every_environment_variable() -> None:
    text = reference.render()
    read_by_options = {
        p.envvar
        for command in [cli, *cli.commands.values()]
        for p in command.params
        if isinstance(p, click.Option) and isinstance(p.envvar, str)
    }
    assert {"TWORES_DB", "TWORES_LANG"} <= read_by_options
    for name in {*read_by_options, DB_ENV, DISABLED_PLUGINS_ENV, DISABLE_AUTOLOAD_ENV, SECRET_ENV}:
        assert f"* `{name}`" in text, name
    assert "* `FORWARDED_ALLOW_IPS`" in text
