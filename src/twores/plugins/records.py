"""Records that registration and decision hooks return."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_name(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not _NAME_RE.match(value):
        raise ValueError(f"{attribute.name} must be lower_snake_case, got {value!r}")


@attrs.frozen
class BackendSpec:
    """A storage backend: ``open(url)`` returns a store (imports heavy modules lazily)."""

    name: str = attrs.field(validator=_check_name)
    title_zh: str
    title_en: str
    open: Callable[..., Any]
    #: URL schemes this backend opens (``sqlite``, ``postgresql``, ``memory``...).
    schemes: tuple[str, ...] = ()


@attrs.frozen
class TierLabel:
    """What an area's tier is called, e.g. 旗 / banner."""

    zh: str
    en: str

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en
