from __future__ import annotations

import subprocess
import sys

import twores


def test_import_twores_loads_no_database_or_web_framework() -> None:
    code = (
        "import sys, twores, twores.services.demo; "
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'litestar', 'jinja2', 'psycopg') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_resolve() -> None:
    for name in twores.__all__:
        assert getattr(twores, name) is not None


def test_build_makes_independent_apps() -> None:
    first, second = twores.build(), twores.build(blocked=["inner_mongolia"])
    assert first.plugins is not second.plugins
    assert first.plugins.has_plugin("inner_mongolia")
    assert not second.plugins.has_plugin("inner_mongolia")
