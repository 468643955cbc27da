"""Letters through the store: generated from the lists, signed, due again when a list changes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import docx
import pytest
from openpyxl import load_workbook

import twores
from twores.core.errors import InvalidValueError, MissingValueError
from twores.core.letters import LetterStatus
from twores.core.ports import Store
from twores.divisions import demo_region
from twores.services.commitments import generate_letters, letter_states, sign_letter
from twores.services.synth import synthetic_roster

from .helpers import ADMIN, START, load


def _states(app: twores.Twores, store: Store, on: date) -> dict[str, LetterStatus]:
    return {s.cadre.id: s.status for s in letter_states(app, store, ADMIN, 2026, on=on)}


def test_generate_sign_and_renew(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    day = date(2026, 3, 1)
    before = _states(app, store, day)
    assert set(before.values()) == {LetterStatus.MISSING, LetterStatus.NOT_OWED}
    with store.unit_of_work(ADMIN) as uow:
        held = next(uow.assignments.stream(active_on=day))
        cadre = uow.cadres.get(held.cadre_id)
        business = uow.businesses.get(held.business_key)
    assert cadre is not None and business is not None
    (made,) = generate_letters(app, store, ADMIN, 2026, tmp_path, on=day, cadre_id=cadre.id)
    assert made.renewed and made.letter.signed_on is None
    text = "\n".join(p.text for p in docx.Document(str(made.docx)).paragraphs)
    assert cadre.name in text and "承诺书" in text
    tables = docx.Document(str(made.docx)).tables
    assert business.name in {c.text for t in tables for row in t.rows for c in row.cells}
    sheets = load_workbook(made.xlsx)
    assert sheets.sheetnames == ["责任清单", "任务清单", "督查清单"]
    assert _states(app, store, day)[cadre.id] is LetterStatus.UNSIGNED

    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 signed")
    signed = sign_letter(
        store,
        ADMIN,
        cadre.id,
        2026,
        signed_on=date(2026, 3, 5),
        counterparty="大圩镇党委书记",
        scan=scan,
    )
    assert signed.scan_sha256 is not None and len(signed.scan_sha256) == 64
    assert _states(app, store, date(2026, 3, 6))[cadre.id] is LetterStatus.SIGNED
    again = generate_letters(app, store, ADMIN, 2026, tmp_path, on=day, cadre_id=cadre.id)
    assert not again[0].renewed and again[0].letter.signed_on == date(2026, 3, 5)

    # The cadre's list changes: a new letter is due, and generating it starts unsigned.
    with store.unit_of_work(ADMIN) as uow:
        uow.assignments.upsert_many([held.ended(date(2026, 4, 1))])
        uow.commit()
    assert _states(app, store, date(2026, 4, 2))[cadre.id] is LetterStatus.LIST_CHANGED
    (renewed,) = generate_letters(
        app, store, ADMIN, 2026, tmp_path, on=date(2026, 4, 2), cadre_id=cadre.id
    )
    assert renewed.renewed and renewed.letter.signed_on is None
    assert _states(app, store, date(2026, 11, 1))[cadre.id] is LetterStatus.OVERDUE
    with pytest.raises(twores.NotFoundError):  # a typo is said, not "0 letters"
        generate_letters(app, store, ADMIN, 2026, tmp_path, on=day, cadre_id="no-such-cadre")


def test_signing_needs_a_generated_letter_and_a_plausible_date(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    with store.unit_of_work(ADMIN) as uow:
        cadre_id = next(uow.assignments.stream(active_on=START)).cadre_id
    with pytest.raises(InvalidValueError, match="尚未生成"):
        sign_letter(store, ADMIN, cadre_id, 2026, signed_on=START, counterparty="书记")
    generate_letters(app, store, ADMIN, 2026, tmp_path, on=date(2026, 2, 1), cadre_id=cadre_id)
    with pytest.raises(InvalidValueError, match="早于"):
        sign_letter(store, ADMIN, cadre_id, 2026, signed_on=START, counterparty="书记")
    later = date(2026, 2, 10)
    with pytest.raises(InvalidValueError, match="晚于今天"):
        sign_letter(store, ADMIN, cadre_id, 2026, signed_on=date(2999, 1, 1), counterparty="书记")
    with pytest.raises(MissingValueError):
        sign_letter(store, ADMIN, cadre_id, 2026, signed_on=later, counterparty="  ")
    with store.unit_of_work(ADMIN) as uow:  # the cadre's list changes after the letter
        held = next(a for a in uow.assignments.stream(active_on=later) if a.cadre_id == cadre_id)
        uow.assignments.upsert_many([held.ended(date(2026, 2, 5))])
        uow.commit()
    with pytest.raises(InvalidValueError, match="重新生成"):
        sign_letter(store, ADMIN, cadre_id, 2026, signed_on=later, counterparty="书记")
    with store.unit_of_work(ADMIN) as uow:
        (letter,) = uow.letters.stream(cadre_id=cadre_id)
    assert letter.signed_on is None


def test_a_letter_is_valid_for_one_year() -> None:
    from twores.core.letters import Letter, letter_status

    letter = Letter("c1", "450323101", 2024, "h", 3, date(2024, 2, 1), date(2024, 2, 29))
    assert letter_status(letter, "h", date(2025, 2, 28), date(2025, 10, 30)) is LetterStatus.SIGNED
    assert letter_status(letter, "h", date(2025, 3, 1), date(2025, 10, 30)) is LetterStatus.EXPIRED


def test_a_sub_district_cadres_letter_names_its_tier_and_counterparty_as_a_sub_district(
    app: twores.Twores, store: Store, tmp_path: Path
) -> None:
    district = demo_region().subtree("450302")  # 秀峰区: 街道 only
    load(store, synthetic_roster(district, businesses=60, cadres=20, seed=3), START)
    states = letter_states(app, store, ADMIN, 2026, on=START)
    state = next(s for s in states if s.cadre.area_code == "450302001")  # 秀峰街道
    assert (state.level("zh"), state.level("en")) == ("街道级", "sub-district")
    (made,) = generate_letters(app, store, ADMIN, 2026, tmp_path, on=START, cadre_id=state.cadre.id)
    assert made.docx is not None
    text = "\n".join(p.text for p in docx.Document(str(made.docx)).paragraphs)
    assert "街道级包保干部" in text
    assert "街道党工委、办事处主要负责人" in text and "乡镇党委" not in text


def test_letter_states_mask_personal_data_for_roles_that_may_not_see_it(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    viewer = twores.Scope("访客", twores.Role.READ_ONLY)
    shown = {s.cadre.id: s.cadre for s in letter_states(app, store, viewer, 2026, on=START)}
    full = {s.cadre.id: s.cadre for s in letter_states(app, store, ADMIN, 2026, on=START)}
    phoned = [c for c in full.values() if c.phone]
    assert phoned and all(
        shown[c.id].phone != c.phone and "****" in shown[c.id].phone for c in phoned
    )


def test_a_paper_letter_signed_before_it_was_entered_can_be_dated_back(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    """Generated again with an earlier day, an unsigned letter with the same list was made
    then: its signing on that day is recorded (it was refused as before the letter)."""
    load(store, roster, START)
    with store.unit_of_work(ADMIN) as uow:
        cadre_id = next(uow.assignments.stream(active_on=START)).cadre_id
    entered, made = date(2026, 3, 20), date(2026, 2, 1)
    generate_letters(app, store, ADMIN, 2026, tmp_path, on=entered, cadre_id=cadre_id)
    with pytest.raises(InvalidValueError, match="早于"):
        sign_letter(store, ADMIN, cadre_id, 2026, signed_on=date(2026, 2, 10), counterparty="书记")

    (again,) = generate_letters(
        app, store, ADMIN, 2026, tmp_path, on=made, cadre_id=cadre_id, documents=False
    )
    signed = sign_letter(
        store, ADMIN, cadre_id, 2026, signed_on=date(2026, 2, 10), counterparty="书记"
    )

    assert again.letter.generated_on == made
    assert signed.signed_on == date(2026, 2, 10)
    (later,) = generate_letters(
        app, store, ADMIN, 2026, tmp_path, on=date(2026, 1, 5), cadre_id=cadre_id, documents=False
    )
    assert later.letter.generated_on == made  # a signed letter keeps its day
