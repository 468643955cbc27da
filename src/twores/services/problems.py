"""The problem ledger through the store: open, move, escalate; every step audited and
passed to the ``twores_on_event`` notifiers once committed."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Tier
from twores.core.businesses import FoodBusiness
from twores.core.convert import given_day
from twores.core.errors import (
    DateAheadError,
    InvalidValueError,
    MissingValueError,
    NotFoundError,
    TworesError,
)
from twores.core.periods import CHINA_TZ, china_time, today
from twores.core.ports import Store, UnitOfWork
from twores.core.problems import (
    NEEDS_DEADLINE,
    Action,
    Problem,
    ProblemEvent,
    ProblemSource,
    ProblemStatus,
    Severity,
    may_take,
    means_no_problem,
    next_escalation,
    transition,
)
from twores.core.security import Role, Scope, outside_scope
from twores.core.texts import checked_text
from twores.services.lookups import business_in_scope
from twores.services.reminders import write_reminder
from twores.services.staging import Left, StagedFolder, check_replaceable, left_lists


def _now(at: datetime | None) -> datetime:
    return china_time(at)


def _after_last(problem: Problem, now: datetime) -> datetime:
    """When a step the caller gave no time is stamped: ``now``, taken once the unit holds
    the writer, so after every step committed before it; or the problem's last step's
    time, should that lie after ``now`` (another machine's clock a little ahead, or a
    step given a time up to :data:`_CLOCK_SKEW` ahead): a step stamped by the service is
    never refused as earlier than the previous one."""
    if problem.history and problem.history[-1].at > now:
        return problem.history[-1].at
    return now


def _escalated_at(on: date, at: datetime | None, latest: date) -> datetime:
    """When an escalation on ``on`` is stamped: ``at``; else now when judging today (a
    run before 08:00 stamped 08:00 would refuse every step until then); else 08:00 of
    the day judged (a back-dated or simulated run)."""
    if at is not None:
        return _now(at)
    if on == latest:
        return _now(None)
    return datetime(on.year, on.month, on.day, 8, tzinfo=CHINA_TZ)


def problem_id(
    business_key: str,
    found_on: date,
    description: str,
    source_ref: str | None,
    source: ProblemSource = ProblemSource.VISIT,
) -> str:
    """Stable: the same finding reported twice is the same problem. Without a reference,
    findings of an oversight and of a cross-inspection with the same text stay apart
    (their source is hashed; a visit's ids are as they always were)."""
    ref = source_ref or ("" if source is ProblemSource.VISIT else source.value)
    digest = hashlib.blake2b(f"{ref}|{description}".encode(), digest_size=4)
    return f"{business_key}/{found_on.isoformat()}/{digest.hexdigest()}"


def _deadline(app: Twores, problem: Problem, on: date) -> date:
    days = app.plugins.rectification_days(problem.severity, problem.area_code, on).value
    return on + timedelta(days=days)


def _check_role(scope: Scope, action: Action) -> None:
    if not may_take(scope.role, action):
        raise outside_scope(scope, f"问题台账操作“{action.zh}”", f"ledger step '{action.en}'")


#: Steps of a case a referral opened: taken where cases are filed, one level up from a
#: township (县级及以上市场监管部门), never by the township office that referred it.
CASE_ACTIONS = frozenset({Action.CASE_CLOSED})
_CASE_TIERS = frozenset({Tier.PROVINCE, Tier.CITY, Tier.COUNTY})


def _check_case_office(uow: UnitOfWork, scope: Scope, problem: Problem) -> None:
    if scope.area_code is None or uow.areas.hierarchy()[scope.area_code].tier in _CASE_TIERS:
        return
    raise outside_scope(
        scope,
        f"问题 {problem.id} 的立案结果（案件由县级及以上市场监管部门办理，请由其登记）",
        f"the case outcome of problem {problem.id} (cases are handled, and their outcome "
        "recorded, by a county-level or higher office)",
    )


def _holds(uow: UnitOfWork, cadre_id: str, problem: Problem, at: datetime) -> bool:
    """Whether ``cadre_id`` holds the problem's business on the step's (China) day: a
    cadre takes ledger steps only for the businesses they hold."""
    return _holds_on(uow, cadre_id, problem.business_key, at.astimezone(CHINA_TZ).date())


def _holds_on(uow: UnitOfWork, cadre_id: str, business_key: str, day: date) -> bool:
    held = uow.assignments.stream(business_keys=[business_key], active_on=day)
    return any(a.cadre_id == cadre_id for a in held)


#: How far ahead of this machine's clock a step's time may lie (another machine's clock).
_CLOCK_SKEW = timedelta(minutes=5)


def _not_ahead(at: datetime) -> datetime:
    """``at``, unless it lies after now: a ledger step is entered when it happened or later."""
    now = china_time()
    if at > now + _CLOCK_SKEW:
        raise DateAheadError(
            "at",
            china_time(at).isoformat(timespec="minutes"),
            f"晚于现在（{now.isoformat(timespec='minutes')}）：台账不能预先记录",
            f"after now ({now.isoformat(timespec='minutes')}): the ledger records what happened",
        )
    return at


def _who(name: str, field: str) -> str:
    """Who takes a step or reports a problem, as written (spaces around it dropped)."""
    cleaned = name.strip()
    if not cleaned:
        raise MissingValueError(field)
    return cleaned


def _notify(app: Twores, events: Iterable[tuple[ProblemEvent, str]]) -> None:
    for event, area_code in events:
        app.plugins.notify(event, area_code)


@attrs.frozen
class NewProblem:
    """A problem as a visit, an inspection or a weekly report states it."""

    business_key: str
    description: str
    reporter: str
    found_on: date
    source: ProblemSource = ProblemSource.VISIT
    severity: Severity = Severity.MINOR
    source_ref: str | None = None
    fixed_on_site: bool = False


def open_in(
    app: Twores, uow: UnitOfWork, new: NewProblem, at: datetime
) -> tuple[Problem, list[ProblemEvent]]:
    """Open a problem inside a unit of work: fixed on site, or ordered to be fixed by the
    rules' deadline. Opening the same finding again changes nothing."""
    return open_many_in(app, uow, [new], at)[0]


def open_many_in(
    app: Twores, uow: UnitOfWork, news: Sequence[NewProblem], at: datetime
) -> list[tuple[Problem, list[ProblemEvent]]]:
    """:func:`open_in` for many findings: one lookup of their businesses and problems and
    one write. Each result pairs the problem with the events its opening made (none when
    it was open already, or opened earlier in ``news``)."""
    if not news:
        return []
    news = [attrs.evolve(n, description=checked_text(n.description, "description")) for n in news]
    businesses = uow.businesses.get_many({n.business_key for n in news})
    keys = []
    for new in news:
        business = businesses.get(new.business_key)
        if business is None:
            business_in_scope(uow, new.business_key)  # raises, naming the business
        assert business is not None
        keys.append(
            problem_id(business.key, new.found_on, new.description, new.source_ref, new.source)
        )
    known: dict[str, Problem] = uow.problems.get_many(keys)
    opened: dict[str, Problem] = {}
    results: list[tuple[Problem, list[ProblemEvent]]] = []
    for new, key in zip(news, keys, strict=True):
        found = known.get(key) or opened.get(key)
        if found is not None:
            results.append((found, []))
            continue
        problem, event = _opened(app, new, businesses[new.business_key], key, at)
        opened[key] = problem
        results.append((problem, [event]))
    uow.problems.upsert_many(opened.values())
    return results


def _opened(
    app: Twores, new: NewProblem, business: FoodBusiness, key: str, at: datetime
) -> tuple[Problem, ProblemEvent]:
    problem = Problem(
        key,
        business.key,
        business.area_code,
        new.source,
        new.description,
        new.severity,
        new.found_on,
        new.reporter,
        new.source_ref,
    )
    if new.fixed_on_site:
        return transition(problem, Action.FIX_ON_SITE, actor=new.reporter, at=at)
    deadline = _deadline(app, problem, max(new.found_on, china_time(at).date()))
    return transition(problem, Action.ORDER, actor=new.reporter, at=at, deadline=deadline)


def open_problems(
    app: Twores,
    store: Store,
    scope: Scope,
    problems: Iterable[NewProblem],
    *,
    at: datetime | None = None,
) -> list[Problem]:
    given = None if at is None else _not_ahead(_now(at))
    opened, events = [], []
    with store.unit_of_work(scope) as uow:
        uow.claim_writes()  # before the first read of what it writes
        moment = given or _now(None)  # now: after the claim, as a step's (transition_many)
        for new in problems:
            new = attrs.evolve(new, reporter=_who(new.reporter, "reporter"))
            if means_no_problem(new.description):
                raise InvalidValueError(
                    "description",
                    new.description,
                    "表示未发现问题，不能作为问题登记",
                    "says no problem was found: there is nothing to open",
                )
            if scope.role is Role.CADRE:  # in their own name, for a business they hold
                scope.check_acts_as(new.reporter, "reporter")
                if not _holds_on(uow, new.reporter, new.business_key, new.found_on):
                    raise outside_scope(
                        scope,
                        f"主体 {new.business_key}（{new.found_on} 不由 {new.reporter} 包保）",
                        f"business {new.business_key} (not held by {new.reporter} "
                        f"on {new.found_on})",
                    )
            problem, made = open_in(app, uow, new, moment)
            opened.append(problem)
            events += [(e, problem.area_code) for e in made]
        uow.commit()
    _notify(app, events)
    return opened


def transition_problem(
    app: Twores,
    store: Store,
    scope: Scope,
    key: str,
    action: Action,
    *,
    actor: str,
    at: datetime | None = None,
    note: str = "",
    evidence: tuple[str, ...] = (),
    deadline: date | None = None,
) -> Problem:
    """Move one problem; a new deadline, when the step needs one, defaults to the rules'.
    Without ``at`` the step is timed when its unit of work holds the writer (:class:`Step`)."""
    step = Step(key, action, actor, None if at is None else _now(at), note, evidence, deadline)
    return transition_many(app, store, scope, [step])[-1]


@attrs.frozen
class Step:
    """One transition to apply: ``transition_many`` applies a list of them together.

    ``at`` None: now, taken once the unit of work holds the writer, so never before a
    step another writer committed while this one waited for it (nor before the problem's
    last step: :func:`_after_last`). A time given is kept, and refused if it lies before
    the problem's last step."""

    key: str
    action: Action
    actor: str
    at: datetime | None
    note: str = ""
    evidence: tuple[str, ...] = ()
    deadline: date | None = None


def transition_many(
    app: Twores, store: Store, scope: Scope, steps: Iterable[Step], *, simulated: bool = False
) -> list[Problem]:
    """Apply steps in one transaction (any illegal step rejects them all); the notifiers
    hear them once committed. A step timed after now is refused unless ``simulated`` (the
    demo playing a year out): it would stand before every real step taken until then."""
    events: list[tuple[ProblemEvent, str]] = []
    moved: list[Problem] = []
    with store.unit_of_work(scope) as uow:
        uow.claim_writes()  # before the first read of what it writes
        now = _now(None)  # after the claim: after every step committed before this unit's
        changed: dict[str, Problem] = {}
        for step in steps:
            _check_role(scope, step.action)
            step = attrs.evolve(step, actor=_who(step.actor, "actor"))
            if step.at is not None and not simulated:
                _not_ahead(step.at)
            scope.check_acts_as(step.actor, "actor")
            problem = changed.get(step.key) or uow.problems.get(step.key)
            if problem is None:
                raise NotFoundError(
                    "problem_id", step.key, "问题不存在或不在辖区内", "no such problem in scope"
                )
            at = _after_last(problem, now) if step.at is None else step.at
            if step.action in CASE_ACTIONS:
                _check_case_office(uow, scope, problem)
            if scope.role is Role.CADRE and not _holds(uow, step.actor, problem, at):
                raise outside_scope(
                    scope,
                    f"问题 {problem.id}（所在主体不由 {step.actor} 包保）",
                    f"problem {problem.id} (its business is not held by {step.actor})",
                )
            with _naming(problem, step.action):
                after, event = _step(app, scope, problem, step, at)
            changed[step.key] = after
            moved.append(after)
            events.append((event, after.area_code))
        uow.problems.upsert_many(changed.values())
        uow.commit()
    _notify(app, events)
    return moved


@contextlib.contextmanager
def _naming(problem: Problem, action: Action) -> Iterator[None]:
    """A bad value of one step of a batch, said with the problem and the step it is of."""
    try:
        yield
    except InvalidValueError as error:
        if type(error) is not InvalidValueError:
            raise  # a kind of its own (not found, ...): callers tell those apart
        raise InvalidValueError(
            error.field,
            error.value,
            f"问题 {problem.id}「{action.zh}」：{error.reason_zh}",
            f"problem {problem.id}, step '{action.en}': {error.reason_en}",
        ) from error


def _step(
    app: Twores, scope: Scope, problem: Problem, step: Step, at: datetime
) -> tuple[Problem, ProblemEvent]:
    """``step`` taken on ``problem`` at ``at`` (the deadline the rules give when it needs
    one)."""
    deadline = step.deadline
    if step.action in NEEDS_DEADLINE:
        ruled = _deadline(app, problem, china_time(at).date())
        if deadline is None:
            deadline = ruled
        elif deadline > ruled and scope.role is Role.CADRE:
            raise InvalidValueError(
                "deadline",
                deadline.isoformat(),
                f"包保干部给出的整改期限不能晚于规定期限（{ruled.isoformat()}）；"
                "延期由监管部门办理",
                f"a cadre cannot set a deadline after the rules' ({ruled.isoformat()}); "
                "an office grants extensions",
            )
    return transition(
        problem,
        step.action,
        actor=step.actor,
        at=at,
        note=step.note,
        evidence=step.evidence,
        deadline=deadline,
        role=scope.role,
    )


@attrs.frozen
class Escalation:
    problem: Problem
    event: ProblemEvent


def escalate_overdue(
    app: Twores,
    store: Store,
    scope: Scope,
    on: date | None = None,
    *,
    actor: str = "system",
    within: str | None = None,
    at: datetime | None = None,
    letters: str | Path | None = None,
    issuer: str | None = None,
    simulated: bool = False,
) -> list[Escalation]:
    """Take the one step each problem overdue on ``on`` is due: a reminder letter, or after
    the policy's reminders a referral one level up. Running it again the same day does
    nothing more. With ``letters``, each reminder letter (提醒函) is written there as .docx,
    signed by ``issuer`` (default: ``actor``, who takes the steps): first into a staging
    folder inside it (``.twores-reminders-…``, each file under a temporary name until
    complete), before the commit; once committed, each is moved into place (``os.replace``).
    A run failed before or at its commit records no step and leaves ``letters`` as it was
    (the staging folder, and any folder the run made, removed). A letter that cannot be
    moved after the commit stays in the staging folder, which
    :class:`ReminderFilesLeftError` names (the steps are recorded: never deleted).
    A day after today is refused unless ``simulated`` (the demo playing a year out)."""
    for action in (Action.REMIND, Action.REFER):
        _check_role(scope, action)
    latest = today()
    if at is not None and on is not None and china_time(at).date() != on:
        raise InvalidValueError(
            "at",
            china_time(at).isoformat(),
            f"不在所判定的日期 {on.isoformat()}（北京时间）",
            f"is not on the day judged, {on.isoformat()} (China time)",
        )
    on = on or (china_time(at).date() if at is not None else latest)
    if on > latest and not simulated:
        raise InvalidValueError(
            "on", on.isoformat(), f"晚于今天（{latest.isoformat()}）", f"after today ({latest})"
        )
    staging: StagedFolder | None = None
    moves: list[tuple[Path, Path]] = []  # each staged letter, its place in ``letters``
    done: list[Escalation] = []
    try:
        if letters is not None:  # before the claim: a folder that cannot be made holds no writer
            staging = StagedFolder.make(Path(letters), REMINDER_STAGING_PREFIX, disposable=False)
        with store.unit_of_work(scope) as uow:
            uow.claim_writes()  # before the first read of what it writes
            moment = _escalated_at(on, at, latest)  # now, if so: after the claim
            stamped_now = at is None and on == latest
            changed = []
            for problem in uow.problems.stream(open_on=on, within=within):
                policy = app.plugins.escalation_policy(problem.area_code, on).value
                step = next_escalation(problem, on, policy)
                if step is None:
                    continue
                when = _after_last(problem, moment) if stamped_now else moment
                if step is Action.REMIND:
                    after, event = transition(
                        problem,
                        step,
                        actor=actor,
                        at=when,
                        note=f"逾期未整改（期限 {problem.deadline}），发提醒函",
                        deadline=on + timedelta(days=policy.grace_days),
                    )
                else:
                    after, event = transition(
                        problem,
                        step,
                        actor=actor,
                        at=when,
                        note="提醒后仍逾期未整改，移交市场监管部门立案，上提一级督办",
                    )
                changed.append(after)
                done.append(Escalation(after, event))
            uow.problems.upsert_many(changed)
            if staging is not None:  # written before the commit, into the staging folder
                moves = _write_reminders(uow, done, staging, issuer or actor, on)
            uow.commit()
    except BaseException:
        if staging is not None:
            staging.discard()  # no step recorded: the output folder as it was
        raise
    # The steps are stored: the letters go in place, each by one rename.
    # One that fails stays in the staging folder, kept: never removed by twores.
    left = staging.place(moves) if staging is not None else []
    _notify(app, [(e.event, e.problem.area_code) for e in done])
    if left:
        assert staging is not None
        raise ReminderFilesLeftError(staging.path, left)
    return done


#: The name of the folder, inside the output folder, the reminder letters are written to
#: first. Not the commitment letters' ``.twores-staging-``: a run of ``letters generate``
#: removes those it finds unused, and a reminder staging folder kept after a failed move
#: holds the only copy of letters whose steps are recorded.
REMINDER_STAGING_PREFIX = ".twores-reminders-"


class ReminderFilesLeftError(TworesError):
    """The escalation steps were recorded, but some reminder letters could not be moved
    into the output folder: they are kept in ``staging`` (``left``: each file there, where
    it was to go, and why). Running ``problems overdue`` again does not write them again
    (the steps are taken): move them by hand."""

    code = "reminder_files_left"

    def __init__(self, staging: Path, left: list[Left]) -> None:
        self.staging = staging
        self.left = left
        zh, en = left_lists(left)
        super().__init__(
            f"逾期升级已登记，但以下提醒函未能放入输出文件夹：{zh}。这些提醒函保留在 "
            f"{staging}，不会自动删除；重新运行不会再次生成它们（升级已登记）。请关闭占用"
            "这些文件的程序或移走同名文件夹后，将其手工移入输出文件夹",
            f"the escalations were recorded, but these reminder letters could not be moved "
            f"into the output folder: {en}. They are kept in {staging}, never "
            "removed by twores; running again does not write them again (the steps are "
            "taken). Close what holds them or move the folder of that name away, then move "
            "them into the output folder by hand",
        )


def _write_reminders(
    uow: UnitOfWork, done: list[Escalation], staging: StagedFolder, issuer: str, on: date
) -> list[tuple[Path, Path]]:
    """Stage the reminder letter of each REMIND step of ``done``. Returns each staged
    letter with its place in the output folder (refused, naming it, when a rename cannot
    take that place: :func:`_check_place`)."""
    hierarchy = uow.areas.hierarchy()
    moves = []
    for step in done:
        if step.event.action is not Action.REMIND:
            continue
        problem = step.problem
        business = uow.businesses.get(problem.business_key)
        business_name = business.name if business else problem.business_key
        area_name = hierarchy.display_path(problem.area_code, "")
        moves.append(_stage_reminder(staging, problem, business_name, area_name, issuer, on))
    return moves


def _stage_reminder(
    staging: StagedFolder,
    problem: Problem,
    business_name: str,
    area_name: str,
    issuer: str,
    on: date,
) -> tuple[Path, Path]:
    """Stage ``problem``'s reminder letter: the staged file, and its place."""
    name = f"提醒函-{problem.id.replace('/', '_')}-{problem.reminders}.docx"
    final = staging.target / name
    _check_place(final)

    def render(part: Path) -> Path:
        return write_reminder(
            problem,
            business_name=business_name,
            area_name=area_name,
            issuer=issuer,
            issued_on=on,
            path=part,
        )

    return staging.write(name, render), final


def _check_place(final: Path) -> None:
    """Refuse, before the commit, a reminder letter whose place ``final`` a rename cannot
    take (:func:`~twores.services.staging.check_replaceable`); a folder there, or a broken
    link, is refused as such."""
    if final.is_dir() or (final.is_symlink() and not final.exists()):
        raise InvalidValueError(
            "letters",
            str(final),
            "该位置已有同名文件夹（或失效的链接），提醒函无法放入",
            "a folder (or a broken link) of that name is there: the letter cannot go there",
        )
    blocked = check_replaceable([final], final.parent)
    if blocked is not None:
        raise InvalidValueError(
            "letters",
            str(blocked.path),
            f"{blocked.zh}，提醒函无法放入",
            f"{blocked.en}: the letter cannot go there",
        )


def list_problems(
    store: Store,
    scope: Scope,
    *,
    status: ProblemStatus | str | None = None,
    severity: Severity | str | None = None,
    overdue_on: date | str | None = None,
    business_key: str | None = None,
    within: str | None = None,
) -> Iterator[Problem]:
    """Problems by area subtree, status, severity, overdue day or business (its history).

    ``status`` and ``severity`` may be given as the CLI spells them (``rectifying``,
    ``整改中``, ``一般``) and ``overdue_on`` as ``YYYY-MM-DD``; a value that names none is
    refused here, when called, not when the problems are first read."""
    chosen_status = None if status is None else ProblemStatus.parse(status, field="problem_status")
    chosen_severity = None if severity is None else Severity.parse(severity, field="severity")
    day = None if overdue_on is None else given_day(overdue_on, "overdue_on")

    def listed() -> Iterator[Problem]:
        with store.unit_of_work(scope) as uow:
            yield from uow.problems.stream(
                business_key=business_key,
                status=chosen_status,
                severity=chosen_severity,
                open_on=day,
                within=within,
            )

    return listed()
