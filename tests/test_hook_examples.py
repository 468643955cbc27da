"""The hook reference's examples do what their text says (docs/plugins/hooks.md)."""

from __future__ import annotations

import inspect
import sys
import textwrap
import types

import pytest

import twores
from twores.core.errors import PluginError
from twores.plugins import hookspecs
from twores.services.stores import open_store


def _example(hook: object) -> str:
    """The code of a hookspec's docstring example (the block after ``Example...::``)."""
    doc = inspect.getdoc(hook) or ""
    _, _, after = doc.partition("::\n")
    lines = []
    for line in after.splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines))


class _MyStore:
    def __init__(self, url: str, **options: object) -> None:
        self.url, self.options = url, options


@pytest.fixture
def my_package(monkeypatch: pytest.MonkeyPatch) -> None:
    package, store = types.ModuleType("my_package"), types.ModuleType("my_package.store")
    store.MyStore = _MyStore  # type: ignore[attr-defined]
    package.store = store  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "my_package", package)
    monkeypatch.setitem(sys.modules, "my_package.store", store)


def _plugin(code: str) -> types.ModuleType:
    module = types.ModuleType("hook_example_plugin")
    exec(compile(code, "hookspecs.twores_storage_backends", "exec"), module.__dict__)
    return module


def test_the_storage_backend_example_opens_its_scheme(my_package: None) -> None:
    code = _example(hookspecs.twores_storage_backends)
    assert "schemes=" in code
    app = twores.build(load_entrypoints=False, plugins=[_plugin(code)])
    store = open_store(app, "mystore://host/ledger")
    assert isinstance(store, _MyStore)
    assert store.url == "mystore://host/ledger"


def test_a_backend_without_schemes_is_never_opened(my_package: None) -> None:
    # Why the example names its scheme: open_store chooses by URL scheme only.
    code = _example(hookspecs.twores_storage_backends).replace(
        ',\n                        schemes=("mystore",)', ""
    )
    assert "schemes" not in code
    app = twores.build(load_entrypoints=False, plugins=[_plugin(code)])
    with pytest.raises(PluginError, match="mystore"):
        open_store(app, "mystore://host/ledger")
