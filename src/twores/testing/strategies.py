"""Hypothesis strategies for twores domain types, in Hypothesis' house style.

Plural names, keyword-only arguments that take strategies, and valid data built
constructively (never filtered): every value drawn passes the domain's own validation.

    from hypothesis import given
    from twores.testing import strategies as tst

    @given(tst.hierarchies(max_tier=tst.Tier.TOWNSHIP))
    def test_every_path_starts_at_a_root(hierarchy):
        ...
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st
from stdnum.cn import uscc

from twores.core.areas import CODE_LENGTHS, Area, Hierarchy, Tier
from twores.core.assignment import Assignment, AssignmentReason
from twores.core.businesses import (
    LICENSED_PREFIX,
    PROVINCE_CODES,
    BusinessType,
    CanteenKind,
    FoodBusiness,
    Grade,
    OperatingStatus,
    RiskLevel,
    Scale,
    Staff,
    StaffMember,
)
from twores.core.cadres import Cadre
from twores.core.periods import Frequency, Period, PeriodKind
from twores.core.roster import (
    BusinessCloses,
    BusinessMoves,
    BusinessOpens,
    BusinessRegraded,
    CadreJoins,
    CadreLeaves,
    CadreMoves,
    Roster,
    RosterChange,
    RuleBook,
)
from twores.core.rules import Rule, RuleSet
from twores.plugins.builtin.national import TIER_FOR_GRADE_TABLE

__all__ = [
    "DEFAULT_DAY",
    "Tier",
    "areas",
    "assignments",
    "businesses",
    "cadres",
    "credit_codes",
    "frequencies",
    "hierarchies",
    "licence_numbers",
    "periods",
    "region_rosters",
    "roster_changes",
    "rosters",
    "rule_sets",
    "rules",
    "staff_members",
]

_NAME_CHARS = "东南西北中新安平和兴华山水河湖林石桥溪田龙凤金银城关坪塘岭岗洲头江口"
_TIER_SUFFIX = {
    Tier.PROVINCE: "省",
    Tier.CITY: "市",
    Tier.COUNTY: "县",
    Tier.TOWNSHIP: "镇",
    Tier.VILLAGE: "村",
}
_SEGMENT_WIDTH = {Tier.CITY: 2, Tier.COUNTY: 2, Tier.TOWNSHIP: 3, Tier.VILLAGE: 3}
_DAY_MIN = date(2015, 1, 1)
_DAY_MAX = date(2030, 12, 31)
T = TypeVar("T")


#: Provinces a tree is drawn in (台湾, 香港 and 澳门 keep no tiers below them here).
DRAWN_PROVINCES = PROVINCE_CODES - {"71", "81", "82"}


def _check_under(under: str, max_tier: Tier) -> None:
    """``under`` names an area a tree can hold: a statistical code of a drawn province,
    each segment non-zero, no deeper than ``max_tier``."""
    tier = Tier.for_code(under)
    if tier is None or under[:2] not in DRAWN_PROVINCES:
        raise ValueError(
            f"under={under!r} must be a statistical area code (2, 4, 6, 9 or 12 digits) of a "
            f"province the trees are drawn in ({', '.join(sorted(DRAWN_PROVINCES))})"
        )
    ends = [n for n in CODE_LENGTHS if n <= len(under)]
    if any(int(under[start:end]) == 0 for start, end in itertools.pairwise(ends)):
        raise ValueError(f"under={under!r}: a segment of 0s names no area")
    if tier.depth > max_tier.depth:
        raise ValueError(f"under={under!r} is a {tier.value}, below max_tier={max_tier.value}")


def _check_tier_range(min_tier: Tier, max_tier: Tier) -> None:
    if max_tier.depth < min_tier.depth:
        raise ValueError(f"max_tier={max_tier.value} is above min_tier={min_tier.value}")


@functools.cache  # one strategy per tier: hierarchies() draws a name for every area
def place_names(*, tier: Tier) -> st.SearchStrategy[str]:
    """Chinese place names ending in the tier's usual suffix."""
    return st.text(alphabet=_NAME_CHARS, min_size=2, max_size=4).map(
        lambda s: s + _TIER_SUFFIX[tier]
    )


@st.composite
def hierarchies(
    draw: st.DrawFn,
    *,
    max_tier: Tier = Tier.VILLAGE,
    max_children: int = 3,
    nonstandard: bool = True,
    under: str | None = None,
) -> Hierarchy:
    """A consistent hierarchy rooted at one province, down to ``max_tier`` (at least one
    path reaches it; others may stop higher).

    Statistical codes nest by prefix; with ``nonstandard`` some units (development zones)
    get non-numeric codes and an explicit parent, and so do their descendants. With
    ``under`` (a statistical code, e.g. a region plugin's root ``"15"`` or ``"4503"``) the
    tree lies in that area's province and always holds that area and its path.
    """
    if max_children < 0:
        raise ValueError(f"max_children={max_children} must be >= 0")
    if under is not None:
        _check_under(under, max_tier)
    province = under[:2] if under else None
    root = Area(
        code=province or draw(st.sampled_from(sorted(DRAWN_PROVINCES))),
        name=draw(place_names(tier=Tier.PROVINCE)),
        tier=Tier.PROVINCE,
    )
    found = [root]
    frontier = [root]
    spine = {root.code}  # one path reaches ``max_tier``: its first child at each tier
    while frontier:
        parent = frontier.pop()
        tier = parent.tier.child
        if tier is None or tier.depth > max_tier.depth:
            continue
        width = _SEGMENT_WIDTH[tier]
        end = len(parent.code) + width
        # the next segment of ``under`` when this parent lies on its path
        forced = (
            int(under[len(parent.code) : end])
            if under and len(under) >= end and under.startswith(parent.code)
            else None
        )
        least = 1 if parent.code in spine or forced is not None else 0
        count = draw(st.integers(min_value=least, max_value=max(least, max_children)))
        segments = draw(
            st.lists(
                st.integers(min_value=1, max_value=10**width - 1).filter(
                    functools.partial(operator.ne, forced)
                ),
                min_size=count - (forced is not None),
                max_size=count - (forced is not None),
                unique=True,
            )
        )
        if forced is not None:
            segments.append(forced)
        for index, segment in enumerate(sorted(segments)):
            # 1 in 10, shrinking towards a standard area (readable, its tier in its code).
            # Drawn below a development zone too (where every child is one): otherwise a
            # zone's subtree costs fewer choices than a standard one, and the shrinker
            # would prefer zones.
            zone = nonstandard and draw(st.integers(0, 9)) == 9
            special = segment != forced and (not parent.is_standard or zone)
            if special:
                code = f"{parent.code}-Z{index}"
                child = Area(
                    code=code, name=draw(place_names(tier=tier)), tier=tier, parent_code=parent.code
                )
            else:
                code = f"{parent.code}{segment:0{width}d}"
                child = Area(code=code, name=draw(place_names(tier=tier)), tier=tier)
            found.append(child)
            frontier.append(child)
            if index == 0 and parent.code in spine:
                spine.add(child.code)
    return Hierarchy(found)


def areas(*, max_tier: Tier = Tier.VILLAGE) -> st.SearchStrategy[Area]:
    """Single valid areas (drawn from generated hierarchies, so parents are consistent)."""
    return hierarchies(max_tier=max_tier).flatmap(lambda h: st.sampled_from(list(h)))


def credit_codes(*, area_codes: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    """Valid unified social credit codes (check digit computed, never filtered)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    region = (
        area_codes.map(lambda c: (c + "000000")[:6] if c.isdigit() else "450323")
        if area_codes is not None
        else st.just("450323")
    )
    return st.builds(
        lambda kind, county, body: kind + county + body,
        st.sampled_from(["91", "92", "93", "12", "52"]),
        region,
        st.text(alphabet=alphabet, min_size=9, max_size=9),
    ).map(lambda body: body + uscc.calc_check_digit(body))


def licence_numbers(*, business_type: BusinessType) -> st.SearchStrategy[str]:
    """Valid licence numbers for the type (JY or SC + 14 digits with a real province)."""
    prefix = LICENSED_PREFIX.get(business_type) or "JY"
    province = st.sampled_from(sorted(PROVINCE_CODES))
    if prefix == "JY":
        return st.builds(
            lambda main, prov, rest: f"JY{main}{prov}{rest:011d}",
            st.integers(1, 3),
            province,
            st.integers(0, 10**11 - 1),
        )
    return st.builds(
        lambda category, prov, rest: f"SC{category:03d}{prov}{rest:09d}",
        st.integers(101, 131),
        province,
        st.integers(0, 10**9 - 1),
    )


@functools.cache
def _dates(*, min_value: date = _DAY_MIN, max_value: date = _DAY_MAX) -> st.SearchStrategy[date]:
    return st.dates(min_value=min_value, max_value=max_value)


@functools.cache
def _chinese_names() -> st.SearchStrategy[str]:
    return st.builds(
        lambda family, given: family + given,
        st.sampled_from("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗覃韦莫"),
        st.text(alphabet="伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂华", min_size=1, max_size=2),
    )


def _phones() -> st.SearchStrategy[str]:
    return st.builds(
        lambda p, n: f"1{p}{n:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1)
    )


def staff_members() -> st.SearchStrategy[StaffMember]:
    return st.builds(
        StaffMember,
        name=_chinese_names(),
        phone=st.none() | _phones(),
        banned_until=st.none() | _dates(),
    )


@st.composite
def businesses(
    draw: st.DrawFn,
    *,
    area_codes: st.SearchStrategy[str] | None = None,
    business_types: st.SearchStrategy[BusinessType] | None = None,
    grades: st.SearchStrategy[Grade | None] | None = None,
    statuses: st.SearchStrategy[OperatingStatus] | None = None,
) -> FoodBusiness:
    """Valid food businesses; each argument narrows one field."""
    business_type = draw(
        business_types if business_types is not None else st.sampled_from(BusinessType)
    )
    area_code = draw(
        area_codes
        if area_codes is not None
        else st.sampled_from(["450323101202", "450321100", "450323"])
    )
    has_licence = business_type not in (BusinessType.WORKSHOP, BusinessType.VENDOR) or draw(
        st.booleans()
    )
    licence = draw(licence_numbers(business_type=business_type)) if has_licence else None
    credit = (
        draw(credit_codes(area_codes=st.just(area_code)))
        if not licence or draw(st.booleans())
        else None
    )
    opened = draw(st.none() | _dates())
    since = draw(st.none() | _dates(min_value=opened or _DAY_MIN))
    canteen = business_type is BusinessType.CANTEEN
    return FoodBusiness(
        name=draw(st.text(alphabet=_NAME_CHARS, min_size=2, max_size=6)) + "食品店",
        area_code=area_code,
        business_type=business_type,
        licence_no=licence,
        uscc=credit,
        scale=draw(st.none() | st.sampled_from(Scale)),
        canteen_kind=draw(st.none() | st.sampled_from(CanteenKind)) if canteen else None,
        diners=draw(st.none() | st.integers(0, 5000)),
        chain_headquarters=draw(st.booleans()),
        status=draw(statuses if statuses is not None else st.sampled_from(OperatingStatus)),
        status_since=since,
        opened_on=opened,
        grade=draw(grades if grades is not None else st.none() | st.sampled_from(Grade)),
        risk_grade=draw(st.none() | st.sampled_from(RiskLevel)),
        staff=Staff(
            head=draw(st.none() | staff_members()),
            director=draw(st.none() | staff_members()),
            officer=draw(st.none() | staff_members()),
        ),
    )


@st.composite
def cadres(
    draw: st.DrawFn,
    *,
    jurisdictions: st.SearchStrategy[Area] | None = None,
    ids: st.SearchStrategy[str] | None = None,
) -> Cadre:
    """Valid cadres whose tier is their jurisdiction's tier."""
    area = draw(jurisdictions if jurisdictions is not None else areas(max_tier=Tier.VILLAGE))
    start = draw(st.none() | _dates(max_value=date(2029, 12, 31)))
    end = draw(st.none() | _dates(min_value=date.fromordinal((start or _DAY_MIN).toordinal() + 1)))
    return Cadre(
        id=draw(ids if ids is not None else st.from_regex(r"[a-z][a-z0-9]{3,11}", fullmatch=True)),
        name=draw(_chinese_names()),
        tier=area.tier,
        area_code=area.code,
        post=draw(
            st.none() | st.sampled_from(["村党支部书记", "镇长", "副县长", "市长", "村委委员"])
        ),
        phone=draw(st.none() | _phones()),
        active_from=start,
        active_to=end,
    )


@st.composite
def assignments(
    draw: st.DrawFn,
    *,
    cadre_ids: st.SearchStrategy[str] | None = None,
    business_keys: st.SearchStrategy[str] | None = None,
) -> Assignment:
    start = draw(_dates(max_value=date(2029, 12, 31)))
    end = draw(
        st.none()
        | st.integers(1, 2000).map(lambda days: date.fromordinal(start.toordinal() + days))
    )
    return Assignment(
        cadre_id=draw(
            cadre_ids
            if cadre_ids is not None
            else st.from_regex(r"[a-z][a-z0-9]{3,11}", fullmatch=True)
        ),
        business_key=draw(
            business_keys
            if business_keys is not None
            else licence_numbers(business_type=BusinessType.CATERING)
        ),
        valid_from=start,
        valid_to=end,
        reason=draw(st.sampled_from(AssignmentReason)),
    )


def periods(*, kinds: st.SearchStrategy[PeriodKind] | None = None) -> st.SearchStrategy[Period]:
    return st.builds(
        Period.containing, kinds if kinds is not None else st.sampled_from(PeriodKind), _dates()
    )


def frequencies() -> st.SearchStrategy[Frequency]:
    return st.builds(Frequency, st.sampled_from(PeriodKind), st.integers(1, 4))


def rules() -> st.SearchStrategy[Rule]:
    def build(rule_id: str, start: date | None, days: int | None) -> Rule:
        end = date.fromordinal(start.toordinal() + days) if start and days else None
        return Rule(rule_id, "规则", "rule", "来源", start, end)

    return st.builds(
        build,
        st.from_regex(r"[a-z]+\.[a-z]+", fullmatch=True),
        st.none() | _dates(),
        st.none() | st.integers(1, 3000),
    )


def rule_sets() -> st.SearchStrategy[RuleSet]:
    return st.builds(
        RuleSet,
        name=st.from_regex(r"[a-z_]{3,12}", fullmatch=True),
        version=st.from_regex(r"20[0-9]{2}\.[0-9]", fullmatch=True),
        title_zh=st.just("规则集"),
        title_en=st.just("rule set"),
        rules=st.lists(rules(), max_size=3, unique_by=lambda r: r.id).map(tuple),
        region=st.none() | st.sampled_from(sorted(PROVINCE_CODES)),
    )


#: Strategy for each domain type, for round-trip tests over every type.
DOMAIN_STRATEGIES: dict[type, Any] = {
    Area: areas(),
    FoodBusiness: businesses(),
    Staff: st.builds(Staff, head=st.none() | staff_members()),
    StaffMember: staff_members(),
    Cadre: cadres(),
    Assignment: assignments(),
    Period: periods(),
    Frequency: frequencies(),
    Rule: rules(),
    RuleSet: rule_sets(),
}


# --- rosters ----------------------------------------------------------------------------

#: The day generated rosters are planned on.
DEFAULT_DAY = date(2025, 6, 30)
_GRADE_WEIGHTS = (Grade.A, Grade.B, Grade.C, Grade.C, Grade.D, Grade.D, Grade.D, Grade.D)


def _licence_for(index: int, business_type: BusinessType, province: str) -> str:
    if LICENSED_PREFIX.get(business_type, "JY") == "SC":
        return f"SC101{province}{index:09d}"
    return f"JY1{province}{index:011d}"


# Built once: a roster draws dozens of businesses and cadres, and a strategy built anew for
# each draw is validated anew (a third of the time generating a roster went there).
_BUSINESS_TYPES = st.sampled_from(BusinessType)
_BUSINESS_NAMES = st.text(alphabet=_NAME_CHARS, min_size=2, max_size=4)
_SCALES = st.none() | st.sampled_from(Scale)
_STATUSES = st.sampled_from(
    [OperatingStatus.OPERATING] * 6 + [OperatingStatus.SUSPENDED, OperatingStatus.CLOSED]
)
_GRADES = st.sampled_from(_GRADE_WEIGHTS)


def _county_of(hierarchy: Hierarchy, code: str) -> str:
    """The county an area lies in (itself above county level), as stores file records."""
    county = hierarchy.ancestor(code, Tier.COUNTY)
    return county.code if county is not None else code


def _one_of(draw: st.DrawFn, choices: Sequence[T]) -> T:
    """One of ``choices``, shrinking towards the first (an index, so no strategy is built
    per list)."""
    return choices[draw(st.integers(0, len(choices) - 1))]


def _draw_roster_business(
    draw: st.DrawFn, *, index: int, areas: list[Area], province: str
) -> FoodBusiness:
    business_type = draw(_BUSINESS_TYPES)
    area = _one_of(draw, areas)
    return FoodBusiness(
        name=draw(_BUSINESS_NAMES) + "食品店",
        area_code=area.code,
        business_type=business_type,
        licence_no=_licence_for(index, business_type, province),
        scale=draw(_SCALES),
        status=draw(_STATUSES),
        grade=draw(_GRADES),
    )


def _draw_roster_cadre(draw: st.DrawFn, *, index: int, areas: list[Area], on: date) -> Cadre:
    area = _one_of(draw, areas)
    active = draw(st.integers(0, 9)) < 9  # 9 in 10, shrinking towards an active cadre
    return Cadre(
        id=f"c{index:04d}",
        name=draw(_chinese_names()),
        tier=area.tier,
        area_code=area.code,
        active_from=date(2020, 1, 1),
        active_to=None if active else draw(_dates(min_value=date(2020, 1, 2), max_value=on)),
    )


@st.composite
def rosters(
    draw: st.DrawFn,
    *,
    hierarchies: st.SearchStrategy[Hierarchy] | None = None,
    min_businesses: int = 0,
    max_businesses: int = 30,
    max_cadres: int = 15,
    assignments: bool = True,
    on: date = DEFAULT_DAY,
    rules: RuleBook | None = None,
) -> Roster:
    """Consistent rosters: areas, businesses and cadres in them, optionally assignments.

    Businesses carry a recorded grade (D-heavy) and sit at township or village level, most
    in a few busy villages; cadres hold one area of their tier: most areas that ``rules``
    (default: the national grade-to-tier table) send a business to get one, so most
    businesses get placed, and others sit anywhere. With ``assignments``, some businesses hold an
    assignment to a cadre on their own path (of any tier, so some will not match the rules:
    that is what the planner repairs), occasionally with an ended predecessor.
    """
    if min_businesses < 0 or max_businesses < min_businesses or max_cadres < 0:
        raise ValueError("need 0 <= min_businesses <= max_businesses and max_cadres >= 0")
    hierarchy = draw(hierarchies if hierarchies is not None else st.deferred(lambda: _small_trees))
    areas = [a for a in hierarchy if a.tier is not Tier.PROVINCE]
    if not areas:
        areas = list(hierarchy)
    # Most businesses sit in a few busy villages (as a county's do); a few higher up, where
    # D grades cannot be placed.
    villages = [a for a in hierarchy if a.tier is Tier.VILLAGE]
    low = [a for a in hierarchy if a.tier in (Tier.TOWNSHIP, Tier.VILLAGE)] or areas
    if villages:
        busy = draw(st.lists(st.sampled_from(villages), min_size=1, max_size=3, unique=True))
        low = busy * 12 + villages * 2 + low
    province = hierarchy.roots[0].code if hierarchy.roots[0].code in PROVINCE_CODES else "45"
    # An empty roster now and then (1 in 20 nominally), else at least one business: drawn
    # straight from the range, or flagged by a 0, a quarter of rosters came out empty
    # (Hypothesis draws zeros far more often after a large draw such as the tree).
    empty = min_businesses == 0 and draw(st.integers(0, 19)) == 19
    count = 0 if empty else draw(st.integers(max(1, min_businesses), max_businesses))
    businesses = [
        _draw_roster_business(draw, index=i, areas=low, province=province) for i in range(count)
    ]
    # Most areas the rules send a business to get a cadre, so most businesses get placed;
    # the rest sit anywhere (and leave businesses unplaced).
    wanted = sorted(
        {
            area.code: area
            for b in businesses
            if b.in_scope
            and (area := hierarchy.ancestor(b.area_code, _tier_for(rules, b, on))) is not None
        }.values(),
        key=lambda a: a.code,
    )
    placed = [area for area in wanted if draw(st.integers(0, 4)) < 4][:max_cadres]  # 0: placed
    spare = draw(st.integers(0, max_cadres - len(placed)))
    cadres = [
        _draw_roster_cadre(draw, index=i, areas=[area], on=on) for i, area in enumerate(placed)
    ] + [_draw_roster_cadre(draw, index=len(placed) + i, areas=areas, on=on) for i in range(spare)]
    history: list[Assignment] = []
    if assignments and cadres:
        for business in businesses:
            path = {a.code for a in hierarchy.path(business.area_code)}
            candidates = [c for c in cadres if c.area_code in path]
            if not candidates or not draw(st.booleans()):
                continue
            cadre = _one_of(draw, candidates)
            start = draw(_dates(min_value=date(2021, 1, 1), max_value=on))
            if draw(st.integers(0, 4)) == 0:
                earlier = _one_of(draw, candidates)
                history.append(
                    Assignment(
                        earlier.id, business.key, date(2020, 6, 1), start, AssignmentReason.INITIAL
                    )
                )
            history.append(
                Assignment(cadre.id, business.key, start, None, AssignmentReason.IMPORTED)
            )
    return Roster.build(hierarchy, businesses, cadres, history)


_small_trees = hierarchies(max_children=3, nonstandard=True)


def region_rosters(
    roots: Sequence[str], rules: RuleBook, *, on: date = DEFAULT_DAY
) -> st.SearchStrategy[Roster]:
    """:func:`rosters` for ``rules``: trees under one of the regions' ``roots`` (any
    province when there are none), cadres where those rules send businesses."""
    if not roots:
        return rosters(on=on, rules=rules)
    trees = st.sampled_from(sorted(roots)).flatmap(lambda root: hierarchies(under=root))
    return rosters(hierarchies=trees, on=on, rules=rules)


def _tier_for(rules: RuleBook | None, business: FoodBusiness, on: date) -> Tier:
    """The tier ``rules`` send ``business`` to: its grade as they grade it (the national
    table on its recorded grade when no rules are given)."""
    if rules is None:
        assert business.grade is not None
        return TIER_FOR_GRADE_TABLE[business.grade]
    return rules.tier_of(rules.grade_of(business, on), on, business.area_code)


@st.composite
def roster_changes(
    draw: st.DrawFn, roster: Roster, *, on: date = DEFAULT_DAY, max_size: int = 5
) -> list[RosterChange]:
    """Churn a roster undergoes: cadres leaving, joining or moving; businesses opening,
    closing, regrading or moving within their county. Each change is valid when applied
    in order."""
    changes: list[RosterChange] = []
    current = roster
    areas = [a for a in roster.hierarchy if a.tier is not Tier.PROVINCE] or list(roster.hierarchy)
    low = [a for a in roster.hierarchy if a.tier in (Tier.TOWNSHIP, Tier.VILLAGE)] or areas
    province = roster.hierarchy.roots[0].code
    province = province if province in PROVINCE_CODES else "45"
    for step in range(draw(st.integers(0, max_size))):
        kinds = ["open", "join"]
        if current.cadres:
            kinds += ["leave", "move_cadre"]
        if current.businesses:
            kinds += ["close", "regrade", "move_business"]
        kind = _one_of(draw, kinds)
        change: RosterChange
        if kind == "open":
            business = _draw_roster_business(draw, index=10**6 + step, areas=low, province=province)
            index = 10**6 + step
            while business.key in current.businesses:
                index += max_size + 1
                business = attrs.evolve(
                    business, licence_no=_licence_for(index, business.business_type, province)
                )
            change = BusinessOpens(business)
        elif kind == "join":
            cadre = _draw_roster_cadre(draw, index=5000 + step, areas=areas, on=on)
            index = 5000 + step
            while cadre.id in current.cadres:
                index += max_size + 1
                cadre = attrs.evolve(cadre, id=f"c{index:04d}")
            change = CadreJoins(attrs.evolve(cadre, active_to=None))
        elif kind == "leave":
            change = CadreLeaves(_one_of(draw, sorted(current.cadres)), on)
        elif kind == "move_cadre":
            cadre = current.cadres[_one_of(draw, sorted(current.cadres))]
            same_tier = [a.code for a in roster.hierarchy if a.tier is cadre.tier]
            change = CadreMoves(cadre.id, _one_of(draw, same_tier))
        elif kind == "close":
            change = BusinessCloses(_one_of(draw, sorted(current.businesses)), on)
        elif kind == "regrade":
            key = _one_of(draw, sorted(current.businesses))
            change = BusinessRegraded(key, draw(st.sampled_from(Grade)))
        else:  # within its county: a move to another county is a new registration
            key = _one_of(draw, sorted(current.businesses))
            county = _county_of(roster.hierarchy, current.businesses[key].area_code)
            here = [a.code for a in low if _county_of(roster.hierarchy, a.code) == county]
            change = BusinessMoves(key, _one_of(draw, here or [current.businesses[key].area_code]))
        current = current.apply(change)
        changes.append(change)
    return changes
