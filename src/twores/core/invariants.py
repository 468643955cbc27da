"""Invariants: stated once, as pure functions of a snapshot returning every violation.

The library checks them, our tests check them with Hypothesis, and users' testers call them
through ``twores.testing.assert_invariants``.
"""

from __future__ import annotations

import itertools

import attrs

from twores.core.areas import Hierarchy, Tier, is_standard_code


@attrs.frozen
class Violation:
    """One broken invariant: its kind, the ids involved, and a zh/en message."""

    kind: str
    ids: tuple[str, ...]
    message_zh: str
    message_en: str


def hierarchy_violations(hierarchy: Hierarchy) -> list[Violation]:
    """Parent exactly one tier up, acyclic, and ancestry agreeing with statistical codes."""
    found: list[Violation] = []
    for area in hierarchy:
        path = hierarchy.path(area.code)
        if len(path) > len(Tier) or len({a.code for a in path}) != len(path):
            found.append(
                Violation(
                    "hierarchy.cycle",
                    (area.code,),
                    "区划上级关系成环",
                    "the parent chain has a cycle",
                )
            )
            continue
        if path[0].tier is not Tier.PROVINCE:
            found.append(
                Violation(
                    "hierarchy.root",
                    (area.code, path[0].code),
                    f"根区划 {path[0].code} 不是省级",
                    f"root {path[0].code} is not a province",
                )
            )
        for upper, lower in itertools.pairwise(path):
            if lower.tier.depth != upper.tier.depth + 1:
                found.append(
                    Violation(
                        "hierarchy.tier_step",
                        (lower.code, upper.code),
                        f"{lower.code} 的上级 {upper.code} 不是高一级",
                        f"parent {upper.code} of {lower.code} is not one tier up",
                    )
                )
            if (
                is_standard_code(lower.code)
                and is_standard_code(upper.code)
                and not lower.code.startswith(upper.code)
            ):
                found.append(
                    Violation(
                        "hierarchy.code_prefix",
                        (lower.code, upper.code),
                        f"{lower.code} 不以上级代码 {upper.code} 开头",
                        f"{lower.code} does not start with its parent's code {upper.code}",
                    )
                )
        for ancestor in path:
            if hierarchy.ancestor(area.code, ancestor.tier) != ancestor or not hierarchy.contains(
                ancestor.code, area.code
            ):
                found.append(
                    Violation(
                        "hierarchy.ancestry",
                        (area.code, ancestor.code),
                        f"{ancestor.code} 在 {area.code} 的路径上，但查询结果不符",
                        f"{ancestor.code} is on the path of {area.code}; ancestry queries disagree",
                    )
                )
    for area in hierarchy:
        below = {a.code for a in hierarchy.descendants(area.code)}
        expected = {
            other.code
            for child in hierarchy.children(area.code)
            for other in (child, *hierarchy.descendants(child.code))
        }
        if below != expected:
            found.append(
                Violation(
                    "hierarchy.descendants",
                    (area.code,),
                    f"{area.code} 的下级区划集合不一致",
                    f"descendants of {area.code} disagree with its children",
                )
            )
    return found
