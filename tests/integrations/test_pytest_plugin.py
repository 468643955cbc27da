"""An outside project's tests, using only twores' public API and twores.testing, pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
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


def test_unknown_region_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "def test_x(twores_plugin_manager):\n    pass\n", encoding="utf-8"
    )
    result = run_pytest(tmp_path, "--twores-region", "atlantis", "test_x.py")
    assert result.returncode != 0
    assert "atlantis" in result.stdout
