"""The commitment letter's lifecycle: what 承诺书签订率 counts, the status as of a past
day, a signing never changed, no letter for a cadre holding nothing, the signed version's
files kept, and a letter outside the scope refused as such."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import twores
from twores.core.assignment import Assignment
from twores.core.businesses import BusinessType, FoodBusiness, Grade, Scale
from twores.core.cadres import Cadre
from twores.core.errors import InvalidValueError, NotFoundError
from twores.core.letters import Letter, LetterStatus, letter_in_force
from twores.core.periods import Period
from twores.core.ports import Store
from twores.core.users import User
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.services.commitments import LetterRun, generate_letters, letter_states, sign_letter
from twores.services.kpis import compute_kpis
from twores.services.letters import document_paths
from twores.services.web_views import cadre_desk
from twores.testing.postgres import fresh_sql_store, sql_backends

from .helpers import ADMIN

COUNTY, VILLAGE, TOWN = "450323", "450323101001", "450323101"  # 灵川县 / 大圩社区 / 大圩镇
OTHER = "450323100001"  # 城北社区, in another township
BACKENDS = ["memory", *sql_backends()]
TODAY = date(2027, 4, 1)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with fresh_sql_store(request.param) as sql:
        yield sql


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> twores.Twores:
    for where in ("kpis", "commitments", "web_views"):
        monkeypatch.setattr(f"twores.services.{where}.today", lambda: TODAY)
    return twores.build(load_entrypoints=False)


def _business(i: int, area: str = VILLAGE) -> FoodBusiness:
    return FoodBusiness(
        name=f"店{i}",
        area_code=area,
        licence_no=f"JY1450323{i:07d}",
        business_type=BusinessType.CATERING,
        scale=Scale.MICRO,
        grade=Grade.D,
    )


def _cadre(cid: str, area: str = VILLAGE) -> Cadre:
    return Cadre(id=cid, name=f"干部{cid}", tier=twores.Tier.VILLAGE, area_code=area)


def _load(
    store: Store, businesses: list[FoodBusiness], cadres: list[Cadre], held: list[Assignment]
) -> None:
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region().subtree(COUNTY))
        uow.businesses.upsert_many(businesses)
        uow.cadres.upsert_many(cadres)
        uow.assignments.upsert_many(held)
        uow.commit()


def _hold(store: Store, *held: Assignment) -> None:
    with store.unit_of_work(ADMIN) as uow:
        uow.assignments.upsert_many(held)
        uow.commit()


def _rate(app: twores.Twores, store: Store, day: date, area: str = VILLAGE) -> str:
    """letters_signed on ``day`` as ``n/d``: the summary's equal to a recount's."""
    period = f"{day.year}-{day.month:02d}"
    values = [
        compute_kpis(app, store, ADMIN, period, as_of=day, fresh=fresh).value(
            "letters_signed", area
        )
        for fresh in (False, True)
    ]
    assert values[0] == values[1]
    return f"{values[0].numerator}/{values[0].denominator}"


def _states(
    app: twores.Twores, store: Store, day: date
) -> dict[str, tuple[LetterStatus, date | None]]:
    return {
        s.cadre.id: (s.status, s.letter.signed_on if s.letter else None)
        for s in letter_states(app, store, ADMIN, 2026, on=day)
    }


def _sign(store: Store, cadre_id: str, day: date, who: str = "社区书记") -> Letter:
    return sign_letter(store, ADMIN, cadre_id, 2026, signed_on=day, counterparty=who)


def _generate(app: twores.Twores, store: Store, day: date, folder: Path | None = None) -> LetterRun:
    out = folder or Path("unused")
    return generate_letters(app, store, ADMIN, 2026, out, on=day, documents=folder is not None)


# --- 1: what the KPI counts ---------------------------------------------------------------


def test_a_replaced_signing_counts_only_before_its_replacement(
    app: twores.Twores, store: Store
) -> None:
    b1, b2 = _business(1), _business(2)
    _load(store, [b1, b2], [_cadre("v1")], [Assignment("v1", b1.key, date(2025, 1, 1))])
    _generate(app, store, date(2026, 3, 1))
    _sign(store, "v1", date(2026, 3, 10))
    _hold(store, Assignment("v1", b2.key, date(2026, 6, 1)))  # the list changes
    assert _rate(app, store, date(2026, 6, 2)) == "1/1"  # not regenerated yet: still counted
    assert _states(app, store, date(2026, 6, 2))["v1"][0] is LetterStatus.LIST_CHANGED
    _generate(app, store, date(2026, 6, 5))
    assert _rate(app, store, date(2026, 3, 31)) == "1/1"  # the past is unchanged
    assert _rate(app, store, date(2026, 6, 4)) == "1/1"
    assert _rate(app, store, date(2026, 6, 5)) == "0/1"  # replaced, the new one unsigned
    assert _rate(app, store, date(2026, 11, 2)) == "0/1"
    assert _states(app, store, date(2026, 11, 2))["v1"][0] is LetterStatus.OVERDUE
    _sign(store, "v1", date(2026, 11, 3))
    assert _rate(app, store, date(2026, 11, 3)) == "1/1"
    assert _rate(app, store, date(2026, 11, 2)) == "0/1"


def test_a_letter_covering_no_business_never_counts(app: twores.Twores, store: Store) -> None:
    """As filed before such letters were refused: one for a cadre then holding nothing."""
    b1 = _business(1)
    _load(store, [b1], [_cadre("v1")], [Assignment("v1", b1.key, date(2026, 9, 10))])
    empty = Letter("v1", VILLAGE, 2026, "h", 0, date(2026, 9, 2), date(2026, 9, 5), "书记")
    with store.unit_of_work(ADMIN) as uow:
        uow.letters.upsert_many([empty])
        uow.commit()
    assert _rate(app, store, date(2026, 9, 11)) == "0/1"
    assert not empty.counts_on(date(2026, 9, 11))


# --- 2: the status as of a past day ------------------------------------------------------


def test_the_status_of_a_past_day_ignores_later_signings_and_letters(
    app: twores.Twores, store: Store
) -> None:
    b1, b2 = _business(1), _business(2)
    _load(store, [b1, b2], [_cadre("v1")], [Assignment("v1", b1.key, date(2025, 1, 1))])
    assert _states(app, store, date(2026, 4, 15))["v1"] == (LetterStatus.MISSING, None)
    _generate(app, store, date(2026, 3, 1))
    _sign(store, "v1", date(2026, 5, 1))
    assert _states(app, store, date(2026, 2, 28))["v1"] == (LetterStatus.MISSING, None)
    assert _states(app, store, date(2026, 4, 15))["v1"] == (LetterStatus.UNSIGNED, None)
    assert _states(app, store, date(2026, 5, 1))["v1"] == (LetterStatus.SIGNED, date(2026, 5, 1))

    _hold(store, Assignment("v1", b2.key, date(2026, 6, 1)))
    _generate(app, store, date(2026, 6, 2))
    signed = (LetterStatus.SIGNED, date(2026, 5, 1))
    assert _states(app, store, date(2026, 5, 31))["v1"] == signed  # the superseded letter
    assert _states(app, store, date(2026, 6, 1))["v1"] == (
        LetterStatus.LIST_CHANGED,
        date(2026, 5, 1),
    )
    assert _states(app, store, date(2026, 6, 2))["v1"] == (LetterStatus.UNSIGNED, None)
    admin = User("admin", "管理员", twores.Role.ADMIN)
    desk = cadre_desk(app, store, admin, "v1", Period.parse("2026-05"))
    assert desk.letter_status is LetterStatus.SIGNED
    assert cadre_desk(app, store, admin, "v1", Period.parse("2026-06")).letter_status is (
        LetterStatus.UNSIGNED
    )


def test_the_letter_in_force_is_chosen_by_day() -> None:
    old = Letter("v1", VILLAGE, 2026, "a", 1, date(2026, 3, 1), date(2026, 3, 10)).replaced_on(
        date(2026, 6, 1)
    )
    new = Letter("v1", VILLAGE, 2026, "b", 2, date(2026, 6, 20))
    assert letter_in_force([new, old], date(2026, 3, 9)) == old.as_of(date(2026, 3, 9))
    assert letter_in_force([new, old], date(2026, 3, 9)).signed_on is None  # type: ignore[union-attr]
    assert letter_in_force([new, old], date(2026, 5, 31)) == old
    assert (
        letter_in_force([new, old], date(2026, 6, 10)) == new
    )  # its unsigned predecessor's stand-in
    assert letter_in_force([new], date(2026, 6, 10)) is None


# --- 3: a signing is never changed -------------------------------------------------------


def test_signing_a_signed_letter_again_is_refused(app: twores.Twores, store: Store) -> None:
    b1 = _business(1)
    _load(store, [b1], [_cadre("v1")], [Assignment("v1", b1.key, date(2025, 1, 1))])
    _generate(app, store, date(2026, 3, 1))
    _sign(store, "v1", date(2026, 4, 10))
    with pytest.raises(
        InvalidValueError, match="干部v1（v1）的2026年承诺书已于2026-04-10签订"
    ) as e:
        _sign(store, "v1", date(2026, 5, 1), "别人")
    assert "already signed on 2026-04-10" in e.value.message_en
    assert _rate(app, store, date(2026, 4, 15)) == "1/1"
    with store.unit_of_work(ADMIN) as uow:
        (kept,) = uow.letters.stream()
    assert (kept.signed_on, kept.counterparty) == (date(2026, 4, 10), "社区书记")


# --- 4: no business, no letter -----------------------------------------------------------


def test_a_cadre_holding_nothing_gets_no_letter_and_cannot_sign_one(
    app: twores.Twores, store: Store, tmp_path: Path
) -> None:
    b1 = _business(1)
    _load(store, [b1], [_cadre("v1"), _cadre("v0")], [Assignment("v1", b1.key, date(2025, 1, 1))])
    run = generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 3, 1))
    assert [g.letter.cadre_id for g in run] == ["v1"] and run.not_owed == ("v0",)
    assert not document_paths("v0", 2026, tmp_path)[0].exists()
    with pytest.raises(InvalidValueError, match="尚未生成"):
        _sign(store, "v0", date(2026, 3, 2))
    with store.unit_of_work(ADMIN) as uow:  # a letter for nothing, filed before
        uow.letters.upsert_many([Letter("v0", VILLAGE, 2026, "h", 0, date(2026, 3, 1))])
        uow.commit()
    with pytest.raises(InvalidValueError, match="未包保任何主体"):
        _sign(store, "v0", date(2026, 3, 2))


# --- 5: the signed version's files are kept ----------------------------------------------


def test_regenerating_keeps_the_signed_versions_files(
    app: twores.Twores, store: Store, tmp_path: Path
) -> None:
    b1, b2 = _business(1), _business(2)
    _load(store, [b1, b2], [_cadre("v1")], [Assignment("v1", b1.key, date(2025, 1, 1))])
    (first,) = generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 3, 1))
    assert first.docx is not None and first.xlsx is not None
    signed_files = [first.docx.read_bytes(), first.xlsx.read_bytes()]
    _sign(store, "v1", date(2026, 3, 10))
    _hold(store, Assignment("v1", b2.key, date(2026, 6, 1)))
    (second,) = generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 6, 2))
    kept = document_paths("v1", 2026, tmp_path, date(2026, 3, 10))
    assert [p.read_bytes() for p in kept] == signed_files
    assert kept[0].name == "2026-v1-2026-03-10签订-承诺书及三清单.docx"
    assert (second.docx, second.xlsx) == document_paths("v1", 2026, tmp_path)
    assert second.docx is not None and second.docx.read_bytes() != signed_files[0]
    generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 6, 3))  # unchanged
    assert [p.read_bytes() for p in kept] == signed_files


# --- 6: outside the scope ----------------------------------------------------------------


def test_signing_outside_the_scope_is_refused_as_not_found(
    app: twores.Twores, store: Store
) -> None:
    b1 = _business(1, OTHER)
    _load(store, [b1], [_cadre("o1", OTHER)], [Assignment("o1", b1.key, date(2025, 1, 1))])
    _generate(app, store, date(2026, 3, 1))
    town = twores.Scope("大圩镇食安办", twores.Role.OFFICE, TOWN)
    with pytest.raises(NotFoundError, match="不在辖区内"):
        sign_letter(store, town, "o1", 2026, signed_on=date(2026, 3, 10), counterparty="书记")
    with pytest.raises(NotFoundError, match="不在辖区内"):
        sign_letter(store, ADMIN, "nobody", 2026, signed_on=date(2026, 3, 10), counterparty="x")
