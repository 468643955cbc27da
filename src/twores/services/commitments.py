"""Commitment letters and the three lists: generate, sign, and see who still owes one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy, Tier
from twores.core.cadres import Cadre
from twores.core.errors import InvalidValueError, MissingValueError, NotFoundError
from twores.core.letters import Letter, LetterStatus, letter_key, letter_status
from twores.core.periods import today
from twores.core.ports import Store, UnitOfWork
from twores.core.security import Scope
from twores.services.imports import file_sha256
from twores.services.letters import DocumentInput, keys_hash, write_documents
from twores.services.lookups import check_office, tier_name
from twores.services.privacy import cadre_for

#: Who signs with a cadre of each tier (docs/sources.md, Three lists) unless the caller names one.
COUNTERPARTIES = {
    Tier.PROVINCE: "省委、省政府主要负责人",
    Tier.CITY: "市委、市政府主要负责人",
    Tier.COUNTY: "县委、县政府主要负责人",
    Tier.TOWNSHIP: "乡镇党委、政府主要负责人",
    Tier.VILLAGE: "村党组织书记、村民委员会主任",
}
#: Where the area's own name for its tier calls for another counterparty (a 街道 has a
#: party working committee and an office, not a township government).
COUNTERPARTIES_BY_NAME = {
    "街道级": "街道党工委、办事处主要负责人",
    "社区级": "社区党组织书记、居民委员会主任",
}


@attrs.frozen
class GeneratedLetter:
    letter: Letter
    #: The printable letter and lists (None when only the letter was recorded).
    docx: Path | None
    xlsx: Path | None
    renewed: bool


@attrs.frozen
class Signing:
    """One signed letter to record: whose, which year's, when, with whom, and its scan."""

    cadre_id: str
    year: int
    signed_on: date
    counterparty: str
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

    def level(self, lang: str) -> str:
        """The tier as its region names it in Chinese; the tier in English."""
        return (self.tier_name or self.cadre.tier.zh) if lang == "zh" else self.cadre.tier.en


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
) -> list[GeneratedLetter]:
    """Write each cadre's letter and lists (.docx and .xlsx) for ``year`` and record them
    (without ``documents``, only record them: the files can be written later).

    A letter whose list is unchanged keeps its signature; a changed list starts a new,
    unsigned letter (the old one stays in the audit log). An office's or admin's work.
    """
    check_office(scope, LETTERS)
    day = on or today()
    target = Path(folder)
    if documents:
        target.mkdir(parents=True, exist_ok=True)
    generated: list[GeneratedLetter] = []
    with store.unit_of_work(scope) as uow:
        if cadre_id is not None and uow.cadres.get(cadre_id) is None:
            raise NotFoundError(
                "cadre_id", cadre_id, "干部不存在或不在辖区内", "no such cadre in scope"
            )
        hierarchy = uow.areas.hierarchy()
        filed = {x.cadre_id: x for x in uow.letters.stream(year=year, cadre_id=cadre_id)}
        by_key = {b.key: b for b in uow.businesses.stream()} if documents else {}
        for cadre, keys in _lists(uow, day):
            if cadre_id is not None and cadre.id != cadre_id:
                continue
            docx = xlsx = None
            if documents:
                businesses = [by_key[k] for k in keys if k in by_key]
                frequency = app.plugins.supervision_frequency(cadre.tier, day, cadre.area_code)
                named = tier_name(app, hierarchy, cadre.area_code, day)
                document = DocumentInput(
                    cadre=cadre,
                    year=year,
                    businesses=tuple(businesses),
                    area_names={
                        b.area_code: _path_name(hierarchy, b.area_code) for b in businesses
                    },
                    jurisdiction_name=_path_name(hierarchy, cadre.area_code),
                    frequency_label=frequency.value.label("zh"),
                    counterparty=counterparty
                    or COUNTERPARTIES_BY_NAME.get(named, COUNTERPARTIES[cadre.tier]),
                    tier_name=named,
                )
                docx, xlsx = write_documents(document, target)
            digest = keys_hash(keys)
            before = filed.get(cadre.id)
            letter = Letter(cadre.id, cadre.area_code, year, digest, len(keys), day)
            if before is not None and before.list_hash == digest:
                letter = before
            generated.append(GeneratedLetter(letter, docx, xlsx, before is not letter))
        uow.letters.upsert_many(g.letter for g in generated)
        uow.commit()
    return generated


def sign_letter(
    store: Store,
    scope: Scope,
    cadre_id: str,
    year: int,
    *,
    signed_on: date,
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
        filed = uow.letters.get_many({letter_key(s.year, s.cadre_id) for s in asked})
        for s in asked:
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
            signed.append(
                attrs.evolve(
                    letter,
                    signed_on=s.signed_on,
                    counterparty=s.counterparty.strip(),
                    scan_sha256=file_sha256(Path(s.scan)) if s.scan is not None else None,
                )
            )
        uow.letters.upsert_many(signed)
        uow.commit()
    return signed


def letter_states(
    app: Twores, store: Store, scope: Scope, year: int, *, on: date | None = None
) -> list[LetterState]:
    """Every active cadre's letter for ``year`` and where it stands on ``on``."""
    day = on or today()
    with store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
        letters = {x.cadre_id: x for x in uow.letters.stream(year=year)}
        return [
            attrs.evolve(
                letter_state(app, cadre, letters.get(cadre.id), keys, year, day),
                cadre=cadre_for(scope, cadre),  # masked unless the role may see it
                tier_name=tier_name(app, hierarchy, cadre.area_code, day),
            )
            for cadre, keys in _lists(uow, day)
        ]


def letter_state(
    app: Twores, cadre: Cadre, letter: Letter | None, keys: list[str], year: int, day: date
) -> LetterState:
    """Where ``cadre``'s ``letter`` for ``year`` stands on ``day``; ``keys`` are the
    businesses they hold that day (a changed list needs a new letter)."""
    deadline = app.plugins.letter_renewal(year, cadre.area_code).value
    status = letter_status(letter, keys_hash(keys), day, deadline)
    return LetterState(cadre, letter, status, len(keys), deadline)
