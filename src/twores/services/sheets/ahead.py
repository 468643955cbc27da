"""Parse a large sheet in a second process while this one writes what it has parsed.

An import spends about as long reading and validating its rows as storing them; on two
cores the two halves overlap. The parser is a forked copy of this process (it sees the
area tree and rules already loaded) that walks the table and sends each parsed chunk back
through a pipe, a chunk or two ahead of the writer (the pipe's buffer bounds memory).

Nothing else changes: the chunks are the ones parsing in this process would give, in the
same order. If the parser fails for any reason (a damaged file, a killed process), this
process parses the file again itself from the chunk it has reached, so errors are raised
here exactly as without it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Generator, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from twores.services.sheets.reading import Table

T = TypeVar("T")

#: Files smaller than this are parsed in this process (forking costs more than it saves).
AHEAD_FROM_BYTES = 4 << 20

_ROWS, _DONE, _FAILED = "rows", "done", "failed"


def worth_parsing_ahead(path: Path) -> bool:
    """A file large enough, on a machine with a second core that can fork."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and _usable_cores() > 1
        and path.stat().st_size >= AHEAD_FROM_BYTES
    )


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
    for stream in (sys.stdout, sys.stderr):  # else the copy would print it again on exit
        stream.flush()
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    parser = context.Process(
        target=_parse_into, args=(table, parse, pack, sending), name="twores-parse", daemon=True
    )
    parser.start()
    sending.close()
    received = 0
    try:
        while True:
            try:
                kind, payload = receiving.recv()
            except (EOFError, OSError):
                kind, payload = _FAILED, None
            if kind == _ROWS:
                received += 1
                yield unpack(payload)
            elif kind == _DONE:
                table.totals.extend(payload)
                return
            else:
                break
    finally:
        receiving.close()
        if parser.is_alive():
            parser.terminate()
        parser.join()
    yield from _parsed_here(table, parse, reread, skip=received)


def _parse_into(
    table: Table,
    parse: Callable[[Table], Iterator[Any]],
    pack: Callable[[Any], Any],
    out: Connection,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importing process's to handle
    try:
        for chunk in parse(table):
            out.send((_ROWS, pack(chunk)))
        out.send((_DONE, list(table.totals)))
    except BaseException:  # the importing process parses again and reports it
        with contextlib.suppress(OSError):
            out.send((_FAILED, None))
    finally:
        out.close()


def _parsed_here(
    table: Table, parse: Callable[[Table], Iterator[T]], reread: Callable[[], Table], skip: int
) -> Generator[T]:
    again = reread()
    for number, chunk in enumerate(parse(again)):
        if number >= skip:
            yield chunk
    table.totals[:] = again.totals
