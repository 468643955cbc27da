"""Importing 1M businesses from CSV: into an SQLite file and into PostgreSQL (COPY), each a
first run and an identical re-run, beside raw baselines measured in the same run.

Baselines: ``sqlite3.executemany`` of the same rows into the same columns in one
transaction, indexes built afterwards; psycopg ``COPY`` of the same rows into a plain table.
Each backend's floor is printed beside them: the rows the import stored, loaded again with
no Python work into a table of the same shape, its indexes built afterwards — what any
import keeping this schema must spend in the database (on SQLite both in key order and in
the file's order, which is what an import reading the file as it comes can do).
Rows: ``TWORES_BENCH_ROWS`` (default 1,000,000). Each figure is the median of
``TWORES_BENCH_IMPORT_RUNS`` runs (default 3), each run's baseline measured beside it, and
each import runs in a child process, so its peak RSS is its own.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from benchmarks.harness import Figure, scaled
from twores.divisions import demo_region
from twores.plugins.sqlalchemy.backend import CACHE_KIB
from twores.services.exports import BUSINESS_HEADERS, business_row, write_table
from twores.services.synth import synthetic_businesses

ROWS = int(os.environ.get("TWORES_BENCH_ROWS", scaled(1_000_000)))
#: Runs of each import and its baseline (``TWORES_BENCH_IMPORT_RUNS``); figures are medians.
RUNS = max(1, int(os.environ.get("TWORES_BENCH_IMPORT_RUNS", "3")))
POSTGRES = os.environ.get("TWORES_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

CHILD = """
import json, resource, sys, time
import twores
from benchmarks.harness import peak_rss_mb
from twores.divisions import demo_region
from twores.services.imports import import_file
from twores.services.stores import open_store
url, path, ahead = sys.argv[1], sys.argv[2], {"auto": None, "here": False}[sys.argv[3]]
app = twores.build(load_entrypoints=False)
store = open_store(app, url)
scope = twores.Scope("bench", twores.Role.ADMIN)
with store.unit_of_work(scope) as uow:
    uow.areas.upsert_many(demo_region())
    uow.commit()
start = time.perf_counter()
report = import_file(app, store, scope, "businesses", path, parse_ahead=ahead)
elapsed = time.perf_counter() - start
rss_mb = peak_rss_mb()
parser_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "rss_mb": rss_mb, "parser_rss_mb": parser_mb,
                  "inserted": report.records.inserted, "updated": report.records.updated,
                  "unchanged": report.records.unchanged, "errors": len(report.errors)}))
"""


def write_csv(path: Path) -> list[tuple[object, ...]]:
    businesses = list(synthetic_businesses(demo_region(), ROWS, seed=42, graded=True))
    from twores.services.exports import _Masker

    mask = _Masker(True)
    write_table(path, BUSINESS_HEADERS, (business_row(b, mask) for b in businesses))
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        return [tuple(row) for row in reader]


def run_child(url: str, path: Path, parse: str = "auto") -> dict[str, float]:
    """One import in a child process; ``parse``: "auto" (a file this large is parsed in a
    second process, ``sheets/ahead.py``) or "here" (parsed in the importing process)."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(path), parse],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def raw_sqlite(path: Path, rows: list[tuple[object, ...]]) -> float:
    start = time.perf_counter()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    columns = ", ".join(f"c{i} TEXT" for i in range(len(rows[0])))
    connection.execute(f"CREATE TABLE t (county TEXT, {columns}, PRIMARY KEY (county, c2))")
    marks = ", ".join("?" * (len(rows[0]) + 1))
    with connection:
        connection.executemany(
            f"INSERT INTO t VALUES ({marks})", ((str(r[3])[:6], *r) for r in rows)
        )
    connection.execute("CREATE INDEX t_key ON t (c2)")
    connection.execute("CREATE INDEX t_village ON t (c3)")
    connection.close()
    return time.perf_counter() - start


def raw_copy(rows: list[tuple[object, ...]]) -> float | None:
    try:
        import psycopg
    except ImportError:
        return None
    try:
        connection = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        return None
    with connection:
        columns = ", ".join(f"c{i} text" for i in range(len(rows[0])))
        connection.execute("DROP TABLE IF EXISTS bench_raw_copy")
        connection.execute(f"CREATE UNLOGGED TABLE bench_raw_copy ({columns})")
        start = time.perf_counter()
        with connection.cursor().copy("COPY bench_raw_copy FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        elapsed = time.perf_counter() - start
        connection.execute("DROP TABLE bench_raw_copy")
    return elapsed


def sqlite_floor(db: Path, file_keys: list[str]) -> tuple[float, float]:
    """The stored businesses loaded again by ``executemany`` into a table of the same shape,
    page size and page cache (in one transaction, synchronous=NORMAL as a bulk import), its
    indexes built after: seconds in key order, then in the file's order (``file_keys``),
    the order any import reading the file as it comes inserts them in."""
    with contextlib.closing(sqlite3.connect(db)) as source:
        stored = source.execute("SELECT * FROM businesses").fetchall()
        page_size = source.execute("PRAGMA page_size").fetchone()[0]
        ddl = [
            sql
            for (sql,) in source.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'businesses' AND sql IS NOT NULL"
            )
        ]
    position = {key: n for n, key in enumerate(file_keys)}
    in_file = sorted(stored, key=lambda row: position.get(row[1], len(position)))
    return _load(db, ddl, page_size, stored), _load(db, ddl, page_size, in_file)


def _load(db: Path, ddl: list[str], page_size: int, rows: list[tuple[object, ...]]) -> float:
    table, indexes = ddl[0], ddl[1:]
    floor = db.with_name("floor.db")
    connection = sqlite3.connect(floor)
    connection.execute(f"PRAGMA page_size={page_size}")
    connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")  # as the store's connections
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(table)
    marks = ", ".join("?" * len(rows[0]))
    start = time.perf_counter()
    with connection:
        connection.executemany(f"INSERT INTO businesses VALUES ({marks})", rows)
        for index in indexes:
            connection.execute(index)
    elapsed = time.perf_counter() - start
    connection.close()
    _remove_database(floor)
    return elapsed


def postgres_floor(schema_url: str) -> float:
    """The stored businesses copied out, then ``COPY``-ed into a table of the same shape
    in one transaction, its indexes (as the schema defines them) built after."""
    import psycopg

    stored = io.BytesIO()
    with psycopg.connect(schema_url, autocommit=True) as connection:
        with connection.cursor().copy("COPY businesses TO STDOUT") as copy:
            for block in copy:
                stored.write(block)
        indexes = [
            re.sub(r"INDEX (\S+) ON (\S+\.)?businesses ", r"INDEX floor_\1 ON floor_businesses ", d)
            for (d,) in connection.execute(
                "SELECT indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = 'businesses'"
            )
        ]
        connection.execute("CREATE TABLE floor_businesses (LIKE businesses INCLUDING DEFAULTS)")
        start = time.perf_counter()
        with connection.transaction():
            with connection.cursor().copy("COPY floor_businesses FROM STDIN") as copy:
                view = stored.getbuffer()
                for offset in range(0, len(view), 1 << 20):
                    copy.write(view[offset : offset + (1 << 20)])
                del view
            for index in indexes:
                connection.execute(index)
        elapsed = time.perf_counter() - start
        connection.execute("DROP TABLE floor_businesses")
    return elapsed


def fresh_postgres_schema() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3) as connection:
            connection.execute("DROP SCHEMA IF EXISTS bench_import CASCADE")
            connection.execute("CREATE SCHEMA bench_import")
    except Exception:
        return None
    separator = "&" if "?" in POSTGRES else "?"
    return f"{POSTGRES}{separator}options=-csearch_path%3Dbench_import"


def run() -> list[Figure]:
    folder = Path(tempfile.mkdtemp(prefix="twores-bench-"))
    try:
        return _run(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(folder: Path) -> list[Figure]:
    source = folder / "businesses.csv"
    rows = write_csv(source)
    raw, first, again = [], [], []
    for run in range(RUNS):  # each run's baseline measured beside its imports
        raw.append(raw_sqlite(folder / f"raw{run}.db", rows))
        (folder / f"raw{run}.db").unlink()
        db = f"sqlite:///{folder / 'twores.db'}"
        _remove_database(folder / "twores.db")  # the last run's is kept for the floor
        first.append(run_child(db, source))
        again.append(run_child(db, source))
    here = run_child(f"sqlite:///{folder / 'here.db'}", source, "here")
    _remove_database(folder / "here.db")
    raw_s, first_s, again_s = statistics.median(raw), _seconds(first), _seconds(again)
    rss_mb = max(r["rss_mb"] + r["parser_rss_mb"] for r in first)
    changed = sum(r["inserted"] + r["updated"] for r in again)
    print(
        f"  {ROWS:,} rows, median of {RUNS} runs; raw executemany {_each(raw)} s; first "
        f"imports {_each(r['seconds'] for r in first)} s (inserted {first[-1]['inserted']:.0f}); "
        f"re-imports {_each(r['seconds'] for r in again)} s (changed {changed:.0f})"
    )
    print(
        f"  peak RSS {first[-1]['rss_mb']:.0f} MB (its parsing process "
        f"{first[-1]['parser_rss_mb']:.0f} MB, pages shared with it at the fork included); "
        f"the same import parsing in its own process: {here['seconds']:.2f} s, peak RSS "
        f"{here['rss_mb']:.0f} MB (the default import {first_s / here['seconds']:.2f}x it)"
    )
    floor_s, in_file_s = sqlite_floor(folder / "twores.db", [str(r[2] or r[1]) for r in rows])
    print(
        f"  SQLite floor (the stored rows by executemany into our table's shape, indexes "
        f"after, no Python work): {floor_s:.2f} s in key order, {floor_s / raw_s:.2f}x raw "
        f"executemany; {in_file_s:.2f} s in the file's order, {in_file_s / raw_s:.2f}x"
    )
    figures = [
        Figure(
            f"import {ROWS:,} businesses into SQLite",
            first_s,
            "raw sqlite3 executemany",
            raw_s,
            "<= 15 s and <= 4x",
            first_s <= 15 * ROWS / 1_000_000 and first_s <= 4 * raw_s,
        ),
        Figure(
            "import peak RSS (with its parser)",
            rss_mb,
            "-",
            None,
            "<= 1500 MB",
            rss_mb <= 1500,
            unit="MB",
        ),
        Figure(
            "re-import the identical file",
            again_s,
            "first import",
            first_s,
            "<= 0.8x, 0 changed",
            again_s <= 0.8 * first_s and changed == 0,
        ),
    ]
    return figures + _postgres(rows, source)


def _postgres(rows: list[tuple[object, ...]], source: Path) -> list[Figure]:
    copy, imported, again, schema = [], [], [], ""
    for _ in range(RUNS):
        copy_s = raw_copy(rows)
        schema_url = fresh_postgres_schema() if copy_s is not None else None
        if schema_url is None or copy_s is None:
            print("  PostgreSQL not reachable: COPY figures skipped")
            return []
        copy.append(copy_s)
        schema = schema_url  # each run's, dropped by the next
        imported.append(run_child(schema, source))
        again.append(run_child(schema, source))
    copy_s, seconds = statistics.median(copy), _seconds(imported)
    rates = ", ".join(f"{ROWS / r['seconds']:,.0f}" for r in imported)
    changed = sum(r["inserted"] + r["updated"] for r in again)
    print(
        f"  PostgreSQL: {ROWS / seconds:,.0f} rows/s, median of {rates} "
        f"(raw COPY {ROWS / copy_s:,.0f} rows/s); re-imports {_each(r['seconds'] for r in again)} "
        f"s, {_seconds(again) / seconds:.2f}x the first (changed {changed:.0f})"
    )
    floor_s = postgres_floor(schema)  # the last run's import
    print(
        f"  PostgreSQL floor (the stored rows by COPY into our table's shape, indexes after, "
        f"no Python work): {ROWS / floor_s:,.0f} rows/s"
    )
    return [
        Figure(
            f"import {ROWS:,} businesses into PostgreSQL",
            seconds,
            "raw psycopg COPY",
            copy_s,
            ">= 150k rows/s",
            ROWS / seconds >= 150_000,
        )
    ]


def _seconds(results: list[dict[str, float]]) -> float:
    return statistics.median(r["seconds"] for r in results)


def _each(values: Iterable[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _remove_database(path: Path) -> None:
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        path.with_name(name).unlink(missing_ok=True)
