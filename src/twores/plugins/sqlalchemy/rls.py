"""PostgreSQL row-level security: the database itself keeps each unit of work in its scope.

Migration 0009 enables RLS on the hot tables with one policy each, which migration 0021
narrows: a row is visible and writable when its ancestor column of the scope's own tier
(``twores.scope_tier``) holds the scope's area (``twores.scope_area``) and its county is
one of ``twores.scope_counties``, or when the scope is the root, ``*``. The KPI summary
tables, keyed by county, admit the counties listed in ``twores.scope_counties``. Unset
settings match nothing. The policies are built by the migrations, not from here.

The app connects as a role that owns no table (:func:`grant_app_role`), so the policies
apply to it; every unit of work then starts with ``set_config(..., true)`` (``SET LOCAL``).
Owners and superusers bypass RLS; for them nothing is set.
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING

import sqlalchemy as sa

from twores.core.areas import Hierarchy, Tier
from twores.core.errors import InvalidValueError, TworesError
from twores.core.kpis import county_key
from twores.core.security import Scope
from twores.plugins.sqlalchemy import tables

if TYPE_CHECKING:
    from twores.plugins.sqlalchemy.backend import SqlStore, SqlUnitOfWork

SCOPE_AREA = "twores.scope_area"
SCOPE_COUNTIES = "twores.scope_counties"
SCOPE_TIER = "twores.scope_tier"
ROOT = "*"

#: Tables with ancestor codes: one scope policy each (migrations 0009, 0021).
HOT_TABLES = tuple(t.name for t in tables.metadata.sorted_tables if "province_code" in t.c)
#: The KPI summary and the scheduling marks, keyed by county: a county policy each.
KPI_TABLES = ("kpi_versions", "kpi_states", "kpi_summary", "task_sync_marks")
RLS_TABLES = frozenset(HOT_TABLES + KPI_TABLES)
#: What the app role may do per table; the audit log is append-only for it.
PRIVILEGES: dict[str, str] = {
    **dict.fromkeys(HOT_TABLES + KPI_TABLES, "SELECT, INSERT, UPDATE, DELETE"),
    "areas": "SELECT, INSERT, UPDATE",
    "rankings": "SELECT, INSERT",
    "audit_log": "SELECT, INSERT",
    "audit_head": "SELECT, UPDATE",
    "import_batches": "SELECT, INSERT",
    "store_meta": "SELECT, UPDATE",
    "web_users": "SELECT, INSERT, UPDATE",
    "sign_in_failures": "SELECT, INSERT, DELETE",
    "alembic_version": "SELECT",
}

#: Where keyed records are filed, for a role that cannot see them all (migration 0018).
FILED_COUNTIES = "twores_filed_counties(text, text[])"

_APPLIES: weakref.WeakKeyDictionary[sa.Engine, bool] = weakref.WeakKeyDictionary()
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def scope_settings(scope: Scope, hierarchy: Hierarchy) -> tuple[str, str]:
    """(``twores.scope_area``, ``twores.scope_counties``) for ``scope``."""
    area = scope.area_code
    if area is None:
        return ROOT, ""
    if area not in hierarchy:
        return area, ""
    county = Tier.COUNTY.depth
    if hierarchy[area].tier.depth >= county:  # at or below a county: that county only
        return area, county_key(hierarchy, area)
    found, todo = [], [area]
    while todo:  # the subtree's keys of the summary: areas down to county level
        code = todo.pop()
        found.append(code)
        if hierarchy[code].tier.depth < county:
            todo.extend(a.code for a in hierarchy.children(code))
    return area, ",".join(sorted(found))


def scope_tier(scope: Scope, hierarchy: Hierarchy) -> str:
    """``twores.scope_tier`` for ``scope``: its area's tier, whose ancestor column the
    policies compare with the area (migration 0021); "" for the root or an unknown area."""
    area = scope.area_code
    if area is None or area not in hierarchy:
        return ""
    return str(hierarchy[area].tier.value)


def applies(store: SqlStore, connection: sa.Connection) -> bool:
    """Whether this store's role is subject to the policies (asked once per engine)."""
    if not store.is_postgres:
        return False
    known = _APPLIES.get(store.engine)
    if known is None:
        known = bool(
            connection.exec_driver_sql(
                "SELECT c.relrowsecurity AND NOT pg_has_role(current_user, c.relowner, 'USAGE')"
                " AND NOT r.rolsuper AND NOT r.rolbypassrls"
                " FROM pg_class c, pg_roles r"
                " WHERE c.oid = to_regclass('businesses') AND r.rolname = current_user"
            ).scalar()
        )
        _APPLIES[store.engine] = known
    return known


def enter(uow: SqlUnitOfWork) -> None:
    """Set the scope for this unit of work's transaction (PostgreSQL, app role only)."""
    if not applies(uow.store, uow.connection):
        return
    area, counties = scope_settings(uow.scope, uow._hierarchy)
    uow.connection.exec_driver_sql(
        f"SELECT set_config('{SCOPE_AREA}', %s, true), set_config('{SCOPE_COUNTIES}', %s, true),"
        f" set_config('{SCOPE_TIER}', %s, true)",
        (area, counties, scope_tier(uow.scope, uow._hierarchy)),
    )


def copy_allowed(uow: SqlUnitOfWork, table: str) -> bool:
    """PostgreSQL refuses COPY FROM into a table under RLS: such rows go in by INSERT."""
    return table not in RLS_TABLES or not applies(uow.store, uow.connection)


def grant_app_role(store: SqlStore, role: str, *, login: bool = False) -> None:
    """Create ``role`` if missing (NOLOGIN unless ``login``) and grant it what the app
    needs on this store's schema, and no ownership. Run as the tables' owner."""
    if not store.is_postgres:
        raise TworesError("行级安全需要 PostgreSQL 数据库", "row-level security needs PostgreSQL")
    if not _ROLE_NAME.fullmatch(role):
        raise InvalidValueError(
            "role", role, "角色名须为小写字母、数字和下划线", "lower-case letters, digits, _ only"
        )
    with store.engine.begin() as connection:
        _check_owner(connection)
        exists = connection.exec_driver_sql(
            "SELECT rolsuper OR rolbypassrls"
            " OR pg_has_role(rolname, (SELECT relowner FROM pg_class"
            "  WHERE oid = to_regclass('businesses')), 'USAGE')"
            " FROM pg_roles WHERE rolname = %s",
            (role,),
        ).first()
        if exists is not None and exists[0]:
            raise TworesError(
                f"角色 {role} 拥有数据表或可绕过行级安全，不能作为应用角色",
                f"role {role} owns the tables or bypasses row-level security: "
                "it cannot be the app role",
            )
        try:
            if exists is None:
                connection.exec_driver_sql(f"CREATE ROLE {role} {'LOGIN' if login else 'NOLOGIN'}")
            elif login:
                connection.exec_driver_sql(f"ALTER ROLE {role} LOGIN")
        except sa.exc.DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != "42501":
                raise
            raise TworesError(
                f"无权创建或修改角色 {role}：请由有 CREATEROLE 权限的角色运行，或先建好该角色",
                f"not allowed to create or alter role {role}: run as a role with CREATEROLE, "
                "or create the role first",
            ) from error
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA {_schema(connection)} TO {role}")
        for table, privileges in PRIVILEGES.items():
            # A schema not yet upgraded lacks the newer tables; their migrations grant them.
            if connection.exec_driver_sql("SELECT to_regclass(%s)", (table,)).scalar():
                connection.exec_driver_sql(f"GRANT {privileges} ON {table} TO {role}")
        if connection.exec_driver_sql("SELECT to_regprocedure(%s)", (FILED_COUNTIES,)).scalar():
            connection.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {FILED_COUNTIES} TO {role}")


def filed_elsewhere(uow: SqlUnitOfWork, entity: str, keys: list[str]) -> dict[str, str]:
    """Of ``keys`` (of a ``business`` or ``cadre``, or credit codes: ``uscc``), those
    stored in a county this app role cannot see, with that county (migrations 0018, 0020)."""
    found = uow.connection.exec_driver_sql(
        "SELECT key, county_code FROM twores_filed_counties(%s, %s)", (entity, keys)
    )
    return {str(key): str(county) for key, county in found.all()}


def _check_owner(connection: sa.Connection) -> None:
    """Only the tables' owner can grant on them (PostgreSQL merely warns otherwise)."""
    owns = connection.exec_driver_sql(
        "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class"
        " WHERE oid = to_regclass('businesses')"
    ).scalar()
    if not owns:
        raise TworesError(
            "须以数据表的所有者运行（先以所有者运行 twores db upgrade）",
            "run this as the tables' owner (who ran twores db upgrade)",
        )


def _schema(connection: sa.Connection) -> str:
    return str(connection.exec_driver_sql("SELECT quote_ident(current_schema())").scalar())
