"""Letters as they stood: a regenerated letter never erases a signing, a cadre holding no
business owes none, and the counterparty is the cadre's own area's leadership."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import attrs
import docx
import pytest

import twores
from twores.core.areas import Area, Hierarchy, Tier
from twores.core.assignment import Assignment
from twores.core.businesses import BusinessType, FoodBusiness, Grade, Scale
from twores.core.cadres import Cadre
from twores.core.errors import InvalidValueError
from twores.core.letters import Letter, LetterStatus, letter_key, superseded_key
from twores.core.ports import Store
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.records import TierLabel
from twores.services.commitments import (
    counterparty_for,
    generate_letters,
    letter_states,
    sign_letter,
)
from twores.services.kpis import compute_kpis
from twores.testing.postgres import fresh_sql_store, sql_backends

from .helpers import ADMIN

COUNTY, VILLAGE = "450323", "450323101001"  # 灵川县 / 大圩社区
BACKENDS = ["memory", *sql_backends()]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with fresh_sql_store(request.param) as sql:
        yield sql


@pytest.fixture
def app() -> twores.Twores:
    return twores.build(load_entrypoints=False)


def _business(i: int, opened_on: date | None = None) -> FoodBusiness:
    return FoodBusiness(
        name=f"店{i}",
        area_code=VILLAGE,
        licence_no=f"JY1450323{i:07d}",
        business_type=BusinessType.CATERING,
        scale=Scale.MICRO,
        grade=Grade.D,
        opened_on=opened_on,
    )


def _cadre(cid: str, tier: Tier = Tier.VILLAGE, area: str = VILLAGE) -> Cadre:
    return Cadre(id=cid, name=f"干部{cid}", tier=tier, area_code=area)


def _each_holding_one(
    cadres: list[Cadre],
) -> tuple[list[FoodBusiness], list[Cadre], list[Assignment]]:
    """``cadres``, each holding one business of their own area (letters are owed then)."""
    held = [
        attrs.evolve(_business(i), area_code=c.area_code, licence_no=f"JY1450399{i:07d}")
        for i, c in enumerate(cadres, start=1)
    ]
    assignments = [
        Assignment(c.id, b.key, date(2025, 1, 1)) for c, b in zip(cadres, held, strict=True)
    ]
    return held, cadres, assignments


def _load(
    store: Store,
    businesses: list[FoodBusiness],
    cadres: list[Cadre],
    assignments: list[Assignment],
    areas: Hierarchy | None = None,
) -> None:
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(areas or demo_region().subtree(COUNTY))
        uow.businesses.upsert_many(businesses)
        uow.cadres.upsert_many(cadres)
        uow.assignments.upsert_many(assignments)
        uow.commit()


def _rate(app: twores.Twores, store: Store, period: str, day: date, area: str = COUNTY) -> str:
    """letters_signed as ``n/d``, the summary's (SQL) equal to a recount's."""
    values = [
        compute_kpis(app, store, ADMIN, period, as_of=day, fresh=fresh).value(
            "letters_signed", area
        )
        for fresh in (False, True)
    ]
    assert values[0] == values[1]
    return f"{values[0].numerator}/{values[0].denominator}"


def _letters(store: Store) -> list[Letter]:
    with store.unit_of_work(ADMIN) as uow:
        return list(uow.letters.stream())


def _status(app: twores.Twores, store: Store, cadre_id: str, on: date) -> LetterStatus:
    states = {s.cadre.id: s for s in letter_states(app, store, ADMIN, 2026, on=on)}
    return states[cadre_id].status


# --- R2: regenerating keeps the signing -------------------------------------------------


def test_regenerating_a_changed_list_keeps_the_signed_letter_as_history(
    app: twores.Twores, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("twores.services.kpis.today", lambda: date(2027, 4, 1))  # counted in 2027
    b1, b2 = _business(1), _business(2, opened_on=date(2026, 6, 1))
    _load(store, [b1, b2], [_cadre("v1")], [Assignment("v1", b1.key, date(2025, 1, 1))])
    generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 3, 1), documents=False)
    sign_letter(store, ADMIN, "v1", 2026, signed_on=date(2026, 3, 2), counterparty="社区书记")
    assert _rate(app, store, "2026Q1", date(2026, 3, 31)) == "1/1"  # stored in the summary

    with store.unit_of_work(ADMIN) as uow:  # a shop opens on 06-01 and goes to v1
        uow.assignments.upsert_many([Assignment("v1", b2.key, date(2026, 6, 1))])
        uow.commit()
    assert _status(app, store, "v1", date(2026, 6, 2)) is LetterStatus.LIST_CHANGED
    (made,) = generate_letters(
        app, store, ADMIN, 2026, tmp_path, on=date(2026, 6, 2), documents=False
    )
    assert made.renewed and made.letter.signed_on is None and made.letter.businesses == 2

    # Nothing signed is lost: the signing of 03-02 stays, under its own key.
    new, old = sorted(_letters(store), key=lambda x: x.key)
    assert new.key == letter_key(2026, "v1") and new == made.letter
    assert old.key == superseded_key(2026, "v1", date(2026, 3, 2)) == "2026/v1/2026-03-02"
    assert old.superseded and not new.superseded
    assert (old.signed_on, old.counterparty, old.businesses) == (date(2026, 3, 2), "社区书记", 1)
    assert old.generated_on == date(2026, 6, 2)  # the day it was replaced
    # KPIs as of past days are unchanged; the old signing counts until it is a year old.
    assert _rate(app, store, "2026Q1", date(2026, 3, 31)) == "1/1"
    assert _rate(app, store, "2026-05", date(2026, 5, 31)) == "1/1"
    assert _rate(app, store, "2026-06", date(2026, 6, 1)) == "1/1"
    # from the day it was replaced, the new (unsigned) letter is the one that counts
    assert _rate(app, store, "2026-06", date(2026, 6, 5)) == "0/1"
    assert _status(app, store, "v1", date(2026, 6, 5)) is LetterStatus.UNSIGNED

    # Signing the new letter keeps the old signing too, and the past stays as it was.
    signed = sign_letter(
        store, ADMIN, "v1", 2026, signed_on=date(2026, 6, 10), counterparty="社区主任"
    )
    assert signed.key == letter_key(2026, "v1")
    assert sorted(x.signed_on for x in _letters(store) if x.signed_on) == [
        date(2026, 3, 2),
        date(2026, 6, 10),
    ]
    assert _rate(app, store, "2026Q1", date(2026, 3, 31)) == "1/1"
    assert _rate(app, store, "2027Q1", date(2027, 3, 31)) == "1/1"  # 06-10's, still valid
    assert _status(app, store, "v1", date(2026, 6, 11)) is LetterStatus.SIGNED
    again = generate_letters(
        app, store, ADMIN, 2026, tmp_path, on=date(2026, 6, 12), documents=False
    )
    assert [g.renewed for g in again] == [False] and len(_letters(store)) == 2


def test_an_unsigned_letter_is_simply_replaced(
    app: twores.Twores, store: Store, tmp_path: Path
) -> None:
    b1, b2 = _business(1), _business(2)
    _load(store, [b1, b2], [_cadre("v1")], [Assignment("v1", b1.key, date(2025, 1, 1))])
    generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 3, 1), documents=False)
    with store.unit_of_work(ADMIN) as uow:
        uow.assignments.upsert_many([Assignment("v1", b2.key, date(2026, 4, 1))])
        uow.commit()
    generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 4, 2), documents=False)
    (only,) = _letters(store)
    assert (only.businesses, only.generated_on, only.signed_on) == (2, date(2026, 4, 2), None)


def test_a_changed_list_is_not_generated_as_of_its_letters_signing_day(
    app: twores.Twores, store: Store, tmp_path: Path
) -> None:
    b1, b2 = _business(1), _business(2)
    _load(store, [b1, b2], [_cadre("v1")], [Assignment("v1", b1.key, date(2025, 1, 1))])
    generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 3, 1), documents=False)
    sign_letter(store, ADMIN, "v1", 2026, signed_on=date(2026, 3, 2), counterparty="社区书记")
    with store.unit_of_work(ADMIN) as uow:  # entered late: held from 03-02
        uow.assignments.upsert_many([Assignment("v1", b2.key, date(2026, 3, 2))])
        uow.commit()
    before = _letters(store)
    with pytest.raises(InvalidValueError, match="签订日之后"):  # would rewrite the signing
        generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 3, 2), documents=False)
    assert _letters(store) == before
    (kept,) = generate_letters(  # the list of 03-01 is the one signed
        app, store, ADMIN, 2026, tmp_path, on=date(2026, 3, 1), documents=False
    )
    assert not kept.renewed and _letters(store) == before
    (made,) = generate_letters(
        app, store, ADMIN, 2026, tmp_path, on=date(2026, 3, 3), documents=False
    )
    assert made.renewed and len(_letters(store)) == 2


def test_a_refused_run_writes_no_letter_file(
    app: twores.Twores, store: Store, tmp_path: Path
) -> None:
    """Letters are written once the store took them all: none for a run it refused."""
    b1, b2, b3 = _business(1), _business(2), _business(3)
    held = [Assignment("v0", b3.key, date(2025, 1, 1)), Assignment("v1", b1.key, date(2025, 1, 1))]
    _load(store, [b1, b2, b3], [_cadre("v0"), _cadre("v1")], held)
    generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 3, 1), documents=False)
    sign_letter(store, ADMIN, "v1", 2026, signed_on=date(2026, 3, 2), counterparty="社区书记")
    with store.unit_of_work(ADMIN) as uow:
        uow.assignments.upsert_many([Assignment("v1", b2.key, date(2026, 3, 2))])
        uow.commit()
    out = tmp_path / "承诺书"
    with pytest.raises(InvalidValueError, match="签订日之后"):  # v1's list, after v0's files
        generate_letters(app, store, ADMIN, 2026, out, on=date(2026, 3, 2))
    assert not out.exists() or not any(out.iterdir())


def test_a_superseded_letter_is_filed_under_its_signing_day() -> None:
    letter = Letter("v1", VILLAGE, 2026, "h", 1, date(2026, 3, 1), date(2026, 3, 2), "书记")
    assert letter.key == "2026/v1" and not letter.superseded
    kept = letter.replaced_on(date(2026, 6, 2))
    assert kept.key == "2026/v1/2026-03-02" and kept.superseded
    assert kept.valid_on(date(2026, 6, 2)) and kept.valid_on(date(2027, 3, 1))
    with pytest.raises(ValueError, match="superseded"):
        letter.replaced_on(date(2026, 3, 2))
    with pytest.raises(ValueError, match="superseded"):
        Letter("v1", VILLAGE, 2026, "h", 1, date(2026, 3, 1)).replaced_on(date(2026, 6, 2))
    assert len(superseded_key(2026, "x" * 64, date(2026, 3, 2))) == 80  # the key column


# --- R5: no business, no letter owed ----------------------------------------------------


def test_a_cadre_holding_no_business_owes_no_letter(
    app: twores.Twores, store: Store, tmp_path: Path
) -> None:
    b1, b2, b3 = _business(1), _business(2), _business(3)
    cadres = [_cadre("v1"), _cadre("v2"), _cadre("v3")]
    _load(
        store,
        [b1, b2, b3],
        cadres,
        [
            Assignment("v1", b1.key, date(2025, 1, 1)),
            Assignment("v1", b2.key, date(2025, 1, 1)),
            # v2 holds nothing; v3 holds b3 until 06-01
            Assignment("v3", b3.key, date(2025, 1, 1), valid_to=date(2026, 6, 1)),
        ],
    )
    generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 3, 1), documents=False)
    sign_letter(store, ADMIN, "v1", 2026, signed_on=date(2026, 3, 2), counterparty="社区书记")
    late = date(2026, 11, 2)  # past the 10-30 deadline
    assert _status(app, store, "v1", late) is LetterStatus.SIGNED
    assert _status(app, store, "v2", late) is LetterStatus.NOT_OWED
    assert _status(app, store, "v3", late) is LetterStatus.NOT_OWED
    assert _status(app, store, "v3", date(2026, 5, 31)) is LetterStatus.UNSIGNED
    assert _rate(app, store, "2026Q4", late) == "1/1"
    assert _rate(app, store, "2026-05", date(2026, 5, 31)) == "1/2"  # v3 still held b3


def test_cadres_above_county_level_count_as_holding(
    app: twores.Twores, store: Store, tmp_path: Path
) -> None:
    """Their businesses are filed in the counties: one county's rows cannot tell."""
    b1 = _business(1)
    city = _cadre("s1", Tier.CITY, "4503")
    _load(
        store,
        [b1],
        [_cadre("v1"), city],
        [Assignment("v1", b1.key, date(2025, 1, 1))],
        areas=demo_region().subtree("4503"),
    )
    day = date(2026, 3, 31)
    assert _rate(app, store, "2026Q1", day, "4503") == "0/2"
    assert _rate(app, store, "2026Q1", day, COUNTY) == "0/1"
    assert _status(app, store, "s1", day) is LetterStatus.NOT_OWED  # its own list is empty


# --- R7: the counterparty ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "label", "name", "zh", "en"),
    [
        (Tier.PROVINCE, ("省", "province"), "广东省", "省委、省政府主要负责人", "province"),
        (Tier.PROVINCE, ("省", "province"), "广西壮族自治区", "自治区党委、自治区政府", "region"),
        (Tier.CITY, ("市", "city"), "桂林市", "市委、市政府主要负责人", "city"),
        (Tier.CITY, ("州", "prefecture"), "", "州委、州政府主要负责人", "prefecture"),
        (Tier.CITY, ("地区", "prefecture"), "", "地委、行政公署主要负责人", "office"),
        (Tier.CITY, ("盟", "league"), "", "盟委、行政公署主要负责人", "league"),
        (Tier.COUNTY, ("县", "county"), "", "县委、县政府主要负责人", "county"),
        (Tier.COUNTY, ("区", "district"), "", "区委、区政府主要负责人", "district"),
        (Tier.COUNTY, ("市", "county-level city"), "", "市委、市政府主要负责人", "county-level"),
        (Tier.COUNTY, ("旗", "banner"), "", "旗委、旗政府主要负责人", "banner"),
        (Tier.TOWNSHIP, ("镇", "town"), "", "镇党委、镇政府主要负责人", "town"),
        (Tier.TOWNSHIP, ("乡", "township"), "", "乡党委、乡政府主要负责人", "township"),
        (Tier.TOWNSHIP, ("苏木", "sumu"), "", "苏木党委、苏木政府主要负责人", "sumu"),
        (Tier.TOWNSHIP, ("街道", "sub-district"), "", "街道党工委、办事处", "working committee"),
        (Tier.VILLAGE, ("村", "village"), "", "村党组织书记、村民委员会主任", "villagers'"),
        (Tier.VILLAGE, ("社区", "community"), "", "社区党组织书记、居民委员会主任", "residents'"),
        (Tier.VILLAGE, ("嘎查", "gacha"), "", "嘎查党组织书记、嘎查委员会主任", "gacha"),
    ],
)
def test_the_counterparty_follows_what_the_area_is_called(
    tier: Tier, label: tuple[str, str], name: str, zh: str, en: str
) -> None:
    who = counterparty_for(tier, TierLabel(*label), name)
    assert who.zh.startswith(zh) and en in who.en


def _counterparty_line(path: Path | None) -> str:
    assert path is not None
    lines = [p.text for p in docx.Document(str(path)).paragraphs]
    return next(line for line in lines if line.startswith("对方"))


def test_districts_and_county_level_cities_sign_with_their_own_leaders(
    app: twores.Twores, store: Store, tmp_path: Path
) -> None:
    cadres = [_cadre("d1", Tier.COUNTY, "450302"), _cadre("k1", Tier.COUNTY, "450381")]
    _load(store, *_each_holding_one(cadres), areas=demo_region())  # 秀峰区, 荔浦市
    made = {g.letter.cadre_id: g for g in generate_letters(app, store, ADMIN, 2026, tmp_path)}
    assert "区委、区政府主要负责人" in _counterparty_line(made["d1"].docx)
    assert "市委、市政府主要负责人" in _counterparty_line(made["k1"].docx)


def test_a_banners_sumus_and_gachas_letters_name_their_own_leaders(tmp_path: Path) -> None:
    areas = Hierarchy(
        [
            Area("15", "内蒙古自治区", Tier.PROVINCE),
            Area("1525", "锡林郭勒盟", Tier.CITY, "15"),
            Area("152527", "太仆寺旗", Tier.COUNTY, "1525"),
            Area("152527201", "贡宝拉格苏木", Tier.TOWNSHIP, "152527"),
            Area("152527201001", "乌兰哈达嘎查", Tier.VILLAGE, "152527201"),
        ]
    )
    store = MemoryStore()
    cadres = [
        _cadre("m1", Tier.CITY, "1525"),
        _cadre("q1", Tier.COUNTY, "152527"),
        _cadre("s1", Tier.TOWNSHIP, "152527201"),
        _cadre("g1", Tier.VILLAGE, "152527201001"),
    ]
    _load(store, *_each_holding_one(cadres), areas=areas)
    app = twores.build(regions=["inner_mongolia"])
    made = {g.letter.cadre_id: g for g in generate_letters(app, store, ADMIN, 2026, tmp_path)}
    assert "盟委、行政公署主要负责人" in _counterparty_line(made["m1"].docx)
    assert "旗委、旗政府主要负责人" in _counterparty_line(made["q1"].docx)
    assert "苏木党委、苏木政府主要负责人" in _counterparty_line(made["s1"].docx)
    assert "嘎查党组织书记、嘎查委员会主任" in _counterparty_line(made["g1"].docx)


def test_a_cadre_who_moves_county_takes_their_letters_along(
    app: twores.Twores, store: Store, tmp_path: Path
) -> None:
    """The new county generates the cadre's next letter (no other county's row in its
    way), the signing is kept, and the old county keeps no letter of a cadre it lost."""
    city = demo_region().subtree("4503")
    there = next(a.code for a in city.subtree("450324") if a.tier is Tier.VILLAGE)
    b1 = _business(1)
    b2 = attrs.evolve(_business(2), area_code=there, licence_no="JY14503240000027")
    _load(store, [b1, b2], [_cadre("v1")], [Assignment("v1", b1.key, date(2025, 1, 1))], city)
    generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 3, 1), documents=False)
    sign_letter(store, ADMIN, "v1", 2026, signed_on=date(2026, 3, 2), counterparty="社区书记")
    with store.unit_of_work(ADMIN) as uow:  # the city moves v1 to 全州县
        uow.cadres.upsert_many([_cadre("v1", area=there)])
        uow.assignments.upsert_many(
            [
                Assignment("v1", b1.key, date(2025, 1, 1)).ended(date(2026, 4, 1)),
                Assignment("v1", b2.key, date(2026, 4, 1)),
            ]
        )
        uow.commit()
    office = twores.Scope("全州县食安办", twores.Role.OFFICE, "450324")
    (made,) = generate_letters(app, store, office, 2026, tmp_path, on=date(2026, 4, 2))
    assert made.renewed and made.letter.area_code == there and made.docx is not None
    with store.unit_of_work(ADMIN) as uow:
        letters = sorted(uow.letters.stream(cadre_id="v1"), key=lambda x: x.key)
    assert [(x.key, x.area_code, x.signed_on) for x in letters] == [
        (letter_key(2026, "v1"), there, None),
        (superseded_key(2026, "v1", date(2026, 3, 2)), there, date(2026, 3, 2)),
    ]
    old = twores.Scope("灵川县食安办", twores.Role.OFFICE, COUNTY)
    with store.unit_of_work(old) as uow:
        assert list(uow.letters.stream(cadre_id="v1")) == []
