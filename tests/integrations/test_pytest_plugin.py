"""An outside project's tests, using only twores' public API and twores.testing, pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def docs_example() -> str:
    """The ten-line example of docs/testing.md, verbatim."""
    text = DOCS.read_text(encoding="utf-8")
    return text.split("```python\n", 1)[1].split("```", 1)[0]


OUTSIDE_TESTS = """
from hypothesis import given, settings, strategies as st
import twores
from twores.testing import RosterChurn
from twores.testing.strategies import DEFAULT_DAY, roster_changes


@given(data=st.data())
@settings(max_examples=10)
def test_strategy_fixture_and_churn(twores_rosters, twores_rules, data):
    roster = data.draw(twores_rosters)
    assert roster.hierarchy.roots[0].code == "15"  # where the chosen region's rules apply
    for change in data.draw(roster_changes(roster)):
        roster = roster.apply(change)
    plan = twores.plan_assignments(roster, twores_rules, DEFAULT_DAY)
    assert plan.on == DEFAULT_DAY


def test_synthetic_roster_fixture(twores_roster, twores_rules):
    plan = twores.plan_assignments(twores_roster, twores_rules, DEFAULT_DAY, twores.PlanMode.FRESH)
    assert len(plan.creates) == len(twores_roster.businesses) and not plan.unplaced


def test_region_option(twores_plugin_manager, twores_regions):
    assert twores_regions == ("inner_mongolia",)
    assert twores_plugin_manager.has_plugin("inner_mongolia")


class Churn(RosterChurn):
    regions = ("inner_mongolia",)

    def apply(self, plan):
        assert self.roster.hierarchy.roots[0].code == "15"
        return super().apply(plan)


TestChurn = Churn.TestCase
TestChurn.settings = settings(max_examples=10, stateful_step_count=8, deadline=None)
"""


def run_pytest(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_outside_project_runs_the_kit(tmp_path: Path) -> None:
    (tmp_path / "test_region.py").write_text(docs_example() + OUTSIDE_TESTS, encoding="utf-8")
    result = run_pytest(tmp_path, "--twores-region", "inner_mongolia", "test_region.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_unknown_region_is_a_usage_error_before_any_test(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "def test_x(twores_plugin_manager):\n    pass\n", encoding="utf-8"
    )
    result = run_pytest(tmp_path, "--twores-region", "atlantis", "test_x.py")
    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage error
    assert "atlantis" in result.stderr and "inner_mongolia" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TWORES_DISABLE_PLUGIN_AUTOLOAD", "1"), ("TWORES_DISABLED_PLUGINS", "x, inner_mongolia")],
)
def test_a_region_the_environment_switches_off_is_a_usage_error(
    tmp_path: Path, variable: str, value: str
) -> None:
    (tmp_path / "test_x.py").write_text(
        "def test_x(twores_plugin_manager):\n    pass\n", encoding="utf-8"
    )
    chosen = run_pytest(
        tmp_path, "--twores-region", "inner_mongolia", "test_x.py", env={variable: value}
    )
    assert chosen.returncode == 4, chosen.stdout + chosen.stderr  # not national rules, silently
    assert variable in chosen.stderr and "inner_mongolia" in chosen.stderr
    national = run_pytest(tmp_path, "--twores-region", "none", "test_x.py", env={variable: value})
    assert national.returncode == 0, national.stdout + national.stderr


BRING_YOUR_OWN = """
from hypothesis import settings
from twores.core.rules import Rule, RuleSet, Ruling
from twores.plugins import hookimpl
from twores.plugins.manager import make_plugin_manager
from twores.testing import RosterChurn

RULE = Rule("gx.frequency", "广西县级每季度2次", "twice a quarter", "测试")


class Guangxi:
    @hookimpl
    def twores_rule_sets(self):
        return [RuleSet("guangxi", "1", "测试", "test", (RULE,), region="45")]

    @hookimpl(tryfirst=True)
    def twores_load_cap(self, area_path):
        return Ruling(50, RULE) if area_path[:1] == ("45",) else None


MANAGER = make_plugin_manager(load_entrypoints=False, plugins=[Guangxi()])
SEEN = set()


class Churn(RosterChurn):
    def make_plugin_manager(self):
        return MANAGER

    def apply(self, plan):
        SEEN.add(self.roster.hierarchy.roots[0].code)
        return super().apply(plan)


TestChurn = Churn.TestCase
TestChurn.settings = settings(max_examples=10, stateful_step_count=5)


def test_profile_is_twores_ci():
    assert settings().max_examples == 150 and settings().deadline is None


def test_zz_rosters_were_drawn_under_the_plugin_s_region():
    assert SEEN == {"45"}
"""


def test_a_plugin_manager_of_ones_own_and_the_shipped_profiles(tmp_path: Path) -> None:
    (tmp_path / "test_own.py").write_text(BRING_YOUR_OWN, encoding="utf-8")
    result = run_pytest(tmp_path, "--hypothesis-profile", "twores-ci")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
