"""Reading the fields of one ledger row while collecting every error, never just the first."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from twores.core.errors import InvalidValueError, TworesError
from twores.services.ledger import values
from twores.services.ledger.columns import canonical_header
from twores.services.ledger.reading import Row
from twores.services.ledger.records import RowError

T = TypeVar("T")
Reader = Callable[[object, str], T | None]


def required(read: Callable[..., T | None]) -> Reader[T]:
    """``read`` with ``required=True``: an empty cell is a MissingValueError."""
    return lambda value, field: read(value, field, required=True)


def row_error(
    number: int, serial: str | None, column: str, raw: object, error: TworesError
) -> RowError:
    """A RowError from a domain error: its code and its reason in Chinese and English."""
    if isinstance(error, InvalidValueError):
        zh, en = error.reason_zh, error.reason_en
    else:
        zh, en = error.message_zh, error.message_en
    return RowError(number, serial, column, values.shown(raw), zh, en, error.code)


class RowReader:
    """The cells of one row by field; ``errors`` and ``failed`` fill up as fields are read."""

    def __init__(self, row: Row, columns: Mapping[str, str], kind: str) -> None:
        self.row = row
        self.columns = columns
        self.kind = kind
        self.errors: list[RowError] = []
        self.failed: set[str] = set()

    def has(self, field: str) -> bool:
        return field in self.columns

    def raw(self, field: str) -> object:
        header = self.columns.get(field)
        return None if header is None else self.row.values.get(header)

    def blank(self, field: str) -> bool:
        return values.is_blank(self.raw(field))

    def column(self, field: str) -> str:
        """The file's header for ``field`` (the canonical one when the file lacks it)."""
        return self.columns.get(field) or canonical_header(self.kind, field)

    def read(self, field: str, read: Reader[T]) -> T | None:
        """The value of ``field``, or None after recording why it is bad."""
        raw = self.raw(field)
        try:
            return read(raw, field)
        except TworesError as error:
            self.fail(field, error, raw)
            return None

    def fail(self, field: str, error: TworesError, raw: object = None) -> None:
        self.failed.add(field)
        self.errors.append(row_error(self.row.number, self.row.serial, self.column(field), raw, error))


def construct(
    factory: Callable[..., T],
    kwargs: dict[str, Any],
    r: RowReader,
    *,
    field_of: Callable[[str], str],
    depends: Mapping[str, frozenset[str]],
    neutralise: Callable[[str, dict[str, Any]], None],
) -> T | None:
    """Build the record, recording every cross-field error the constructor raises.

    A constructor stops at its first error, so each one is recorded, the field at fault is
    neutralised and the build retried. An error is not recorded when a field it depends on
    (``depends``: ledger field -> fields) already failed. Returns None if the row has errors.
    """
    seen: set[str] = set()
    while True:
        try:
            record = factory(**kwargs)
        except InvalidValueError as error:
            attribute = error.field.split(".", 1)[0].split("[", 1)[0]
            field = field_of(attribute)
            if not depends.get(field, frozenset({field})) & r.failed:
                r.fail(field, error, r.raw(field) if r.has(field) else error.value)
            if attribute in seen or attribute not in kwargs:
                return None
            seen.add(attribute)
            neutralise(attribute, kwargs)
            continue
        return None if r.errors else record
