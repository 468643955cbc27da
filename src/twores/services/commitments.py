"""Commitment letters and the three lists: generate, sign, and see who still owes one."""

from __future__ import annotations

import contextlib
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Area, Hierarchy, Tier
from twores.core.cadres import Cadre
from twores.core.convert import given_day
from twores.core.errors import InvalidValueError, MissingValueError, NotFoundError, TworesError
from twores.core.letters import (
    Letter,
    LetterStatus,
    letter_in_force,
    letter_key,
    letter_status,
)
from twores.core.periods import today
from twores.core.ports import Store, UnitOfWork
from twores.core.security import Scope
from twores.plugins.records import TierLabel
from twores.services.exports import check_makeable
from twores.services.imports import file_sha256
from twores.services.letters import (
    DocumentInput,
    document_paths,
    keep_signed_documents,
    keys_hash,
    write_documents,
)
from twores.services.lookups import check_office, tier_label, tier_name_of
from twores.services.privacy import cadre_for
from twores.services.staging import (
    Left,
    StagedFolder,
    check_replaceable,
    left_lists,
    remove_leftover,
)


@attrs.frozen
class Counterparty:
    """Who signs the letter with a cadre, in Chinese and English."""

    zh: str
    en: str


#: Names whose Party committee or government is called otherwise (a 地区 or 盟 has an
#: administrative office, a 街道 a Party working committee and an office).
_COUNTERPARTIES_BY_LABEL = {
    "地区": Counterparty(
        "地委、行政公署主要负责人",
        "principal leaders of the prefecture Party committee and administrative office",
    ),
    "盟": Counterparty(
        "盟委、行政公署主要负责人",
        "principal leaders of the league Party committee and administrative office",
    ),
    "街道": Counterparty(
        "街道党工委、办事处主要负责人",
        "principal leaders of the sub-district Party working committee and office",
    ),
    "社区": Counterparty(
        "社区党组织书记、居民委员会主任", "community Party secretary and residents' committee head"
    ),
    "村": Counterparty(
        "村党组织书记、村民委员会主任", "village Party secretary and villagers' committee head"
    ),
}
#: A province-tier area's own name (the national labels call every one 省).
_PROVINCES = (("自治区", "autonomous region"), ("市", "municipality"), ("省", "province"))


def counterparty_for(tier: Tier, label: TierLabel, name: str = "") -> Counterparty:
    """Who signs with a cadre of an area of ``tier`` called ``label`` (its
    ``twores_area_label``: 区, 市, 旗, 苏木, 嘎查…; docs/sources.md, Three lists): the
    principal leaders of that area's Party committee and government; in a village, its
    Party secretary and committee head. A province is named by its own ``name``."""
    if tier is Tier.PROVINCE:
        label = next((TierLabel(zh, en) for zh, en in _PROVINCES if name.endswith(zh)), label)
    special = _COUNTERPARTIES_BY_LABEL.get(label.zh)
    if special is not None:
        return special
    zh, en = label.zh, label.en
    if tier is Tier.VILLAGE:
        return Counterparty(
            f"{zh}党组织书记、{zh}委员会主任", f"{en} Party secretary and committee head"
        )
    # 县委 but 镇党委, 苏木党委; 自治区党委
    committee = "党委" if tier is Tier.TOWNSHIP or len(zh) > 1 else "委"
    return Counterparty(
        f"{zh}{committee}、{zh}政府主要负责人",
        f"principal leaders of the {en} Party committee and government",
    )


@attrs.frozen
class GeneratedLetter:
    letter: Letter
    #: The printable letter and lists (None when only the letter was recorded).
    docx: Path | None
    xlsx: Path | None
    renewed: bool


class LetterRun(list[GeneratedLetter]):
    """The letters a run generated; ``not_owed``: the cadres it skipped because they hold
    no business (无需签订), by id."""

    def __init__(self, letters: Iterable[GeneratedLetter] = (), not_owed: Iterable[str] = ()):
        super().__init__(letters)
        self.not_owed = tuple(not_owed)


def _signed_on(day: date | str) -> date:
    return given_day(day, "signed_on")


@attrs.frozen
class Signing:
    """One signed letter to record: whose, which year's, when, with whom, and its scan."""

    cadre_id: str
    year: int
    signed_on: date = attrs.field(converter=_signed_on)
    counterparty: str = attrs.field()
    scan: str | Path | None = None


@attrs.frozen
class LetterState:
    cadre: Cadre
    letter: Letter | None
    status: LetterStatus
    businesses: int
    deadline: date
    #: The cadre's tier as the region names it (镇级, 街道级, 旗级; "" when not looked up).
    tier_name: str = ""
    #: The same in English (town, sub-district, banner; "" when not looked up).
    tier_name_en: str = ""

    def level(self, lang: str) -> str:
        """The tier as its region names it (旗级 / banner), else the national tier's name."""
        if lang == "zh":
            return self.tier_name or self.cadre.tier.zh
        return self.tier_name_en or self.cadre.tier.en


def _path_name(hierarchy: Hierarchy, code: str) -> str:
    if code not in hierarchy:
        return code
    return "/".join(a.name for a in hierarchy.path(code) if a.tier is not Tier.PROVINCE)


def _held(uow: UnitOfWork, on: date) -> dict[str, list[str]]:
    """Cadre id -> the keys of the businesses they hold on ``on`` (within the scope)."""
    held: dict[str, list[str]] = defaultdict(list)
    for assignment in uow.assignments.stream(active_on=on):
        held[assignment.cadre_id].append(assignment.business_key)
    return held


def _lists(uow: UnitOfWork, on: date) -> Iterator[tuple[Cadre, list[str]]]:
    """Each active cadre in scope with the keys of the businesses they hold on ``on``."""
    held = _held(uow, on)
    for cadre in uow.cadres.stream():
        if cadre.is_active(on):
            yield cadre, held.get(cadre.id, [])


def _current(letters: Iterable[Letter]) -> dict[str, Letter]:
    """Cadre id -> their current letter (superseded ones are history)."""
    return {x.cadre_id: x for x in letters if not x.superseded}


def _in_force(letters: Iterable[Letter], day: date) -> dict[str, Letter]:
    """Cadre id -> the letter in force on ``day``, as it stood then (``letter_in_force``)."""
    mine: dict[str, list[Letter]] = defaultdict(list)
    for letter in letters:
        mine[letter.cadre_id].append(letter)
    found = {cadre_id: letter_in_force(theirs, day) for cadre_id, theirs in mine.items()}
    return {cadre_id: letter for cadre_id, letter in found.items() if letter is not None}


#: What only an office or admin does with letters.
LETTERS = ("承诺书生成与签订登记", "generating and filing commitment letters")


def generate_letters(
    app: Twores,
    store: Store,
    scope: Scope,
    year: int,
    folder: str | Path,
    *,
    on: date | None = None,
    cadre_id: str | None = None,
    counterparty: str | None = None,
    documents: bool = True,
) -> LetterRun:
    """Write each cadre's letter and lists (.docx and .xlsx) for ``year`` and record them
    (without ``documents``, only record them: the files can be written later). A cadre
    holding no business owes none: skipped, and listed in ``LetterRun.not_owed``.

    A letter whose list is unchanged keeps its signature; a changed list starts a new,
    unsigned letter, and a signed one it replaces is kept as history (``Letter.superseded``:
    its signing counts in the KPIs until the day it was replaced). The signed version's
    files in ``folder`` are kept, renamed by its signing day (``keep_signed_documents``).
    An office's or admin's work.

    The files are written first, into a staging folder inside ``folder``, without holding
    the store's writer (other writers go on meanwhile); then, holding it, the letters and
    everything their files show (the cadre, the businesses' details, the area names, the
    frequency, the counterparty) are worked out again from what is stored, a cadre whose
    files would now differ is written again, every file's place in ``folder`` is checked
    (not a folder; replaceable), the letters are recorded, and once they are committed
    the files are moved into place (docs/supervision.md, Commitment letters). A run
    refused or failed before its commit records no letter and leaves ``folder`` as it was.
    Should a file still fail to move after the commit (:class:`LetterFilesLeftError`), the
    letters stay recorded and the files not moved are kept in the staging folder, which
    the error names: running again writes them again without changing any letter. A run
    removes the staging folders of earlier runs that no run uses any more.
    """
    check_office(scope, LETTERS)
    day = on or today()
    target = Path(folder)
    if not documents:
        with store.unit_of_work(scope) as uow:
            uow.claim_writes()  # before the first read of what it writes
            plan = _plan(app, uow, year, day, cadre_id, counterparty, documents=False)
            uow.letters.upsert_many([*plan.kept, *(g.letter for g in plan.generated)])
            uow.commit()
        return LetterRun(plan.generated, plan.not_owed)
    check_makeable(target)
    with store.unit_of_work(scope) as uow:  # reads only: refused before any file is made
        plan = _plan(app, uow, year, day, cadre_id, counterparty, documents=True)
    _check_replaceable(plan, year, target)  # refused before any file is made, too
    remove_leftover(target, STAGING_PREFIX)
    staging = StagedFolder.make(target, STAGING_PREFIX, disposable=True)
    aside: list[tuple[Path, Path]] = []  # a replaced signed letter's files moved aside
    try:
        rendered = _render(plan, plan.drafts, staging.path, lambda: store.unit_of_work(scope))
        with store.unit_of_work(scope) as uow:
            uow.claim_writes()  # before the first read of what it writes
            plan = _plan(app, uow, year, day, cadre_id, counterparty, documents=True)
            # every document as it would be now; the few that changed are written again
            _render(plan, plan.drafts, staging.path, lambda: contextlib.nullcontext(uow), rendered)
            _check_replaceable(plan, year, target)
            uow.letters.upsert_many([*plan.kept, *(g.letter for g in plan.generated)])
            for old in plan.kept:  # before the commit: a run dying after it finds them aside
                assert old.signed_on is not None
                moved = keep_signed_documents(old.cadre_id, old.year, old.signed_on, target)
                for current, dated in zip(
                    document_paths(old.cadre_id, old.year, target),
                    document_paths(old.cadre_id, old.year, target, old.signed_on),
                    strict=True,
                ):
                    if dated in moved:
                        aside.append((dated, current))
            uow.commit()
    except BaseException:
        for dated, current in reversed(aside):  # back where they were
            with contextlib.suppress(OSError):
                dated.replace(current)
        staging.discard()
        raise
    # The letters are stored: their files go in place, each by one rename. A rename that
    # fails leaves its file in the staging folder (the letters refer to it), kept, marked
    # done: the next run may remove it at once.
    generated: list[GeneratedLetter] = []
    moves: list[tuple[Path, Path]] = []
    for g in plan.generated:
        paths = document_paths(g.letter.cadre_id, year, target)
        moves += zip(document_paths(g.letter.cadre_id, year, staging.path), paths, strict=True)
        generated.append(attrs.evolve(g, docx=paths[0], xlsx=paths[1]))
    left = staging.place(moves)
    if left:
        raise LetterFilesLeftError(staging.path, left)
    return LetterRun(generated, plan.not_owed)


class LetterFilesLeftError(TworesError):
    """The letters were recorded, but some of their files could not be moved into place:
    they are kept in ``staging`` (``left``: each file there, where it was to go, and why).
    Running ``letters generate`` again writes them again without changing any letter."""

    code = "letter_files_left"

    def __init__(self, staging: Path, left: list[Left]) -> None:
        self.staging = staging
        self.left = left
        zh, en = left_lists(left)
        super().__init__(
            f"承诺书已登记，但以下文件未能放入输出文件夹：{zh}。这些文件保留在 "
            f"{staging}（下次生成时删除）。请关闭占用这些文件的程序（如 Excel、WPS）或移走"
            "同名文件夹后，重新运行 letters generate：将重新写出这些文件，不改变任何承诺书",
            f"the letters were recorded, but these files could not be moved into the output "
            f"folder: {en}. They are kept in {staging} (removed by the next run). "
            "Close what holds them (Excel, WPS) or move the folder of that name away, then "
            "run letters generate again: it writes them again and changes no letter",
        )


#: The name of the folder, inside the output folder, a run writes its files to first.
STAGING_PREFIX = ".twores-staging-"
#: How many cadres' businesses are read (and documents written) at a time.
RENDER_BATCH = 200


@attrs.frozen
class _LetterPlan:
    """What a run records, worked out from one reading of the store."""

    generated: list[GeneratedLetter]
    #: Signed letters replaced by a changed list (as history).
    kept: list[Letter]
    not_owed: list[str]
    hierarchy: Hierarchy
    #: Cadre id -> their document without businesses, and the keys of those businesses
    #: (sorted): what the files show (with the businesses' details).
    drafts: dict[str, tuple[DocumentInput, tuple[str, ...]]]


def _plan(
    app: Twores,
    uow: UnitOfWork,
    year: int,
    day: date,
    cadre_id: str | None,
    counterparty: str | None,
    *,
    documents: bool,
) -> _LetterPlan:
    """The letters a run generates and keeps, as ``uow`` reads the store (refusing a
    changed list as of a signing day or earlier, and an unknown ``cadre_id``)."""
    if cadre_id is not None and uow.cadres.get(cadre_id) is None:
        raise NotFoundError(
            "cadre_id", cadre_id, "干部不存在或不在辖区内", "no such cadre in scope"
        )
    hierarchy = uow.areas.hierarchy()
    filed = _current(uow.letters.stream(year=year, cadre_id=cadre_id))
    plan = _LetterPlan([], [], [], hierarchy, {})
    for cadre, keys in list(_lists(uow, day)):  # read out: a refusal may stop the loop
        if cadre_id is not None and cadre.id != cadre_id:
            continue
        if not keys:  # holds no business: no letter owed
            plan.not_owed.append(cadre.id)
            continue
        digest = keys_hash(keys)
        before = filed.get(cadre.id)
        letter = Letter(cadre.id, cadre.area_code, year, digest, len(keys), day)
        if before is not None and before.list_hash == digest:
            letter = before
            if before.signed_on is None and day < before.generated_on:
                letter = attrs.evolve(before, generated_on=day)  # given back-dated: so
        elif before is not None and before.signed_on is not None:
            plan.kept.append(_superseded(before, day))  # the signing stays, as history
        if documents:
            frequency = app.plugins.supervision_frequency(cadre.tier, day, cadre.area_code)
            area = hierarchy.get(cadre.area_code)
            label = app.plugins.area_label(area, day).value if area is not None else None
            draft = DocumentInput(
                cadre=cadre,
                year=year,
                businesses=(),
                area_names={},
                jurisdiction_name=_path_name(hierarchy, cadre.area_code),
                frequency_label=frequency.value.label("zh"),
                counterparty=counterparty or _counterparty(cadre, area, label).zh,
                tier_name=tier_name_of(label) if label is not None else "",
            )
            plan.drafts[cadre.id] = (draft, tuple(sorted(keys)))
        plan.generated.append(GeneratedLetter(letter, None, None, before is not letter))
    return plan


def _render(
    plan: _LetterPlan,
    drafts: Mapping[str, tuple[DocumentInput, tuple[str, ...]]],
    folder: Path,
    reading: Callable[[], AbstractContextManager[UnitOfWork]],
    written: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Write the files of ``drafts`` to ``folder``, reading their businesses a batch of
    cadres at a time (each batch in a unit ``reading`` opens), except a cadre whose
    document is the one ``written`` says is there already (by :func:`_digest`). Returns
    each cadre's document's digest."""
    digests: dict[str, str] = {}
    items = list(drafts.items())
    for start in range(0, len(items), RENDER_BATCH):
        batch = items[start : start + RENDER_BATCH]
        with reading() as uow:
            by_key = uow.businesses.get_many({k for _, (_, keys) in batch for k in keys})
        for cadre_id, (draft, keys) in batch:
            businesses = [by_key[k] for k in keys if k in by_key]
            names = {b.area_code: _path_name(plan.hierarchy, b.area_code) for b in businesses}
            document = attrs.evolve(draft, businesses=tuple(businesses), area_names=names)
            digest = _digest(document)
            if written is None or written.get(cadre_id) != digest:
                write_documents(document, folder)
            digests[cadre_id] = digest
    return digests


def _digest(document: DocumentInput) -> str:
    """SHA-256 of everything the files of ``document`` show: all it holds (attrs values,
    shown in full by their ``repr``; the files are made from these alone)."""
    return hashlib.sha256(repr(document).encode("utf-8", "surrogatepass")).hexdigest()


def _check_replaceable(plan: _LetterPlan, year: int, folder: Path) -> None:
    """Refuse, before anything is recorded, a file of ``plan`` whose place in ``folder``
    cannot be taken by a rename (:func:`~twores.services.staging.check_replaceable`)."""
    finals = (p for g in plan.generated for p in document_paths(g.letter.cadre_id, year, folder))
    blocked = check_replaceable(finals, folder)
    if blocked is None:
        return
    if blocked.folder:
        raise InvalidValueError(
            "path",
            str(folder),
            "无法写入输出文件夹（权限不足）；未登记任何承诺书",
            "the output folder cannot be written to (permission denied); no letter recorded",
        )
    raise InvalidValueError(
        "path",
        str(blocked.path),
        f"{blocked.zh}，无法替换为新文件；未登记任何承诺书，输出文件夹未改动",
        f"{blocked.en}, so it cannot be replaced by the new file; no letter "
        "recorded, the output folder left as it was",
    )


def _counterparty(cadre: Cadre, area: Area | None, label: TierLabel | None) -> Counterparty:
    """Who signs with ``cadre`` by default: by their area's label, else their tier's."""
    if area is None or label is None:
        return counterparty_for(
            cadre.tier, TierLabel(cadre.tier.zh.removesuffix("级"), cadre.tier.en)
        )
    return counterparty_for(area.tier, label, area.name)


def _superseded(letter: Letter, day: date) -> Letter:
    """``letter``, signed, kept as history from ``day`` when a changed list replaces it."""
    assert letter.signed_on is not None
    if day <= letter.signed_on:
        raise InvalidValueError(
            "on",
            day.isoformat(),
            f"干部 {letter.cadre_id} 的{letter.year}年承诺书已于{letter.signed_on.isoformat()}"
            "签订：变更后的清单须以签订日之后的日期生成",
            f"cadre {letter.cadre_id}'s {letter.year} letter was signed on "
            f"{letter.signed_on.isoformat()}: generate the changed list as of a later day",
        )
    return letter.replaced_on(day)


def sign_letter(
    store: Store,
    scope: Scope,
    cadre_id: str,
    year: int,
    *,
    signed_on: date | str,
    counterparty: str,
    scan: str | Path | None = None,
) -> Letter:
    """Record the signing of a generated letter (with the SHA-256 of its scan)."""
    return sign_letters(store, scope, [Signing(cadre_id, year, signed_on, counterparty, scan)])[0]


def sign_letters(store: Store, scope: Scope, signings: Iterable[Signing]) -> list[Letter]:
    """Record the signing of generated letters, all in one transaction: any refused
    signing refuses them all. An office's or admin's work (it files the signed scans)."""
    check_office(scope, LETTERS)
    signed: list[Letter] = []
    lists_on: dict[date, dict[str, list[str]]] = {}
    latest = today()
    asked = list(signings)
    with store.unit_of_work(scope) as uow:
        uow.claim_writes()  # before the first read of what it writes
        cadres = uow.cadres.get_many({s.cadre_id for s in asked})
        filed = uow.letters.get_many({letter_key(s.year, s.cadre_id) for s in asked})
        for s in asked:
            cadre = cadres.get(s.cadre_id)
            if cadre is None:
                raise NotFoundError(
                    "cadre_id", s.cadre_id, "干部不存在或不在辖区内", "no such cadre in scope"
                )
            if s.signed_on > latest:
                raise InvalidValueError(
                    "signed_on",
                    s.signed_on.isoformat(),
                    f"晚于今天（{latest.isoformat()}）",
                    f"after today ({latest.isoformat()})",
                )
            letter = filed.get(letter_key(s.year, s.cadre_id))
            if letter is None:
                raise InvalidValueError(
                    "cadre_id",
                    s.cadre_id,
                    f"{s.year}年承诺书尚未生成（先运行 twores letters generate）",
                    f"no {s.year} letter generated yet (run twores letters generate)",
                )
            if letter.signed_on is not None:  # a signing is never erased nor re-dated
                raise InvalidValueError(
                    "cadre_id",
                    s.cadre_id,
                    f"{cadre.name}（{s.cadre_id}）的{s.year}年承诺书已于"
                    f"{letter.signed_on.isoformat()}签订，签订记录不可更改",
                    f"{cadre.name} ({s.cadre_id})'s {s.year} letter was already signed on "
                    f"{letter.signed_on.isoformat()}: a signing is never changed",
                )
            if letter.businesses == 0:
                raise InvalidValueError(
                    "cadre_id",
                    s.cadre_id,
                    f"{cadre.name}的{s.year}年承诺书未包保任何主体，无需签订",
                    f"{cadre.name}'s {s.year} letter covers no business: none is owed",
                )
            if s.signed_on < letter.generated_on:
                raise InvalidValueError(
                    "signed_on",
                    s.signed_on.isoformat(),
                    f"签订日期早于承诺书生成日期 {letter.generated_on.isoformat()}",
                    f"signed before the letter was generated on {letter.generated_on.isoformat()}",
                )
            if not s.counterparty.strip():
                raise MissingValueError("counterparty")
            if s.signed_on not in lists_on:
                lists_on[s.signed_on] = _held(uow, s.signed_on)
            if keys_hash(lists_on[s.signed_on].get(s.cadre_id, [])) != letter.list_hash:
                raise InvalidValueError(
                    "cadre_id",
                    s.cadre_id,
                    f"{s.signed_on.isoformat()}的包保清单已与承诺书不同：请重新生成后再签",
                    f"the cadre's list on {s.signed_on.isoformat()} is not the letter's: "
                    "generate it again, then sign",
                )
            done = attrs.evolve(
                letter,
                signed_on=s.signed_on,
                counterparty=s.counterparty.strip(),
                scan_sha256=file_sha256(Path(s.scan)) if s.scan is not None else None,
            )
            filed[done.key] = done  # signed twice in one batch: refused as above
            signed.append(done)
        uow.letters.upsert_many(signed)
        uow.commit()
    return signed


def letter_states(
    app: Twores, store: Store, scope: Scope, year: int, *, on: date | None = None
) -> list[LetterState]:
    """Every active cadre's letter for ``year`` and where it stands on ``on``: the letter
    in force that day (current or superseded), a signing after it not yet made."""
    day = on or today()
    with store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
        letters = _in_force(uow.letters.stream(year=year), day)
        states = []
        for cadre, keys in _lists(uow, day):
            label = tier_label(app, hierarchy, cadre.area_code, day)
            states.append(
                attrs.evolve(
                    letter_state(app, cadre, letters.get(cadre.id), keys, year, day),
                    cadre=cadre_for(scope, cadre),  # masked unless the role may see it
                    tier_name=tier_name_of(label, "zh") if label is not None else "",
                    tier_name_en=tier_name_of(label, "en") if label is not None else "",
                )
            )
        return states


def letter_state(
    app: Twores, cadre: Cadre, letter: Letter | None, keys: list[str], year: int, day: date
) -> LetterState:
    """Where ``cadre``'s ``letter`` for ``year`` stands on ``day``; ``keys`` are the
    businesses they hold that day (a changed list needs a new letter; none, no letter)."""
    deadline = app.plugins.letter_renewal(year, cadre.area_code).value
    status = letter_status(letter, keys_hash(keys), day, deadline, owed=bool(keys))
    return LetterState(cadre, letter, status, len(keys), deadline)
