"""Assignments (包保关系) and the assignment planner.

The planner splits the work into independent (area, tier) groups: a business of grade G
can only go to an active cadre of the tier the rules give for G whose jurisdiction is the
business's ancestor area at that tier. Within a group it balances loads greedily
(docs/assignment.md), which gives the fewest moves.
"""

from __future__ import annotations

import heapq
import operator
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

import attrs

from twores.core.areas import Tier, check_date_range
from twores.core.businesses import IN_SCOPE_STATUSES, Grade
from twores.core.cadres import _check_id
from twores.core.gc import gc_paused
from twores.core.labels import LabelledEnum

if TYPE_CHECKING:
    from twores.core.cadres import Cadre
    from twores.core.roster import Roster, RuleBook


class AssignmentReason(LabelledEnum):
    """Why an assignment began or ended."""

    INITIAL = ("initial", "首次包保", "initial assignment")
    IMPORTED = ("imported", "台账导入", "imported from a ledger")
    NEW_BUSINESS = ("new_business", "新增主体", "new business")
    CADRE_LEFT = ("cadre_left", "干部离岗", "cadre left")
    REGRADED = ("regraded", "等级调整", "business regraded")
    MOVED = ("moved", "辖区变动", "business or cadre moved")
    DUPLICATE = ("duplicate", "重复包保", "duplicate assignment")
    REPLAN = ("replan", "重新分配", "fresh plan")
    BUSINESS_CLOSED = ("business_closed", "主体注销", "business closed")
    REBALANCE = ("rebalance", "均衡调整", "load rebalancing")
    MANUAL = ("manual", "人工调整", "manual change")


@attrs.frozen
class Assignment:
    """Cadre ``cadre_id`` answers for business ``business_key`` on ``valid_from <= day < valid_to``.

    History is never deleted: ending an assignment sets ``valid_to`` (an assignment ended on
    the day it began is kept as an empty interval).
    """

    cadre_id: str = attrs.field(validator=_check_id)
    business_key: str = attrs.field(validator=attrs.validators.min_len(1))
    valid_from: date = attrs.field(validator=attrs.validators.instance_of(date))
    valid_to: date | None = None
    reason: AssignmentReason = AssignmentReason.INITIAL

    def __attrs_post_init__(self) -> None:
        check_date_range(self.valid_from, self.valid_to, "valid_from", "valid_to", strict=False)

    def is_active(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)

    def ended(self, on: date) -> Assignment:
        """This assignment, closed at ``on`` (exclusive)."""
        return attrs.evolve(self, valid_to=on)


# --- the planner ----------------------------------------------------------------------


class PlanMode(LabelledEnum):
    """How the planner treats existing assignments."""

    #: The canonical balanced assignment, ignoring who holds what now (idempotent).
    FRESH = ("fresh", "全新分配", "fresh")
    #: Keep every still-valid assignment; place only new, orphaned, regraded or moved businesses.
    INCREMENTAL = ("incremental", "增量分配", "incremental")
    #: Fewest moves so that loads in each group differ by at most one.
    REBALANCE = ("rebalance", "均衡调整", "rebalance")


class ChangeAction(LabelledEnum):
    CREATE = ("create", "新建包保", "create")
    END = ("end", "终止包保", "end")


class UnplacedReason(LabelledEnum):
    UNKNOWN_AREA = ("unknown_area", "所属区划不存在", "the business's area is unknown")
    AREA_ABOVE_TIER = (
        "area_above_tier",
        "所属区划高于包保层级，无法确定辖区",
        "the business's area lies above the cadre tier",
    )
    NO_ACTIVE_CADRE = (
        "no_active_cadre",
        "该辖区没有在岗的对应层级干部",
        "no active cadre of that tier in that area",
    )
    LOAD_CAP = ("load_cap", "该辖区干部均已达到包保上限", "every eligible cadre is at the load cap")


class Placed(LabelledEnum):
    KEPT = ("kept", "保留原包保关系", "kept the existing assignment")
    LEAST_LOADED = ("least_loaded", "分给负担最少的干部", "given to the least-loaded cadre")
    BALANCED = ("balanced", "按均衡名额分配", "given a balanced slot")


class GroupKey(NamedTuple):
    """An independent assignment group: the cadres of one tier in one area."""

    area_code: str
    tier: Tier

    def sort_key(self) -> tuple[int, str]:
        return (self.tier.depth, self.area_code)


class Change(NamedTuple):
    """One change of a plan. For END, ``valid_to`` is the plan date."""

    action: ChangeAction
    cadre_id: str
    business_key: str
    valid_from: date
    valid_to: date | None
    reason: AssignmentReason

    @property
    def assignment(self) -> Assignment:
        """The assignment as it is after the change (validated when built)."""
        return Assignment(
            self.cadre_id, self.business_key, self.valid_from, self.valid_to, self.reason
        )

    @classmethod
    def ending(cls, held: Assignment, on: date, reason: AssignmentReason) -> Change:
        return cls(ChangeAction.END, held.cadre_id, held.business_key, held.valid_from, on, reason)


@attrs.frozen
class Unplaced:
    business_key: str
    reason: UnplacedReason
    group: GroupKey | None = None


class Placement(NamedTuple):
    """Why a business holds its cadre after the plan (see :func:`explain`)."""

    cadre_id: str
    how: Placed
    group: GroupKey
    grade: Grade


@attrs.frozen
class Plan:
    """The outcome of planning: changes to apply, loads, and what could not be placed."""

    on: date
    mode: PlanMode
    changes: tuple[Change, ...]
    loads: Mapping[GroupKey, Mapping[str, int]]
    unplaced: tuple[Unplaced, ...]
    #: business key -> (cadre id, how it was placed)
    placements: Mapping[str, tuple[str, Placed]] = attrs.field(eq=False, repr=False)
    #: business key -> (group, grade) for every placeable business
    targets: Mapping[str, tuple[GroupKey, Grade]] = attrs.field(eq=False, repr=False)
    #: business key -> the still-valid assignment an incremental plan keeps
    kept: Mapping[str, Assignment] = attrs.field(eq=False, repr=False, factory=dict)

    def placement(self, business_key: str) -> Placement | None:
        chosen = self.placements.get(business_key)
        if chosen is None and business_key in self.kept:
            chosen = (self.kept[business_key].cadre_id, Placed.KEPT)
        if chosen is None:
            return None
        group, grade = self.targets[business_key]
        return Placement(chosen[0], chosen[1], group, grade)

    @property
    def creates(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is ChangeAction.CREATE)

    @property
    def ends(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is ChangeAction.END)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def imbalance(self, group: GroupKey) -> int:
        loads = self.loads[group].values()
        return max(loads) - min(loads) if loads else 0


class _Context:
    """Per-run caches: rule answers, area paths and cadre groups."""

    def __init__(self, roster: Roster, rules: RuleBook, on: date) -> None:
        self.roster, self.rules, self.on = roster, rules, on
        self._caps: dict[GroupKey, int | None] = {}
        self._keys: dict[tuple[str, Tier], GroupKey] = {}
        self.groups: dict[tuple[str, Grade], GroupKey | None] = {}

    def key(self, area_code: str, tier: Tier) -> GroupKey:
        """The one GroupKey object for (area, tier), so keys compare by identity."""
        found = self._keys.get((area_code, tier))
        if found is None:
            found = self._keys[(area_code, tier)] = GroupKey(area_code, tier)
        return found

    def group(self, area_code: str, grade: Grade) -> GroupKey | None:
        """The group a business of ``grade`` in ``area_code`` belongs to (None: above tier)."""
        key = (area_code, grade)
        if key not in self.groups:
            tier = self.rules.tier_of(grade, self.on, area_code)
            ancestor = self.roster.hierarchy.ancestor(area_code, tier)
            self.groups[key] = self.key(ancestor.code, tier) if ancestor is not None else None
        return self.groups[key]

    def cap(self, group: GroupKey) -> int | None:
        if group not in self._caps:
            self._caps[group] = self.rules.load_cap(group.tier, self.on, group.area_code)
        return self._caps[group]


def _end_reason(
    assignment: Assignment, roster: Roster, ctx: _Context, target: dict[str, tuple[GroupKey, Grade]]
) -> AssignmentReason | None:
    """Why an active assignment is no longer valid, or None if it still is."""
    business = roster.businesses.get(assignment.business_key)
    if business is None or not business.status_on(ctx.on).in_scope:
        return AssignmentReason.BUSINESS_CLOSED
    cadre = roster.cadres.get(assignment.cadre_id)
    if cadre is None or not cadre.is_active(ctx.on):
        return AssignmentReason.CADRE_LEFT
    placed = target.get(assignment.business_key)
    if placed is None:
        return AssignmentReason.MOVED
    group, _ = placed
    if cadre.tier is not group.tier:
        return AssignmentReason.REGRADED
    if cadre.area_code != group.area_code:
        return AssignmentReason.MOVED
    return None


def plan_assignments(
    roster: Roster, rules: RuleBook, on: date, mode: PlanMode = PlanMode.INCREMENTAL
) -> Plan:
    """Plan assignments on ``on``. Deterministic: input order never changes the plan.

    Changes come as the ended assignments (by business key, then cadre) followed by the
    created ones (group by group, tier then area code; by business key within a group).

    Planning allocates no reference cycles, so Python's cycle collector is paused while it
    runs (it otherwise spends half the time rescanning a province's live objects).
    """
    with gc_paused():
        return _plan(roster, rules, on, mode)


def _plan(roster: Roster, rules: RuleBook, on: date, mode: PlanMode) -> Plan:
    ctx = _Context(roster, rules, on)
    hierarchy = roster.hierarchy
    unplaced: list[Unplaced] = []
    target: dict[str, tuple[GroupKey, Grade]] = {}
    members: dict[GroupKey, list[str]] = {}
    scoped = IN_SCOPE_STATUSES
    # Held by the status on the planning day: one closing on a later day is held until then.
    held_keys = [
        k for k, b in roster.businesses.items() if b.status in scoped or b.status_on(on) in scoped
    ]
    in_scope = [roster.businesses[k] for k in held_keys]
    grades = rules.grades_of(in_scope, on)
    known_groups = ctx.groups
    missing = object()
    for key, business, grade in zip(held_keys, in_scope, grades, strict=True):
        area_code = business.area_code
        group = known_groups.get((area_code, grade), missing)
        if group is missing:
            if area_code not in hierarchy:
                unplaced.append(Unplaced(key, UnplacedReason.UNKNOWN_AREA))
                continue
            group = ctx.group(area_code, grade)
        if group is None:
            unplaced.append(Unplaced(key, UnplacedReason.AREA_ABOVE_TIER))
            continue
        assert isinstance(group, GroupKey)
        target[key] = (group, grade)
        if group in members:
            members[group].append(key)
        else:
            members[group] = [key]

    cadres_of: dict[GroupKey, list[str]] = {}
    group_of_cadre: dict[str, GroupKey] = {}
    #: Active cadre -> their recorded departure (``active_to``, after ``on``).
    departing: dict[str, date] = {}
    for cadre_id, cadre in roster.cadres.items():
        if cadre.is_active(on) and cadre.area_code in hierarchy:
            group = ctx.key(cadre.area_code, cadre.tier)
            group_of_cadre[cadre_id] = group
            cadres_of.setdefault(group, []).append(cadre_id)
            if cadre.active_to is not None:
                departing[cadre_id] = cadre.active_to

    ends: list[Change] = []
    current: dict[str, Assignment] = {}
    ended_reason: dict[str, AssignmentReason] = {}
    suspect: list[Assignment] = []
    #: Business -> the first day an assignment dated after ``on`` takes it over: what the
    #: plan creates for it ends then (two holders never overlap).
    taken_over: dict[str, date] = {}
    #: Business -> its assignment that ended last, by ``on``: why it ended is why the
    #: business, held by no one now, is placed again (a cadre left; not a new business).
    last_ended: dict[str, Assignment] = {}
    for assignment in roster.assignments:
        if assignment.valid_from > on:
            key = assignment.business_key
            if key not in taken_over or assignment.valid_from < taken_over[key]:
                taken_over[key] = assignment.valid_from
            continue
        if assignment.valid_to is not None and assignment.valid_to <= on:
            last = last_ended.get(assignment.business_key)
            if last is None or last.valid_to < assignment.valid_to:  # type: ignore[operator]
                last_ended[assignment.business_key] = assignment
            continue
        key = assignment.business_key
        placed = target.get(key)
        if (
            placed is not None
            and key not in current
            and placed[0] is group_of_cadre.get(assignment.cadre_id)
        ):
            current[key] = assignment
        else:
            suspect.append(assignment)
    if suspect:
        _settle_suspects(suspect, current, roster, ctx, target, on, ends, ended_reason)

    creates: list[Change] = []
    placements: dict[str, tuple[str, Placed]] = {}
    loads: dict[GroupKey, dict[str, int]] = {}
    incremental = mode is PlanMode.INCREMENTAL
    kept_load = Counter(a.cadre_id for a in current.values()) if incremental else Counter()
    plan_group = _incremental if mode is PlanMode.INCREMENTAL else _balanced
    moved_reason = AssignmentReason.REPLAN if mode is PlanMode.FRESH else AssignmentReason.REBALANCE
    make_change = Change._make
    create, new_business = ChangeAction.CREATE, AssignmentReason.NEW_BUSINESS
    for group in sorted(members.keys() | cadres_of.keys(), key=GroupKey.sort_key):
        cadre_ids = sorted(cadres_of.get(group, ()))
        group_loads = loads[group] = {c: kept_load[c] for c in cadre_ids}
        keys = members.get(group)
        if not keys:
            continue
        if incremental:
            over = _over_cap(keys, current, group_loads, ctx.cap(group))
            for excess in over:  # placed again below, with the group's other free businesses
                del current[excess.business_key]
                ends.append(Change.ending(excess, on, AssignmentReason.REBALANCE))
                ended_reason.setdefault(excess.business_key, AssignmentReason.REBALANCE)
            keys = [k for k in keys if k not in current]
            if not keys:
                continue
        keys.sort()
        if not cadre_ids:
            unplaced.extend(Unplaced(k, UnplacedReason.NO_ACTIVE_CADRE, group) for k in keys)
            continue
        leaving = _leaving_ranks(cadre_ids, departing) if departing else None
        chosen = plan_group(keys, cadre_ids, current, ctx.cap(group), mode, group_loads, leaving)
        for key in keys:
            choice = chosen[key]
            held = current.get(key)
            if choice[0] is None:
                unplaced.append(Unplaced(key, UnplacedReason.LOAD_CAP, group))
                if held is not None:
                    ends.append(Change.ending(held, on, AssignmentReason.REBALANCE))
                continue
            cadre_id = choice[0]
            if not incremental:
                group_loads[cadre_id] += 1
            placements[key] = choice  # type: ignore[assignment]
            if held is not None:
                if held.cadre_id == cadre_id:
                    continue
                ends.append(Change.ending(held, on, moved_reason))
                ended_reason.setdefault(key, moved_reason)
            reason = (
                ended_reason.get(key)
                or _handed_over(last_ended.get(key), roster.cadres)
                or new_business
            )
            valid_to = taken_over.get(key)
            leaves = departing.get(cadre_id) if departing else None
            if leaves is not None and (valid_to is None or leaves < valid_to):
                valid_to = leaves  # orphaned on the day the cadre leaves, as imported ones are
            creates.append(make_change((create, cadre_id, key, on, valid_to, reason)))
    ends.sort(key=operator.itemgetter(2, 1, 3))
    unplaced.sort(key=operator.attrgetter("business_key"))
    return Plan(
        on,
        mode,
        tuple(ends + creates),
        loads,
        tuple(unplaced),
        placements,
        target,
        current if incremental else {},
    )


#: Why an assignment ends and another holder takes the business over.
_HANDING_OVER = frozenset(
    {
        AssignmentReason.CADRE_LEFT,
        AssignmentReason.REGRADED,
        AssignmentReason.MOVED,
        AssignmentReason.DUPLICATE,
        AssignmentReason.REPLAN,
        AssignmentReason.REBALANCE,
        AssignmentReason.MANUAL,
    }
)


def _handed_over(last: Assignment | None, cadres: Mapping[str, Cadre]) -> AssignmentReason | None:
    """Why a business its last holder no longer holds is placed again: why that holder's
    assignment ended (a cadre who left, a move…); None for a business never held, or one
    closed since (reopened, it is placed as new). One a plan created to end on its cadre's
    departure keeps its creation reason, and is handed over as the cadre left."""
    if last is None or last.reason is AssignmentReason.BUSINESS_CLOSED:
        return None
    cadre = cadres.get(last.cadre_id)
    if cadre is not None and cadre.active_to is not None and last.valid_to == cadre.active_to:
        return AssignmentReason.CADRE_LEFT
    if last.reason not in _HANDING_OVER:
        return None
    return last.reason


#: A cadre's rank as a holder of new businesses: lower is preferred.
_Rank = tuple[int, int]
_STAYS: _Rank = (0, 0)


def _leaving_ranks(cadre_ids: list[str], departing: Mapping[str, date]) -> dict[str, _Rank] | None:
    """Each cadre's rank, when some cadre of the group has a recorded departure (else None):
    those with none first, then the later departure first."""
    ranks = {c: (1, -d.toordinal()) if (d := departing.get(c)) else _STAYS for c in cadre_ids}
    return ranks if any(r is not _STAYS for r in ranks.values()) else None


def _over_cap(
    keys: list[str], current: dict[str, Assignment], loads: dict[str, int], cap: int | None
) -> list[Assignment]:
    """The kept assignments of a group's cadres beyond the load cap (one set lower since,
    or exceeded by imported assignments): each such cadre keeps the businesses held
    longest; ``loads`` is lowered to match."""
    if cap is None or all(n <= cap for n in loads.values()):
        return []
    held_by: dict[str, list[Assignment]] = defaultdict(list)
    for key in keys:
        kept = current.get(key)
        if kept is not None and loads.get(kept.cadre_id, 0) > cap:
            held_by[kept.cadre_id].append(kept)
    released: list[Assignment] = []
    for cadre_id, holding in held_by.items():
        holding.sort(key=lambda a: (a.valid_from, a.business_key))
        released.extend(holding[cap:])
        loads[cadre_id] = min(loads[cadre_id], cap)
    return released


def _settle_suspects(
    suspect: list[Assignment],
    current: dict[str, Assignment],
    roster: Roster,
    ctx: _Context,
    target: dict[str, tuple[GroupKey, Grade]],
    on: date,
    ends: list[Change],
    ended_reason: dict[str, AssignmentReason],
) -> None:
    """Sort out the active assignments that failed the fast validity check."""
    suspect.sort(key=lambda a: (a.business_key, a.valid_from, a.cadre_id, a.valid_to or date.max))
    # A valid assignment kept on the fast path may lose to an earlier suspect duplicate.
    for assignment in suspect:
        key = assignment.business_key
        reason = _end_reason(assignment, roster, ctx, target)
        if reason is None:
            held = current.get(key)
            if held is None:
                current[key] = assignment
                continue
            first, second = sorted(
                (held, assignment), key=lambda a: (a.valid_from, a.cadre_id, a.valid_to or date.max)
            )
            current[key] = first
            assignment, reason = second, AssignmentReason.DUPLICATE
        ends.append(Change.ending(assignment, on, reason))
        ended_reason.setdefault(key, reason)


_Choice = dict[str, tuple[str | None, Placed]]


def _incremental(
    keys: list[str],
    cadre_ids: list[str],
    current: dict[str, Assignment],
    cap: int | None,
    mode: PlanMode,
    load: dict[str, int],
    leaving: Mapping[str, _Rank] | None = None,
) -> _Choice:
    """Place the businesses without a valid assignment on the least-loaded cadres.

    ``load`` holds the kept assignments per cadre and is updated in place. With
    ``leaving``, a cadre with a recorded departure takes one only when no cadre without
    one has room (least-loaded first, then the later departure).
    """
    if leaving is not None:
        return _incremental_leaving(keys, cap, load, leaving)
    chosen: _Choice = {}
    heap = [(n, cadre_id) for cadre_id, n in load.items() if cap is None or n < cap]
    heapq.heapify(heap)
    for key in keys:
        if not heap:
            chosen[key] = (None, Placed.LEAST_LOADED)
            continue
        n, cadre_id = heapq.heappop(heap)
        chosen[key] = (cadre_id, Placed.LEAST_LOADED)
        load[cadre_id] = n + 1
        if cap is None or n + 1 < cap:
            heapq.heappush(heap, (n + 1, cadre_id))
    return chosen


def _incremental_leaving(
    keys: list[str], cap: int | None, load: dict[str, int], leaving: Mapping[str, _Rank]
) -> _Choice:
    """:func:`_incremental` for a group with cadres known to leave."""
    chosen: _Choice = {}
    heap = [(leaving[c][0], n, leaving[c][1], c) for c, n in load.items() if cap is None or n < cap]
    heapq.heapify(heap)
    for key in keys:
        if not heap:
            chosen[key] = (None, Placed.LEAST_LOADED)
            continue
        first, n, later, cadre_id = heapq.heappop(heap)
        chosen[key] = (cadre_id, Placed.LEAST_LOADED)
        load[cadre_id] = n + 1
        if cap is None or n + 1 < cap:
            heapq.heappush(heap, (first, n + 1, later, cadre_id))
    return chosen


def _balanced(
    keys: list[str],
    cadre_ids: list[str],
    current: dict[str, Assignment],
    cap: int | None,
    mode: PlanMode,
    load: dict[str, int],
    leaving: Mapping[str, _Rank] | None = None,
) -> _Choice:
    """Loads within ±1 with the fewest moves (rebalance) or canonically (fresh); the ⌈n/m⌉
    slots go first to the cadres without a recorded departure (``leaving``)."""
    n, m = len(keys), len(cadre_ids)
    base, extra = divmod(n, m)
    if cap is not None and base >= cap:
        base, extra = cap, 0
    holding: dict[str, list[str]] = {cadre_id: [] for cadre_id in cadre_ids}
    if mode is PlanMode.REBALANCE:
        for key in keys:
            held = current.get(key)
            if held is not None and held.cadre_id in holding:
                holding[held.cadre_id].append(key)
    # The ceil slots go to the cadres already holding the most (fewest moves).
    if leaving is None:
        by_holding = sorted(cadre_ids, key=lambda c: (-len(holding[c]), c))
    else:
        by_holding = sorted(cadre_ids, key=lambda c: (-len(holding[c]), leaving[c], c))
    capacity = {c: base + (1 if i < extra else 0) for i, c in enumerate(by_holding)}
    chosen: _Choice = {}
    free: dict[str, int] = {}
    for cadre_id in cadre_ids:
        kept = holding[cadre_id][: capacity[cadre_id]]
        for key in kept:
            chosen[key] = (cadre_id, Placed.KEPT)
        free[cadre_id] = capacity[cadre_id] - len(kept)
    if mode is PlanMode.FRESH:
        slots = [c for c in cadre_ids for _ in range(free[c])]
    else:
        slots = [c for c in sorted(cadre_ids, key=lambda c: (-free[c], c)) for _ in range(free[c])]
    waiting = [key for key in keys if key not in chosen]
    for index, key in enumerate(waiting):
        chosen[key] = (
            (slots[index], Placed.BALANCED) if index < len(slots) else (None, Placed.BALANCED)
        )
    return chosen


def apply_plan(assignments: Iterable[Assignment], plan: Plan) -> tuple[Assignment, ...]:
    """The assignment history after ``plan``: ended ones closed, new ones appended."""
    ending = {(c.cadre_id, c.business_key, c.valid_from): c for c in plan.ends}
    result: list[Assignment] = []
    for assignment in assignments:
        key = (assignment.cadre_id, assignment.business_key, assignment.valid_from)
        ended = ending.pop(key, None) if assignment.is_active(plan.on) else None
        result.append(assignment.ended(plan.on) if ended is not None else assignment)
    result.extend(c.assignment for c in plan.creates)
    return tuple(result)


def explain(plan: Plan, business_key: str, lang: str = "zh") -> str:
    """Why ``business_key`` holds its cadre after ``plan`` (or why it could not be placed)."""
    for item in plan.unplaced:
        if item.business_key == business_key:
            where = f"（{item.group.area_code}，{item.group.tier.zh}）" if item.group else ""
            if lang == "zh":
                return f"主体 {business_key} 未能分配{where}：{item.reason.zh}"
            where_en = f" ({item.group.area_code}, {item.group.tier.en})" if item.group else ""
            return f"business {business_key} could not be placed{where_en}: {item.reason.en}"
    placement = plan.placement(business_key)
    if placement is None:
        if lang == "zh":
            return f"主体 {business_key} 不在包保范围内（已注销、吊销或不存在）"
        return f"business {business_key} is out of scope (closed, revoked or unknown)"
    group, grade = placement.group, placement.grade
    cadres = len(plan.loads[group])
    load = plan.loads[group][placement.cadre_id]
    if lang == "zh":
        return (
            f"主体 {business_key} 为{grade.zh}，对应{group.tier.zh}干部；辖区 {group.area_code} "
            f"有 {cadres} 名在岗{group.tier.zh}干部。"
            f"{plan.mode.zh}：{placement.how.zh} → 干部 {placement.cadre_id}"
            f"（分配后负责 {load} 家）"
        )
    return (
        f"business {business_key} is {grade.en}, taken by {group.tier.en} cadres; area "
        f"{group.area_code} has {cadres} active {group.tier.en} cadre(s). "
        f"{plan.mode.en}: {placement.how.en} -> cadre {placement.cadre_id} "
        f"(holding {load} after the plan)"
    )
