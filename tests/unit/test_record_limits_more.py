"""The rest of the records' free texts are held to their store columns (and refuse NUL…)
like names are (test_record_limits.py): a visit's late-entry reason and checklist, a task's
exemption reason, a duty record's filer and an import's file name and actor. A value at the
limit is stored and read back on SQLite and PostgreSQL; one past it, or with a NUL, is a
bilingual InvalidValueError before any backend sees it (PostgreSQL raised a raw DataError
that printed the statement's parameters; SQLite stored it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.backends.conftest import postgres_url  # noqa: F401  (a fresh schema)

import twores
from twores.core.duties import BY_NAME_MAX, DutyKind, DutyRecord, StaffRole
from twores.core.errors import InvalidValueError
from twores.core.periods import CHINA_TZ, Period, PeriodKind
from twores.core.ports import FILE_NAME_MAX, ImportRecord, Store
from twores.core.security import ACTOR_MAX, Role, Scope
from twores.core.supervision import (
    CHECKLIST_REF_MAX,
    EXEMPT_REASON_MAX,
    LATE_REASON_MAX,
    SupervisionTask,
    Visit,
)
from twores.divisions import demo_region
from twores.plugins.sqlalchemy import tables
from twores.services.stores import open_store

AREA = "450323101200"
BUSINESS = "JY14503230000003"


def visit(**changes: Any) -> Visit:
    fields: dict[str, Any] = {
        "business_key": BUSINESS,
        "cadre_id": "c1",
        "area_code": AREA,
        "visited_on": date(2025, 6, 2),
        "recorded_at": datetime(2025, 6, 20, 9, 0, tzinfo=CHINA_TZ),
    }
    return Visit(**{**fields, **changes})


def task(**changes: Any) -> SupervisionTask:
    fields: dict[str, Any] = {
        "business_key": BUSINESS,
        "area_code": AREA,
        "period": Period.containing(PeriodKind.QUARTER, date(2025, 6, 2)),
        "seq": 1,
        "due_on": date(2025, 6, 30),
    }
    return SupervisionTask(**{**fields, **changes})


def duty(**changes: Any) -> DutyRecord:
    fields: dict[str, Any] = {
        "business_key": BUSINESS,
        "area_code": AREA,
        "kind": DutyKind.DAILY,
        "on": date(2025, 6, 2),
        "by_role": StaffRole.OFFICER,
        "by_name": "李明",
    }
    return DutyRecord(**{**fields, **changes})


def import_record(**changes: Any) -> ImportRecord:
    fields: dict[str, Any] = {
        "sha256": "ab" * 32,
        "kind": "businesses",
        "file_name": "台账.xlsx",
        "actor": "王科长",
        "at": "2025-06-30T00:00:00",
        "rows": 3,
        "inserted": 3,
        "updated": 0,
    }
    return ImportRecord(**{**fields, **changes})


def refused(field: str, build: Any) -> InvalidValueError:
    with pytest.raises(InvalidValueError) as caught:
        build()
    assert caught.value.field == field
    assert field in caught.value.message_zh and field in caught.value.message_en
    return caught.value


def width(table: sa.Table, column: str) -> int:
    length = table.c[column].type.length
    assert isinstance(length, int)
    return length


def test_the_limits_are_the_store_columns() -> None:
    assert width(tables.visits, "late_reason") == LATE_REASON_MAX == 500
    assert width(tables.visits, "checklist") == CHECKLIST_REF_MAX
    assert width(tables.tasks, "exempt_reason") == EXEMPT_REASON_MAX == 200
    assert width(tables.duty_records, "by_name") == BY_NAME_MAX == 100
    assert width(tables.import_batches, "file_name") == FILE_NAME_MAX == 500
    assert width(tables.import_batches, "actor") == ACTOR_MAX


# (build, field, the longest text its column holds)
CASES: list[tuple[Any, str, int]] = [
    (visit, "late_reason", LATE_REASON_MAX),
    (visit, "checklist", CHECKLIST_REF_MAX),
    (task, "exempt_reason", EXEMPT_REASON_MAX),
    (duty, "by_name", BY_NAME_MAX),
    (import_record, "file_name", FILE_NAME_MAX),
    (import_record, "actor", ACTOR_MAX),
]
IDS = [field for _, field, _ in CASES]


@pytest.mark.parametrize(("build", "field", "limit"), CASES, ids=IDS)
def test_a_text_one_past_its_column_is_refused(build: Any, field: str, limit: int) -> None:
    assert getattr(build(**{field: "补" * limit}), field) == "补" * limit
    error = refused(field, lambda: build(**{field: "补" * (limit + 1)}))
    assert str(limit) in error.message_zh and str(limit + 1) in error.message_en
    assert len(str(error)) < 600  # the value is shown cut


@pytest.mark.parametrize(("build", "field", "limit"), CASES, ids=IDS)
@pytest.mark.parametrize("text", ["补录\x00原因", "补录\x01原因", "补录原因\x7f"])
def test_a_control_character_is_refused(build: Any, field: str, limit: int, text: str) -> None:
    error = refused(field, lambda: build(**{field: text}))
    assert "U+00" in error.message_en


@pytest.mark.parametrize(("build", "field", "limit"), CASES, ids=IDS)
def test_a_text_field_of_the_wrong_type_is_refused(build: Any, field: str, limit: int) -> None:
    refused(field, lambda: build(**{field: 13800138000}))


def test_the_labels_are_bilingual() -> None:
    error = refused("late_reason", lambda: visit(late_reason="补" * 501))
    assert "补录原因" in error.message_zh and "late-entry reason" in error.message_en
    error = refused("exempt_reason", lambda: task(exempt_reason="停" * 201))
    assert "免于督导原因" in error.message_zh and "exemption reason" in error.message_en
    error = refused("file_name", lambda: import_record(file_name="台" * 501))
    assert "文件名" in error.message_zh and "file name" in error.message_en


def test_optional_reasons_may_be_left_out() -> None:
    assert visit().late_reason is None and task().exempt_reason is None
    assert visit(late_reason="系统故障\n次日补录").late_reason == "系统故障\n次日补录"


# --- stored at the limit, on every backend ------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (
        f"sqlite:///{tmp_path / 't.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    opened = open_store(twores.build(load_entrypoints=False), url)
    with opened.unit_of_work(Scope("测试员", Role.ADMIN)) as uow:
        uow.areas.upsert_many(demo_region())
        uow.commit()
    try:
        yield opened
    finally:
        opened.close()


def test_texts_at_their_limits_are_stored_and_read_back(store: Store) -> None:
    admin = Scope("测" * ACTOR_MAX, Role.ADMIN)
    late = visit(late_reason="补" * LATE_REASON_MAX, checklist="c" * CHECKLIST_REF_MAX)
    exempt = task(exempt_reason="停" * EXEMPT_REASON_MAX)
    filed = duty(by_name="李" * BY_NAME_MAX)
    imported = import_record(file_name="台" * FILE_NAME_MAX, actor=admin.actor)
    with store.unit_of_work(admin) as uow:
        uow.visits.upsert_many([late])
        uow.tasks.upsert_many([exempt])
        uow.duties.upsert_many([filed])
        uow.imports.record(imported)
        uow.commit()
    with store.unit_of_work(admin) as uow:
        assert uow.visits.get(late.key) == late
        assert uow.tasks.get_many([exempt.key]) == {exempt.key: exempt}
        assert uow.duties.get(filed.key) == filed
        assert uow.imports.find(imported.sha256) == imported


def test_texts_stored_before_their_limits_were_checked_still_read(tmp_path: Path) -> None:
    """SQLite kept any length before the records checked it: such rows read back as written
    (a province's visits must not stop reading over one long late-entry reason)."""
    opened = open_store(twores.build(load_entrypoints=False), f"sqlite:///{tmp_path / 't.db'}")
    admin = Scope("测试员", Role.ADMIN)
    late, imported = visit(late_reason="补录"), import_record(file_name="台账.csv")
    with opened.unit_of_work(admin) as uow:
        uow.areas.upsert_many(demo_region())
        uow.visits.upsert_many([late])
        uow.imports.record(imported)
        uow.commit()
    too_long = "补" * (LATE_REASON_MAX + 1)
    with opened.engine.begin() as connection:  # written as an older release could
        connection.execute(sa.update(tables.visits).values(late_reason=too_long))
        connection.execute(sa.update(tables.import_batches).values(file_name="台" * 600))
    with opened.unit_of_work(admin) as uow:
        assert uow.visits.get(late.key).late_reason == too_long  # type: ignore[union-attr]
        assert uow.imports.find(imported.sha256).file_name == "台" * 600  # type: ignore[union-attr]
    opened.close()


def test_a_finding_longer_than_a_problem_description_is_refused() -> None:
    """A finding opens a problem: 1,000 characters at most, each (a 100,000-character one was
    taken in, and every later refusal of the visit echoed it whole)."""
    from twores.core.problems import DESCRIPTION_MAX

    assert visit(findings=("冷" * DESCRIPTION_MAX,)).findings == ("冷" * DESCRIPTION_MAX,)
    with pytest.raises(InvalidValueError) as refused:
        visit(findings=("无健康证", "冷" * (DESCRIPTION_MAX + 1)))
    assert refused.value.field == "findings" and "1000" in refused.value.message_zh


def test_a_ledger_step_note_and_a_description_are_bounded() -> None:
    from twores.core.problems import (
        DESCRIPTION_MAX,
        NOTE_MAX,
        Action,
        Problem,
        ProblemSource,
        Severity,
        transition,
    )

    def problem(description: str) -> Problem:
        return Problem(
            id="p1",
            business_key=BUSINESS,
            area_code=AREA,
            source=ProblemSource.VISIT,
            description=description,
            severity=Severity.MINOR,
            found_on=date(2026, 3, 2),
            reporter="c1",
        )

    with pytest.raises(InvalidValueError):
        problem("冷" * (DESCRIPTION_MAX + 1))
    found = problem("冷库温度超标")
    at = datetime(2026, 3, 3, 10, tzinfo=CHINA_TZ)
    with pytest.raises(InvalidValueError) as refused:
        transition(
            found,
            Action.ORDER,
            actor="所",
            at=at,
            note="催" * (NOTE_MAX + 1),
            deadline=date(2026, 3, 20),
        )
    assert refused.value.field == "note"
