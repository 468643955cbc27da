"""Enums with Chinese and English labels, parsed from the spellings ledgers use."""

from __future__ import annotations

import enum
import re
import unicodedata
from typing import Self

from twores.core.errors import InvalidChoiceError, InvalidValueError

_INNER_SPACE = re.compile(r"\s")
_NOT_ONE_SPACE = re.compile(r"[^\S ]| {2}")  # whitespace other than single spaces


def clean_text(value: str) -> str:
    """NFKC (full-width letters and digits to ASCII), trimmed, inner whitespace collapsed."""
    if value.isascii():
        stripped = value.strip()
        if not _NOT_ONE_SPACE.search(stripped):
            return stripped
        return " ".join(stripped.split())
    if unicodedata.is_normalized("NFKC", value):
        stripped = value.strip()
        if not _INNER_SPACE.search(stripped):
            return stripped
        return " ".join(stripped.split())
    return " ".join(unicodedata.normalize("NFKC", value).split())


class LabelledEnum(enum.Enum):
    """An enum whose value is a stable English slug, with zh/en labels and aliases.

    Subclasses define members as ``SLUG = ("slug", "中文", "English", ("alias", ...))``.
    """

    _zh: str
    _en: str
    _aliases: tuple[str, ...]

    # Members are singletons compared by identity, so the identity hash is consistent with
    # equality; it is a C-level call, where Enum's own hashes the name in Python.
    __hash__ = object.__hash__

    def __new__(cls, slug: str, zh: str, en: str, aliases: tuple[str, ...] = ()) -> Self:
        member = object.__new__(cls)
        member._value_ = slug
        member._zh = zh
        member._en = en
        member._aliases = aliases
        return member

    @property
    def zh(self) -> str:
        return self._zh

    @property
    def en(self) -> str:
        return self._en

    def label(self, lang: str = "zh") -> str:
        return self._zh if lang == "zh" else self._en

    @classmethod
    def _lookup(cls) -> dict[str, Self]:
        table: dict[str, Self] | None = cls.__dict__.get("_lookup_table")
        if table is None:
            table = {}
            for member in cls:
                for spelling in (member.value, member.name, member.zh, member.en, *member._aliases):
                    table[clean_text(str(spelling)).casefold()] = member
            type.__setattr__(cls, "_lookup_table", table)
        return table

    @classmethod
    def parse(cls, value: object, *, field: str = "value") -> Self:
        """The member for a slug, name, label or alias; raises a field-naming error."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            table = cls._lookup()
            found = table.get(value) or table.get(clean_text(value).casefold())
            if found is not None:
                return found
        choices = "、".join(m.zh for m in cls)
        raise cls._error(field, value, choices)

    @classmethod
    def of(cls, slug: str) -> Self:
        """The member whose value is ``slug`` (as stored): ``cls(slug)``, by a plain dict
        lookup (several times faster)."""
        try:
            # not cast(): it would double the cost of a lookup made for every stored row
            return cls._value2member_map_[slug]  # type: ignore[return-value]
        except KeyError:
            raise ValueError(f"{slug!r} is not a valid {cls.__name__}") from None

    @classmethod
    def _error(cls, field: str, value: object, choices: str) -> InvalidValueError:
        return InvalidChoiceError(
            field,
            value,
            f"应为以下之一：{choices}",
            "expected one of: " + ", ".join(str(m.value) for m in cls),
        )
