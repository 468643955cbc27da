"""What a ledger leaves unsaid stays as stored: a re-imported business keeps the fields whose
columns its sheet does not have (a sheet without staff columns never erases the staff), the
status a row leaves blank (a blank 经营状态 never reopens a closed business) and the ban a
row leaves blank for the same person (a blank 禁业截止日期 never lifts a ban)."""

from __future__ import annotations

import attrs

from twores.core.businesses import FoodBusiness, StaffMember

#: FoodBusiness fields read from one sheet field of the same name, which a sheet may omit
#: (every field but the required ones and the staff, read per role below).
OPTIONAL_FIELDS = tuple(
    f.name
    for f in attrs.fields(FoodBusiness)
    if f.name not in ("name", "area_code", "business_type", "staff")
)
STAFF_ROLES = ("head", "director", "officer")
#: StaffMember field -> the suffix of its sheet field (``director_phone``, …).
STAFF_PARTS = {"phone": "phone", "id_number": "id_number", "banned_until": "banned_until"}
_FIELDS = frozenset(OPTIONAL_FIELDS)


@attrs.frozen
class Absent:
    """The business fields (and, per staff role, the person's fields) a sheet has no
    column for."""

    fields: frozenset[str]
    #: role -> its person's absent fields; every field when the role has no column at all.
    staff: dict[str, frozenset[str]]

    @classmethod
    def of(cls, columns: dict[str, str]) -> Absent:
        """From a sheet's columns (sheet field -> header)."""
        fields = frozenset(f for f in OPTIONAL_FIELDS if f not in columns)
        staff: dict[str, frozenset[str]] = {}
        for role in STAFF_ROLES:
            parts = frozenset(
                p for p, suffix in STAFF_PARTS.items() if f"{role}_{suffix}" not in columns
            )
            if f"{role}_name" not in columns:
                staff[role] = parts | {"name"}
            elif parts:
                staff[role] = parts
        return cls(fields, staff)

    def __bool__(self) -> bool:
        return bool(self.fields or self.staff)

    def keep(
        self, stored: FoodBusiness, read: FoodBusiness, blank: frozenset[str] = frozenset()
    ) -> FoodBusiness:
        """``read`` with what the sheet did not say taken from ``stored``: the fields it has
        no column for, and those whose cells the row left ``blank``
        (:attr:`parsing.BusinessRow.blank`); a status date only while the status is the
        same, a person's phone, ID number and ban only while the person is (same name, and
        the same ID number where both give one)."""
        fields = self.fields | (blank & _FIELDS) if blank else self.fields
        kept = {f: getattr(stored, f) for f in fields if f != "status_since"}
        status = kept.get("status", read.status)
        if "status_since" in fields and status is stored.status:
            kept["status_since"] = stored.status_since
        roles = dict(self.staff)
        for role in STAFF_ROLES:
            said = frozenset(p for p, suffix in STAFF_PARTS.items() if f"{role}_{suffix}" in blank)
            if said:
                roles[role] = roles.get(role, frozenset()) | said
        staff = {
            role: _person(getattr(stored.staff, role), getattr(read.staff, role), parts)
            for role, parts in roles.items()
        }
        if staff:
            kept["staff"] = attrs.evolve(read.staff, **staff)
        return attrs.evolve(read, **kept) if kept else read


def _person(
    stored: StaffMember | None, read: StaffMember | None, absent: frozenset[str]
) -> StaffMember | None:
    if "name" in absent:
        return stored
    if read is None or stored is None or not _same_person(stored, read):
        return read
    return attrs.evolve(read, **{part: getattr(stored, part) for part in absent})


def _same_person(stored: StaffMember, read: StaffMember) -> bool:
    """Same name, and the same ID number unless either has none."""
    ids = stored.id_number, read.id_number
    return stored.name == read.name and (None in ids or ids[0] == ids[1])
