"""Docs that must not go stale: the hook reference and the documented examples."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from twores.plugins import reference

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("hook", reference.hookspec_functions(), ids=lambda fn: fn.__name__)
def test_every_hookspec_has_a_docstring_with_an_example(hook: object) -> None:
    doc = inspect.getdoc(hook) or ""
    assert "Example" in doc and "@hookimpl" in doc, f"{hook} lacks a docstring example"


def test_hook_reference_is_current() -> None:
    on_disk = (DOCS / "plugins" / "hooks.md").read_text(encoding="utf-8")
    assert on_disk == reference.render(), (
        "docs/plugins/hooks.md is stale: python -m twores.plugins.reference > docs/plugins/hooks.md"
    )


@pytest.mark.parametrize("hook", reference.hookspec_functions(), ids=lambda fn: fn.__name__)
def test_every_hookspec_is_in_the_reference(hook: object) -> None:
    text = (DOCS / "plugins" / "hooks.md").read_text(encoding="utf-8")
    assert f"## {reference.signature(hook)}" in text  # type: ignore[arg-type]


def _python_blocks(path: Path) -> list[str]:
    blocks, current, inside = [], [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```python"):
            inside, current = True, []
        elif line.startswith("```") and inside:
            inside = False
            blocks.append("\n".join(current))
        elif inside:
            current.append(line)
    return blocks


@pytest.mark.parametrize(
    "page",
    [
        "../README.md",
        "concepts.md",
        "assignment.md",
        "storage.md",
        "supervision.md",
        "plugins/writing.md",
    ],
)
def test_documented_examples_run(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{page.replace('/', '_')}"}
    for block in _python_blocks(DOCS / page):
        exec(compile(block, page, "exec"), namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value()
    capsys.readouterr()


def test_cli_reference_is_current() -> None:
    # Rendered in a process of its own, as `python -m twores_cli.reference` is: other tests'
    # CLI runs leave state in click's commands (a help option made without ``-h``).
    rendered = subprocess.run(
        [sys.executable, "-m", "twores_cli.reference"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    ).stdout
    on_disk = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert on_disk == rendered, "docs/cli.md is stale: python -m twores_cli.reference > docs/cli.md"
