"""PostgreSQL row-level security: as the app role (owning no table), the database itself
keeps every unit of work inside its scope, even for SQL that forgets to filter."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

import twores
from twores.core.areas import Area, Hierarchy, Tier
from twores.core.businesses import BusinessType, FoodBusiness
from twores.core.security import Role, Scope
from twores.plugins.sqlalchemy import rls, rows, tables
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.plugins.storage.common import AncestorCodes
from twores.services.supervision import schedule

SYSTEM = Scope.system("rls test")
AREAS = [
    Area("15", "内蒙古自治区", Tier.PROVINCE),
    Area("1501", "呼和浩特市", Tier.CITY, "15"),
    Area("150102", "新城区", Tier.COUNTY, "1501"),
    Area("150103", "回民区", Tier.COUNTY, "1501"),
    Area("150102001", "海拉尔东路街道", Tier.TOWNSHIP, "150102"),
    Area("150102002", "锡林郭勒北路街道", Tier.TOWNSHIP, "150102"),
    Area("150103001", "环河街街道", Tier.TOWNSHIP, "150103"),
]
TOWNSHIP, SIBLING = "150102001", "150102002"
PER_AREA = 3


def _business(area: str, i: int) -> FoodBusiness:
    licence = f"JY2{area}{i:04d}"  # JY, main type 2, the area's code (province 15)
    return FoodBusiness(f"餐馆{area}-{i}", area, BusinessType.CATERING, licence_no=licence)


@pytest.fixture
def stores(postgres_url: str) -> Iterator[tuple[SqlStore, SqlStore, str]]:
    """The owner's store with a small roster, and the same schema opened as an app role."""
    owner = SqlStore(postgres_url)
    with owner.unit_of_work(SYSTEM) as uow:
        uow.areas.upsert_many(AREAS)
        townships = [a.code for a in AREAS if a.tier is Tier.TOWNSHIP]
        uow.businesses.upsert_many(_business(a, i) for a in townships for i in range(PER_AREA))
        uow.commit()
    role = f"twores_rls_{uuid.uuid4().hex[:10]}"
    owner.grant_app_role(role)
    app = SqlStore(postgres_url, migrate=False)
    sa.event.listen(app.engine, "connect", lambda dbapi, _: _set_role(dbapi, role))
    try:
        yield owner, app, role
    finally:
        _close(owner, app, role)


def _close(owner: SqlStore, app: SqlStore, role: str) -> None:
    app.close()
    with owner.engine.begin() as connection:
        connection.exec_driver_sql(f"DROP OWNED BY {role}")
        connection.exec_driver_sql(f"DROP ROLE {role}")
    owner.close()


def _set_role(dbapi_connection: object, role: str) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute(f"SET ROLE {role}")
    cursor.close()
    dbapi_connection.commit()  # type: ignore[attr-defined]


def _keys(store: SqlStore, scope: Scope) -> set[str]:
    """Every business key a raw, unfiltered SELECT returns in ``scope``'s unit of work."""
    with store.unit_of_work(scope) as uow:
        return set(uow.connection.execute(sa.select(tables.businesses.c.key)).scalars())


def test_a_raw_select_returns_only_the_scope(stores: tuple[SqlStore, SqlStore, str]) -> None:
    owner, app, _ = stores
    township = Scope("town", Role.OFFICE, TOWNSHIP)
    assert _keys(app, township) == {f"JY2{TOWNSHIP}{i:04d}" for i in range(PER_AREA)}
    assert len(_keys(app, Scope("county", Role.OFFICE, "150102"))) == 2 * PER_AREA
    assert len(_keys(app, SYSTEM)) == 3 * PER_AREA  # the root scope sees everything
    assert len(_keys(owner, township)) == 3 * PER_AREA  # owners bypass RLS
    with app.engine.connect() as connection:  # no unit of work, no scope: nothing
        assert connection.execute(sa.select(tables.businesses.c.key)).all() == []


def test_writes_outside_the_scope_are_refused(stores: tuple[SqlStore, SqlStore, str]) -> None:
    _, app, _ = stores
    township = Scope("town", Role.OFFICE, TOWNSHIP)
    hierarchy = Hierarchy(AREAS)
    outside = _business(SIBLING, 99)
    values = (*rows.ancestor_values(AncestorCodes.of(hierarchy, SIBLING)), *_row(outside))
    refused = pytest.raises(sa.exc.ProgrammingError, match="row-level security")
    with app.unit_of_work(township) as uow, refused:  # raw SQL past the service layer
        uow.connection.execute(sa.insert(tables.businesses).values(values))
    with app.unit_of_work(township) as uow:
        hidden = uow.connection.execute(
            sa.update(tables.businesses)
            .where(tables.businesses.c.township_code == SIBLING)
            .values(name="改名")
        )
        assert hidden.rowcount == 0
        moved = sa.update(tables.businesses).values(township_code=SIBLING)
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            uow.connection.execute(moved)


def _row(business: FoodBusiness) -> tuple[object, ...]:
    return (*rows.BUSINESS.values_of(business), "hash")


def test_the_services_work_as_the_app_role(
    stores: tuple[SqlStore, SqlStore, str], tmp_path: Path
) -> None:
    _, app, _ = stores
    township = Scope("town", Role.OFFICE, TOWNSHIP)
    many = [_business(TOWNSHIP, 100 + i) for i in range(150)]  # > 100: COPY for owners
    with app.unit_of_work(township) as uow:
        assert uow.businesses.upsert_many(many).inserted == 150
        uow.commit()
    with app.unit_of_work(township) as uow:
        assert uow.businesses.count() == PER_AREA + 150
    with app.unit_of_work(Scope.system()) as uow:
        assert uow.audit.verify() == []  # the audit log reads back whole


def test_a_key_filed_in_a_county_the_role_cannot_see_is_refused_not_filed_twice(
    stores: tuple[SqlStore, SqlStore, str],
) -> None:
    """Uniqueness holds per county (Citus): the database cannot stop a second row under
    another county's key, so the write asks where the key is filed (migration 0018)."""
    import attrs

    _, app, _ = stores
    other_county = Scope("回民区", Role.OFFICE, "150103")
    theirs = _business(TOWNSHIP, 0)  # filed in 新城区, invisible to 回民区
    again = attrs.evolve(theirs, area_code="150103001")
    with app.unit_of_work(other_county) as uow, pytest.raises(twores.ScopeError) as refused:
        uow.businesses.upsert_many([again, _business("150103001", 50)])
    assert refused.value.keys == (theirs.key,)
    with app.unit_of_work(SYSTEM) as uow:
        assert [b.area_code for b in uow.businesses.stream() if b.key == theirs.key] == [TOWNSHIP]


def test_a_credit_code_filed_in_a_county_the_role_cannot_see_is_found_outside(
    stores: tuple[SqlStore, SqlStore, str],
) -> None:
    """A ledger row giving only a credit code is refused when a business outside the
    jurisdiction is stored with it: the role asks where the code is filed (migration 0020)."""
    import attrs

    from twores.core.businesses import uscc_check_digit

    owner, app, _ = stores
    code = "91150102MA0000001"
    code += uscc_check_digit(code)
    with owner.unit_of_work(SYSTEM) as uow:
        uow.businesses.upsert_many([attrs.evolve(_business(TOWNSHIP, 900), uscc=code)])
        uow.commit()
    with app.unit_of_work(Scope("回民区", Role.OFFICE, "150103")) as uow:
        assert uow.businesses.keys_by_uscc([code]) == {}
        assert uow.businesses.uscc_filed_outside([code, "no-such-code"]) == {code}
    with app.unit_of_work(Scope("town", Role.OFFICE, TOWNSHIP)) as uow:
        assert uow.businesses.uscc_filed_outside([code]) == set()


def test_the_app_role_owns_nothing_and_cannot_rewrite_the_audit_log(
    stores: tuple[SqlStore, SqlStore, str],
) -> None:
    owner, app, role = stores
    with owner.engine.connect() as connection:
        owned = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = %s",
            (role,),
        ).scalar()
        forced = connection.exec_driver_sql(
            "SELECT relname FROM pg_class WHERE relrowsecurity "
            "AND relnamespace = to_regnamespace(current_schema())"
        ).scalars()
        assert set(forced) == rls.RLS_TABLES
    assert owned == 0
    with app.unit_of_work(SYSTEM) as uow, pytest.raises(sa.exc.ProgrammingError):
        uow.connection.exec_driver_sql("DELETE FROM audit_log")


def test_scope_settings_name_the_counties_of_the_summary() -> None:
    hierarchy = Hierarchy(AREAS)
    assert rls.scope_settings(SYSTEM, hierarchy) == ("*", "")
    assert rls.scope_settings(Scope("t", Role.CADRE, TOWNSHIP), hierarchy) == (TOWNSHIP, "150102")
    city = rls.scope_settings(Scope("c", Role.OFFICE, "1501"), hierarchy)
    assert city == ("1501", "1501,150102,150103")
    assert rls.scope_tier(SYSTEM, hierarchy) == ""
    assert rls.scope_tier(Scope("c", Role.OFFICE, "1501"), hierarchy) == "city"
    assert rls.scope_tier(Scope("t", Role.CADRE, TOWNSHIP), hierarchy) == "township"
    assert rls.scope_tier(Scope("x", Role.OFFICE, "999999"), hierarchy) == ""  # matches nothing


def test_an_app_role_granted_before_an_upgrade_can_schedule(postgres_url: str) -> None:
    """A deployment upgraded past its grant: tables the upgrade adds are granted too."""
    owner = SqlStore(postgres_url, migrate=False)
    owner.upgrade("0010")
    role = f"twores_rls_{uuid.uuid4().hex[:10]}"
    owner.grant_app_role(role)
    owner.upgrade()
    with owner.unit_of_work(SYSTEM) as uow:
        uow.areas.upsert_many(AREAS)
        uow.businesses.upsert_many([_business(TOWNSHIP, 1)])
        uow.commit()
    app = SqlStore(postgres_url, migrate=False)
    sa.event.listen(app.engine, "connect", lambda dbapi, _: _set_role(dbapi, role))
    county = Scope("county", Role.OFFICE, "150102")
    try:
        for _ in range(2):  # the second run reads the marks the first wrote
            report = schedule(twores.build(load_entrypoints=False), app, county, "2026Q1")
            assert report.tasks == 1
    finally:
        _close(owner, app, role)


def test_an_app_role_meeting_an_old_schema_is_told_who_must_upgrade(postgres_url: str) -> None:
    owner = SqlStore(postgres_url, migrate=False)
    owner.upgrade("0015")
    role = f"twores_rls_{uuid.uuid4().hex[:10]}"
    owner.grant_app_role(role)
    app = SqlStore(postgres_url, migrate=False)
    sa.event.listen(app.engine, "connect", lambda dbapi, _: _set_role(dbapi, role))
    try:
        with pytest.raises(twores.TworesError) as error:
            app.upgrade()
        assert "0015" in error.value.message_zh and "twores db upgrade" in error.value.message_en
        assert app.revision() == "0015"  # nothing changed
        owner.upgrade()
        app.upgrade()  # at head: nothing to do, no privilege needed
    finally:
        _close(owner, app, role)


def test_the_app_role_is_never_one_that_bypasses_the_policies(
    stores: tuple[SqlStore, SqlStore, str],
) -> None:
    owner, app, role = stores
    with pytest.raises(twores.TworesError) as error:
        owner.grant_app_role("postgres")  # a superuser: the policies would not bind it
    assert "row-level security" in error.value.message_en
    with pytest.raises(twores.TworesError) as error:
        app.grant_app_role(f"{role}_x")  # the app role owns nothing: it can grant nothing
    assert "owner" in error.value.message_en


# -- migration 0021: a row passes by its ancestor column of the scope's own tier ----------

COUNTY, OTHER_COUNTY = "150102", "150103"


def _raw_row(table: sa.Table, key: str, **codes: str | None) -> dict[str, object]:
    """A row of any hot table, filed by ``codes`` (ancestor columns, ``area_code``)."""
    values: dict[str, object] = {}
    for column in table.c:
        if column.name in codes or (column.nullable and not column.primary_key):
            continue
        kind = column.type.python_type
        if kind is str:
            values[column.name] = key if column.primary_key else "x"
        else:
            values[column.name] = {int: 0, bool: False, date: date(2026, 1, 1)}[kind]
    values.update({c: v for c, v in codes.items() if c in table.c})
    return values


def _filed(area: str, **forged: str | None) -> dict[str, str | None]:
    """The ancestor columns and area of a row filed in ``area``, some of them ``forged``."""
    codes = AncestorCodes.of(Hierarchy(AREAS), area)
    ancestors = dict(zip(rows.ANCESTORS, rows.ancestor_values(codes), strict=True))
    return {**ancestors, "area_code": area, **forged}


def _hot_tables() -> list[sa.Table]:
    return [tables.metadata.tables[name] for name in rls.HOT_TABLES]


def _all_keys(store: SqlStore, scope: Scope) -> set[tuple[str, str]]:
    """(table, primary key's second column) of every row a raw SELECT returns in ``scope``."""
    found = set()
    with store.unit_of_work(scope) as uow:
        for table in _hot_tables():
            column = list(table.primary_key.columns)[1]
            found |= {(table.name, k) for k in uow.connection.execute(sa.select(column)).scalars()}
    return found


def _refused(app: SqlStore, scope: Scope, statement: sa.Executable) -> None:
    with (
        app.unit_of_work(scope) as uow,
        pytest.raises(sa.exc.ProgrammingError, match="row-level security"),
    ):
        uow.connection.execute(statement)


@pytest.mark.parametrize(
    "forged",
    [
        {"township_code": COUNTY},  # the reproduced attack: the own code one tier down
        {"village_code": COUNTY},
        {"city_code": COUNTY},
        {"province_code": COUNTY},
    ],
    ids=lambda f: next(iter(f)),
)
def test_a_county_cannot_file_a_row_in_another_county_through_an_ancestor_column(
    stores: tuple[SqlStore, SqlStore, str], forged: dict[str, str]
) -> None:
    _, app, _ = stores
    county = Scope("新城区", Role.OFFICE, COUNTY)
    for table in _hot_tables():
        row = _raw_row(table, f"forged-{table.name}", **_filed("150103001", **forged))
        _refused(app, county, sa.insert(table).values(row))
    with app.unit_of_work(SYSTEM) as uow:  # nothing got in
        for table in _hot_tables():
            assert uow.connection.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.county_code == "150103")
            ).scalar() == (PER_AREA if table.name == "businesses" else 0)


def test_a_county_cannot_move_its_rows_into_another_county(
    stores: tuple[SqlStore, SqlStore, str],
) -> None:
    _, app, _ = stores
    county = Scope("新城区", Role.OFFICE, COUNTY)
    with app.unit_of_work(county) as uow:  # the county's own rows, in every hot table
        for table in _hot_tables():
            row = _raw_row(table, f"own-{table.name}", **_filed(TOWNSHIP))
            uow.connection.execute(sa.insert(table).values(row))
        uow.commit()
    moved = _filed("150103001", township_code=COUNTY)
    for table in _hot_tables():
        values = {c: v for c, v in moved.items() if c in table.c}
        _refused(app, county, sa.update(table).values(values))
    key = f"JY2{TOWNSHIP}0000"
    b = tables.businesses
    _refused(app, county, sa.update(b).where(b.c.key == key).values(moved))
    # the other county sees none of it; the county still sees and changes its own rows
    assert not {k for _, k in _all_keys(app, Scope("回民区", Role.OFFICE, OTHER_COUNTY))} & {
        key,
        *(f"own-{t.name}" for t in _hot_tables()),
    }
    assert {(t.name, f"own-{t.name}") for t in _hot_tables()} <= _all_keys(app, county)
    with app.unit_of_work(county) as uow:
        renamed = sa.update(b).where(b.c.key == key).values(name="改名", township_code=SIBLING)
        assert uow.connection.execute(renamed).rowcount == 1  # within the county: allowed
        uow.commit()


def test_a_township_cannot_file_a_row_in_a_sibling_township(
    stores: tuple[SqlStore, SqlStore, str],
) -> None:
    _, app, _ = stores
    township = Scope("town", Role.CADRE, TOWNSHIP)
    b = tables.businesses
    forged = _raw_row(b, "forged", **_filed(SIBLING, village_code=TOWNSHIP))
    _refused(app, township, sa.insert(b).values(forged))
    with app.unit_of_work(township) as uow:  # its own township's rows go in
        own = _raw_row(b, "own", **_filed(TOWNSHIP))
        uow.connection.execute(sa.insert(b).values(own))
        uow.commit()
    assert ("businesses", "own") in _all_keys(app, township)
    assert ("businesses", "own") not in _all_keys(app, Scope("s", Role.CADRE, SIBLING))


def test_a_city_sees_and_files_in_its_counties_only(
    stores: tuple[SqlStore, SqlStore, str],
) -> None:
    owner, app, _ = stores
    city = Scope("呼和浩特市", Role.OFFICE, "1501")
    with owner.unit_of_work(SYSTEM) as uow:  # another city of the province
        uow.areas.upsert_many(
            [Area("1502", "包头市", Tier.CITY, "15"), Area("150202", "东河区", Tier.COUNTY, "1502")]
        )
        uow.commit()
    c = tables.cadres
    with app.unit_of_work(city) as uow:
        for key, area in (("city-own", "1501"), ("county-own", "150103001")):
            uow.connection.execute(sa.insert(c).values(_raw_row(c, key, **_filed(area))))
        uow.commit()
    elsewhere = _filed("150103001", county_code="150202")  # city_code 1501, another county
    _refused(app, city, sa.insert(c).values(_raw_row(c, "forged", **elsewhere)))
    in_other_city = _filed("150103001", city_code="1502")
    _refused(app, city, sa.insert(c).values(_raw_row(c, "forged", **in_other_city)))
    seen = _all_keys(app, city)
    assert {k for t, k in seen if t == "businesses"} == _keys(app, SYSTEM)  # both counties'
    assert {("cadres", "city-own"), ("cadres", "county-own")} <= seen
    county_sees = _all_keys(app, Scope("回民区", Role.OFFICE, OTHER_COUNTY))
    assert ("cadres", "county-own") in county_sees
    assert ("cadres", "city-own") not in county_sees  # filed above the county
    assert _all_keys(app, Scope("p", Role.OFFICE, "15")) >= seen
