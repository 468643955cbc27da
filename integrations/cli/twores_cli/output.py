"""A command's table in the chosen --format: table, csv, json or xlsx (all to stdout).

As a table: nothing is cut. Piped, each row keeps one line however wide; on a terminal
too narrow for the table, its columns are split over several tables, each repeating the
first column.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path

import click
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

from twores.services.exports import write_table
from twores.services.sheets.cells import csv_text

FORMATS = ("table", "json", "csv", "xlsx")


def _plain(cell: RenderableType) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def headers(table: Table) -> list[str]:
    return [_plain(c.header) for c in table.columns]


def rows(table: Table) -> list[list[str]]:
    cells = [[_plain(cell) for cell in column.cells] for column in table.columns]
    return [list(row) for row in zip(*cells, strict=True)]


def show(console: Console, table: Table, output: str) -> None:
    """Print ``table`` as ``output`` (one of FORMATS)."""
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers(table))
        writer.writerows([csv_text(cell) for cell in row] for row in rows(table))
        click.echo(buffer.getvalue(), nl=False)
    elif output == "json":
        keys = headers(table)
        records = [dict(zip(keys, row, strict=True)) for row in rows(table)]
        click.echo(json.dumps(records, ensure_ascii=False))
    elif output == "xlsx":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "table.xlsx"
            write_table(path, headers(table), rows(table))
            piped = click.get_binary_stream("stdout")  # a local: a failed write names it
            piped.write(path.read_bytes())
    else:
        for part in _fitted(console, table):
            console.print(part)


def _widths(console: Console, table: Table) -> Measurement:
    return Measurement.get(console, console.options.update_width(100_000), table)


def _fitted(console: Console, table: Table) -> Iterable[Table]:
    for column in table.columns:
        column.overflow = "fold"  # wrap, never "…"
    if not console.is_terminal:  # piped: rows at their natural width
        console.width = max(console.width, _widths(console, table).maximum)
        return [table]
    if len(table.columns) < 3 or _widths(console, table).minimum <= console.width:
        return [table]
    key, *rest = table.columns
    parts: list[list[Column]] = [[]]
    for column in rest:
        trial = _part(table, [key, *parts[-1], column], titled=False)
        if parts[-1] and _widths(console, trial).maximum > console.width:
            parts.append([])
        parts[-1].append(column)
    return [_part(table, [key, *part], titled=i == 0) for i, part in enumerate(parts)]


def _part(table: Table, columns: list[Column], *, titled: bool) -> Table:
    part = Table(
        title=table.title if titled else None, box=table.box, show_header=table.show_header
    )
    for c in columns:
        part.add_column(c.header, justify=c.justify, style=c.style, overflow="fold")
    for row in zip(*(list(c.cells) for c in columns), strict=True):
        part.add_row(*row)
    return part
