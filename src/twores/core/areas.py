"""Administrative areas (行政区划) and their hierarchy.

Statistical division codes are materialized paths: a village ``450321100001`` lies in
township ``450321100``, county ``450321``, city ``4503`` and province ``45``. Units
outside the statistical scheme (development zones and the like) are accepted with any
code made of letters, digits, ``-`` or ``_``, but must name their parent explicitly.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, KeysView, Mapping
from datetime import date
from typing import Any

import attrs

from twores.core.errors import (
    HierarchyError,
    InvalidAreaCodeError,
    InvalidChoiceError,
    InvalidDateError,
    InvalidValueError,
    MissingValueError,
    UnknownAreaError,
)
from twores.core.labels import LabelledEnum, clean_text
from twores.core.texts import checked_limit


class Tier(LabelledEnum):
    """The five tiers of the administrative hierarchy (层级)."""

    PROVINCE = ("province", "省级", "province", ("省", "自治区", "直辖市"))
    CITY = (
        "city",
        "市级",
        "city",
        ("市", "地级", "地市级", "盟", "盟级", "地区", "州", "州级", "prefecture"),
    )
    COUNTY = (
        "county",
        "县级",
        "county",
        (
            "县",
            "区",
            "区级",
            "县区级",
            "县(市、区)级",
            "旗",
            "旗级",
            "旗县级",
            "县级市",
            "district",
        ),
    )
    TOWNSHIP = (
        "township",
        "乡级",
        "township",
        (
            "乡",
            "镇",
            "镇级",
            "乡镇",
            "乡镇级",
            "乡(镇)级",
            "乡镇(街道)级",
            "街道",
            "街道级",
            "苏木",
            "苏木级",
        ),
    )
    VILLAGE = (
        "village",
        "村级",
        "village",
        ("村", "社区", "社区级", "村社区级", "村(社区)级", "村居级", "嘎查", "嘎查级", "community"),
    )

    @property
    def depth(self) -> int:
        """1 for province ... 5 for village."""
        return _DEPTH[self]

    @property
    def code_length(self) -> int:
        """Digits of a statistical code at this tier: 2, 4, 6, 9 or 12."""
        return CODE_LENGTHS[self.depth - 1]

    @property
    def parent(self) -> Tier | None:
        return _TIER_ORDER[self.depth - 2] if self.depth > 1 else None

    @property
    def child(self) -> Tier | None:
        return _TIER_ORDER[self.depth] if self.depth < len(_TIER_ORDER) else None

    @classmethod
    def from_depth(cls, depth: int) -> Tier:
        return _TIER_ORDER[depth - 1]

    @classmethod
    def for_code(cls, code: str) -> Tier | None:
        """The tier a statistical code denotes by its length, or None if non-standard."""
        tier = _TIER_OF_LENGTH.get(len(code))
        return tier if tier is not None and code.isdigit() and code.isascii() else None

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.depth < other.depth


_TIER_ORDER: tuple[Tier, ...] = tuple(Tier)
_DEPTH: dict[Tier, int] = {tier: index + 1 for index, tier in enumerate(_TIER_ORDER)}
CODE_LENGTHS = (2, 4, 6, 9, 12)
_TIER_OF_LENGTH: dict[int, Tier] = dict(zip(CODE_LENGTHS, _TIER_ORDER, strict=True))
#: A standard code's parent tier's code length, by the code's length.
_PARENT_LENGTH: dict[int, int] = dict(zip(CODE_LENGTHS[1:], CODE_LENGTHS, strict=False))
_CODE_RE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


def is_standard_code(code: str) -> bool:
    """True for a statistical division code (2/4/6/9/12 ASCII digits)."""
    return Tier.for_code(code) is not None


def canonical_area_code(value: object, *, field: str = "code") -> str:
    """A code as ledgers type it (number, full-width, 12-digit padded) in canonical form.

    ``450323101202.0`` -> ``450323101202``; ``'４５０３２３'`` -> ``450323``;
    ``450300000000`` (padded) -> ``4503``.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidAreaCodeError(field, value, "不是区划代码", "not an area code")
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidAreaCodeError(field, value, "不是区划代码", "not an area code")
        value = int(value)
    text = clean_text(str(value))
    if not text:
        raise MissingValueError(field)
    if not _CODE_RE.match(text):
        raise InvalidAreaCodeError(
            field,
            value,
            "只能由数字、字母、“-”或“_”组成",
            "only digits, letters, '-' or '_' are allowed",
        )
    if text.isdigit() and len(text) not in CODE_LENGTHS:
        raise InvalidAreaCodeError(
            field,
            value,
            f"纯数字代码应为 2、4、6、9 或 12 位，实为 {len(text)} 位",
            f"an all-digit code has 2, 4, 6, 9 or 12 digits, not {len(text)}",
        )
    if text.isdigit() and len(text) == 12:
        for length in (9, 6, 4, 2):
            if text[length:].strip("0") == "":
                text = text[:length]
            else:
                break
    return text


def parent_code_of(code: str) -> str | None:
    """The statistical parent code by prefix, or None for a province or non-standard code."""
    length = _PARENT_LENGTH.get(len(code))
    return None if length is None or Tier.for_code(code) is None else code[:length]


def _check_code(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _CODE_RE.match(value):
        raise InvalidAreaCodeError(
            attribute.name,
            value,
            "只能由 1–32 位数字、字母、“-”或“_”组成",
            "must be 1-32 digits, letters, '-' or '_'",
        )
    if value.isdigit() and len(value) not in CODE_LENGTHS:
        raise InvalidAreaCodeError(
            attribute.name,
            value,
            f"纯数字代码应为 2、4、6、9 或 12 位，实为 {len(value)} 位",
            f"an all-digit code has 2, 4, 6, 9 or 12 digits, not {len(value)}",
        )


#: The longest area name (``areas.name``) the store keeps.
AREA_NAME_MAX = 100


def _check_name(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise MissingValueError(attribute.name)
    checked_limit(value, attribute.name, AREA_NAME_MAX)


def _check_tier(instance: Any, attribute: attrs.Attribute[Tier], value: Tier) -> None:
    if not isinstance(value, Tier):
        raise InvalidChoiceError(
            attribute.name, value, "应为省级、市级、县级、乡级或村级", "expected a Tier"
        )


def check_date_range(
    start: date | None, end: date | None, start_field: str, end_field: str, *, strict: bool = True
) -> None:
    """Raise when ``end`` is not after ``start`` (or before it, when not ``strict``)."""
    if start is not None and end is not None and (end < start or (strict and end == start)):
        raise InvalidDateError(
            end_field,
            end.isoformat(),
            f"必须晚于{start_field}（{start.isoformat()}）",
            f"must be after {start_field} ({start.isoformat()})",
        )


@attrs.frozen
class Area:
    """One administrative unit. Statistical codes imply tier and parent; others need both."""

    code: str = attrs.field(validator=_check_code)
    name: str = attrs.field(validator=_check_name)
    tier: Tier = attrs.field(validator=_check_tier)
    parent_code: str | None = attrs.field(default=None)
    valid_from: date | None = None
    valid_to: date | None = None

    def __attrs_post_init__(self) -> None:
        implied_tier = Tier.for_code(self.code)
        if implied_tier is not None and implied_tier is not self.tier:
            raise InvalidAreaCodeError(
                "code",
                self.code,
                f"{len(self.code)} 位代码属于{implied_tier.zh}，与层级“{self.tier.zh}”不符",
                f"a {len(self.code)}-digit code is {implied_tier.en} tier, not {self.tier.en}",
            )
        length = _PARENT_LENGTH.get(len(self.code)) if implied_tier is not None else None
        implied_parent = None if length is None else self.code[:length]  # parent_code_of
        if self.parent_code is None:
            if implied_parent is not None:
                object.__setattr__(self, "parent_code", implied_parent)
            elif self.tier is not Tier.PROVINCE:
                raise MissingValueError("parent_code")
        else:
            _check_code(self, attrs.fields(Area).parent_code, self.parent_code)  # type: ignore[arg-type]
            if self.tier is Tier.PROVINCE:
                raise InvalidAreaCodeError(
                    "parent_code", self.parent_code, "省级区划没有上级", "a province has no parent"
                )
            if (
                implied_parent is not None
                and is_standard_code(self.parent_code)
                and self.parent_code != implied_parent
            ):
                raise InvalidAreaCodeError(
                    "parent_code",
                    self.parent_code,
                    f"与代码 {self.code} 的前缀 {implied_parent} 不一致",
                    f"disagrees with the prefix {implied_parent} of code {self.code}",
                )
        check_date_range(self.valid_from, self.valid_to, "valid_from", "valid_to")

    @property
    def is_standard(self) -> bool:
        return Tier.for_code(self.code) is not None


def records_block_the_move(area: Area, parent_code: str | None) -> InvalidAreaCodeError:
    """The error for moving ``area`` under ``parent_code`` while records are filed in it
    (the stores keep each record's ancestor codes: the records move first)."""
    return InvalidAreaCodeError(
        f"{area.code}.parent_code",
        parent_code,
        f"区划 {area.code}（{area.name}）下已有记录（包保主体、干部、任务等），不能改挂上级："
        "请先把这些记录迁到其他区划",
        f"records are filed in area {area.code} ({area.name}): move them to other areas "
        "before changing its parent",
    )


#: Each tier's parent tier (looked up once per area of a tree).
_PARENT_TIER = {tier: tier.parent for tier in Tier}
#: Areas a hierarchy's repr lists.
_SHOWN = 12


class Hierarchy:
    """A validated tree (or forest) of areas with fast ancestry queries.

    Every area but a province names a parent that is present and exactly one tier up.
    """

    __slots__ = ("_areas", "_children", "_up")

    def __init__(self, areas: Iterable[Area]) -> None:
        self._areas: dict[str, Area] = {}
        self._children: dict[str, list[str]] = {}
        self._up: dict[str, tuple[int, str | None]] | None = None
        problems: list[InvalidValueError] = []
        for area in areas:
            if area.code in self._areas:
                problems.append(
                    InvalidAreaCodeError("code", area.code, "区划代码重复", "duplicate area code")
                )
                continue
            self._areas[area.code] = area
        for area in self._areas.values():
            if area.parent_code is None:
                continue
            parent = self._areas.get(area.parent_code)
            if parent is None:
                problems.append(
                    InvalidAreaCodeError(
                        f"{area.code}.parent_code",
                        area.parent_code,
                        "上级区划不存在",
                        "the parent area does not exist",
                    )
                )
            elif parent.tier is not _PARENT_TIER[area.tier]:
                problems.append(
                    InvalidAreaCodeError(
                        f"{area.code}.parent_code",
                        area.parent_code,
                        f"上级应为{area.tier.parent.zh if area.tier.parent else '无'}，"
                        f"实为{parent.tier.zh}",
                        f"the parent must be one tier up, found {parent.tier.en}",
                    )
                )
            else:
                self._children.setdefault(parent.code, []).append(area.code)
        if problems:
            raise HierarchyError(problems)
        for kids in self._children.values():
            kids.sort()

    def __repr__(self) -> str:
        """The areas themselves, up to a dozen (a test's counterexample shows its tree)."""
        shown = ", ".join(f"{a.code} {a.name}" for a in itertools.islice(self, _SHOWN))
        more = f", … {len(self) - _SHOWN} more" if len(self) > _SHOWN else ""
        return f"Hierarchy({len(self)} areas: {shown}{more})"

    def __len__(self) -> int:
        return len(self._areas)

    def __iter__(self) -> Iterator[Area]:
        return iter(self._areas.values())

    def __contains__(self, code: object) -> bool:
        return code in self._areas

    @property
    def codes(self) -> KeysView[str]:
        """Every area's code (a set-like view: ``counts.keys() <= hierarchy.codes``)."""
        return self._areas.keys()

    def __getitem__(self, code: str) -> Area:
        try:
            return self._areas[code]
        except KeyError:
            raise UnknownAreaError(code) from None

    def get(self, code: str) -> Area | None:
        return self._areas.get(code)

    @property
    def roots(self) -> tuple[Area, ...]:
        return tuple(sorted((a for a in self if a.parent_code is None), key=lambda a: a.code))

    def parent(self, code: str) -> Area | None:
        parent_code = self[code].parent_code
        return self._areas[parent_code] if parent_code is not None else None

    def children(self, code: str) -> tuple[Area, ...]:
        self[code]
        return tuple(self._areas[c] for c in self._children.get(code, ()))

    def up(self) -> Mapping[str, tuple[int, str | None]]:
        """Every area's (tier depth, parent code), built once (for bottom-up sums)."""
        if self._up is None:
            self._up = {c: (a.tier.depth, a.parent_code) for c, a in self._areas.items()}
        return self._up

    def path(self, code: str) -> tuple[Area, ...]:
        """Root first, the area itself last."""
        chain = [self[code]]
        while chain[-1].parent_code is not None:
            chain.append(self._areas[chain[-1].parent_code])
        chain.reverse()
        return tuple(chain)

    def ancestor(self, code: str, tier: Tier) -> Area | None:
        """The area itself or its ancestor at ``tier``; None if ``tier`` is below it."""
        area = self[code]
        depth, wanted = _DEPTH[area.tier], _DEPTH[tier]
        while depth > wanted:
            assert area.parent_code is not None
            area = self._areas[area.parent_code]
            depth -= 1
        return area if area.tier is tier else None

    def contains(self, outer: str, inner: str) -> bool:
        """True when ``inner`` is ``outer`` or lies below it."""
        container = self[outer]
        return self.ancestor(inner, container.tier) == container

    def holds(self, root: str | None, code: str) -> bool:
        """Whether ``code`` is a known area in ``root``'s subtree (``None``: anywhere); an
        unknown root holds nothing."""
        if code not in self._areas:
            return False
        return root is None or (root in self._areas and self.contains(root, code))

    def descendants(self, code: str) -> Iterator[Area]:
        """Every area strictly below ``code``, depth first, children by code."""
        stack = list(reversed(self._children.get(self[code].code, ())))
        while stack:
            current = stack.pop()
            yield self._areas[current]
            stack.extend(reversed(self._children.get(current, ())))

    def at_tier(self, tier: Tier) -> tuple[Area, ...]:
        return tuple(sorted((a for a in self if a.tier is tier), key=lambda a: a.code))

    def ancestor_codes(self, code: str) -> dict[Tier, str]:
        """Code of each tier on the path to ``code`` (the denormalized columns of storage)."""
        return {area.tier: area.code for area in self.path(code)}

    def subtree(self, code: str) -> Hierarchy:
        """The area, everything below it, and its ancestors (so paths still resolve)."""
        return Hierarchy([*self.path(code), *self.descendants(code)])

    def display_path(self, code: str, sep: str = " / ") -> str:
        return sep.join(area.name for area in self.path(code))
