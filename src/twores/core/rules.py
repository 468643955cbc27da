"""Dated rules and explained decisions.

A :class:`Rule` is one provision with its source and the period it is in force. Decision
hooks return a :class:`Ruling` (a value and the rule that produced it); the plugin manager
wraps it in a :class:`Decision` that also names the plugin, so every answer can be explained.
"""

from __future__ import annotations

from datetime import date
from typing import Generic, TypeVar

import attrs

T = TypeVar("T")


@attrs.frozen
class Rule:
    """One provision (e.g. ``national.director.order60``) in force on [from, to)."""

    id: str
    title_zh: str
    title_en: str
    source: str = ""
    effective_from: date | None = None
    effective_to: date | None = None

    def in_force(self, on: date) -> bool:
        return (self.effective_from is None or self.effective_from <= on) and (
            self.effective_to is None or on < self.effective_to
        )

    def title(self, lang: str = "zh") -> str:
        return self.title_zh if lang == "zh" else self.title_en


@attrs.frozen
class RuleSet:
    """The rules one plugin contributes, under a name and a version."""

    name: str
    version: str
    title_zh: str
    title_en: str
    rules: tuple[Rule, ...] = ()
    #: Root area code of the region the set applies to; None for national rules.
    region: str | None = None

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


@attrs.frozen
class Ruling(Generic[T]):
    """A decision hook's answer: the value and the rule that gave it."""

    value: T
    rule: Rule
    #: Optional detail, e.g. which row of a table matched.
    detail_zh: str = ""
    detail_en: str = ""


def _value_label(value: object, lang: str) -> str:
    label = getattr(value, "label", None)
    if callable(label):
        return str(label(lang))
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, set | frozenset | tuple | list):
        shown = sorted(_value_label(v, lang) for v in value)
        return ("、" if lang == "zh" else ", ").join(shown) or ("无" if lang == "zh" else "none")
    return str(value)


@attrs.frozen
class Decision(Generic[T]):
    """An answered question: what was decided, by which rule of which plugin."""

    question_zh: str
    question_en: str
    subject: str
    value: T
    rule: Rule
    plugin: str
    on: date | None = None
    detail_zh: str = ""
    detail_en: str = ""
    #: Plugins consulted before the deciding one, which abstained.
    abstained: tuple[str, ...] = ()

    def explain(self, lang: str = "zh") -> str:
        value = _value_label(self.value, lang)
        when = f"（{self.on.isoformat()}）" if self.on and lang == "zh" else ""
        when_en = f" on {self.on.isoformat()}" if self.on and lang != "zh" else ""
        if lang == "zh":
            detail = f"；{self.detail_zh}" if self.detail_zh else ""
            source = f"；依据：{self.rule.source}" if self.rule.source else ""
            passed = f"；未作决定的插件：{'、'.join(self.abstained)}" if self.abstained else ""
            return (
                f"{self.subject}{when}：{self.question_zh} → {value}。"
                f"由插件 {self.plugin} 的规则 {self.rule.id}“{self.rule.title_zh}”决定"
                f"{detail}{source}{passed}"
            )
        detail = f"; {self.detail_en}" if self.detail_en else ""
        source = f"; source: {self.rule.source}" if self.rule.source else ""
        passed = f"; abstained: {', '.join(self.abstained)}" if self.abstained else ""
        return (
            f"{self.subject}{when_en}: {self.question_en} -> {value}. "
            f"Decided by rule {self.rule.id} '{self.rule.title_en}' of plugin {self.plugin}"
            f"{detail}{source}{passed}"
        )
