"""pytest plugin (entry point ``pytest11``): twores fixtures and ``--twores-region``.

Fixtures:

* ``twores_plugin_manager``: a plugin manager with the regions chosen by ``--twores-region``
  (repeatable; ``none`` for the national rules only; default: every installed plugin);
* ``twores_rules``: the same rules as a RuleBook for the planner and the invariants;
* ``twores_rosters``: a Hypothesis strategy of rosters (draw from it with ``st.data()``);
* ``twores_roster``: one deterministic synthetic roster on the packaged 桂林市 region.

Hypothesis profiles ``twores-dev`` (30 examples) and ``twores-ci`` (150, derandomized,
printing a reproduction blob) are registered, both without a deadline (drawing a roster can
take longer than Hypothesis's 200 ms default): ``pytest --hypothesis-profile twores-ci``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from twores.core.roster import Roster, RuleBook
    from twores.plugins.manager import TworesPluginManager


def pytest_addoption(parser: pytest.Parser) -> None:
    _register_profiles()  # before Hypothesis's own plugin loads the profile asked for
    group = parser.getgroup("twores")
    group.addoption(
        "--twores-region",
        action="append",
        dest="twores_regions",
        default=None,
        metavar="NAME",
        help="enable this installed twores region plugin (repeatable; 'none' for national only)",
    )


def _register_profiles() -> None:
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # the fixtures that need Hypothesis say so when used
        return
    settings.register_profile("twores-dev", max_examples=30, deadline=None)
    settings.register_profile(
        "twores-ci",
        max_examples=150,
        deadline=None,
        derandomize=True,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )


def pytest_configure(config: pytest.Config) -> None:
    """An unknown ``--twores-region`` is a usage error before any test runs."""
    chosen = config.getoption("twores_regions", None)
    if not chosen:
        return
    from twores.plugins.manager import installed_plugins

    unknown = sorted(set(chosen) - {"none"} - set(installed_plugins()))
    if unknown:
        raise pytest.UsageError(
            f"--twores-region: no installed twores plugin named {', '.join(unknown)} "
            f"(installed: {', '.join(installed_plugins()) or 'none'})"
        )
    switched_off = _switched_off_by_environment(set(chosen) - {"none"})
    if switched_off:
        raise pytest.UsageError(f"--twores-region: {switched_off}")


def _switched_off_by_environment(chosen: set[str]) -> str:
    """Why the environment keeps a chosen region plugin out of every manager ("" if not)."""
    import os

    from twores.plugins.manager import DISABLE_AUTOLOAD_ENV, DISABLED_PLUGINS_ENV, truthy

    if chosen and truthy(os.environ.get(DISABLE_AUTOLOAD_ENV)):
        named = ", ".join(sorted(chosen))
        return f"{DISABLE_AUTOLOAD_ENV} is set: no installed plugin loads ({named})"
    disabled = {n.strip() for n in os.environ.get(DISABLED_PLUGINS_ENV, "").split(",")}
    blocked = sorted(chosen & disabled)
    if blocked:
        return f"{DISABLED_PLUGINS_ENV} blocks {', '.join(blocked)}"
    return ""


@pytest.fixture(scope="session")
def twores_regions(request: pytest.FixtureRequest) -> tuple[str, ...] | None:
    """The region plugins chosen on the command line, or None for all installed."""
    chosen = request.config.getoption("twores_regions")
    if chosen is None:
        return None
    return tuple(name for name in chosen if name != "none")


@pytest.fixture(scope="session")
def twores_plugin_manager(twores_regions: tuple[str, ...] | None) -> TworesPluginManager:
    from twores.testing.plugin_managers import plugin_manager_for

    return plugin_manager_for(twores_regions)


@pytest.fixture(scope="session")
def twores_rules(twores_plugin_manager: TworesPluginManager) -> RuleBook:
    return twores_plugin_manager.rulebook()


@pytest.fixture(scope="session")
def twores_rosters(twores_plugin_manager: TworesPluginManager, twores_rules: RuleBook) -> Any:
    """``rosters()`` for the rules under test: with ``--twores-region``, trees under the
    chosen regions' roots and cadres where those rules send businesses."""
    from twores.testing.plugin_managers import region_roots
    from twores.testing.strategies import region_rosters

    return region_rosters(region_roots(twores_plugin_manager), twores_rules)


@pytest.fixture
def twores_roster() -> Roster:
    from twores.divisions import demo_region
    from twores.services.synth import synthetic_roster

    return synthetic_roster(demo_region(), businesses=600, cadres=150, seed=7, within="450323")
