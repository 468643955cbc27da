"""Commitment letters and the three lists: generate, sign, and see who still owes one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy, Tier
from twores.core.businesses import FoodBusiness
from twores.core.cadres import Cadre
from twores.core.errors import InvalidValueError
from twores.core.letters import Letter, LetterStatus, letter_key, letter_status
from twores.core.periods import today
from twores.core.ports import Store, UnitOfWork
from twores.core.security import Scope
from twores.services.imports import file_sha256
from twores.services.letters import DocumentInput, list_hash, write_documents

#: Who signs with a cadre of each tier (domain.md §4), unless the caller says otherwise.
COUNTERPARTIES = {
    Tier.PROVINCE: "省委、省政府主要负责人",
    Tier.CITY: "市委、市政府主要负责人",
    Tier.COUNTY: "县委、县政府主要负责人",
    Tier.TOWNSHIP: "乡镇党委、政府主要负责人",
    Tier.VILLAGE: "村党组织书记、村民委员会主任",
}


@attrs.frozen
class GeneratedLetter:
    letter: Letter
    docx: Path
    xlsx: Path
    renewed: bool


@attrs.frozen
class LetterState:
    cadre: Cadre
    letter: Letter | None
    status: LetterStatus
    businesses: int
    deadline: date


def _path_name(hierarchy: Hierarchy, code: str) -> str:
    if code not in hierarchy:
        return code
    return "/".join(a.name for a in hierarchy.path(code) if a.tier is not Tier.PROVINCE)


def _lists(uow: UnitOfWork, on: date) -> Iterator[tuple[Cadre, list[FoodBusiness]]]:
    """Each active cadre in scope with the businesses they hold on ``on``."""
    held: dict[str, list[str]] = defaultdict(list)
    for assignment in uow.assignments.stream(active_on=on):
        held[assignment.cadre_id].append(assignment.business_key)
    by_key = {b.key: b for b in uow.businesses.stream()}
    for cadre in uow.cadres.stream():
        if cadre.is_active(on):
            yield cadre, [by_key[k] for k in held.get(cadre.id, ()) if k in by_key]


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
) -> list[GeneratedLetter]:
    """Write each cadre's letter and lists (.docx and .xlsx) for ``year`` and record them.

    A letter whose list is unchanged keeps its signature; a changed list starts a new,
    unsigned letter (the old one stays in the audit log).
    """
    day = on or today()
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    generated: list[GeneratedLetter] = []
    with store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
        for cadre, businesses in _lists(uow, day):
            if cadre_id is not None and cadre.id != cadre_id:
                continue
            frequency = app.plugins.supervision_frequency(cadre.tier, day, cadre.area_code).value
            document = DocumentInput(
                cadre=cadre,
                year=year,
                businesses=tuple(businesses),
                area_names={b.area_code: _path_name(hierarchy, b.area_code) for b in businesses},
                jurisdiction_name=_path_name(hierarchy, cadre.area_code),
                frequency_label=frequency.label("zh"),
                counterparty=counterparty or COUNTERPARTIES[cadre.tier],
            )
            docx, xlsx = write_documents(document, target)
            digest = list_hash(businesses)
            before = uow.letters.get(letter_key(year, cadre.id))
            letter = Letter(cadre.id, cadre.area_code, year, digest, len(businesses), day)
            if before is not None and before.list_hash == digest:
                letter = before
            uow.letters.upsert_many([letter])
            generated.append(GeneratedLetter(letter, docx, xlsx, before is not letter))
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
    with store.unit_of_work(scope) as uow:
        letter = uow.letters.get(letter_key(year, cadre_id))
        if letter is None:
            raise InvalidValueError(
                "cadre_id",
                cadre_id,
                f"{year}年承诺书尚未生成（先运行 twores letters generate）",
                f"no {year} letter generated yet (run twores letters generate)",
            )
        if signed_on < letter.generated_on:
            raise InvalidValueError(
                "signed_on",
                signed_on.isoformat(),
                f"签订日期早于承诺书生成日期 {letter.generated_on.isoformat()}",
                f"signed before the letter was generated on {letter.generated_on.isoformat()}",
            )
        signed = attrs.evolve(
            letter,
            signed_on=signed_on,
            counterparty=counterparty,
            scan_sha256=file_sha256(Path(scan)) if scan is not None else None,
        )
        uow.letters.upsert_many([signed])
        uow.commit()
    return signed


def letter_states(
    app: Twores, store: Store, scope: Scope, year: int, *, on: date | None = None
) -> list[LetterState]:
    """Every active cadre's letter for ``year`` and where it stands on ``on``."""
    day = on or today()
    states: list[LetterState] = []
    with store.unit_of_work(scope) as uow:
        letters = {x.cadre_id: x for x in uow.letters.stream(year=year)}
        for cadre, businesses in _lists(uow, day):
            deadline = app.plugins.letter_renewal(year, cadre.area_code).value
            letter = letters.get(cadre.id)
            status = letter_status(letter, list_hash(businesses), day, deadline)
            states.append(LetterState(cadre, letter, status, len(businesses), deadline))
    return states
