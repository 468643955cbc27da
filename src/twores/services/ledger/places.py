"""Resolving the 所属区划 cell: an area code typed any way, or a path of area names."""

from __future__ import annotations

import re
from collections.abc import Iterable

from twores.core.areas import Area, Hierarchy
from twores.core.errors import InvalidAreaCodeError
from twores.core.labels import clean_text
from twores.services.ledger import values

#: Suffixes a village or community committee's name may be written without.
COMMITTEE_SUFFIXES = ("村民委员会", "居民委员会", "社区居委会", "村委会", "居委会", "委员会")
_SEPARATORS = re.compile(r"[/\\>|、,，\s-]+")
_CODE_LIKE = re.compile(r"^[0-9A-Za-z_.-]+$")


def name_aliases(name: str) -> set[str]:
    """上桥村委会 -> {上桥村委会, 上桥, 上桥村}; 五厂社区居委会 -> {…, 五厂, 五厂社区}."""
    found = {name}
    for suffix in COMMITTEE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            short = name[: -len(suffix)]
            found.add(short)
            if suffix.startswith("村"):
                found.add(short + "村")
            elif suffix.startswith("社区"):
                found.add(short + "社区")
            elif suffix.startswith("居民"):
                found.add(short + "居委会")
            break
    return found


class AreaResolver:
    """Finds the one area a ledger cell means; unknown or ambiguous is an error, never a guess.

    A name path ("灵川县/大圩镇/上桥村", "桂林市灵川县大圩镇上桥村") starts at any area
    with the first name and walks down through children (or, failing that, descendants).
    """

    def __init__(self, hierarchy: Hierarchy) -> None:
        self.hierarchy = hierarchy
        self._everywhere = self._index(hierarchy)
        self._children: dict[str, dict[str, list[Area]]] = {}
        self._descendants: dict[str, dict[str, list[Area]]] = {}
        self._longest = max((len(n) for n in self._everywhere), default=0)

    @staticmethod
    def _index(areas: Iterable[Area]) -> dict[str, list[Area]]:
        table: dict[str, list[Area]] = {}
        for area in areas:
            for alias in name_aliases(_squeeze(area.name)):
                table.setdefault(alias, []).append(area)
        return table

    def __call__(self, value: object, field: str) -> str:
        """The area code for ``value``; raises InvalidAreaCodeError naming the raw value."""
        cleaned = values.text(value, field, required=True)
        assert cleaned is not None
        squeezed = _squeeze(cleaned)
        if not isinstance(value, str) or _CODE_LIKE.match(squeezed):
            code = values.area_code(value, field)
            if code is not None and code in self.hierarchy:
                return code
            raise InvalidAreaCodeError(field, value, "区划代码不存在", "no such area")
        found = self.resolve_path(cleaned)
        if len(found) == 1:
            return found[0].code
        if found:
            names = "、".join(self.hierarchy.display_path(a.code, "/") for a in found[:3])
            raise InvalidAreaCodeError(
                field,
                value,
                f"区划名称有歧义，可能是：{names}",
                f"ambiguous area name, it could be {len(found)} areas",
            )
        raise InvalidAreaCodeError(field, value, "找不到该区划名称", "no area by that name")

    def resolve_path(self, text: str) -> list[Area]:
        """Every area ``text`` can name (one when it is unambiguous)."""
        run = "".join(part for part in _SEPARATORS.split(clean_text(text)) if part)
        starts = [
            (area, run[size:])
            for size in range(min(len(run), self._longest), 0, -1)
            for area in self._everywhere.get(run[:size], ())
        ]
        found: dict[str, Area] = {}
        for deep in (False, True):
            for area, rest in starts:
                for end in self._walk(area, rest, deep):
                    found.setdefault(end.code, end)
            if found:
                break
        return sorted(found.values(), key=lambda a: a.code)

    def _walk(self, area: Area, rest: str, deep: bool) -> list[Area]:
        if not rest:
            return [area]
        table = self._below(area, deep)
        ends: list[Area] = []
        for size in range(len(rest), 0, -1):
            for below in table.get(rest[:size], ()):
                ends.extend(self._walk(below, rest[size:], deep))
        return ends

    def _below(self, area: Area, deep: bool) -> dict[str, list[Area]]:
        cache = self._descendants if deep else self._children
        table = cache.get(area.code)
        if table is None:
            below = (
                self.hierarchy.descendants(area.code)
                if deep
                else self.hierarchy.children(area.code)
            )
            table = cache[area.code] = self._index(below)
        return table


def _squeeze(text: str) -> str:
    return clean_text(text).replace(" ", "")
