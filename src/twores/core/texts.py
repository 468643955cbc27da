"""Free text a record keeps: no control characters, at most as long as its column."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import attrs

from twores.core.errors import InvalidValueError
from twores.core.labels import clean_text

#: Word's soft line break (Shift+Enter) arrives as a vertical tab when pasted.
_SOFT_BREAK = "\x0b"

#: Characters that show as nothing (zero-width space, non-joiner and joiner, direction
#: marks and embeddings, word joiner and invisible operators, BOM, soft hyphen): pasted
#: from web pages and chat apps, they make a code fail its check and a name differ from its
#: clean spelling. NFKC keeps them, so they are dropped before it.
INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
#: Han characters (the CJK blocks person names are written in).
HAN_CHARACTERS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_SPACE_IN_NAME = re.compile(f"(?<=[{HAN_CHARACTERS}])\\s+(?=[{HAN_CHARACTERS}])")


def without_invisible(value: str) -> str:
    """``value`` without the characters that show as nothing (:data:`INVISIBLE`)."""
    if value.isascii() or not INVISIBLE.search(value):
        return value
    return INVISIBLE.sub("", value)


def compact_name(name: str) -> str:
    """A Chinese person's name without the spaces offices pad it with to align a column
    (周　敏, 周 敏 -> 周敏); a space between Latin letters (a transliterated name) stays."""
    return _SPACE_IN_NAME.sub("", name) if " " in name else name


def clean_person_name(value: object) -> object:
    """A person's name (cadre, or a business's head, director, officer) as the importer
    reads it: invisible characters dropped, NFKC, trimmed, inner whitespace collapsed
    (:func:`clean_text`), spaces between Han characters dropped (:func:`compact_name`).
    The converter of ``StaffMember.name`` and ``Cadre.name``, so a name stored through
    the API re-imports unchanged; anything but text is left to the validator."""
    if not isinstance(value, str):
        return value
    return compact_name(clean_text(without_invisible(value)))


def checked_text(value: str, field: str) -> str:
    """``value`` with Word's soft line breaks as newlines; any other control character but
    tab and newline (a backspace, U+001F…) is refused: a report cannot hold it."""
    value = value.replace(_SOFT_BREAK, "\n")
    bad = sorted({c for c in value if c not in "\t\n\r" and unicodedata.category(c) == "Cc"})
    if bad:
        shown = "".join(f"\\x{ord(c):02x}" if c in bad else c for c in value)
        codes = "、".join(f"U+{ord(c):04X}" for c in bad)
        raise InvalidValueError(
            field,
            shown,
            f"含控制字符 {codes}，无法写入通报和表格，请删除后重新录入",
            f"holds control character {codes.replace('、', ', ')}, which reports cannot "
            "hold: delete it and enter the text again",
        )
    return value


#: Control characters (Unicode category Cc) other than tab, newline and carriage return:
#: PostgreSQL cannot store NUL, and reports cannot hold any of them.
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def checked_limit(value: str, field: str, limit: int) -> str:
    """``value`` if it holds no control character (NUL…, see :func:`checked_text`) and at
    most ``limit`` characters (the store's column is that wide), else an error naming
    ``field``, the value and the limit."""
    if CONTROL_CHARACTER.search(value):
        checked_text(value, field)  # raises, showing the characters
    if len(value) > limit:
        raise InvalidValueError(
            field,
            value,
            f"不能超过 {limit} 个字符（现有 {len(value)} 个）",
            f"must be at most {limit} characters long (it has {len(value)})",
        )
    return value


def text_of_at_most(limit: int, *, optional: bool = False, blank: bool = True) -> Any:
    """An attrs validator: text of at most ``limit`` characters without control characters
    (:func:`checked_limit`); None too when ``optional``; white space alone only when
    ``blank``."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str):
            raise InvalidValueError(attribute.name, value, "应为文本", "must be text")
        if not blank and not value.strip():
            raise InvalidValueError(attribute.name, value, "应为非空文本", "must be non-blank text")
        checked_limit(value, attribute.name, limit)

    return check
