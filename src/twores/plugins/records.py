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


class InvalidRecordError(ValueError):
    """A record made with a value twores cannot use; the plugin manager reports it as a
    :class:`~twores.core.errors.PluginError` naming the plugin whose hook made it."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} | {message_en}")
        self.message_zh, self.message_en = message_zh, message_en


def is_label(value: object) -> bool:
    """Whether ``value`` can name a tier: text, not blank."""
    return isinstance(value, str) and bool(value.strip())


def _check_label(instance: Any, attribute: attrs.Attribute[str], value: object) -> None:
    if not is_label(value):
        raise InvalidRecordError(
            f"TierLabel 的 {attribute.name} 应为非空文字，实为 {value!r}",
            f"TierLabel.{attribute.name} must be non-empty text, got {value!r}",
        )


@attrs.frozen
class TierLabel:
    """What an area's tier is called, e.g. 旗 / banner: both non-empty text (checked)."""

    zh: str = attrs.field(validator=_check_label)
    en: str = attrs.field(validator=_check_label)

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en
