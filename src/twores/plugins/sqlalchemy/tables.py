"""SQLAlchemy Core tables.

Distribution-ready for Citus: every hot table (businesses, cadres, assignments) carries the
denormalized ancestor codes and ``county_code``, the distribution column, which starts every
primary key and unique constraint. ``areas`` is a small reference table. Code columns use
``COLLATE "C"`` on PostgreSQL so prefix and equality lookups use plain byte order.
"""

from __future__ import annotations

import sqlalchemy as sa

from twores.core.areas import Tier

metadata = sa.MetaData()

#: The ancestor-code column of each tier on the tables filed by area.
TIER_COLUMN = {
    Tier.PROVINCE: "province_code",
    Tier.CITY: "city_code",
    Tier.COUNTY: "county_code",
    Tier.TOWNSHIP: "township_code",
    Tier.VILLAGE: "village_code",
}


def code(length: int = 32) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _ancestors() -> list[sa.Column[str]]:
    return [
        sa.Column("province_code", code(), nullable=True),
        sa.Column("city_code", code(), nullable=True),
        sa.Column("township_code", code(), nullable=True),
        sa.Column("village_code", code(), nullable=True),
    ]


areas = sa.Table(
    "areas",
    metadata,
    sa.Column("code", code(), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("tier", sa.String(16), nullable=False),
    sa.Column("parent_code", code(), nullable=True),
    sa.Column("valid_from", sa.Date, nullable=True),
    sa.Column("valid_to", sa.Date, nullable=True),
)

businesses = sa.Table(
    "businesses",
    metadata,
    sa.Column("county_code", code(), primary_key=True),
    sa.Column("key", code(64), primary_key=True),
    *_ancestors(),
    sa.Column("area_code", code(), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("business_type", sa.String(16), nullable=False),
    sa.Column("licence_no", code(64), nullable=True),
    sa.Column("uscc", code(18), nullable=True),
    sa.Column("scale", sa.String(16), nullable=True),
    sa.Column("canteen_kind", sa.String(16), nullable=True),
    sa.Column("diners", sa.Integer, nullable=True),
    sa.Column("chain_headquarters", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_since", sa.Date, nullable=True),
    sa.Column("opened_on", sa.Date, nullable=True),
    sa.Column("grade", sa.String(1), nullable=True),
    sa.Column("risk_grade", sa.String(1), nullable=True),
    sa.Column("staff", sa.Text, nullable=True),
    sa.Column("row_hash", sa.String(32), nullable=False),
    # SQLite keeps the rows in primary-key order, each county's together (set-wise work
    # reads a county at a time; a rowid table looked each row up through the key index).
    sqlite_with_rowid=False,
)

cadres = sa.Table(
    "cadres",
    metadata,
    sa.Column("county_code", code(), primary_key=True),
    sa.Column("id", code(64), primary_key=True),
    *_ancestors(),
    sa.Column("area_code", code(), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("tier", sa.String(16), nullable=False),
    sa.Column("post", sa.String(100), nullable=True),
    sa.Column("phone", sa.String(32), nullable=True),
    sa.Column("id_number", sa.String(18), nullable=True),
    sa.Column("active_from", sa.Date, nullable=True),
    sa.Column("active_to", sa.Date, nullable=True),
    sa.Column("row_hash", sa.String(32), nullable=False),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("county_code", code(), primary_key=True),
    sa.Column("business_key", code(64), primary_key=True),
    sa.Column("cadre_id", code(64), primary_key=True),
    sa.Column("valid_from", sa.Date, primary_key=True),
    *_ancestors(),
    sa.Column("valid_to", sa.Date, nullable=True),
    sa.Column("reason", sa.String(32), nullable=False),
)

tasks = sa.Table(
    "supervision_tasks",
    metadata,
    sa.Column("county_code", code(), primary_key=True),
    sa.Column("key", code(120), primary_key=True),
    *_ancestors(),
    sa.Column("area_code", code(), nullable=False),
    sa.Column("business_key", code(64), nullable=False),
    sa.Column("period", sa.String(16), nullable=False),
    sa.Column("period_kind", sa.String(16), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("cadre_id", code(64), nullable=True),
    sa.Column("exempt_reason", sa.String(200), nullable=True),
    sa.Column("visit_id", code(160), nullable=True),
    sa.Column("credited_to", code(64), nullable=True),
    sa.Column("row_hash", sa.String(32), nullable=False),
)

visits = sa.Table(
    "visits",
    metadata,
    sa.Column("county_code", code(), primary_key=True),
    sa.Column("key", code(160), primary_key=True),
    *_ancestors(),
    sa.Column("area_code", code(), nullable=False),
    sa.Column("business_key", code(64), nullable=False),
    sa.Column("cadre_id", code(64), nullable=False),
    sa.Column("visited_on", sa.Date, nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("checklist", sa.String(64), nullable=False),
    sa.Column("answers", sa.Text, nullable=True),
    sa.Column("evidence", sa.Text, nullable=True),
    sa.Column("findings", sa.Text, nullable=True),
    sa.Column("late_reason", sa.String(500), nullable=True),
    sa.Column("row_hash", sa.String(32), nullable=False),
)

letters = sa.Table(
    "letters",
    metadata,
    sa.Column("county_code", code(), primary_key=True),
    sa.Column("key", code(80), primary_key=True),
    *_ancestors(),
    sa.Column("area_code", code(), nullable=False),
    sa.Column("cadre_id", code(64), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("list_hash", sa.String(64), nullable=False),
    sa.Column("businesses", sa.Integer, nullable=False),
    sa.Column("generated_on", sa.Date, nullable=False),
    sa.Column("signed_on", sa.Date, nullable=True),
    sa.Column("counterparty", sa.String(100), nullable=True),
    sa.Column("scan_sha256", sa.String(64), nullable=True),
    sa.Column("row_hash", sa.String(32), nullable=False),
)

duty_records = sa.Table(
    "duty_records",
    metadata,
    sa.Column("county_code", code(), primary_key=True),
    sa.Column("key", code(120), primary_key=True),
    *_ancestors(),
    sa.Column("area_code", code(), nullable=False),
    sa.Column("business_key", code(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("on_day", sa.Date, nullable=False),
    sa.Column("by_role", sa.String(16), nullable=False),
    sa.Column("by_name", sa.String(100), nullable=False),
    sa.Column("zero_risk", sa.Boolean, nullable=False),
    sa.Column("findings", sa.Text, nullable=True),
    sa.Column("row_hash", sa.String(32), nullable=False),
)

problems = sa.Table(
    "problems",
    metadata,
    sa.Column("county_code", code(), primary_key=True),
    sa.Column("key", code(200), primary_key=True),
    *_ancestors(),
    sa.Column("area_code", code(), nullable=False),
    sa.Column("business_key", code(64), nullable=False),
    sa.Column("source", sa.String(24), nullable=False),
    sa.Column("source_ref", sa.String(200), nullable=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("found_on", sa.Date, nullable=False),
    sa.Column("reporter", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("deadline", sa.Date, nullable=True),
    sa.Column("reminders", sa.Integer, nullable=False),
    sa.Column("escalation", sa.Integer, nullable=False),
    sa.Column("verified_by", sa.String(100), nullable=True),
    sa.Column("history", sa.Text, nullable=False),
    sa.Column("row_hash", sa.String(32), nullable=False),
    #: The day of the latest step: the row holds the status of any day from then on.
    sa.Column("changed_on", sa.Date, nullable=True),
)

#: The tables whose rows are filed by area (they carry the ancestor codes).
FILED = (businesses, cadres, assignments, tasks, visits, letters, duty_records, problems)

#: Ranking runs: a small reference table (like areas), keyed by the hash of the inputs.

rankings = sa.Table(
    "rankings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("parent", code(), nullable=False),
    sa.Column("period", sa.String(16), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, server_default="ranking"),
    sa.Column("period_kind", sa.String(16), nullable=True),
    sa.Column("as_of", sa.Date, nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("operation", sa.String(16), nullable=False),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("after", sa.Text, nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

import_batches = sa.Table(
    "import_batches",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("file_name", sa.String(500), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("inserted", sa.Integer, nullable=False),
    sa.Column("updated", sa.Integer, nullable=False),
)

store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

#: KPI summary (see docs/kpis.md): per county and kind of record, a change version bumped by
#: every write; per county and KPI, the counts as of a day and the stamp they were counted at.
kpi_versions = sa.Table(
    "kpi_versions",
    metadata,
    sa.Column("county_code", code(), primary_key=True),
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)


def _kpi_key() -> list[sa.Column[object]]:
    return [
        sa.Column("county_code", code(), primary_key=True),
        sa.Column("kpi", sa.String(64), primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("as_of", sa.Date, primary_key=True),
    ]


kpi_states = sa.Table(
    "kpi_states",
    metadata,
    *_kpi_key(),
    sa.Column("counter", sa.String(300), nullable=False),
    sa.Column("stamp", sa.BigInteger, nullable=False),
    sa.Column("numerator", sa.BigInteger, nullable=False),
    sa.Column("denominator", sa.BigInteger, nullable=False),
)

kpi_summary = sa.Table(
    "kpi_summary",
    metadata,
    *_kpi_key(),
    sa.Column("area_code", code(), primary_key=True),
    sa.Column("numerator", sa.BigInteger, nullable=False),
    sa.Column("denominator", sa.BigInteger, nullable=False),
)

#: What the last scheduling run of a period found in each county it scheduled whole, and a
#: fingerprint of everything it read there (repos/sync_marks.py).
task_sync_marks = sa.Table(
    "task_sync_marks",
    metadata,
    sa.Column("county_code", code(), primary_key=True),
    sa.Column("period", sa.String(16), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("tasks", sa.Integer, nullable=False),
    sa.Column("exempt", sa.Integer, nullable=False),
    sa.Column("unassigned", sa.Integer, nullable=False),
)

#: Secondary indexes (created by the migration; named for Alembic).
INDEXES = [
    sa.Index("ix_businesses_key", businesses.c.key),
    sa.Index("ix_businesses_city", businesses.c.city_code),
    sa.Index("ix_businesses_township", businesses.c.township_code),
    sa.Index("ix_businesses_village", businesses.c.village_code),
    sa.Index("ix_businesses_uscc", businesses.c.uscc),
    sa.Index("ix_cadres_id", cadres.c.id),
    sa.Index("ix_cadres_city", cadres.c.city_code),
    sa.Index("ix_cadres_township", cadres.c.township_code),
    sa.Index(
        "ix_assignments_cadre",
        assignments.c.county_code,
        assignments.c.cadre_id,
        assignments.c.valid_from,
        assignments.c.valid_to,
    ),
    sa.Index("ix_assignments_business", assignments.c.business_key),
    sa.Index("ix_assignments_city", assignments.c.city_code),
    sa.Index("ix_assignments_township", assignments.c.township_code),
    sa.Index(
        "ix_assignments_held",
        assignments.c.county_code,
        assignments.c.business_key,
        assignments.c.valid_from,
        assignments.c.cadre_id,
        assignments.c.valid_to,
    ),
    # No index on the task key alone: a key starts with its business's key, so lookups by
    # key name the business too and use this one (``repos.records.Tasks``). The business
    # alone: with the key as a second column SQLite seeks every (business, key) pair of
    # the two IN lists of a batch lookup.
    sa.Index("ix_tasks_business", tasks.c.business_key),
    sa.Index("ix_tasks_cadre", tasks.c.county_code, tasks.c.cadre_id),
    sa.Index("ix_tasks_period", tasks.c.period_start, tasks.c.period_end),
    sa.Index("ix_tasks_township", tasks.c.township_code),
    sa.Index("ix_visits_key", visits.c.key),
    sa.Index("ix_visits_business", visits.c.business_key, visits.c.visited_on),
    sa.Index("ix_visits_cadre", visits.c.county_code, visits.c.cadre_id),
    sa.Index("ix_visits_township", visits.c.township_code),
    sa.Index("ix_letters_key", letters.c.key),
    sa.Index("ix_letters_cadre", letters.c.cadre_id),
    sa.Index("ix_duties_key", duty_records.c.key),
    sa.Index("ix_duties_business", duty_records.c.business_key, duty_records.c.on_day),
    sa.Index("ix_duties_township", duty_records.c.township_code),
    sa.Index("ix_problems_key", problems.c.key),
    sa.Index("ix_problems_business", problems.c.business_key),
    sa.Index("ix_problems_status", problems.c.county_code, problems.c.status, problems.c.deadline),
    sa.Index("ix_problems_township", problems.c.township_code),
    sa.Index(
        "ix_rankings_previous",
        rankings.c.parent,
        rankings.c.kind,
        rankings.c.period_kind,
        rankings.c.as_of,
    ),
]
