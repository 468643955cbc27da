"""KPIs (指标): specs, values as (numerator, denominator), roll-ups and rankings.

A value is always a pair of counts. A parent area's value is the sum of its children's
numerators and denominators — never an average of their rates — and the rate is ``None``
when the denominator is 0.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import math
import numbers
import operator
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TypeVar

import attrs

from twores.core.areas import Hierarchy, Tier
from twores.core.businesses import FoodBusiness
from twores.core.duties import DutyKind
from twores.core.errors import InvalidChoiceError, PluginError, TworesError
from twores.core.labels import LabelledEnum
from twores.core.periods import Period

if TYPE_CHECKING:
    from twores.core.ports import UnitOfWork


class Direction(LabelledEnum):
    HIGHER_IS_BETTER = ("higher", "越高越好", "higher is better")
    LOWER_IS_BETTER = ("lower", "越低越好", "lower is better")


#: The kinds of record a counter may read (``Kpi.reads``): a write to one of them makes
#: the stored counts of every KPI that reads it stale.
RECORD_KINDS = frozenset(
    {"business", "assignment", "cadre", "task", "visit", "letter", "duty_record", "problem"}
)


class KpiFault(NamedTuple):
    """A field of a KPI that later code cannot use: its name, its value, and why (zh, en)."""

    field: str
    value: object
    why_zh: str
    why_en: str

    @property
    def shown(self) -> str:
        """The value's repr, cut to 80 characters."""
        text = repr(self.value)
        return text if len(text) <= 80 else f"{text[:77]}..."


class InvalidKpiError(ValueError):
    """A :class:`KpiSpec` or :class:`Kpi` made with a field later code cannot use. The plugin
    manager reports it as a :class:`PluginError` naming the plugin whose hook made it."""

    def __init__(self, kpi: str, fault: KpiFault) -> None:
        self.kpi, self.fault = kpi, fault
        super().__init__(f"{self.message_zh} | {self.message_en}")

    @property
    def message_zh(self) -> str:
        f = self.fault
        return f"指标 {self.kpi} 的 {f.field} 为 {f.shown}：{f.why_zh}"

    @property
    def message_en(self) -> str:
        f = self.fault
        return f"KPI {self.kpi} has {f.field} {f.shown}: {f.why_en}"


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_weight(value: object) -> bool:
    """A weight rankings can add, store and show: an int or float, finite, at least 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value) and value >= 0
    except OverflowError:  # an int too large for a float
        return False


def _as_weight(value: object) -> object:
    """A weight as rankings keep it: a ``Fraction`` (or ``Decimal``...) as the nearest
    float; an int or a float as it is (anything else is left for the check to refuse)."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool | int | float):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return value
    return value


def _as_reads(value: Any) -> Any:
    """``reads`` as a frozenset (a set, list or tuple of record kinds is one)."""
    if isinstance(value, set | list | tuple):
        return frozenset(value)
    return value


_TEXT = (_is_text, "应为非空文字", "must be non-empty text")
_MAYBE_TEXT = (lambda v: isinstance(v, str), "应为文字（可为空）", "must be text (may be empty)")
_KINDS = "、".join(sorted(RECORD_KINDS)), ", ".join(sorted(RECORD_KINDS))

#: field -> (check, why in zh, why in en), for the fields of KpiSpec and of Kpi.
_KPI_CHECKS: dict[str, tuple[Callable[[object], bool], str, str]] = {
    "name": _TEXT,
    "zh": _TEXT,
    "en": _TEXT,
    "numerator_zh": _TEXT,
    "denominator_zh": _TEXT,
    "direction": (
        lambda v: isinstance(v, Direction),
        "应为 Direction.HIGHER_IS_BETTER 或 Direction.LOWER_IS_BETTER",
        "must be Direction.HIGHER_IS_BETTER or Direction.LOWER_IS_BETTER",
    ),
    "definition_zh": _TEXT,
    "definition_en": _TEXT,
    "weight": (
        _is_weight,
        "排名权重应为有限的非负数（整数、小数或分数；0 表示不参与排名）",
        "a ranking weight must be a finite number >= 0 (an int, float or Fraction; 0 leaves "
        "the KPI out of rankings)",
    ),
    "numerator_en": _MAYBE_TEXT,
    "denominator_en": _MAYBE_TEXT,
    "spec": (lambda v: isinstance(v, KpiSpec), "应为 KpiSpec", "must be a KpiSpec"),
    "count": (callable, "应为计数函数（可调用）", "must be a callable counter"),
    "reads": (
        lambda v: v is None or (isinstance(v, frozenset) and v <= RECORD_KINDS),
        f"应为 None（读取任何记录）或以下记录种类的集合：{_KINDS[0]}",
        f"must be None (reads any record) or a set of record kinds among: {_KINDS[1]}",
    ),
    "per_county": (lambda v: isinstance(v, bool), "应为 True 或 False", "must be True or False"),
    "version": _MAYBE_TEXT,
    "plugin": _MAYBE_TEXT,
}


def kpi_name(instance: object) -> str:
    """The name a fault of ``instance`` (a KpiSpec or a Kpi) is reported under: its own,
    or the repr of what stands for it when that is no text."""
    name: object = getattr(getattr(instance, "spec", instance), "name", None)
    return name if isinstance(name, str) and name.strip() else repr(name)


def _check_kpi_field(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check, why_zh, why_en = _KPI_CHECKS[attribute.name]
    if not check(value):
        raise InvalidKpiError(kpi_name(instance), KpiFault(attribute.name, value, why_zh, why_en))


def kpi_fault(kpi: object) -> KpiFault | None:
    """The first field of ``kpi`` (its spec's first) that later code cannot use, else None:
    what the attrs validators refuse, checked again on what a plugin returned (a record
    changed after it was made is checked too)."""
    spec = getattr(kpi, "spec", None)
    fields = [
        (kpi, "spec"),  # first: the spec's own fields are read only from a KpiSpec
        *((spec, field.name) for field in attrs.fields(KpiSpec)),
        *((kpi, field.name) for field in attrs.fields(Kpi) if field.name != "spec"),
    ]
    for owner, name in fields:
        value = getattr(owner, name, None)
        check, why_zh, why_en = _KPI_CHECKS[name]
        if not check(value):
            return KpiFault(name, value, why_zh, why_en)
    return None


@attrs.frozen
class KpiSpec:
    """One indicator: what it counts, which way is good, and how much it weighs in rankings.

    Every field is checked as the spec is made (:class:`InvalidKpiError`): the texts
    non-empty (the English counts may be empty), ``direction`` a :class:`Direction`,
    ``weight`` a finite number ``>= 0`` (a ``Fraction`` is kept as the nearest float)."""

    name: str = attrs.field(validator=_check_kpi_field)
    zh: str = attrs.field(validator=_check_kpi_field)
    en: str = attrs.field(validator=_check_kpi_field)
    numerator_zh: str = attrs.field(validator=_check_kpi_field)
    denominator_zh: str = attrs.field(validator=_check_kpi_field)
    direction: Direction = attrs.field(validator=_check_kpi_field)
    definition_zh: str = attrs.field(validator=_check_kpi_field)
    definition_en: str = attrs.field(validator=_check_kpi_field)
    weight: float = attrs.field(default=1.0, converter=_as_weight, validator=_check_kpi_field)
    numerator_en: str = attrs.field(default="", validator=_check_kpi_field)
    denominator_en: str = attrs.field(default="", validator=_check_kpi_field)

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en

    def counts(self, lang: str = "zh") -> tuple[str, str]:
        """What the numerator and the denominator count (Chinese where no English is given)."""
        if lang == "zh" or not self.numerator_en:
            return self.numerator_zh, self.denominator_zh
        return self.numerator_en, self.denominator_en or self.denominator_zh

    def definition(self, lang: str = "zh") -> str:
        return self.definition_zh if lang == "zh" else self.definition_en


def unknown_kpi(field: str, value: object, specs: Iterable[KpiSpec]) -> InvalidChoiceError:
    """The error for a KPI name (``value``, of ``field``) not among ``specs``: it lists the
    known names, each with its label (a misspelt name would otherwise read as 0 of 0)."""
    known = list(specs)
    zh = "、".join(f"{s.name}（{s.zh}）" for s in known) or "（无）"
    en = ", ".join(f"{s.name} ({s.en})" for s in known) or "(none)"
    return InvalidChoiceError(
        field, value, f"不是已知指标，应为以下之一：{zh}", f"no such KPI; expected one of: {en}"
    )


@attrs.frozen(order=True)
class KpiValue:
    """``numerator`` of ``denominator`` for one KPI, area and period."""

    kpi: str
    area_code: str
    period: str
    numerator: int = 0
    denominator: int = 0

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def __add__(self, other: KpiValue) -> KpiValue:
        return attrs.evolve(
            self,
            numerator=self.numerator + other.numerator,
            denominator=self.denominator + other.denominator,
        )


Counts = Mapping[str, tuple[int, int]]


def roll_up(kpi: str, period: str, leaves: Counts, hierarchy: Hierarchy) -> dict[str, KpiValue]:
    """Every area's value from counts at the areas where records sit: each area gets the
    sum over the records in its subtree (summed bottom-up, each area once)."""
    return dict(roll_ups(period, {kpi: leaves}, hierarchy)[kpi])


def roll_ups(
    period: str, leaves: Mapping[str, Counts], hierarchy: Hierarchy, top: str | None = None
) -> dict[str, RolledUp]:
    """:func:`roll_up` of several KPIs in one bottom-up pass: each area holds one row of
    (numerator, denominator, leaves below) per KPI, added to its parent's in one step.

    ``top``: the area whose subtree was counted (None: everywhere); nothing above it gets a
    value, since a subtree's counts say nothing of its parent's."""
    up = hierarchy.up()
    totals: dict[str, list[int]] = {}
    by_depth: dict[int, list[str]] = defaultdict(list)
    width = 3 * len(leaves)
    for i, counts in enumerate(leaves.values()):
        for area_code, (numerator, denominator) in counts.items():
            row = totals.get(area_code)
            if row is None:
                if area_code not in up:
                    hierarchy[area_code]  # raises UnknownAreaError
                row = totals[area_code] = [0] * width
                by_depth[up[area_code][0]].append(area_code)
            row[3 * i : 3 * i + 3] = (numerator, denominator, 1)
    for depth in range(max(by_depth, default=0), 0, -1):
        for code in by_depth.get(depth, ()):
            parent = up[code][1]
            if parent is None or code == top:
                continue
            above = totals.get(parent)
            if above is None:
                totals[parent] = totals[code][:]
                by_depth[depth - 1].append(parent)
            else:
                totals[parent] = list(map(operator.add, above, totals[code]))
    codes = sorted(totals)
    return {kpi: RolledUp(kpi, period, totals, 3 * i, codes) for i, kpi in enumerate(leaves)}


class RolledUp(Mapping[str, KpiValue]):
    """One KPI's values by area code (in code order) from a roll-up's rows of counts; each
    :class:`KpiValue` is made when it is read (a province has ~16k areas per KPI, and a
    query mostly reads a few of them)."""

    __slots__ = ("_at", "_codes", "_kpi", "_period", "_rows")

    def __init__(
        self, kpi: str, period: str, rows: Mapping[str, list[int]], at: int, codes: list[str]
    ) -> None:
        self._kpi, self._period, self._rows, self._at = kpi, period, rows, at
        self._codes = [c for c in codes if rows[c][at + 2]]  # areas with records below

    def __getitem__(self, area_code: str) -> KpiValue:
        row = self._rows.get(area_code)
        if row is None or not row[self._at + 2]:
            raise KeyError(area_code)
        return KpiValue(self._kpi, area_code, self._period, row[self._at], row[self._at + 1])

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def __repr__(self) -> str:
        return f"RolledUp({self._kpi!r}, {len(self)} areas)"


# --- rankings ---------------------------------------------------------------------------


@attrs.frozen
class RankedArea:
    area_code: str
    rank: int
    score: float | None
    rates: tuple[tuple[str, float | None], ...]
    #: Places moved up since the previous run (negative: down); None when new.
    movement: int | None = None


class RunKind(LabelledEnum):
    """What a ranking run was made for; each is compared with the run before it of its
    own kind (a weekly bulletin with last week's, not with today's dispatch)."""

    RANKING = ("ranking", "排名", "ranking")
    DAILY = ("daily", "日调度", "daily dispatch")
    WEEKLY = ("weekly", "周通报", "weekly bulletin")


@attrs.frozen
class Ranking:
    """Sibling areas ordered by a weighted composite of KPI rates.

    Normalisation: each rate is in [0, 1]; a lower-is-better KPI counts as ``1 - rate``;
    a KPI with no denominator in an area is left out of that area's weighted mean.
    Ties: equal scores share the better rank, then order by area code.
    """

    parent: str
    period: str
    kpis: tuple[tuple[str, float], ...]
    areas: tuple[RankedArea, ...]
    inputs_hash: str
    #: The day the counts describe (None: a run stored before runs kept it).
    as_of: date | None = None
    kind: RunKind = RunKind.RANKING
    #: The inputs hash of the run the movements are counted against (None: none).
    compared_with: str | None = None
    #: The rule sets in force (``name version``), part of the inputs hash.
    rule_versions: tuple[str, ...] = ()

    @property
    def period_kind(self) -> str:
        return str(Period.parse(self.period).kind.value)

    @property
    def order(self) -> tuple[date, date]:
        """Which of two runs is later: by period start, then as-of day (a week counted past
        its end still comes before the next week)."""
        return Period.parse(self.period).start, self.as_of or date.min

    def follows(self, earlier: Ranking) -> bool:
        """True when ``earlier`` is a run this one is compared with: the same parent, kind
        and kind of period, of an earlier period or of the same period as of an earlier
        day (:attr:`order`)."""
        return (
            earlier.parent == self.parent
            and earlier.kind is self.kind
            and earlier.period_kind == self.period_kind
            and earlier.as_of is not None
            and self.as_of is not None
            and earlier.order < self.order
        )


def composite(
    rates: Mapping[str, float | Fraction | None], specs: Mapping[str, KpiSpec]
) -> float | None:
    """The weighted mean of the rates, as shown and stored (to 12 decimals)."""
    exact = exact_composite(rates, specs)
    return None if exact is None else round(float(exact), 12)


_Rate = TypeVar("_Rate", float, Fraction)


def goodness(rate: _Rate, spec: KpiSpec) -> _Rate:
    """``rate`` as higher-is-better: itself, or 1 − rate (at least 0) for a KPI where lower
    is better."""
    if spec.direction is Direction.HIGHER_IS_BETTER:
        return rate
    return max(1 - rate, rate * 0)  # 0 of the rate's own type


def exact_composite(
    rates: Mapping[str, float | Fraction | None], specs: Mapping[str, KpiSpec]
) -> Fraction | None:
    """:func:`composite` in exact arithmetic, whatever the order of the KPIs: equal inputs
    give equal scores (ranks compare these)."""
    total = weight = Fraction(0)
    for name, spec in specs.items():
        rate = rates.get(name)
        if rate is None or spec.weight <= 0:
            continue
        total += Fraction(spec.weight) * goodness(Fraction(rate), spec)
        weight += Fraction(spec.weight)
    return total / weight if weight else None


def _order(v: KpiValue) -> tuple[str, str, str, int, int]:
    return (v.kpi, v.area_code, v.period, v.numerator, v.denominator)


def rank_areas(
    parent: str,
    period: str,
    values: Iterable[KpiValue],
    specs: Mapping[str, KpiSpec],
    *,
    rule_versions: Sequence[str] = (),
    previous: Ranking | None = None,
    as_of: date | None = None,
    kind: RunKind = RunKind.RANKING,
) -> Ranking:
    """Rank the children whose values are given; deterministic for any input order."""
    by_area: dict[str, dict[str, float | None]] = defaultdict(dict)
    exact: dict[str, dict[str, Fraction | None]] = defaultdict(dict)
    facts = []
    for v in sorted(values, key=_order):  # KpiValue's own order, without attrs' __lt__
        if v.kpi in specs:
            by_area[v.area_code][v.kpi] = v.rate
            exact[v.area_code][v.kpi] = (
                Fraction(v.numerator, v.denominator) if v.denominator else None
            )
            facts.append([v.kpi, v.area_code, v.numerator, v.denominator])
    scored = sorted(
        ((exact_composite(rates, specs), code) for code, rates in exact.items()),
        key=lambda s: (s[0] is None, -(s[0] or 0), s[1]),
    )
    before = {a.area_code: a.rank for a in previous.areas} if previous else {}
    ranked: list[RankedArea] = []
    last: Fraction | None = None
    for position, (score, code) in enumerate(scored, 1):
        rank = ranked[-1].rank if ranked and last == score else position
        rates = tuple(sorted(by_area[code].items()))
        moved = before[code] - rank if code in before else None
        shown = None if score is None else round(float(score), 12)
        ranked.append(RankedArea(code, rank, shown, rates, moved))
        last = score
    weights = tuple(sorted((n, s.weight) for n, s in specs.items()))
    payload = json.dumps(
        {
            "parent": parent,
            "period": period,
            "as_of": None if as_of is None else as_of.isoformat(),
            "kind": kind.value,
            "weights": weights,
            "directions": sorted((n, s.direction.value) for n, s in specs.items()),
            "facts": facts,
            "rules": sorted(rule_versions),
        },
        ensure_ascii=False,
    )
    digest = hashlib.sha256(payload.encode()).hexdigest()
    compared_with = previous.inputs_hash if previous else None
    return Ranking(
        parent,
        period,
        weights,
        tuple(ranked),
        digest,
        as_of,
        kind,
        compared_with,
        tuple(sorted(rule_versions)),
    )


# --- computing -------------------------------------------------------------------------


class BusinessTally(NamedTuple):
    """One area's in-scope businesses (operating or suspended) and how many of them are
    held by a cadre, have an officer, have their required fields, must have a director,
    and must have and have one. Counted in one pass for every KPI that reads them."""

    in_scope: int
    operating: int
    covered: int
    officer: int
    complete: int
    director_required: int
    director_held: int


@attrs.frozen
class KpiInput:
    """What a counter may read: a scoped unit of work, the period, the as-of day, and the
    director rule (a dated plugin decision; ``director_reads_area``: some rule reads the
    area, so it is asked per area too).

    One input is shared by every counter of a query; the counts several national KPIs read
    (:attr:`tallies`, :attr:`routines`) are counted once per input."""

    uow: UnitOfWork
    period: Period
    as_of: date
    within: str | None
    director_required: Callable[[FoodBusiness, date], bool]
    director_reads_area: bool = True
    #: Whether the as-of day is over: a routine period is owed once it has ended, so on a
    #: day still running (today) its own daily record is not owed yet.
    day_over: bool = True

    @functools.cached_property
    def in_scope(self) -> tuple[FoodBusiness, ...]:
        """The businesses open, and operating or suspended, on the as-of day, read once for
        every counter."""
        found = self.uow.businesses.stream(within=self.within)
        return tuple(b for b in found if b.in_scope_on(self.as_of))

    @functools.cached_property
    def tallies(self) -> dict[str, BusinessTally]:
        """Per area where businesses sit: their :class:`BusinessTally` on the as-of day."""
        return self.uow.kpi_counts.businesses(
            self.as_of,
            self.director_required,
            within=self.within,
            by_area=self.director_reads_area,
        )

    @functools.cached_property
    def routines(self) -> Mapping[DutyKind, Counts]:
        """(periods filed, periods due) of each routine, from the period's start to the
        as-of day (to the day before, while that day is not over)."""
        last = self.as_of if self.day_over else self.as_of - timedelta(days=1)
        span = (self.period.start, min(self.period.end, last))
        return self.uow.kpi_counts.routines(dict.fromkeys(DutyKind, span), within=self.within)


#: area code where the records sit -> (numerator, denominator)
Counter = Callable[[KpiInput], Counts]


def checked_counts(kpi: Kpi, counts: object, hierarchy: Hierarchy) -> Counts:
    """``counts`` as ``kpi``'s counter returned them, once each is a pair of whole numbers
    ``0 <= numerator <= denominator`` for an area of ``hierarchy``; else an error naming the
    KPI and its counter (a plugin's bad counts never reach a rate, a ranking or a summary)."""
    if not isinstance(counts, Mapping):
        _bad_counts(kpi, f"{type(counts).__name__}", "应为 {区划代码: (分子, 分母)}", "a mapping")
    if counts.keys() <= hierarchy.codes and all(map(_is_pair, counts.values())):
        return counts
    for area, value in counts.items():
        if not isinstance(area, str) or area not in hierarchy:
            _bad_counts(kpi, repr(area), "不是已知区划", "is no known area")
        if not _is_pair(value):
            _bad_counts(
                kpi,
                f"{area}: {value!r}",
                "应为整数 (分子, 分母)，且 0 ≤ 分子 ≤ 分母",
                "must be whole numbers (numerator, denominator), 0 <= numerator <= denominator",
            )
    return counts


def _is_pair(value: object) -> bool:
    """Whether ``value`` is (numerator, denominator): whole numbers, 0 <= n <= d."""
    return (
        type(value) is tuple
        and len(value) == 2
        and type(value[0]) is int
        and type(value[1]) is int
        and 0 <= value[0] <= value[1]
    )


#: Where a database's own errors come from (a counter reading the store may meet them).
_STORAGE_DRIVERS = frozenset({"sqlalchemy", "sqlite3", "psycopg"})


def counted(kpi: Kpi, facts: KpiInput, hierarchy: Hierarchy) -> Counts:
    """``kpi``'s checked counts of ``facts``. A counter that fails is named with its KPI;
    a :class:`TworesError` it raises on purpose (a scope error, say) passes unchanged."""
    try:
        counts = kpi.count(facts)
    except TworesError:
        raise
    except Exception as error:
        if type(error).__module__.partition(".")[0] in _STORAGE_DRIVERS:
            raise  # the database failed, not the counter: said as such by the caller
        counter, failure = _counter(kpi), f"{type(error).__name__}: {error}"
        raise PluginError(
            f"指标 {kpi.spec.name} 的计数函数 {counter} 出错：{failure}",
            f"the counter {counter} of KPI {kpi.spec.name} failed: {failure}",
        ) from error
    return checked_counts(kpi, counts, hierarchy)


def _counter(kpi: Kpi) -> str:
    """The KPI's counter, as ``module.name``."""
    count = kpi.count
    return f"{getattr(count, '__module__', '?')}.{getattr(count, '__qualname__', '?')}"


def _bad_counts(kpi: Kpi, shown: str, why_zh: str, why_en: str) -> NoReturn:
    counter = _counter(kpi)
    raise PluginError(
        f"指标 {kpi.spec.name} 的计数函数 {counter} 返回了 {shown}：{why_zh}",
        f"the counter {counter} of KPI {kpi.spec.name} returned {shown}: {why_en}",
    )


@attrs.frozen
class Kpi:
    """A spec and the counter that computes it (registered through ``twores_kpis``).

    A backend may keep a KPI's counts per county in a summary table and recount a county
    only after a write to it. ``reads`` names the records the counter reads (``business``,
    ``assignment``, ``cadre``, ``task``, ``visit``, ``letter``, ``duty_record``,
    ``problem``; None: any); ``per_county`` says a county's counts depend only on rows
    filed in that county (False: never summarised, always counted afresh).

    Checked as it is made, like its spec (:class:`InvalidKpiError`): ``count`` callable,
    ``reads`` None or record kinds of :data:`RECORD_KINDS` (a set or list is kept as a
    frozenset; a kind misspelt would never make the stored counts stale), ``per_county``
    a bool, ``version`` text.
    """

    spec: KpiSpec = attrs.field(validator=_check_kpi_field)
    count: Counter = attrs.field(validator=_check_kpi_field)
    reads: frozenset[str] | None = attrs.field(
        default=None, converter=_as_reads, validator=_check_kpi_field
    )
    per_county: bool = attrs.field(default=True, validator=_check_kpi_field)
    #: Bumped by the KPI's author whenever the counter counts differently.
    version: str = attrs.field(default="", validator=_check_kpi_field)
    #: The plugin whose ``twores_kpis`` registered the definition in force (set by the
    #: plugin manager's ``kpis()``; "" for a KPI not read from it). Not part of equality.
    plugin: str = attrs.field(default="", eq=False, validator=_check_kpi_field)

    @property
    def counter_id(self) -> str:
        """Names the counter, the release of the package that ships it and the KPI's own
        version, so a summary counted by a replaced, upgraded or revised counter is never
        reused."""
        count = self.count
        module = getattr(count, "__module__", None) or "?"
        name = f"{module}.{getattr(count, '__qualname__', '?')}"
        return f"{name}|{_release_of(module)}|{self.version}"


@functools.cache
def _release_of(module: str) -> str:
    """The version of the distribution that provides ``module`` (its top-level package's
    ``__version__`` for an editable install, which the metadata does not map; "" if
    neither is known)."""
    top = module.partition(".")[0]
    for distribution in importlib.metadata.packages_distributions().get(top, ()):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return f"{distribution} {importlib.metadata.version(distribution)}"
    package = sys.modules.get(top)
    return str(getattr(package, "__version__", ""))


def county_key(hierarchy: Hierarchy, area_code: str) -> str:
    """The county an area lies in, or the area itself above county level (the storage
    distribution key, ``county_code``)."""
    return hierarchy.ancestor_codes(area_code).get(Tier.COUNTY, area_code)


def add_counts(
    found: dict[str, list[int]], area_code: str, numerator: int, denominator: int
) -> None:
    counts = found.setdefault(area_code, [0, 0])
    counts[0] += numerator
    counts[1] += denominator


def as_counts(found: Mapping[str, list[int]]) -> dict[str, tuple[int, int]]:
    return {code: (n, d) for code, (n, d) in found.items()}


@attrs.frozen
class RankingRun:
    """A stored ranking: reproducible from its inputs, compared with the run before it."""

    ranking: Ranking
    created_at: str
    actor: str

    @property
    def key(self) -> str:
        return self.ranking.inputs_hash
