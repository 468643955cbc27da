"""Cadres (包保干部): the officials who take businesses under their tier's assignment."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import attrs

from twores.core.areas import Tier, _check_code, check_date_range
from twores.core.businesses import (
    PERSON_NAME_MAX,
    POST_MAX,
    _check_id_number,
    _check_phone,
    canonical_phone,
    enum_of,
    max_length,
    name_of_at_most,
    optional_date,
)
from twores.core.errors import InvalidAreaCodeError, InvalidValueError
from twores.core.labels import clean_text
from twores.core.texts import clean_person_name

_ID_RE = re.compile(r"^[0-9A-Za-z_.:-]{1,64}$")


def _check_id(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise InvalidValueError(
            attribute.name,
            value,
            "应为 1–64 位字母、数字或 _ . : -",
            "must be 1-64 letters, digits or _ . : -",
        )


def _clean_post(value: object) -> str | None:
    """A post (职务) as the importer reads it: NFKC, trimmed, inner whitespace collapsed
    (a blank one is none), so an export re-imports unchanged."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValueError("post", value, "职务应为文本", "the post must be text")
    return clean_text(value) or None


@attrs.frozen
class Cadre:
    """A cadre of one tier whose jurisdiction is an area of that tier.

    Active on ``active_from <= day < active_to``; contact and ID number are personal data.
    """

    id: str = attrs.field(validator=_check_id)
    name: str = attrs.field(converter=clean_person_name, validator=name_of_at_most(PERSON_NAME_MAX))
    tier: Tier = attrs.field(validator=enum_of(Tier))
    area_code: str = attrs.field(validator=_check_code)
    post: str | None = attrs.field(
        default=None, converter=_clean_post, validator=max_length(POST_MAX)
    )
    phone: str | None = attrs.field(default=None, converter=canonical_phone, validator=_check_phone)
    id_number: str | None = attrs.field(default=None, validator=_check_id_number)
    active_from: date | None = attrs.field(default=None, validator=optional_date)
    active_to: date | None = attrs.field(default=None, validator=optional_date)

    def __attrs_post_init__(self) -> None:
        implied = Tier.for_code(self.area_code)
        if implied is not None and implied is not self.tier:
            raise InvalidAreaCodeError(
                "area_code",
                self.area_code,
                f"{self.tier.zh}干部的辖区应为{self.tier.zh}区划，此代码属于{implied.zh}",
                f"a {self.tier.en} cadre's jurisdiction must be a {self.tier.en} area, "
                f"this code is {implied.en}",
            )
        check_date_range(self.active_from, self.active_to, "active_from", "active_to")

    def is_active(self, on: date) -> bool:
        return (self.active_from is None or self.active_from <= on) and (
            self.active_to is None or on < self.active_to
        )
