"""Businesses named by credit code (统一社会信用代码) in a ledger: a business is keyed by
its licence number when it has one, so a row that gives only the code must find the
licensed business stored under it, never file the same business a second time."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from twores.core.businesses import FoodBusiness, canonical_uscc
from twores.core.errors import InvalidValueError
from twores.core.ports import UnitOfWork
from twores.services.sheets.parsing import AssignmentRow, BusinessRow, ParseResult, RowError

#: Licence numbers named in an error before "…".
_NAMED = 5


class AmbiguousBusinessError(InvalidValueError):
    """A credit code that several licensed businesses are stored with names none of them."""

    code = "ambiguous_business"

    def __init__(self, field: str, code: str, keys: list[str]) -> None:
        named = "、".join(keys[:_NAMED]) + ("…" if len(keys) > _NAMED else "")
        super().__init__(
            field,
            code,
            f"该统一社会信用代码有 {len(keys)} 个主体（{named}），请填写许可证编号",
            f"{len(keys)} businesses share this credit code ({named}): give the licence number",
        )


def _at_row(
    row: BusinessRow | AssignmentRow, column: str, value: str, error: InvalidValueError
) -> RowError:
    """``error`` reported at ``row``, in ``column``, of ``value``."""
    return RowError(
        row.row, row.serial, column, value, error.reason_zh, error.reason_en, error.code
    )


def licensed_keys(
    uow: UnitOfWork, keys: Iterable[str]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Of ``keys``, those that are the credit code of no business keyed by it: the key of
    the one licensed business in scope stored with each code, and the keys of those that
    several such businesses share."""
    codes = {key: code for key in keys if len(code := canonical_uscc(key)) == 18}
    if not codes:
        return {}, {}
    keyed = uow.businesses.get_many({*codes, *codes.values()})
    asked = {key: code for key, code in codes.items() if key not in keyed and code not in keyed}
    stored = uow.businesses.keys_by_uscc(set(asked.values())) if asked else {}
    found = {k: stored[c][0] for k, c in asked.items() if len(stored.get(c, ())) == 1}
    shared = {k: stored[c] for k, c in asked.items() if len(stored.get(c, ())) > 1}
    return found, shared


def by_credit_code(
    uow: UnitOfWork, row: AssignmentRow, columns: dict[str, str]
) -> tuple[FoodBusiness | None, RowError | None]:
    """An assignment sheet's business named by its credit code where the business is keyed
    by its licence; a code several licensed businesses share is a row error."""
    code = canonical_uscc(row.business_key)
    if len(code) != 18:
        return None, None
    keys = uow.businesses.keys_by_uscc([code]).get(code, [])
    if len(keys) > 1:
        column = columns.get("business_key", "许可证编号")
        error = AmbiguousBusinessError(column, row.business_key, keys)
        return None, _at_row(row, column, row.business_key, error)
    return (uow.businesses.get(keys[0]) if keys else None), None


def file_by_credit_code(
    uow: UnitOfWork,
    chunk: ParseResult[BusinessRow],
    errors: list[RowError],
    *,
    in_scope: bool,
    seen: dict[str, int] | None = None,
) -> ParseResult[BusinessRow]:
    """The chunk with each row that gives only a credit code filed under the one licensed
    business stored with that code (its licence kept). A row of a licensed business whose
    code is stored as a business without a licence is an error: it would file the same
    business twice (a licence found later re-keys nothing here); so is a row giving only a
    code that a business outside the caller's jurisdiction is stored with. ``in_scope``:
    whether any business was stored in the caller's scope before this file.

    ``seen``: the key each earlier row of the file was filed under, by key (its row
    number), kept up to date: a row filed under a key an earlier row has (one giving only
    the credit code of a business another row names by its licence) is an error naming
    both rows, never a second write of the same business."""
    filed = _filed(uow, chunk, errors, in_scope=in_scope)
    if seen is None:
        return filed
    licensed = {r.row for r in chunk.rows if r.business.licence_no}  # as the sheet gives it
    return attrs.evolve(filed, rows=_once(filed, licensed, seen, errors))


def _once(
    chunk: ParseResult[BusinessRow],
    licensed: set[int],
    seen: dict[str, int],
    errors: list[RowError],
) -> list[BusinessRow]:
    """The chunk's rows whose business no earlier row of the file is (``seen``, updated);
    ``licensed``: the rows that give a licence number."""
    kept: list[BusinessRow] = []
    for row in chunk.rows:
        business = row.business
        first = seen.setdefault(business.key, row.row)
        if first == row.row:
            kept.append(row)
            continue
        if row.row in licensed:
            column = chunk.columns.get("licence_no", "许可证编号")
            value = business.licence_no or ""
        else:
            column = chunk.columns.get("uscc", "统一社会信用代码")
            value = business.uscc or ""
        errors.append(
            RowError(
                row.row,
                row.serial,
                column,
                value,
                f"与第{first}行重复：两行都是主体 {business.key}（只填统一社会信用代码的一行，"
                "按代码即已登记的该许可证主体；同一主体只列一行）",
                f"duplicates row {first}: both rows are business {business.key} (the row "
                "giving only a credit code names the licensed business stored with it; list "
                "a business once)",
                "duplicate_key",
            )
        )
    return kept


def _filed(
    uow: UnitOfWork, chunk: ParseResult[BusinessRow], errors: list[RowError], *, in_scope: bool
) -> ParseResult[BusinessRow]:
    rows = chunk.rows
    licensed_codes = {b.uscc for r in rows if (b := r.business).uscc and b.licence_no}
    unlicensed = {b.uscc for r in rows if (b := r.business).uscc and not b.licence_no}
    # A licensed row asks only whether its code is itself a stored key (rare, so little
    # comes back); a row giving only a code, where its code is stored (the few such rows).
    filed_unlicensed = (
        {k for k, b in uow.businesses.get_many(licensed_codes).items() if b.in_scope}
        if licensed_codes and in_scope
        else set()
    )
    stored = uow.businesses.keys_by_uscc(unlicensed) if unlicensed and in_scope else {}
    outside = uow.businesses.uscc_filed_outside(unlicensed - set(stored)) if unlicensed else set()
    if not filed_unlicensed and not stored and not outside:
        return chunk
    column = chunk.columns.get("uscc", "统一社会信用代码")
    kept: list[BusinessRow] = []
    for row in rows:
        business = row.business
        code = business.uscc
        keys = stored.get(code or "", [])
        if code is None:
            kept.append(row)
        elif business.licence_no is not None:  # filed twice, or a company's new outlet
            if code in filed_unlicensed:
                errors.append(_refused(row, column, code, "licensed_later"))
            else:
                kept.append(row)
        elif code in outside:
            errors.append(_refused(row, column, code, "out_of_scope"))
        elif not keys or business.key in keys:
            kept.append(row)
        elif len(keys) > 1:
            errors.append(_at_row(row, column, code, AmbiguousBusinessError(column, code, keys)))
        else:
            try:
                licensed = attrs.evolve(business, licence_no=keys[0])
            except InvalidValueError as error:
                errors.append(_at_row(row, column, code, error))
            else:
                kept.append(attrs.evolve(row, business=licensed))
    return attrs.evolve(chunk, rows=kept)


#: Why a row naming a business by credit code is refused: (zh, en) by error code.
_REFUSALS = {
    "licensed_later": (
        "该统一社会信用代码已登记为无许可证编号的主体：再以许可证编号导入会重复登记同一主体"
        "（请先将原主体登记注销，或本行不填许可证编号）",
        "this credit code is filed as a business without a licence number: importing it "
        "under its licence would file the same business twice (close the stored one first, "
        "or leave this row's licence number blank)",
    ),
    "out_of_scope": (
        "该统一社会信用代码的主体已登记在辖区外，不能由本辖区导入（请核对编号，或由其所在辖区处理）",
        "a business with this credit code is filed outside your jurisdiction: it cannot be "
        "imported by you (check the code, or ask its own office)",
    ),
}


def _refused(row: BusinessRow, column: str, code: str, why: str) -> RowError:
    return RowError(row.row, row.serial, column, code, *_REFUSALS[why], why)
