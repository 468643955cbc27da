"""The national KPI set (docs/sources.md, KPIs): every target is 100%, every value a pair of counts.

Counters read through the caller's scoped unit of work and count where the records sit
(the business's, task's, cadre's or problem's area); roll-ups sum them up the tree.
"""

from __future__ import annotations

import attrs

from twores.core.duties import DutyKind
from twores.core.kpis import Counter, Direction, Kpi, KpiInput, KpiSpec
from twores.core.kpis import Counts as CountsMap
from twores.plugins import hookimpl

UP, DOWN = Direction.HIGHER_IS_BETTER, Direction.LOWER_IS_BETTER


def _tally(numerator: int, denominator: int, name: str) -> Counter:
    """A counter of two fields of the shared business tally (one scan for all of them);
    areas with nothing to count are left out."""

    def count(k: KpiInput) -> CountsMap:
        return {a: (t[numerator], t[denominator]) for a, t in k.tallies.items() if t[denominator]}

    count.__qualname__ = name
    return count


_IN_SCOPE, _, _COVERED, _OFFICER, _COMPLETE, _REQUIRED, _HELD = range(7)
_coverage = _tally(_COVERED, _IN_SCOPE, "_coverage")
_director = _tally(_HELD, _REQUIRED, "_director")
_officer = _tally(_OFFICER, _IN_SCOPE, "_officer")
_data = _tally(_COMPLETE, _IN_SCOPE, "_data")


def _tasks(k: KpiInput) -> CountsMap:
    """The tasks of the periods within the one counted or holding its as-of day (a week's
    figure: the tasks of the quarter it is in that day, never those of the quarter before
    that the week also meets), done by a visit on or before the as-of day (a quarter's
    task done in September is not done as of the end of August)."""
    span = (k.period.start, k.period.end)
    return k.uow.tasks.completion_by_area(
        span, within=k.within, done_by=k.as_of, containing=k.as_of
    )


def _letters(k: KpiInput) -> CountsMap:
    return k.uow.kpi_counts.letters_signed(k.as_of, within=k.within)


def _rectified(k: KpiInput) -> CountsMap:
    span = (k.period.start, k.period.end)
    return k.uow.kpi_counts.rectification(span, k.as_of, within=k.within)


def _overdue(k: KpiInput) -> CountsMap:
    return k.uow.kpi_counts.overdue_problems(k.as_of, within=k.within)


def _routine(kind: DutyKind) -> Counter:
    def count(k: KpiInput) -> CountsMap:
        return k.routines[kind]

    count.__qualname__ = f"_routine_{kind.value}"
    return count


def _spec(
    name: str, zh: str, en: str, num: str, den: str, d_zh: str, d_en: str, direction: Direction = UP
) -> KpiSpec:
    num_en, den_en = _COUNTS_EN[name]
    return KpiSpec(
        name, zh, en, num, den, direction, d_zh, d_en, numerator_en=num_en, denominator_en=den_en
    )


#: What each national KPI's numerator and denominator count, in English.
_COUNTS_EN = {
    "coverage": ("businesses held by a cadre", "operating or suspended businesses"),
    "task_completion": ("tasks done", "tasks due (exempt ones left out)"),
    "letters_signed": ("cadres with a valid letter", "active cadres holding a business"),
    "director_staffed": ("businesses with a director", "businesses required to have one"),
    "officer_staffed": ("businesses with an officer", "operating or suspended businesses"),
    "data_complete": ("businesses with every required field", "operating or suspended businesses"),
    "rectification": ("problems closed", "problems found in the period"),
    "overdue_problems": ("problems past their deadline", "open problems"),
    **{f"{kind.value}_routine": ("periods filed", "periods due") for kind in DutyKind},
}


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
        frozenset({"business", "assignment"}),
    ),
    Kpi(
        _spec(
            "task_completion",
            "督导任务完成率",
            "supervision completion",
            "已完成任务",
            "应完成任务（不含豁免）",
            "与本期重叠的督导任务（周、日通报即所在季度的任务）中，截至统计日已由当日包保干部"
            "完成的比例，停业豁免的任务不计。目标100%。",
            "Share of the supervision tasks of the periods overlapping this one (a week's or a "
            "day's: its quarter's tasks) done by a visit on or before the day counted, exempt "
            "tasks left out. Target 100%.",
        ),
        _tasks,
        frozenset({"task"}),
    ),
    Kpi(
        _spec(
            "letters_signed",
            "承诺书签订率",
            "letters signed",
            "承诺书有效的干部",
            "有包保主体的在岗干部",
            "统计日有包保主体的在岗包保干部中，持有有效（一年内签订）承诺书的比例"
            "（市级、省级干部的包保主体分布在各县，均计入）。目标100%。",
            "Share of active cadres holding a business on the day who hold a letter signed "
            "within the past year; cadres above county level (their businesses lie in the "
            "counties) all count. Target 100%.",
        ),
        _letters,
        frozenset({"cadre", "letter", "assignment"}),
    ),
    Kpi(
        _spec(
            "director_staffed",
            "食品安全总监配备率",
            "directors appointed",
            "已配备总监的主体",
            "须配备总监的主体",
            "按当日有效的主体责任规定须配备食品安全总监的主体中，已配备的比例（处于禁业期的人员不计）。",
            "Share of businesses the dated rules require to have a director that have one "
            "(nobody under a ban counts).",
        ),
        _director,
        frozenset({"business"}),
    ),
    Kpi(
        _spec(
            "officer_staffed",
            "食品安全员配备率",
            "officers appointed",
            "已配备安全员的主体",
            "在营、停业主体",
            "在营、停业主体中已配备食品安全员的比例（处于禁业期的人员不计）。目标100%。",
            "Share of operating or suspended businesses with a food safety officer (nobody "
            "under a ban counts).",
        ),
        _officer,
        frozenset({"business"}),
    ),
    Kpi(
        _spec(
            "data_complete",
            "主体数据归集率",
            "business data complete",
            "必填信息完整的主体",
            "在营、停业主体",
            "统计日在营或停业的主体中，主体名称、区划、业态、许可证或信用代码、规模、包保等级、"
            "经营状态均已填写的比例。",
            "Share of operating or suspended businesses whose required fields are all filled in.",
        ),
        _data,
        frozenset({"business"}),
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
        frozenset({"problem"}),
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
        frozenset({"problem"}),
    ),
    *(
        Kpi(
            _spec(
                f"{kind.value}_routine",
                f"{kind.zh}落实率",
                f"{kind.en} kept",
                "已填报的周期",
                "应填报的周期",
                f"在营、停业主体本期应有的{kind.zh}记录中已填报的比例：周期结束后方计为应填报，"
                "开业前、停业后的周期不计。",
                f"Share of due {kind.en} records filed in the period: a day, week or month is "
                "due once it has ended, and none before the business opened or after it was "
                "suspended.",
            ),
            _routine(kind),
            frozenset({"business", "duty_record"}),
        )
        for kind in DutyKind
    ),
)


#: The national counters' version: 2 counts as of the day (visits', problems' and
#: businesses' statuses as they stood then); 3 leaves out businesses not yet opened, owes
#: a routine's period once it has ended, counts no banned director or officer, and takes
#: a letter signed within the year whatever year it is for; 4 counts a task done only by a
#: visit on or before the as-of day, whatever the period counted; 5 counts a task whose
#: period reaches outside the one counted only if it holds the as-of day; 6 counts in
#: letters_signed only cadres holding a business on the day.
VERSION = "6"
NATIONAL = tuple(attrs.evolve(kpi, version=VERSION) for kpi in NATIONAL)


@hookimpl(trylast=True)
def twores_kpis() -> list[Kpi]:
    return list(NATIONAL)
