"""Inner Mongolia (内蒙古自治区, code 15): a reference regional rule plugin.

* Tier names follow the area: 盟 (league), 旗 (banner), 苏木 (sumu) and 嘎查 (gacha) where
  the area is one; other areas keep 市/县/乡/村 from the national rules.
* County-tier cadres (旗县级) supervise each business once every half-year instead of
  every quarter. This is the worked example of docs/plugins/writing.md; docs/sources.md notes
  that no source confirms it, so a deployment should check it against its own documents.

Outside province 15 every hook returns None, so the plugin is safe to install anywhere.
"""

from __future__ import annotations

from datetime import date

from twores.core.areas import Area, Tier
from twores.core.periods import Frequency, PeriodKind
from twores.core.rules import Rule, RuleSet, Ruling
from twores.plugins import hookimpl, reads_area_down_to
from twores.plugins.records import TierLabel

REGION = "15"

LABELS = Rule(
    "inner_mongolia.label.mongolian",
    "盟、旗、苏木、嘎查按蒙古语称谓",
    "leagues, banners, sumus and gachas keep their Mongolian names",
    "市场监管总局：内蒙古自治区盟、旗、苏木、嘎查四级包保（2023-01-12）",
)
COUNTY_HALF_YEARLY = Rule(
    "inner_mongolia.frequency.county_half_year",
    "旗县级包保干部每半年至少督导一次",
    "banner and county cadres supervise each business at least once a half-year",
    "参考示例：未见公开文件，部署前请按本地文件核对",
    effective_from=date(2023, 1, 1),
)

RULE_SET = RuleSet(
    name="inner_mongolia",
    version="2023.1",
    title_zh="内蒙古自治区规则",
    title_en="Inner Mongolia rules",
    rules=(LABELS, COUNTY_HALF_YEARLY),
    region=REGION,
)

_MONGOLIAN: dict[Tier, tuple[str, TierLabel]] = {
    Tier.CITY: ("盟", TierLabel("盟", "league")),
    Tier.COUNTY: ("旗", TierLabel("旗", "banner")),
    Tier.TOWNSHIP: ("苏木", TierLabel("苏木", "sumu")),
    Tier.VILLAGE: ("嘎查", TierLabel("嘎查", "gacha")),
}


def in_region(area_path: tuple[str, ...]) -> bool:
    return REGION in area_path


@hookimpl
def twores_rule_sets() -> list[RuleSet]:
    return [RULE_SET]


@hookimpl
def twores_area_label(area: Area, area_path: tuple[str, ...]) -> Ruling[TierLabel] | None:
    if not in_region(area_path) or area.tier not in _MONGOLIAN:
        return None
    marker, label = _MONGOLIAN[area.tier]
    is_one = marker in area.name if area.tier is Tier.VILLAGE else area.name.endswith(marker)
    return Ruling(label, LABELS) if is_one else None


@hookimpl
@reads_area_down_to(Tier.PROVINCE)
def twores_supervision_frequency(
    tier: Tier, on: date, area_path: tuple[str, ...]
) -> Ruling[Frequency] | None:
    if in_region(area_path) and tier is Tier.COUNTY and COUNTY_HALF_YEARLY.in_force(on):
        return Ruling(Frequency(PeriodKind.HALF_YEAR, 1), COUNTY_HALF_YEARLY)
    return None
