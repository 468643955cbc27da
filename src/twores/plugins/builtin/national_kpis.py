"""The national KPI set (domain.md §7): every target is 100%, every value a pair of counts.

Counters read through the caller's scoped unit of work and count where the records sit
(the business's, task's, cadre's or problem's area); roll-ups sum them up the tree.
"""

from __future__ import annotations

import functools

from twores.core.businesses import FoodBusiness, OperatingStatus
from twores.core.duties import DutyKind, DutyRecord, duty_compliance, owes_daily_record
from twores.core.kpis import Counter, Direction, Kpi, KpiInput, KpiSpec, add_counts, as_counts
from twores.core.kpis import Counts as CountsMap
from twores.core.periods import Period
from twores.core.problems import OPEN_WITH_DEADLINE, ProblemStatus
from twores.plugins import hookimpl

UP, DOWN = Direction.HIGHER_IS_BETTER, Direction.LOWER_IS_BETTER


def _coverage(k: KpiInput) -> CountsMap:
    return k.uow.businesses.coverage_by_area(k.as_of, within=k.within)


def _tasks(k: KpiInput) -> CountsMap:
    return k.uow.tasks.completion_by_area((k.period.start, k.period.end), within=k.within)


def _letters(k: KpiInput) -> CountsMap:
    signed = {
        x.cadre_id
        for x in k.uow.letters.stream(year=k.as_of.year, within=k.within)
        if x.valid_on(k.as_of)
    }
    found: dict[str, list[int]] = {}
    for cadre in k.uow.cadres.stream(within=k.within):
        if cadre.is_active(k.as_of):
            add_counts(found, cadre.area_code, cadre.id in signed, 1)
    return as_counts(found)


def _director(k: KpiInput) -> CountsMap:
    found: dict[str, list[int]] = {}
    for b in k.in_scope:
        if k.director_required(b, k.as_of):
            add_counts(found, b.area_code, b.staff.director is not None, 1)
    return as_counts(found)


def _officer(k: KpiInput) -> CountsMap:
    found: dict[str, list[int]] = {}
    for b in k.in_scope:
        add_counts(found, b.area_code, b.staff.officer is not None, 1)
    return as_counts(found)


def complete(b: FoodBusiness) -> bool:
    """The fields a business record must have (主体数据归集): name, area, type, licence or
    credit code, scale, assignment grade and status."""
    return bool(b.name and (b.licence_no or b.uscc) and b.scale and b.grade and b.status)


def _data(k: KpiInput) -> CountsMap:
    found: dict[str, list[int]] = {}
    for b in k.in_scope:
        add_counts(found, b.area_code, complete(b), 1)
    return as_counts(found)


def _rectified(k: KpiInput) -> CountsMap:
    found: dict[str, list[int]] = {}
    for p in k.uow.problems.stream(within=k.within):
        if p.found_on in k.period and p.found_on <= k.as_of:
            add_counts(found, p.area_code, p.status is ProblemStatus.CLOSED, 1)
    return as_counts(found)


def _overdue(k: KpiInput) -> CountsMap:
    found: dict[str, list[int]] = {}
    for p in k.uow.problems.stream(within=k.within):
        if p.status is not ProblemStatus.CLOSED:
            add_counts(
                found, p.area_code, p.status in OPEN_WITH_DEADLINE and p.overdue_on(k.as_of), 1
            )
    return as_counts(found)


def _routine(kind: DutyKind) -> Counter:
    def count(k: KpiInput) -> CountsMap:
        end = min(k.period.end, k.as_of)
        found: dict[str, list[int]] = {}
        if end < k.period.start:
            return {}
        first = Period.containing(kind.period_kind, k.period.start)
        filed: dict[str, list[DutyRecord]] = {}
        for r in k.uow.duties.stream(kind=kind, between=(first.start, end), within=k.within):
            filed.setdefault(r.business_key, []).append(r)
        every = duty_compliance((), kind, k.period.start, end).due
        for b in k.in_scope:
            mine = filed.get(b.key, [])
            if kind is DutyKind.DAILY and b.status is not OperatingStatus.OPERATING:
                days = functools.partial(owes_daily_record, b)
                c = duty_compliance(mine, kind, k.period.start, end, operating_days=days)
                add_counts(found, b.area_code, c.kept, c.due)
            else:
                add_counts(found, b.area_code, len({r.period for r in mine}), every)
        return as_counts(found)

    return count


def _spec(
    name: str, zh: str, en: str, num: str, den: str, d_zh: str, d_en: str, direction: Direction = UP
) -> KpiSpec:
    return KpiSpec(name, zh, en, num, den, direction, d_zh, d_en)


NATIONAL: tuple[Kpi, ...] = (
    Kpi(
        _spec(
            "coverage",
            "包保覆盖率",
            "assignment coverage",
            "有包保干部的主体",
            "在营、停业主体",
            "统计日在营或停业的获证主体中，有在岗包保干部的比例。目标100%。",
            "Share of operating or suspended businesses held by a cadre on the day. Target 100%.",
        ),
        _coverage,
    ),
    Kpi(
        _spec(
            "task_completion",
            "督导任务完成率",
            "supervision completion",
            "已完成任务",
            "应完成任务（不含豁免）",
            "本期应完成的督导任务中已由当日包保干部完成的比例，停业豁免的任务不计。目标100%。",
            "Share of the period's supervision tasks done, exempt tasks left out. Target 100%.",
        ),
        _tasks,
    ),
    Kpi(
        _spec(
            "letters_signed",
            "承诺书签订率",
            "letters signed",
            "承诺书有效的干部",
            "在岗包保干部",
            "在岗包保干部中持有本年度有效（一年内签订）承诺书的比例。目标100%。",
            "Share of active cadres holding a valid letter for the year. Target 100%.",
        ),
        _letters,
    ),
    Kpi(
        _spec(
            "director_staffed",
            "食品安全总监配备率",
            "directors appointed",
            "已配备总监的主体",
            "须配备总监的主体",
            "按当日有效的主体责任规定须配备食品安全总监的主体中，已配备的比例。",
            "Share of businesses the dated rules require to have a director that have one.",
        ),
        _director,
    ),
    Kpi(
        _spec(
            "officer_staffed",
            "食品安全员配备率",
            "officers appointed",
            "已配备安全员的主体",
            "在营、停业主体",
            "在营、停业主体中已配备食品安全员的比例。目标100%。",
            "Share of operating or suspended businesses with a food safety officer.",
        ),
        _officer,
    ),
    Kpi(
        _spec(
            "data_complete",
            "主体数据归集率",
            "business data complete",
            "必填信息完整的主体",
            "在营、停业主体",
            "主体名称、区划、业态、许可证或信用代码、规模、包保等级、经营状态均已填写的比例。",
            "Share of businesses whose required fields are all filled in.",
        ),
        _data,
    ),
    Kpi(
        _spec(
            "rectification",
            "问题整改率",
            "problems rectified",
            "已销号问题",
            "本期发现的问题",
            "本期发现的问题中，截至统计日已验证销号的比例。目标100%。",
            "Share of the period's problems closed after verification by the day.",
        ),
        _rectified,
    ),
    Kpi(
        _spec(
            "overdue_problems",
            "逾期未整改问题",
            "overdue problems",
            "逾期问题",
            "未销号问题",
            "未销号问题中整改期限已过的数量及比例，越低越好。",
            "Open problems past their deadline, and their share; lower is better.",
            DOWN,
        ),
        _overdue,
    ),
    *(
        Kpi(
            _spec(
                f"{kind.value}_routine",
                f"{kind.zh}落实率",
                f"{kind.en} kept",
                "已填报的周期",
                "应填报的周期",
                f"在营、停业主体本期应有的{kind.zh}记录中已填报的比例（停业日不计）。",
                f"Share of due {kind.en} records filed in the period.",
            ),
            _routine(kind),
        )  # type: ignore[arg-type]
        for kind in DutyKind
    ),
)


@hookimpl(trylast=True)
def twores_kpis() -> list[Kpi]:
    return list(NATIONAL)
