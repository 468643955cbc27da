"""Conversion between domain objects and plain data (dicts, JSON).

``make_converter()`` returns a fresh cattrs converter. Structuring checks every field and
raises one :class:`StructureError` listing every bad field path, not just the first.
Every domain record round-trips: ``c.structure(c.unstructure(record), type(record)) ==
record``, through JSON too (dates as ``YYYY-MM-DD``, moments as ISO 8601 with their offset).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar, cast, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import BaseValidationError, IterableValidationError

from twores.core.errors import (
    InvalidDateError,
    InvalidValueError,
    MissingValueError,
    StructureError,
    TworesError,
)
from twores.core.labels import LabelledEnum
from twores.core.periods import Period

T = TypeVar("T")


def given_day(value: object, field: str) -> date:
    """A day as given: a date, or its ``YYYY-MM-DD`` spelling as the CLI and the docs
    write it; anything else (a datetime, whose day depends on its time zone, included)
    is refused naming ``field``."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidDateError(
        field, value, "应为 YYYY-MM-DD 格式的日期", "expected a date, YYYY-MM-DD"
    )


def _structure_date(value: object, _: type) -> date:
    return given_day(value, "value")


def _parse_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _structure_datetime(value: object, _: type) -> datetime:
    """An aware moment: a datetime, or ISO 8601 text with its offset (``Z`` for UTC)."""
    parsed = _parse_datetime(value)
    if parsed is None:
        raise InvalidDateError(
            "value",
            value,
            "应为带时区的 ISO 8601 时间，如 2026-03-02T17:30:00+08:00",
            "expected an ISO 8601 date and time with its offset, like 2026-03-02T17:30:00+08:00",
        )
    if parsed.utcoffset() is None:
        raise InvalidDateError("value", value, "须带时区", "must carry a time zone")
    return parsed


def _structure_str(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidValueError("value", value, "应为文本", "expected text")


def _structure_int(value: object, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise InvalidValueError("value", value, "应为整数", "expected an integer")


_TRUE = {"true", "1", "yes", "y", "是", "有"}
_FALSE = {"false", "0", "no", "n", "否", "无"}


def _structure_bool(value: object, _: type) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidValueError("value", value, "应为“是”或“否”", "expected true or false")


def _structure_period(value: object, _: type) -> Period:
    if isinstance(value, Period):
        return value
    if isinstance(value, str):
        return Period.parse(value)
    raise InvalidValueError("value", value, "应为周期，如 2026Q1", "expected a period like 2026Q1")


def _relocate(error: InvalidValueError, path: str) -> InvalidValueError:
    """Name the error by its full path: a leaf error's placeholder field becomes ``path``."""
    clone = error.at()
    leaf = error.field in ("value", "period", path.rsplit(".", 1)[-1].split("[")[0])
    field = path if leaf or not path else f"{path}.{error.field}"
    InvalidValueError.__init__(
        clone, field, error.value, error.reason_zh, error.reason_en, row=error.row
    )
    return clone


def _collect(exc: BaseException, path: str) -> list[InvalidValueError]:
    if isinstance(exc, StructureError):
        return [e.at(path) if path else e for e in exc.errors]
    if isinstance(exc, InvalidValueError):
        return [_relocate(exc, path)]
    if isinstance(exc, IterableValidationError):
        found: list[InvalidValueError] = []
        with_notes, without = exc.group_exceptions()
        for inner, note in with_notes:
            found.extend(_collect(inner, f"{path}[{note.index}]"))
        for inner in without:
            found.extend(_collect(inner, path))
        return found
    if isinstance(exc, BaseValidationError):
        return [e for inner in exc.exceptions for e in _collect(inner, path)]
    if isinstance(exc, TworesError):
        return [InvalidValueError(path or "value", "", exc.message_zh, exc.message_en)]
    return [InvalidValueError(path or "value", "", "数据类型不符", f"wrong type ({exc})")]


def _make_attrs_hook(converter: cattrs.Converter, cls: type[T]) -> Callable[[Any, type], T]:
    """Structure attrs class ``cls`` (or a parametrized generic one, e.g. ``Decision[Grade]``)
    field by field, reporting every bad field.

    Each field's validator runs on a bare record holding the fields structured so far, so
    validators that read other fields work. Fields with ``init=False`` are derived (e.g. a
    task's ``key``): they are not needed, and when given they must match what the record
    derives."""
    origin: type[T] = get_origin(cls) or cls
    fields = attrs.fields(attrs.resolve_types(origin))  # type: ignore[type-var,arg-type]
    types = _field_types(origin, cls, fields)
    given = [f for f in fields if f.init]
    derived = [f for f in fields if not f.init]
    names = {f.alias or f.name for f in given} | {f.name for f in derived}

    def structure(data: Any, _: type) -> T:
        if isinstance(data, origin):
            return data
        if not isinstance(data, Mapping):
            raise StructureError(
                origin.__name__,
                [InvalidValueError("value", data, "应为键值对象", "expected a mapping")],
            )
        errors: dict[str, list[InvalidValueError]] = {}
        kwargs: dict[str, Any] = {}
        for field in given:
            key = field.alias or field.name
            if key not in data:
                if field.default is attrs.NOTHING:
                    errors[key] = [MissingValueError(key)]
                continue
            try:
                kwargs[key] = converter.structure(data[key], types[field.name])
            except Exception as exc:
                errors[key] = _collect(exc, key)
        _validate(origin, given, kwargs, errors)
        found = [e for f in given for e in errors.get(f.alias or f.name, ())]
        derived_values: dict[str, Any] = {}
        for field in derived:
            if field.name in data:
                try:
                    derived_values[field.name] = converter.structure(
                        data[field.name], types[field.name]
                    )
                except Exception as exc:
                    found.extend(_collect(exc, field.name))
        found.extend(
            InvalidValueError(key, data[key], "未知字段", "unknown field")
            for key in sorted(set(data) - names, key=str)
        )
        if found:
            raise StructureError(origin.__name__, found)
        try:
            record = origin(**kwargs)
        except InvalidValueError as exc:
            raise StructureError(origin.__name__, [exc]) from None
        found = [
            InvalidValueError(
                name,
                data[name],
                f"与其他字段推算出的值“{getattr(record, name, '')}”不符",
                f"disagrees with '{getattr(record, name, '')}', derived from the other fields",
            )
            for name, value in derived_values.items()
            if getattr(record, name, attrs.NOTHING) != value
        ]
        if found:
            raise StructureError(origin.__name__, found)
        return record

    return structure


def _field_types(origin: type, cls: type, fields: Sequence[attrs.Attribute[Any]]) -> dict[str, Any]:
    """Each field's type, with the type parameters of a generic ``cls`` filled in."""
    parameters = getattr(origin, "__parameters__", ())
    mapping = dict(zip(parameters, get_args(cls), strict=False)) if cls is not origin else {}
    types: dict[str, Any] = {}
    for field in fields:
        kind: Any = field.type
        if isinstance(kind, TypeVar):
            kind = mapping.get(kind, Any)
        elif getattr(kind, "__parameters__", ()):
            kind = kind[tuple(mapping.get(p, Any) for p in kind.__parameters__)]
        types[field.name] = kind
    return types


def _validate(
    cls: type,
    fields: Sequence[attrs.Attribute[Any]],
    kwargs: Mapping[str, Any],
    errors: dict[str, list[InvalidValueError]],
) -> None:
    """Run each structured field's validator, as ``cls.__init__`` would, on a bare record
    holding the structured fields (and the defaults of those not given). A validator that
    reads a field which failed to structure is skipped: that field's error says enough."""
    record: Any = _new(cls)
    complete = True
    for field in fields:
        key = field.alias or field.name
        default: Any = field.default
        if key in kwargs:
            _set(record, field.name, kwargs[key])
        elif key in errors or default is attrs.NOTHING:
            complete = False
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            if default.takes_self:
                complete = False
            else:
                _set(record, field.name, default.factory())
        else:
            _set(record, field.name, default)
    for field in fields:
        key = field.alias or field.name
        if field.validator is None or key not in kwargs:
            continue
        try:
            field.validator(record, field, kwargs[key])
        except AttributeError as exc:
            if complete:
                errors[key] = _collect(exc, key)
        except Exception as exc:
            errors[key] = _collect(exc, key)


def make_converter() -> cattrs.Converter:
    """A fresh converter for every twores domain type (no global state)."""
    converter = cattrs.Converter(detailed_validation=True)
    converter.register_structure_hook(date, _structure_date)
    converter.register_unstructure_hook(date, date.isoformat)
    # datetime is a date: without hooks of its own it would take the date ones.
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(Period, _structure_period)
    converter.register_unstructure_hook(Period, str)
    converter.register_structure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, LabelledEnum),
        lambda value, cls: cls.parse(value),
    )
    converter.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, LabelledEnum), lambda member: member.value
    )
    converter.register_structure_hook_factory(
        lambda t: attrs.has(t) and t is not Period,
        functools.partial(_make_attrs_hook, converter),
    )
    return converter


_set = object.__setattr__
_new = object.__new__


def trusted(cls: type[T], /, **values: Any) -> T:
    """Build a record from values already validated, without re-running field validators.

    For rows a store wrote (validated when written; reading a province back should not pay
    for it again, like unpickling) and for cells an import has already checked.
    ``__attrs_post_init__`` still runs, so derived fields and cross-field checks hold. All
    fields must be given.
    """
    return trusted_fields(cls, values.keys(), values.values())


def trusted_fields(cls: type[T], names: Iterable[str], values: Iterable[Any]) -> T:
    """:func:`trusted` with the field names and values given apart (no dict per record)."""
    record = _new(cls)
    for name, value in zip(names, values, strict=False):  # strict costs 20% of a build
        _set(record, name, value)
    post_init = getattr(record, "__attrs_post_init__", None)
    if post_init is not None:
        post_init()
    return record


def stored_builder(cls: type[T], names: tuple[str, ...]) -> Callable[..., T]:
    """A maker of records exactly as a store wrote them: every field given, derived ones
    included, so neither validators nor ``__attrs_post_init__`` run again (the store ran
    them before it wrote the row). For the stored area tree, read whole by every command,
    and for records another process validated and sent as their field values (an import's
    parser).

    Made once per class and order of ``names``: a function of the field values, one
    positional argument each, that sets each field's slot by a line of its own (0.9 µs for
    a 16-field business, where a loop over the fields took 1.6)."""
    build: Callable[..., T] = _stored_builder(cast(type, cls), names)
    return build


@functools.cache
def _stored_builder(cls: type, names: tuple[str, ...]) -> Callable[..., Any]:
    setters = {f"set_{i}": setter for i, setter in enumerate(_setters(cls, names))}
    arguments = ", ".join(f"v{i}" for i in range(len(names)))
    lines = "".join(f"    set_{i}(record, v{i})\n" for i in range(len(names)))
    source = f"def build({arguments}):\n    record = new(cls)\n{lines}    return record\n"
    namespace: dict[str, Any] = {"new": _new, "cls": cls, **setters}
    exec(compile(source, f"<stored {cls.__qualname__}>", "exec"), namespace)
    return namespace["build"]  # type: ignore[no-any-return]


def _setters(cls: type, names: tuple[str, ...]) -> tuple[Callable[[Any, Any], None], ...]:
    """Each field's slot setter (twice as fast as ``object.__setattr__`` by name)."""
    return tuple(
        slot.__set__
        if (slot := cls.__dict__.get(name)) is not None and hasattr(slot, "__set__")
        else functools.partial(_set_named, name)
        for name in names
    )


def _set_named(name: str, record: Any, value: Any) -> None:
    _set(record, name, value)
