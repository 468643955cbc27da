"""Assertions over the invariants of ``twores.core.invariants``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from twores.core.areas import Hierarchy
from twores.core.assignment import Plan, apply_plan
from twores.core.invariants import (
    Violation,
    hierarchy_violations,
    placement_violations,
    roster_violations,
)
from twores.core.roster import Roster, RuleBook


class InvariantViolated(AssertionError):
    """Raised with every violation found, each in Chinese and English."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        lines = "\n".join(f"  [{v.kind}] {v.message_en} / {v.message_zh}" for v in violations[:50])
        more = f"\n  ... and {len(violations) - 50} more" if len(violations) > 50 else ""
        super().__init__(f"{len(violations)} invariant violation(s):\n{lines}{more}")


def national_rules() -> RuleBook:
    """The rules of the built-in plugins only (no installed region)."""
    from twores.plugins.manager import make_plugin_manager

    return make_plugin_manager(load_entrypoints=False).rulebook()


def assert_invariants(
    *,
    roster: Roster | None = None,
    hierarchy: Hierarchy | None = None,
    rules: RuleBook | None = None,
    on: date | None = None,
    ignore: Iterable[str] = (),
) -> None:
    """Fail, listing every violation, unless the invariants hold.

    With ``roster``: its hierarchy and the assignment invariants on ``on`` under ``rules``
    (default: the national rules), skipping the business keys in ``ignore`` (for example a
    plan's unplaceable businesses). With ``hierarchy`` alone: the hierarchy invariants.
    """
    if roster is None and hierarchy is None:
        raise TypeError("assert_invariants needs roster= or hierarchy=")
    if isinstance(ignore, str):
        raise TypeError("ignore= takes business keys (a set or a list), not one string")
    violations = hierarchy_violations(hierarchy if hierarchy is not None else roster.hierarchy)  # type: ignore[union-attr]
    if roster is not None:
        if on is None:
            raise TypeError("assert_invariants(roster=...) needs on=, the day to check")
        violations += roster_violations(roster, rule_book(rules), on, ignore=ignore)
    if violations:
        raise InvariantViolated(violations)


def assert_unplaced_exactly(roster: Roster, plan: Plan, rules: RuleBook | None = None) -> None:
    """Fail unless ``plan`` (made on ``roster``) left unplaced exactly the in-scope
    businesses with no eligible cadre, or whose eligible cadres are all at the load cap."""
    rules = rule_book(rules)
    after = roster.with_assignments(apply_plan(roster.assignments, plan))
    violations = placement_violations(roster, plan, rules, after)
    if violations:
        raise InvariantViolated(violations)


def rule_book(rules: object) -> RuleBook:
    """``rules`` as a rule book: the national rules for None, a plugin manager's own."""
    if rules is None:
        return national_rules()
    if not hasattr(rules, "tier_of") and callable(getattr(rules, "rulebook", None)):
        return rules.rulebook()  # type: ignore[attr-defined, no-any-return]
    if not hasattr(rules, "tier_of"):
        given = type(rules).__name__
        raise TypeError(f"rules= takes a RuleBook (twores_rules, manager.rulebook()), not {given}")
    return rules  # type: ignore[return-value]
