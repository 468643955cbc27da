"""Synthetic but realistic businesses on real areas, for demos, tests and benchmarks.

Deterministic for a given seed. Credit codes and licences are well-formed (valid USCC
check digit, JY/SC licence with the real province, city and county codes).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

import attrs

from twores.core.areas import Area, Hierarchy, Tier
from twores.core.businesses import (
    BusinessType,
    CanteenKind,
    FoodBusiness,
    Grade,
    Scale,
    Staff,
    StaffMember,
    uscc_check_digit,
)
from twores.core.cadres import Cadre
from twores.core.roster import Roster

#: Share of each business type among assigned businesses (catering and sales dominate).
TYPE_MIX: tuple[tuple[BusinessType, float], ...] = (
    (BusinessType.CATERING, 0.44),
    (BusinessType.SALES, 0.38),
    (BusinessType.PRODUCTION, 0.06),
    (BusinessType.CANTEEN, 0.06),
    (BusinessType.WORKSHOP, 0.04),
    (BusinessType.VENDOR, 0.015),
    (BusinessType.SPECIAL_FOOD, 0.005),
)
#: Scale mix: micro businesses dominate, so village-tier (D) loads are long-tailed.
SCALE_MIX: tuple[tuple[Scale, float], ...] = (
    (Scale.MICRO, 0.85),
    (Scale.SMALL, 0.11),
    (Scale.MEDIUM, 0.035),
    (Scale.LARGE, 0.005),
)
_SUFFIXES: dict[BusinessType, Sequence[str]] = {
    BusinessType.CATERING: ("米粉店", "饭店", "农家乐", "小吃店", "快餐店", "酒家", "餐馆"),
    BusinessType.SALES: ("超市", "便利店", "小卖部", "食杂店", "副食店", "商店"),
    BusinessType.PRODUCTION: ("食品厂", "米粉厂", "茶厂", "酒厂", "食品有限公司"),
    BusinessType.CANTEEN: ("小学食堂", "中学食堂", "幼儿园食堂", "卫生院食堂", "敬老院食堂"),
    BusinessType.WORKSHOP: ("豆腐坊", "米粉坊", "糕点坊", "腊味坊"),
    BusinessType.VENDOR: ("早餐摊", "水果摊", "烧烤摊"),
    BusinessType.SPECIAL_FOOD: ("保健食品有限公司", "营养食品有限公司"),
}
_CANTEEN_KINDS = {
    "小学食堂": CanteenKind.SCHOOL,
    "中学食堂": CanteenKind.SCHOOL,
    "幼儿园食堂": CanteenKind.KINDERGARTEN,
    "敬老院食堂": CanteenKind.ELDERLY_CARE,
    "卫生院食堂": CanteenKind.OTHER,
}
_PLACE_SUFFIX = re.compile(
    r"(村民委员会|村委会|居民委员会|居委会|社区居委会|委员会|社区|嘎查|村|街道|镇|乡|苏木)+$"
)


def place_name(area: Area) -> str:
    """The short place name people use: 大圩镇上桥村民委员会 -> 上桥."""
    short = _PLACE_SUFFIX.sub("", area.name)
    return short if len(short) >= 2 else area.name[:4]


def credit_code(rng: random.Random, area_code: str) -> str:
    """A well-formed USCC for an individual business (92…) registered in the area's county."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "92" + area_code[:6] + "".join(rng.choice(alphabet) for _ in range(9))
    return body + uscc_check_digit(body)


def licence_number(rng: random.Random, business_type: BusinessType, area_code: str) -> str:
    """A well-formed JY/SC licence number located in the area's county."""
    county = area_code[:6]
    if business_type in (BusinessType.PRODUCTION, BusinessType.SPECIAL_FOOD, BusinessType.WORKSHOP):
        category = f"{rng.randint(101, 131)}"
        return f"SC{category}{county}{rng.randint(0, 99999):05d}"
    main = rng.choice("123")
    return f"JY{main}{county}{rng.randint(0, 9999999):07d}"


def _pick(rng: random.Random, mix: Sequence[tuple[object, float]]) -> object:
    return rng.choices([item for item, _ in mix], weights=[w for _, w in mix])[0]


#: A D-heavy assignment-grade mix (Hantai: 89% D; Dangtu: 68% D; docs/sources.md, Scale).
GRADE_MIX: tuple[tuple[Grade, float], ...] = (
    (Grade.A, 0.002),
    (Grade.B, 0.023),
    (Grade.C, 0.175),
    (Grade.D, 0.800),
)
#: Share of the cadres above one per area, by tier.
CADRE_SHARE: dict[Tier, float] = {
    Tier.CITY: 0.07,
    Tier.COUNTY: 0.20,
    Tier.TOWNSHIP: 0.33,
    Tier.VILLAGE: 0.40,
}
_FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗覃韦莫唐蒋"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂华英"
_POSTS = {
    Tier.CITY: ("副市长", "市委常委", "市政协副主席"),
    Tier.COUNTY: ("副县长", "县委常委", "县人大副主任"),
    Tier.TOWNSHIP: ("镇长", "镇党委副书记", "副乡长"),
    Tier.VILLAGE: ("村党支部书记", "村委会主任", "村委委员"),
}


def synthetic_cadres(
    hierarchy: Hierarchy, total: int, *, seed: int = 0, within: str | None = None
) -> Iterator[Cadre]:
    """``total`` cadres: two per village (branch secretary and director) when ``total``
    allows, one per other area, the rest spread by tier (:data:`CADRE_SHARE`). With
    ``within``, the areas above it (its city and county) get cadres too.

    Fewer than one per area is not possible; ``total`` is then raised to the area count.
    """
    rng = random.Random(seed)
    scope = [*hierarchy.path(within), *hierarchy.descendants(within)] if within else list(hierarchy)
    by_tier = {tier: [a for a in scope if a.tier is tier] for tier in CADRE_SHARE}
    areas_count = sum(len(areas) for areas in by_tier.values())
    per_village = 2 if total >= areas_count + len(by_tier[Tier.VILLAGE]) else 1
    counts = {
        area.code: per_village if tier is Tier.VILLAGE else 1
        for tier, areas in by_tier.items()
        for area in areas
    }
    spare = max(0, total - sum(counts.values()))
    # Spare cadres follow the work: an area's weight is the number of villages below it.
    villages_below: dict[str, int] = dict.fromkeys(counts, 0)
    for village in by_tier[Tier.VILLAGE]:
        for area in hierarchy.path(village.code):
            if area.code in villages_below:
                villages_below[area.code] += 1
    for tier, share in CADRE_SHARE.items():
        if by_tier[tier]:
            weights = [villages_below[a.code] or 1 for a in by_tier[tier]]
            for area in rng.choices(by_tier[tier], weights=weights, k=round(spare * share)):
                counts[area.code] += 1
    for areas in by_tier.values():
        for area in areas:
            for number in range(counts[area.code]):
                yield Cadre(
                    id=f"C{area.code}-{number + 1:03d}",
                    name=rng.choice(_FAMILY) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2)))),
                    tier=area.tier,
                    area_code=area.code,
                    post=rng.choice(_POSTS[area.tier]),
                    phone=f"1{rng.choice('3589')}{rng.randint(0, 10**9 - 1):09d}",
                )


#: Shares of businesses whose records name an officer, and of those that must have a
#: director that have appointed one (most do; the KPIs have laggards to show).
OFFICER_SHARE, DIRECTOR_SHARE = 0.9, 0.85


def _person(rng: random.Random) -> StaffMember:
    name = rng.choice(_FAMILY) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
    return StaffMember(name, f"1{rng.choice('3589')}{rng.randint(0, 10**9 - 1):09d}")


def as_recorded(
    businesses: Iterable[FoodBusiness],
    grades: Iterable[Grade],
    needs_director: Callable[[FoodBusiness], bool],
    *,
    seed: int = 0,
) -> Iterator[FoodBusiness]:
    """The businesses as an office's records hold them: the grade the rules gave recorded
    (包保等级), a named head, most with an officer, most of those that must have a director
    with one (:data:`OFFICER_SHARE`, :data:`DIRECTOR_SHARE`)."""
    rng = random.Random(seed)
    for business, grade in zip(businesses, grades, strict=True):
        director = needs_director(business) and rng.random() < DIRECTOR_SHARE
        staff = Staff(
            head=_person(rng),
            director=_person(rng) if director else None,
            officer=_person(rng) if rng.random() < OFFICER_SHARE else None,
        )
        yield attrs.evolve(business, grade=grade, staff=staff)


def synthetic_roster(
    hierarchy: Hierarchy,
    *,
    businesses: int,
    cadres: int,
    seed: int = 0,
    graded: bool = True,
    within: str | None = None,
) -> Roster:
    """A roster without assignments; with ``graded`` the grades follow :data:`GRADE_MIX`."""
    return Roster.build(
        hierarchy,
        synthetic_businesses(hierarchy, businesses, seed=seed, within=within, graded=graded),
        synthetic_cadres(hierarchy, cadres, seed=seed, within=within),
    )


def synthetic_businesses(
    hierarchy: Hierarchy,
    count: int,
    *,
    seed: int = 0,
    within: str | None = None,
    graded: bool = False,
) -> Iterator[FoodBusiness]:
    """``count`` businesses spread over the villages (below ``within``).

    Ungraded by default (the rules grade them); with ``graded`` a D-heavy grade is recorded.
    """
    rng = random.Random(seed)
    villages = [
        area
        for area in (hierarchy.descendants(within) if within else iter(hierarchy))
        if area.tier is Tier.VILLAGE
    ]
    if not villages:
        return
    seen: set[str] = set()
    produced = 0
    while produced < count:
        village = rng.choice(villages)
        business_type = _pick(rng, TYPE_MIX)
        assert isinstance(business_type, BusinessType)
        scale = _pick(rng, SCALE_MIX)
        assert isinstance(scale, Scale)
        suffix = rng.choice(_SUFFIXES[business_type])
        licence = licence_number(rng, business_type, village.code)
        if licence in seen:
            continue
        seen.add(licence)
        canteen_kind = _CANTEEN_KINDS.get(suffix) if business_type is BusinessType.CANTEEN else None
        diners = None
        if business_type is BusinessType.CANTEEN:
            diners = int(rng.lognormvariate(5.3, 0.8))
        yield FoodBusiness(
            name=f"{place_name(village)}{suffix}",
            area_code=village.code,
            business_type=business_type,
            licence_no=licence,
            uscc=credit_code(rng, village.code),
            scale=scale,
            canteen_kind=canteen_kind,
            diners=diners,
            chain_headquarters=business_type is BusinessType.SALES and rng.random() < 0.002,
            grade=_pick(rng, GRADE_MIX) if graded else None,  # type: ignore[arg-type]
        )
        produced += 1
