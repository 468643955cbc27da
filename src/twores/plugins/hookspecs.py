"""Every twores hook. Names start with ``twores_``; call them with keyword arguments.

Three shapes:

* **registration** hooks return records (rule sets, KPIs, CLI commands, storage backends).
  A rule-set, storage-backend or command name two plugins register fails naming both; a KPI
  named like an earlier one replaces it (see ``twores_kpis``), and a command named like a
  built-in one is not added (the command line says so);
* **decision** hooks are ``firstresult``: the first plugin to return a
  :class:`~twores.core.rules.Ruling` decides. The national baseline implements them with
  ``trylast=True`` so any region wins. Return ``None`` to abstain (e.g. outside your region).
  Decision hooks are called by :class:`~twores.plugins.manager.TworesPluginManager`, which
  records which plugin and rule decided; a hook wrapper on one is refused when its plugin
  registers (``twores_user_repository`` and ``twores_sign_in_failures`` excepted);
* **cross-cutting** hooks are broadcast to every plugin: ``twores_on_event`` hears every
  problem-ledger transition (notifiers: SMS, WeCom, e-mail, logging).

Every decision hook receives ``area_path``: the area codes from the root (province) down to
the area concerned, so a regional plugin can test ``"15" in area_path`` even for
non-standard units such as development zones. Implementations may accept fewer arguments
than the spec declares.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import pluggy

from twores.plugins import NAME

if TYPE_CHECKING:
    from twores.core.areas import Area, Tier
    from twores.core.businesses import FoodBusiness, Grade
    from twores.core.kpis import Kpi
    from twores.core.periods import Frequency, Period
    from twores.core.ports import UnitOfWork
    from twores.core.problems import EscalationPolicy, ProblemEvent, Severity
    from twores.core.quality import QualityRules
    from twores.core.rules import RuleSet, Ruling
    from twores.core.supervision import VisitMode
    from twores.core.users import SignInFailures, UserRepository
    from twores.plugins.records import BackendSpec, TierLabel

hookspec = pluggy.HookspecMarker(NAME)


# --- registration ---------------------------------------------------------------------


@hookspec
def twores_rule_sets() -> Sequence[RuleSet]:
    """Register the dated rules this plugin decides with.

    Every :class:`~twores.core.rules.Rule` a decision hook returns must belong to a
    registered rule set; ``twores plugins`` lists them with their versions. A rule-set name
    two plugins register fails naming both.

    Example::

        from datetime import date
        from twores.core.rules import Rule, RuleSet
        from twores.plugins import hookimpl

        HALF_YEARLY = Rule("my_region.frequency.county", "县级干部每半年督导一次",
                           "county cadres supervise half-yearly",
                           effective_from=date(2024, 1, 1))

        @hookimpl
        def twores_rule_sets():
            return [RuleSet("my_region", "2024.1", "某省规则", "My region's rules",
                            rules=(HALF_YEARLY,), region="33")]
    """
    raise NotImplementedError


@hookspec
def twores_kpis() -> Sequence[Kpi]:
    """Register KPIs: a spec (labels, numerator, denominator, direction, definition, weight)
    and the counter that computes it. A KPI named like an earlier one replaces it, so a
    region can add, reweight or replace any national KPI.

    Example (weigh supervision completion double in rankings)::

        import attrs
        from twores.plugins import hookimpl
        from twores.plugins.builtin.national_kpis import NATIONAL

        @hookimpl
        def twores_kpis():
            tasks = next(k for k in NATIONAL if k.spec.name == "task_completion")
            return [attrs.evolve(tasks, spec=attrs.evolve(tasks.spec, weight=2.0))]
    """
    raise NotImplementedError


@hookspec
def twores_cli_commands() -> Sequence[Any]:
    """Add commands to the ``twores`` command line: return ``click`` commands or groups.

    A command name two plugins register fails naming both; one named like a built-in
    command is not added, and the command line says so.

    Example (a region's own export)::

        import click
        from twores.plugins import hookimpl

        @click.command("gansu-report", help="甘肃省报表 / Gansu report")
        def gansu_report():
            click.echo("...")

        @hookimpl
        def twores_cli_commands():
            return [gansu_report]
    """
    raise NotImplementedError


@hookspec
def twores_storage_backends() -> Sequence[BackendSpec]:
    """Register storage backends, chosen by URL scheme.

    :func:`~twores.services.stores.open_store` (and so every command and the web app)
    opens a database URL with the backend whose ``schemes`` hold the URL's scheme: a
    backend registered without ``schemes`` is never opened. ``open(url, **options)``
    returns the store. A backend name two plugins register fails naming both.

    Example (``open_store(app, "mystore://host/ledger")`` then opens a ``MyStore``)::

        from twores.plugins import hookimpl
        from twores.plugins.records import BackendSpec

        def open_my_store(url, **options):
            from my_package.store import MyStore   # import heavy modules lazily
            return MyStore(url, **options)

        @hookimpl
        def twores_storage_backends():
            return [BackendSpec("mystore", "我的存储", "My store", open_my_store,
                                schemes=("mystore",))]
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_user_repository(unit_of_work: UnitOfWork) -> UserRepository | None:
    """The repository of sign-in users inside ``unit_of_work``, for the backend that made
    it (return None for other backends' units of work).

    Example::

        from twores.plugins import hookimpl

        @hookimpl
        def twores_user_repository(unit_of_work):
            from my_package.store import MyUnitOfWork, MyUsers
            if isinstance(unit_of_work, MyUnitOfWork):
                return MyUsers(unit_of_work)
            return None
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_sign_in_failures(unit_of_work: UnitOfWork) -> SignInFailures | None:
    """The failed sign-ins the sign-in throttle counts, inside ``unit_of_work``, for the
    backend that made it (return None for other backends' units of work). Stored where the
    users are, so that every process serving the app counts the same failures.

    Example::

        from twores.plugins import hookimpl

        @hookimpl
        def twores_sign_in_failures(unit_of_work):
            from my_package.store import MyUnitOfWork, MySignInFailures
            if isinstance(unit_of_work, MyUnitOfWork):
                return MySignInFailures(unit_of_work)
            return None
    """
    raise NotImplementedError


# --- decisions ------------------------------------------------------------------------


@hookspec(firstresult=True)
def twores_grade_business(
    business: FoodBusiness, on: date, area_path: tuple[str, ...]
) -> Ruling[Grade] | None:
    """Decide the assignment grade (包保分级 A–D) of a business on a date.

    Decide from the business's classification — type, scale, canteen kind, diners, chain
    flag, operating status, recorded grade and risk grade — and, if you take it,
    ``area_path``: an SQL store schedules by grading each distinct such profile once
    (with its area only when some grading rule takes ``area_path``), not each business,
    and refuses a rule that reads another field there (a
    :class:`~twores.core.errors.PluginError` naming the plugin).

    Example (grade every school canteen at least C in province 33)::

        from twores.core.businesses import BusinessType, CanteenKind, Grade
        from twores.core.rules import Ruling
        from twores.plugins import hookimpl

        @hookimpl
        def twores_grade_business(business, on, area_path):
            if "33" in area_path and business.canteen_kind is CanteenKind.SCHOOL:
                return Ruling(Grade.C, SCHOOL_CANTEENS)   # a Rule you registered
            return None   # let the next plugin (finally the national table) decide
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_tier_for_grade(
    grade: Grade, on: date, area_path: tuple[str, ...]
) -> Ruling[Tier] | None:
    """Decide which cadre tier takes businesses of a grade (层级对应).

    Example (a county-level city whose leaders take grade A and B at county tier)::

        from twores.core.areas import Tier
        from twores.core.businesses import Grade
        from twores.core.rules import Ruling
        from twores.plugins import hookimpl

        @hookimpl
        def twores_tier_for_grade(grade, on, area_path):
            if "320582" in area_path and grade in (Grade.A, Grade.B):
                return Ruling(Tier.COUNTY, CITY_LEADERS_AT_COUNTY_TIER)
            return None
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_supervision_frequency(
    tier: Tier, on: date, area_path: tuple[str, ...]
) -> Ruling[Frequency] | None:
    """Decide how often a cadre of ``tier`` must supervise each assigned business.

    ``area_path`` leads to the cadre's jurisdiction, the business's area at ``tier``: for a
    county cadre it ends at the county, whichever village the business lies in.

    Example (county-tier cadres in Inner Mongolia supervise half-yearly)::

        from twores.core.areas import Tier
        from twores.core.periods import Frequency, PeriodKind
        from twores.core.rules import Ruling
        from twores.plugins import hookimpl

        @hookimpl
        def twores_supervision_frequency(tier, on, area_path):
            if "15" in area_path and tier is Tier.COUNTY:
                return Ruling(Frequency(PeriodKind.HALF_YEAR), COUNTY_HALF_YEARLY)
            return None
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_load_cap(tier: Tier, on: date, area_path: tuple[str, ...]) -> Ruling[int | None] | None:
    """Decide the most businesses one cadre of ``tier`` may hold (``Ruling(None, ...)``: no cap).

    ``area_path`` leads to the cadre's jurisdiction. The planner never places a business
    above the cap (it reports it unplaceable instead) and the invariants flag any cadre above it.

    Example (village cadres in province 33 hold at most 30 businesses)::

        from twores.core.areas import Tier
        from twores.core.rules import Ruling
        from twores.plugins import hookimpl

        @hookimpl
        def twores_load_cap(tier, on, area_path):
            if "33" in area_path and tier is Tier.VILLAGE:
                return Ruling(30, VILLAGE_CAP)   # a Rule you registered
            return None
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_requires_director(
    business: FoodBusiness, on: date, area_path: tuple[str, ...]
) -> Ruling[bool] | None:
    """Decide whether a business must appoint a food safety director (食品安全总监) on ``on``.

    Decide from the business's classification — type, scale, canteen kind, diners, chain
    flag, operating status, recorded grade and risk grade — and, if you take it,
    ``area_path`` (not ``business.area_code``): an SQL store counts the director KPI by
    asking once per distinct such profile, not each business. A rule that reads anything
    else (opening day, status date, name, licence or credit code, staff) is refused there
    with a :class:`~twores.core.errors.PluginError` naming the plugin, rather than given a
    profile's blanks (its KPI would part from the duties report's and the memory store's).

    Example (a province that requires a director in every chain store)::

        from twores.core.rules import Ruling
        from twores.plugins import hookimpl

        @hookimpl
        def twores_requires_director(business, on, area_path):
            if "44" in area_path and business.chain_headquarters:
                return Ruling(True, CHAIN_STORES)
            return None
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_window_close(period: Period, area_path: tuple[str, ...]) -> Ruling[date] | None:
    """Decide the last day on which records for ``period`` may be entered (录入截止).

    Example (the 2023 township plan: Q4 uploads close on 11-30)::

        from datetime import date
        from twores.core.periods import PeriodKind
        from twores.core.rules import Ruling
        from twores.plugins import hookimpl

        @hookimpl
        def twores_window_close(period, area_path):
            if period.kind is PeriodKind.QUARTER and period.start.month == 10:
                return Ruling(date(period.start.year, 11, 30), Q4_CLOSES_NOV_30)
            return None
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_counting_visit_modes(
    on: date, area_path: tuple[str, ...]
) -> Ruling[frozenset[VisitMode]] | None:
    """Decide which visit modes (现场/视频/集中/其他) fulfil a supervision task.

    ``area_path`` leads to the business visited.

    Example (a region that accepts only on-site visits)::

        from twores.core.rules import Ruling
        from twores.core.supervision import VisitMode
        from twores.plugins import hookimpl

        @hookimpl
        def twores_counting_visit_modes(on, area_path):
            if "45" in area_path:
                return Ruling(frozenset({VisitMode.ON_SITE}), ON_SITE_ONLY)
            return None
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_letter_renewal(year: int, area_path: tuple[str, ...]) -> Ruling[date] | None:
    """Decide the day by which every cadre signs ``year``'s commitment letter (承诺书).

    ``area_path`` leads to the cadre's jurisdiction.

    Example (sign by the end of March)::

        from datetime import date
        from twores.core.rules import Ruling
        from twores.plugins import hookimpl

        @hookimpl
        def twores_letter_renewal(year, area_path):
            return Ruling(date(year, 3, 31), SIGN_BY_MARCH)
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_rectification_days(severity: Severity, area_path: tuple[str, ...]) -> Ruling[int] | None:
    """Decide how many days a business gets to fix a problem of ``severity`` (整改期限).

    ``area_path`` leads to the business.

    Example (severe problems fixed within 24 hours in a region)::

        from twores.core.problems import Severity
        from twores.core.rules import Ruling
        from twores.plugins import hookimpl

        @hookimpl
        def twores_rectification_days(severity, area_path):
            if "33" in area_path and severity is Severity.SEVERE:
                return Ruling(1, SEVERE_IN_A_DAY)
            return None
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_escalation_policy(area_path: tuple[str, ...]) -> Ruling[EscalationPolicy] | None:
    """Decide how an overdue problem escalates: reminder letters, then referral one level up.

    ``area_path`` leads to the business.

    Example (two reminder letters, five days apart, before referral)::

        from twores.core.problems import EscalationPolicy
        from twores.core.rules import Ruling
        from twores.plugins import hookimpl

        @hookimpl
        def twores_escalation_policy(area_path):
            return Ruling(EscalationPolicy(reminders=2, grace_days=5), TWO_REMINDERS)
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_quality_rules(area_path: tuple[str, ...]) -> Ruling[QualityRules] | None:
    """Decide the thresholds of the data-quality signals (数据质量): visits per cadre-day,
    the last-minute window and share, the shortest free text compared, the night hours.

    ``area_path`` leads to the area the report covers.

    Example (ten visits a day are plausible where townships are large)::

        from twores.core.quality import QualityRules
        from twores.core.rules import Ruling
        from twores.plugins import hookimpl

        @hookimpl
        def twores_quality_rules(area_path):
            return Ruling(QualityRules(max_visits_per_cadre_day=10), LARGE_TOWNSHIPS)
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def twores_area_label(area: Area, area_path: tuple[str, ...]) -> Ruling[TierLabel] | None:
    """Decide what an area's tier is called (市/县/乡/村; 盟/旗/苏木/嘎查; 区/街道/社区).

    Shown where people read tiers: commitment letters (为旗级包保干部), and the web's area
    and cadre pages.

    Example::

        from twores.core.areas import Tier
        from twores.core.rules import Ruling
        from twores.plugins import hookimpl
        from twores.plugins.records import TierLabel

        @hookimpl
        def twores_area_label(area, area_path):
            if area.tier is Tier.TOWNSHIP and area.name.endswith("街道"):
                return Ruling(TierLabel("街道", "sub-district"), STREET_LABELS)
            return None
    """
    raise NotImplementedError


# --- cross-cutting ----------------------------------------------------------------------


@hookspec
def twores_on_event(event: ProblemEvent, area_path: tuple[str, ...]) -> None:
    """Hear every problem-ledger transition, after it is committed (notifications).

    ``area_path`` leads to the business. Return values are ignored; an exception in a
    notifier is logged and does not undo the transition. twores calls each notifier
    itself, so a hook wrapper here is refused when its plugin registers.

    Example (send an SMS when a reminder letter goes out)::

        from twores.core.problems import Action
        from twores.plugins import hookimpl

        @hookimpl
        def twores_on_event(event, area_path):
            if event.action is Action.REMIND:
                sms.send(event.problem_id, f"整改提醒：期限 {event.deadline}")
    """
