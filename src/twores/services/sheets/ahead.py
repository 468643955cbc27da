"""Parse a large sheet in a second process while this one writes what it has parsed.

An import spends about as long reading and validating its rows as storing them; on two
cores the two halves overlap. The parser is a forked copy of this process (it sees the
area tree and rules already loaded) that walks the table and sends each parsed chunk back
through a pipe, with the totals rows it skipped on the way, a chunk or two ahead of the
writer (the pipe's buffer bounds memory).

Nothing else changes: the chunks and totals rows are the ones parsing in this process
would give, in the same order, wherever the importer stops reading. If the parser fails for
any reason (a damaged file, a killed process), this process parses the file again from its
start and keeps the chunks it had not received, so errors are raised here exactly as
without it. The parser ignores Ctrl-C (the importing process stops it) and dies with the
importing process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from twores.services.sheets.reading import Table

T = TypeVar("T")
LOG = logging.getLogger("twores.imports")

#: Files smaller than this are parsed in this process (forking costs more than it saves).
AHEAD_FROM_BYTES = 4 << 20

_ROWS, _DONE, _FAILED = "rows", "done", "failed"
_LOST = "lost"  # the parser ended without a word (killed)
#: What the pipe may hold: a pickled chunk of 10,000 rows takes about 0.9 MB.
PIPE_BYTES = 4 << 20
_PIPE_MAX = Path("/proc/sys/fs/pipe-max-size")
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def can_parse_ahead() -> bool:
    """Whether this process can fork a parser: not on a system without ``fork``, nor in a
    daemonic process (a ``multiprocessing.Pool`` worker: its siblings use the cores)."""
    return hasattr(os, "fork") and not multiprocessing.current_process().daemon


def worth_parsing_ahead(path: Path) -> bool:
    """A file large enough, with a second core to run on, in a process that can fork and
    runs no thread but daemons beside this one.

    The parser touches nothing of this process but the file, its pipe and the parsing code
    (its streams are dropped, its signal handlers reset, it ends with ``os._exit``); still,
    a lock another thread held at the fork (a module half imported) would stay held in the
    copy. Daemon threads here are the CLI's spinner and the WAL checkpointer; a program's
    own threads are a risk this does not take: such a process parses in itself unless told
    otherwise."""
    return (
        can_parse_ahead()
        and not _threads_at_work()
        and _usable_cores() > 1
        and path.stat().st_size >= AHEAD_FROM_BYTES
    )


def _threads_at_work() -> bool:
    """Whether a thread other than this one runs that is no daemon."""
    current = threading.current_thread()
    return any(not t.daemon and t is not current for t in threading.enumerate())


def _usable_cores() -> int:
    """The cores this process may run on (a container or ``taskset`` may allow fewer than
    the machine has)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def parsed_ahead(
    table: Table,
    parse: Callable[[Table], Iterator[T]],
    reread: Callable[[], Table],
    pack: Callable[[T], Any],
    unpack: Callable[[Any], T],
) -> Generator[T]:
    """``parse(table)``, run in a forked process; ``pack`` and ``unpack`` carry each chunk
    across. ``reread`` opens the file again, for parsing here if the other process fails.
    ``table.totals`` is filled in as if it had been walked here."""
    receiving, sending = multiprocessing.Pipe(duplex=False)
    _widen(sending)
    # Ctrl-C is held back until the parser ignores it (it would end the copy with a
    # traceback) and this process is inside the try below (which stops the parser).
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        parser = _fork(table, parse, pack, receiving, sending)
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        receiving.close()
        raise
    finally:
        sending.close()
    received, kind = 0, _LOST
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        while True:
            try:
                kind, payload, totals = receiving.recv()
            except (EOFError, OSError):
                kind, payload, totals = _LOST, None, ()
            table.totals.extend(totals)
            if kind == _ROWS:
                received += 1
                yield unpack(payload)
            elif kind == _DONE:
                return
            else:
                break
    finally:
        receiving.close()
        code = _ended(parser, finished=kind == _DONE)
    # A file that cannot be read fails the parser as it fails here: said once, from here.
    LOG.log(
        logging.WARNING if kind == _LOST else logging.DEBUG,
        "解析进程未能完成（退出码 %s），改在本进程重新解析 / the parsing process did not "
        "finish (exit code %s); parsing the file here instead",
        code,
        code,
    )
    yield from _parsed_here(table, parse, reread, skip=received)


def _widen(pipe: Connection) -> None:
    """Let the pipe hold a whole chunk or more (64 KiB by default), so the parser goes on
    to the next one while the importing process still writes the last: on Linux, up to
    :data:`PIPE_BYTES` within the system's limit for a pipe (``fs.pipe-max-size``, 1 MiB
    unless raised); elsewhere, or refused, the pipe stays as it is."""
    try:
        import fcntl  # POSIX only
    except ImportError:
        return
    size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if size is None:
        return
    with contextlib.suppress(OSError, ValueError):
        fcntl.fcntl(pipe.fileno(), size, min(PIPE_BYTES, int(_PIPE_MAX.read_text())))


def _fork(
    table: Table,
    parse: Callable[[Table], Iterator[Any]],
    pack: Callable[[Any], Any],
    receiving: Connection,
    sending: Connection,
) -> int:
    """The parser's process id. A bare fork: nothing of this process runs in the copy
    (multiprocessing's start-up would close stdin there, waiting forever on its lock if
    another thread was reading it)."""
    for stream in (sys.stdout, sys.stderr):  # else the copy could print it again
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    importer = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:
        _parse_into(table, parse, pack, receiving, sending, importer)
    finally:
        os._exit(1)  # only if the parser itself failed to start


def _ended(pid: int, *, finished: bool) -> int | None:
    """Wait for the parser, killed first unless it ``finished`` (SIGKILL: no handler of
    the program runs in the copy); its exit code (None if the program reaps children)."""
    with contextlib.suppress(ChildProcessError):
        if not finished:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)
    return None


def _parse_into(
    table: Table,
    parse: Callable[[Table], Iterator[Any]],
    pack: Callable[[Any], Any],
    receiving: Connection,
    out: Connection,
    importer: int,
) -> None:
    _own_signals()
    receiving.close()  # the importer's end: once it is gone, a send fails and this ends
    _die_with(importer)
    # Nothing here writes to the importer's streams (a warning is dropped): another thread
    # of it may have held their locks at the fork.
    sys.stdout = sys.stderr = None
    sent, code = 0, 0
    try:
        for chunk in parse(table):
            out.send((_ROWS, pack(chunk), table.totals[sent:]))
            sent = len(table.totals)
        out.send((_DONE, None, table.totals[sent:]))
    except BaseException:  # the importing process parses again and reports it
        code = 1
        with contextlib.suppress(OSError):
            out.send((_FAILED, None, ()))
    finally:
        out.close()
        os._exit(code)  # no flushing or finalizing of what the copy inherited


def _own_signals() -> None:
    """The program's signal handlers are not the parser's: they go back to the defaults,
    with no wakeup fd (an event loop's); Ctrl-C is ignored (the importer stops the parser)."""
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    for number in signal.valid_signals():
        with contextlib.suppress(ValueError, OSError):
            if callable(signal.getsignal(number)):
                signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _die_with(importer: int) -> None:
    """On Linux, be killed with the importing process (else this would end only at its next
    send, still holding the files and connections it inherited)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != importer:  # it died before that
        os._exit(0)


def _parsed_here(
    table: Table, parse: Callable[[Table], Iterator[T]], reread: Callable[[], Table], skip: int
) -> Generator[T]:
    again = reread()
    for number, chunk in enumerate(parse(again)):
        if number >= skip:
            table.totals[:] = again.totals
            yield chunk
    table.totals[:] = again.totals
