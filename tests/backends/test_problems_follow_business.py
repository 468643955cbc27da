"""A business moved to another township of its county takes its problems along, open and
closed (its ledger, as its routine records): the new township's office lists, acts on and
escalates them, the old one no longer sees them, and the problem KPIs count them there."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

import attrs
import pytest

import twores
from twores.core.areas import Tier
from twores.core.assignment import plan_assignments
from twores.core.errors import NotFoundError
from twores.core.periods import CHINA_TZ
from twores.core.ports import Store
from twores.core.problems import Action, Problem, ProblemSource, ProblemStatus, Severity, transition
from twores.core.security import Role, Scope
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.services.kpis import compute_kpis
from twores.services.problems import escalate_overdue, list_problems, transition_problem
from twores.services.synth import synthetic_roster
from twores.testing.postgres import fresh_sql_store, sql_backends

APP = twores.build(load_entrypoints=False)
ADMIN = Scope("管理员", Role.ADMIN)
COUNTY = "450323"
AS_OF = date(2026, 3, 31)


@contextmanager
def _store(backend: str) -> Iterator[Store]:
    if backend == "memory":
        yield MemoryStore()
        return
    with fresh_sql_store(backend) as store:
        yield store


def _table(store: Store, fresh: bool = False) -> dict[tuple[str, str], tuple[float, float]]:
    found = compute_kpis(APP, store, ADMIN, "2026-03", as_of=AS_OF, fresh=fresh)
    return {
        (kpi, area): (v.numerator, v.denominator)
        for kpi, values in found.values.items()
        for area, v in values.items()
    }


def _problems(business_key: str, area: str, reporter: str) -> list[Problem]:
    """One problem ordered to be fixed by 03-10 (overdue on AS_OF), one closed."""
    at = datetime(2026, 3, 2, 10, tzinfo=CHINA_TZ)

    def found(tag: str) -> Problem:
        return Problem(
            f"{business_key}/2026-03-02/{tag}",
            business_key,
            area,
            ProblemSource.VISIT,
            "后厨未设置防蝇防鼠设施",
            Severity.MINOR,
            date(2026, 3, 2),
            reporter,
        )

    overdue, _ = transition(
        found("open"), Action.ORDER, actor=reporter, at=at, deadline=date(2026, 3, 10)
    )
    closed = found("closed")
    for action, actor in ((Action.FIX_ON_SITE, reporter), (Action.VERIFY, "复核人"),
                          (Action.CLOSE, "县局")):  # fmt: skip
        closed, _ = transition(closed, action, actor=actor, at=at, evidence=("现场照片.jpg",))
    return [closed, overdue]


@pytest.mark.parametrize("backend", ["memory", *sql_backends()])
def test_a_moved_business_takes_its_problems_to_its_new_township(backend: str) -> None:
    hierarchy = demo_region().subtree(COUNTY)
    roster = synthetic_roster(hierarchy, businesses=30, cadres=10, seed=3, within=COUNTY)
    business = sorted(roster.businesses.values(), key=lambda b: b.key)[0]

    def township(code: str) -> str:
        found = hierarchy.ancestor(code, Tier.TOWNSHIP)
        assert found is not None
        return found.code

    old = township(business.area_code)
    village = next(a.code for a in hierarchy if a.tier is Tier.VILLAGE and township(a.code) != old)
    new = township(village)
    closed, overdue = _problems(business.key, business.area_code, "王五")
    with _store(backend) as store:
        with store.unit_of_work(ADMIN) as uow:
            uow.areas.upsert_many(roster.hierarchy)
            uow.businesses.upsert_many(roster.businesses.values())
            uow.cadres.upsert_many(roster.cadres.values())
            uow.assignments.apply(plan_assignments(roster, APP.plugins.rulebook(), AS_OF))
            uow.problems.upsert_many([closed, overdue])
            uow.commit()
        before = _table(store)  # a summary counted before the move must not linger
        assert before == _table(store, fresh=True)
        with store.unit_of_work(Scope("县局", Role.OFFICE, COUNTY)) as uow:
            uow.businesses.upsert_many([attrs.evolve(business, area_code=village)])
            uow.commit()

        refiled = [attrs.evolve(p, area_code=village) for p in (closed, overdue)]
        office, left = Scope("乡镇用户", Role.OFFICE, new), Scope("乡镇用户", Role.OFFICE, old)
        mine = sorted(list_problems(store, office, business_key=business.key), key=lambda p: p.id)
        assert mine == sorted(refiled, key=lambda p: p.id)
        assert list(list_problems(store, left, business_key=business.key)) == []
        assert list(list_problems(store, ADMIN, within=old)) == []

        after = _table(store)
        assert after == _table(store, fresh=True)
        # one overdue of one open; one closed of two found
        for kpi, counts in (("overdue_problems", (1, 1)), ("rectification", (1, 2))):
            filed = {
                (when, area): table.get((kpi, area), (0, 0))
                for when, table in (("before", before), ("after", after))
                for area in (old, new)
            }
            none = (0, 0)
            assert filed == {
                ("before", old): counts, ("before", new): none,
                ("after", old): none, ("after", new): counts,
            }, kpi  # fmt: skip
            assert after[kpi, COUNTY] == before[kpi, COUNTY], kpi

        # reminders go to the new office; the old one has nothing to escalate
        moment = datetime(2026, 3, 31, 9, tzinfo=CHINA_TZ)
        assert escalate_overdue(APP, store, left, AS_OF, actor="旧镇", at=moment) == []
        escalated = escalate_overdue(APP, store, office, AS_OF, actor="新镇", at=moment)
        assert [(e.problem.id, e.problem.area_code) for e in escalated] == [(overdue.id, village)]

        later = datetime(2026, 4, 1, 9, tzinfo=CHINA_TZ)
        with pytest.raises(NotFoundError):  # "问题不存在或不在辖区内"
            transition_problem(
                APP, store, left, overdue.id, Action.SUBMIT, actor="店主", at=later,
                evidence=("整改照片.jpg",),
            )  # fmt: skip
        submitted = transition_problem(
            APP, store, office, overdue.id, Action.SUBMIT, actor="店主", at=later,
            evidence=("整改照片.jpg",),
        )  # fmt: skip
        assert submitted.status is ProblemStatus.SUBMITTED and submitted.area_code == village
        assert _table(store) == _table(store, fresh=True)

        with store.unit_of_work(ADMIN) as uow:
            moves = [e for e in uow.audit.entries() if e.entity == "problem"]
            assert any(e.after and village in str(e.after) for e in moves)  # audited
            assert uow.audit.verify() == []


@pytest.mark.parametrize("backend", ["memory", *sql_backends()])
def test_problems_the_mover_cannot_see_stay_put(backend: str) -> None:
    """As routine records: a problem filed under an area the writer cannot see is not
    rewritten by its business's move; the others follow."""
    hierarchy = demo_region().subtree(COUNTY)
    roster = synthetic_roster(hierarchy, businesses=30, cadres=10, seed=3, within=COUNTY)
    business = sorted(roster.businesses.values(), key=lambda b: b.key)[0]
    old = hierarchy.ancestor(business.area_code, Tier.TOWNSHIP)
    assert old is not None
    villages = [a.code for a in hierarchy if a.tier is Tier.VILLAGE]
    inside = next(
        v for v in villages if hierarchy.contains(old.code, v) and v != business.area_code
    )
    elsewhere = next(v for v in villages if not hierarchy.contains(old.code, v))
    _, here = _problems(business.key, business.area_code, "王五")
    key = f"{business.key}/2026-03-02/stray"
    history = tuple(attrs.evolve(e, problem_id=key) for e in here.history)
    stray = attrs.evolve(here, id=key, area_code=elsewhere, history=history)
    with _store(backend) as store:
        with store.unit_of_work(ADMIN) as uow:
            uow.areas.upsert_many(roster.hierarchy)
            uow.businesses.upsert_many([business])
            uow.problems.upsert_many([here, stray])
            uow.commit()
        with store.unit_of_work(Scope("乡镇用户", Role.OFFICE, old.code)) as uow:
            uow.businesses.upsert_many([attrs.evolve(business, area_code=inside)])
            uow.commit()
        with store.unit_of_work(ADMIN) as uow:
            assert uow.problems.get(here.id) == attrs.evolve(here, area_code=inside)
            assert uow.problems.get(stray.id) == stray
            assert uow.audit.verify() == []
