"""A business ledger parsed in a forked process while this one writes (``sheets/ahead.py``)
imports exactly as one parsed here: the same rows, errors, totals and stored state, also
when the parsing process fails or is killed part-way."""

from __future__ import annotations

import fcntl
import logging
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import twores
from twores.core.areas import Tier
from twores.core.errors import InvalidValueError
from twores.services import imports
from twores.services.imports import import_file
from twores.services.sheets import ahead as ahead_module
from twores.services.sheets import parsing
from twores.services.sheets.ahead import AHEAD_FROM_BYTES, parsed_ahead, worth_parsing_ahead
from twores.services.sheets.packed import pack_business_chunk, unpack_business_chunk
from twores.services.sheets.parsing import BusinessRow, CadreRef, ParseResult
from twores.services.sheets.reading import Row, Table
from twores.testing.strategies import businesses

from .conftest import guilin_store

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
ON = date(2025, 6, 30)


def _imported(
    app: twores.Twores, tmp_path: Path, samples: Path, ledger: str, ahead: bool
) -> tuple[object, ...]:
    store = guilin_store(app, f"sqlite:///{tmp_path / f'ahead-{ahead}.db'}")
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    report = import_file(
        app, store, ADMIN, "businesses", samples / ledger, on=ON, parse_ahead=ahead
    )
    with store.unit_of_work(ADMIN) as uow:
        person = {c.id: (c.name, c.phone) for c in uow.cadres.stream()}  # ids are drawn anew
        held = [(person[a.cadre_id], a.business_key) for a in uow.assignments.stream()]
        stored = (list(uow.businesses.stream()), held)
    return (
        report.rows,
        report.records,
        report.assignments,
        report.errors,
        report.totals_rows,
        report.unread_columns,
        stored,
    )


@pytest.mark.parametrize("ledger", ["lingchuan_ledger.xlsx", "lingchuan_ledger_bad.xlsx"])
def test_the_sample_ledger_imports_alike_parsed_ahead(
    app: twores.Twores,
    tmp_path: Path,
    samples: Path,
    monkeypatch: pytest.MonkeyPatch,
    ledger: str,
) -> None:
    monkeypatch.setattr(parsing, "CHUNK", 97)  # many chunks cross the pipe
    ahead = _imported(app, tmp_path, samples, ledger, ahead=True)
    here = _imported(app, tmp_path, samples, ledger, ahead=False)
    assert ahead == here
    assert ahead[0] and (ahead[3] if "bad" in ledger else ahead[1].inserted)  # type: ignore[attr-defined]


def _ledger(
    tmp_path: Path, rows: int, nul_at: int | None = None, bad_every: int | None = None
) -> Path:
    lines = ["主体名称,许可证编号,所属区划,业态,规模"]
    for i in range(1, rows):
        area = "459999999999" if bad_every and i % bad_every == 0 else "450323101202"
        lines.append(f"测试店{i:05d},JY1450323{i:07d},{area},食品销售,微型")
        if i % 700 == 0:
            lines.append("合计,,,,")
    if nul_at is not None:
        lines[nul_at - 1] = lines[nul_at - 1].replace("微型", "微\x00型")
    path = tmp_path / "ledger.csv"
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    return path


def test_totals_rows_and_counts_come_back_from_the_parser(
    app: twores.Twores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "CHUNK", 500)
    path = _ledger(tmp_path, 3000)
    reports = [
        import_file(
            app, guilin_store(app, "memory://"), ADMIN, "businesses", path, parse_ahead=ahead
        )
        for ahead in (True, False)
    ]
    assert reports[0].totals_rows == reports[1].totals_rows and len(reports[0].totals_rows) == 4
    assert reports[0].records == reports[1].records and reports[0].records.inserted == 2999


def test_an_import_stopped_at_the_error_limit_names_the_totals_rows_read(
    app: twores.Twores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "CHUNK", 500)
    monkeypatch.setattr(imports, "MAX_LISTED_ERRORS", 300)
    path = _ledger(tmp_path, 6000, bad_every=2)  # stops after two chunks; the parser is ahead
    reports = [
        import_file(
            app, guilin_store(app, "memory://"), ADMIN, "businesses", path, parse_ahead=ahead
        )
        for ahead in (True, False)
    ]
    assert reports[0].errors == reports[1].errors and len(reports[0].errors) > 300
    assert reports[0].totals_rows == reports[1].totals_rows and 702 in reports[0].totals_rows


def test_a_parser_that_fails_part_way_is_replaced_by_parsing_here(
    app: twores.Twores,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(parsing, "CHUNK", 500)
    path = _ledger(tmp_path, 3000, nul_at=2501)  # read by the parser after five chunks
    refused = []
    caplog.set_level(logging.WARNING, logger="twores.imports")
    for ahead in (True, False):
        store = guilin_store(app, "memory://")
        with pytest.raises(InvalidValueError) as error:
            import_file(app, store, ADMIN, "businesses", path, parse_ahead=ahead)
        refused.append(str(error.value))
        with store.unit_of_work(ADMIN) as uow:
            assert uow.businesses.count() == 0  # the chunks written before it rolled back
    assert refused[0] == refused[1] and "第 2501 行" in refused[0]
    assert not caplog.records  # the file's error is said once, as without a parser


def _table(chunks: int) -> Table:
    rows = [Row(n, None, [f"行{n}"]) for n in range(chunks * 3)]
    return Table(["名称"], 1, iter(rows))


def _counted(
    table: Table, dies_after: int | None = None, importer: int | None = None
) -> Iterator[list[str]]:
    """Three rows a chunk; every second chunk a totals row. ``dies_after`` chunks, the
    parsing process (any but ``importer``) is killed."""
    chunk: list[str] = []
    sent = 0
    for row in table.rows:
        chunk.append(str(row.cells[0]))
        if len(chunk) == 3:
            if sent % 2:
                table.totals.append(row.number)
            if dies_after is not None and sent == dies_after and os.getpid() != importer:
                os.kill(os.getpid(), signal.SIGKILL)
            yield chunk
            sent += 1
            chunk = []


def _ahead(table: Table, dies_after: int | None = None) -> Iterator[list[str]]:
    importer = os.getpid()
    return parsed_ahead(
        table,
        lambda t: _counted(t, dies_after, importer),
        lambda: _table(8),
        pickle.dumps,
        pickle.loads,
    )


@pytest.mark.parametrize("dies_after", [None, 0, 3, 7])
def test_a_killed_parser_loses_and_repeats_no_chunk(
    dies_after: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    here = _table(8)
    expected = list(_counted(here))
    table = _table(8)
    with caplog.at_level(logging.WARNING, logger="twores.imports"):
        assert list(_ahead(table, dies_after)) == expected
    assert table.totals == here.totals == [5, 11, 17, 23]
    assert not _children()
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == (dies_after is not None)  # said: a killed parser is no file's fault
    assert all("parsing the file here instead" in w for w in warned)


def test_a_reader_that_stops_early_stops_the_parser() -> None:
    chunks = _ahead(_table(400))
    assert next(chunks) == ["行0", "行1", "行2"]
    chunks.close()
    assert not _children()


def test_output_buffered_before_the_fork_is_printed_once(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from twores.services.sheets.ahead import parsed_ahead\n"
        "from twores.services.sheets.reading import Row, Table\n"
        "sys.stdout.write('printed once')\n"
        "table = Table(['名称'], 1, iter([Row(2, None, ['a'])]))\n"
        "chunks = parsed_ahead(table, lambda t: iter([[r.number for r in t.rows]]),"
        " None, list, list)\n"
        "assert list(chunks) == [[2]]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.stdout == "printed once"


cadre_refs = st.none() | st.builds(
    CadreRef,
    name=st.sampled_from(["张伟", "李娜"]),
    phone=st.none() | st.just("13800138000"),
    post=st.none() | st.just("镇长"),
    tier=st.none() | st.sampled_from(Tier),
)


@given(
    st.lists(
        st.tuples(businesses(), cadre_refs, st.sampled_from([frozenset(), frozenset({"status"})])),
        max_size=5,
    )
)
def test_a_packed_chunk_unpacks_to_equal_rows(
    rows: list[tuple[twores.FoodBusiness, CadreRef | None, frozenset[str]]],
) -> None:
    chunk = ParseResult(
        [BusinessRow(n, str(n), b, c, blank) for n, (b, c, blank) in enumerate(rows, start=2)],
        [],
        {"name": "主体名称"},
    )
    back = unpack_business_chunk(pickle.loads(pickle.dumps(pack_business_chunk(chunk))))
    assert back == chunk
    assert [r.business.key for r in back.rows] == [r.business.key for r in chunk.rows]


@pytest.mark.parametrize(
    ("cores", "size", "expected"),
    [
        ({0, 1}, AHEAD_FROM_BYTES, True),
        ({0}, AHEAD_FROM_BYTES, False),  # one core allowed
        ({0, 1}, 1000, False),  # a small file
    ],
)
def test_a_large_file_is_worth_parsing_ahead_with_a_second_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: set[int], size: int, expected: bool
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: cores, raising=False)
    path = tmp_path / "ledger.csv"
    path.write_bytes(b"x" * size)
    assert worth_parsing_ahead(path) is expected


@pytest.mark.parametrize(("daemon", "ahead"), [(True, True), (False, False)])
def test_an_import_beside_a_working_thread_parses_here(
    app: twores.Twores,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    daemon: bool,
    ahead: bool,
) -> None:
    """A daemon beside it (a spinner, the WAL checkpointer) is no bar; another thread is."""
    forked: list[bool] = []

    def spied(*args: object) -> Iterator[object]:
        forked.append(True)
        return parsed_ahead(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(imports, "parsed_ahead", spied)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(ahead_module, "AHEAD_FROM_BYTES", 100)
    store = guilin_store(app, "memory://")
    alone = [
        t for t in threading.enumerate() if not t.daemon and t is not threading.current_thread()
    ]
    assert not alone, alone  # the test runner's own threads are daemons
    stop = threading.Event()
    beside = threading.Thread(target=stop.wait, daemon=daemon)
    beside.start()
    try:
        report = import_file(app, store, ADMIN, "businesses", _ledger(tmp_path, 9))
    finally:
        stop.set()
        beside.join()
    assert report.records.inserted == 8 and bool(forked) is ahead


def test_the_parser_dies_with_the_importing_process(tmp_path: Path) -> None:
    script = tmp_path / "importer.py"
    script.write_text(
        "import os, time\n"
        "from twores.services.sheets.ahead import parsed_ahead\n"
        "from twores.services.sheets.reading import Row, Table\n"
        "def slow(table):\n"
        "    for row in table.rows:\n"
        "        time.sleep(0.05)\n"
        "        yield [row.number]\n"
        "table = Table(['名称'], 1, iter([Row(n, None, ['x']) for n in range(100_000)]))\n"
        "chunks = parsed_ahead(table, slow, None, list, list)\n"
        "next(chunks)\n"
        "print(open(f'/proc/self/task/{os.getpid()}/children').read().split()[0], flush=True)\n"
        "time.sleep(120)\n",
        encoding="utf-8",
    )
    with subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    ) as importer:
        assert importer.stdout is not None
        parser = int(importer.stdout.readline())
        assert _running(parser)
        importer.kill()  # SIGKILL: no cleanup of its own runs
        importer.wait()
    for _ in range(100):
        if not _running(parser):
            return
        time.sleep(0.1)
    os.kill(parser, signal.SIGKILL)
    pytest.fail("the parser outlived the importing process")


def _children() -> list[str]:
    """This process's child processes (Linux)."""
    tasks = Path(f"/proc/{os.getpid()}/task")
    return [pid for task in tasks.iterdir() for pid in (task / "children").read_text().split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_an_import_in_a_daemonic_process_parses_there(app: twores.Twores, tmp_path: Path) -> None:
    path = _ledger(tmp_path, 50)
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def imported() -> None:
        try:
            report = import_file(
                app, guilin_store(app, "memory://"), ADMIN, "businesses", path, parse_ahead=True
            )
            results.put(report.records.inserted)
        except Exception as error:  # the test shows what it was
            results.put(repr(error))

    worker = context.Process(target=imported, daemon=True)
    worker.start()
    assert results.get(timeout=60) == 49
    worker.join()


def test_a_process_without_stdout_or_stderr_parses_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    assert list(_ahead(_table(3))) == list(_counted(_table(3)))


def _sigint_ignored(table: Table) -> Iterator[list[bool]]:
    yield [signal.getsignal(signal.SIGINT) is signal.SIG_IGN]


def test_the_parser_ignores_ctrl_c_and_the_importer_takes_it_again() -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    chunks = parsed_ahead(_table(1), _sigint_ignored, lambda: _table(1), list, list)
    assert list(chunks) == [[True]]
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
    assert signal.SIGINT not in before


def test_the_parser_runs_nothing_of_the_program_it_was_forked_from(tmp_path: Path) -> None:
    """Not its signal handlers nor an event loop's wakeup fd, and not the start-up that
    closed stdin (waiting forever while a thread of the program was reading it)."""
    script = tmp_path / "program.py"
    script.write_text(
        "import signal, socket, sys, threading, time\n"
        "from twores.services.sheets.ahead import parsed_ahead\n"
        "from twores.services.sheets.reading import Row, Table\n"
        "signal.signal(signal.SIGTERM, lambda *_: print('the program cleans up'))\n"
        "wakeup, _ = socket.socketpair()\n"
        "wakeup.setblocking(False)\n"
        "signal.set_wakeup_fd(wakeup.fileno())\n"
        "threading.Thread(target=sys.stdin.readline, daemon=True).start()\n"
        "time.sleep(0.3)  # reading, holding stdin's lock\n"
        "def seen(table):\n"
        "    list(table.rows)\n"
        "    yield [callable(signal.getsignal(signal.SIGTERM)), signal.set_wakeup_fd(-1),\n"
        "           signal.getsignal(signal.SIGINT) is signal.SIG_IGN]\n"
        "table = Table(['名称'], 1, iter([Row(2, None, ['a'])]))\n"
        "print(list(parsed_ahead(table, seen, None, list, list)))\n",
        encoding="utf-8",
    )
    with subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,  # never written: the thread reads on
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    ) as program:
        try:
            out, _ = program.communicate(timeout=60)
        finally:
            program.kill()
    assert out == "[[False, -1, True]]\n"


@pytest.mark.skipif(not hasattr(fcntl, "F_SETPIPE_SZ"), reason="pipe sizes are Linux's")
def test_the_pipe_holds_a_whole_chunk_within_the_systems_limit() -> None:
    receiving, sending = multiprocessing.Pipe(duplex=False)
    with receiving, sending:
        ahead_module._widen(sending)
        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        held = fcntl.fcntl(receiving.fileno(), fcntl.F_GETPIPE_SZ)
        assert held == min(ahead_module.PIPE_BYTES, limit)
        assert held >= 1 << 20 or limit < 1 << 20  # a pickled 10,000-row chunk: ~0.9 MB
