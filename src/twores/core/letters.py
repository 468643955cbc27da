"""Commitment letters (承诺书): one per cadre per year, covering that cadre's list.

Generating again never erases a signing: when the cadre's list has changed, the signed
letter is kept as history (``superseded``) beside the new, unsigned one.
"""

from __future__ import annotations

from datetime import date, timedelta

import attrs

from twores.core.labels import LabelledEnum
from twores.core.texts import text_of_at_most

#: The longest counterparty (签订对象) the store keeps (``letters.counterparty``).
COUNTERPARTY_MAX = 100


class LetterStatus(LabelledEnum):
    MISSING = ("missing", "未生成", "not generated")
    UNSIGNED = ("unsigned", "待签订", "awaiting signature")
    SIGNED = ("signed", "已签订", "signed")
    LIST_CHANGED = ("list_changed", "包保清单已变更，须重签", "list changed: sign a new letter")
    EXPIRED = ("expired", "已过期（超过一年）", "expired (over a year old)")
    OVERDUE = ("overdue", "逾期未签", "not signed by the deadline")
    NOT_OWED = ("not_owed", "无包保主体，无需签订", "holds no business: no letter owed")


@attrs.frozen
class Letter:
    """A cadre's letter for ``year``; ``list_hash`` identifies the business list it covers.

    A superseded letter (signed, then replaced by a letter for a changed list) keeps its
    signing and list; its ``generated_on`` is the day it was replaced, after its signing
    (the day it was first generated stays in the audit log). It is filed under its own key.
    """

    cadre_id: str
    area_code: str
    year: int
    list_hash: str
    businesses: int
    generated_on: date
    signed_on: date | None = None
    counterparty: str | None = attrs.field(
        default=None, validator=text_of_at_most(COUNTERPARTY_MAX, optional=True)
    )
    scan_sha256: str | None = None

    @property
    def key(self) -> str:
        if self.signed_on is not None and self.signed_on < self.generated_on:
            return superseded_key(self.year, self.cadre_id, self.signed_on)
        return letter_key(self.year, self.cadre_id)

    @property
    def superseded(self) -> bool:
        """A signed letter kept as history after a letter for a changed list replaced it."""
        return self.signed_on is not None and self.signed_on < self.generated_on

    def replaced_on(self, day: date) -> Letter:
        """This signed letter, kept as history from ``day`` (after its signing)."""
        if self.signed_on is None or day <= self.signed_on:
            raise ValueError("only a letter signed before the day can be superseded")
        return attrs.evolve(self, generated_on=day)

    def valid_on(self, day: date) -> bool:
        """Signed, and within one year of signing."""
        return self.signed_on is not None and self.signed_on <= day < _one_year_after(
            self.signed_on
        )


def earliest_valid_signing(day: date) -> date:
    """The earliest signing day of a letter still valid on ``day`` (a year not yet past)."""
    signed = day - timedelta(days=367)
    while _one_year_after(signed) <= day:
        signed += timedelta(days=1)
    return signed


def letter_key(year: int, cadre_id: str) -> str:
    """The key of the cadre's current letter for ``year``."""
    return f"{year}/{cadre_id}"


def superseded_key(year: int, cadre_id: str, signed_on: date) -> str:
    """The key of a superseded letter: one per signing day (at most 80 characters)."""
    return f"{year}/{cadre_id}/{signed_on.isoformat()}"


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28) + timedelta(days=1)


def letter_status(
    letter: Letter | None, current_list_hash: str, on: date, deadline: date, *, owed: bool = True
) -> LetterStatus:
    """Where a cadre's current letter stands on ``on``: a new one is due when the list
    changes; none is owed by a cadre holding no business (``owed`` False)."""
    if not owed:
        return LetterStatus.NOT_OWED
    if letter is None:
        return LetterStatus.OVERDUE if on > deadline else LetterStatus.MISSING
    if letter.list_hash != current_list_hash:
        return LetterStatus.LIST_CHANGED
    if letter.signed_on is None:
        return LetterStatus.OVERDUE if on > deadline else LetterStatus.UNSIGNED
    if not letter.valid_on(on):
        return LetterStatus.EXPIRED
    return LetterStatus.SIGNED
