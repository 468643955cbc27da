"""The national baseline rules (全国默认规则), a plugin like any other.

Every decision hook here is ``trylast``, so any regional plugin that answers wins. The
sources are those of docs/sources.md; where no national text was found (the grading table),
the rule says so and provinces are expected to override it.
"""

from __future__ import annotations

from datetime import date

from twores.core.areas import Area, Tier
from twores.core.businesses import BusinessType, CanteenKind, FoodBusiness, Grade, Scale
from twores.core.periods import Frequency, Period, PeriodKind
from twores.core.problems import EscalationPolicy, Severity
from twores.core.quality import QualityRules
from twores.core.rules import Rule, RuleSet, Ruling
from twores.core.supervision import VisitMode
from twores.plugins import hookimpl
from twores.plugins.records import TierLabel

ORDER_60_IN_FORCE = date(2022, 11, 1)
RULES_2025_IN_FORCE = date(2025, 4, 15)

GRADE_RECORDED = Rule(
    "national.grade.recorded",
    "采用台账登记的包保等级",
    "use the assignment grade recorded in the ledger",
    "各地按分布、规模、业态摸底定级",
)
GRADE_TABLE = Rule(
    "national.grade.table",
    "按业态和规模的默认分级表",
    "default grading table by business type and scale",
    "干部分层、主体分级、层级对应（汉台区、马鞍山市方案）；无全国分级标准，本表为可替换的默认值",
)
TIER_FOR_GRADE = Rule(
    "national.tier.default",
    "A级对应市级、B级对应县级、C级对应乡级、D级对应村级",
    "A to city, B to county, C to township, D to village",
    "干部分层、主体分级、层级对应（汉台区、马鞍山市、广西方案）",
)
QUARTERLY = Rule(
    "national.frequency.quarterly",
    "各层级包保干部每季度至少督导一次",
    "cadres of every tier supervise each business at least once a quarter",
    "各地实施方案：每季度至少督导一次（周至、高邮、宜章、临泉、广西）",
)
NO_LOAD_CAP = Rule(
    "national.load.no_cap",
    "不设包保数量上限",
    "no cap on the businesses one cadre holds",
    "未见全国统一上限（内蒙古约 1:5.7，桂林约 1:8.2）",
)
NO_DIRECTOR_RULE = Rule(
    "national.director.none",
    "主体责任规定施行前，无配备总监要求",
    "no director requirement before SAMR Order 60",
    effective_to=ORDER_60_IN_FORCE,
)
DIRECTOR_ORDER_60 = Rule(
    "national.director.order60",
    "《企业落实食品安全主体责任监督管理规定》（总局令第60号）",
    "SAMR Order No. 60 on enterprises' food-safety responsibility",
    "国家市场监督管理总局令第60号，2022-11-01施行",
    effective_from=ORDER_60_IN_FORCE,
    effective_to=RULES_2025_IN_FORCE,
)
DIRECTOR_2025 = Rule(
    "national.director.2025",
    "2025年食品生产经营企业和集中用餐单位落实主体责任监督管理规定",
    "2025 SAMR rules for food businesses and canteens",
    "市场监管总局2025年两部主体责任规定，2025-04-15施行",
    effective_from=RULES_2025_IN_FORCE,
)
WINDOW_PERIOD_END = Rule(
    "national.window.period_end",
    "录入窗口在周期最后一日关闭",
    "the entry window closes on the period's last day",
    "平台按季度开放录入窗口",
)
COUNTING_MODES = Rule(
    "national.visit.modes",
    "现场、视频和集中督导均计入督导任务",
    "on-site, video and grouped visits all count",
    "各地实施方案：现场督导、集中督导、视频督导（张家港、广西）",
)
LETTER_BY_OCT_30 = Rule(
    "national.letter.oct30",
    "每年10月30日前签订当年承诺书，有效期一年",
    "sign this year's letter by 10-30; valid for one year",
    "2023年乡镇实施方案：10月30日前完成承诺书签订并上传（各地可替换）",
)
RECTIFICATION_DAYS = Rule(
    "national.problem.deadline",
    "一般问题15日、较重问题7日、严重问题3日内整改",
    "fix minor problems in 15 days, major in 7, severe in 3",
    "未见全国统一期限；各地按问题性质限期整改（桂林、简阳），本表为可替换的默认值",
)
ONE_REMINDER_THEN_REFER = Rule(
    "national.problem.escalation",
    "逾期未整改发提醒函，宽限7日；仍未整改移交市场监管部门立案，并上提一级督办",
    "overdue: one reminder letter with 7 more days, then referral one level up",
    "桂林：问题台账以提醒函、立案调查推动整改",
)
QUALITY_THRESHOLDS = Rule(
    "national.quality.thresholds",
    "数据质量提示阈值：每名干部每日督导超过8次、窗口关闭前2日集中补录过半（至少5条）、"
    "6字以上相同文字、23时至次日6时录入",
    "quality signals: over 8 visits a cadre-day, over half of at least 5 visits entered in "
    "the window's last 2 days, identical texts of 6+ characters, entries 23:00-06:00",
)
TIER_LABELS = Rule(
    "national.label.tier",
    "按区划名称的称谓（镇、街道、区、社区……），否则按层级称省、市、县、乡、村",
    "what the unit's name says (town, sub-district, district, community…), else the tier's",
)

RULE_SET = RuleSet(
    name="national",
    version="2025.3",
    title_zh="全国默认规则",
    title_en="national baseline",
    rules=(
        GRADE_RECORDED,
        GRADE_TABLE,
        TIER_FOR_GRADE,
        QUARTERLY,
        NO_LOAD_CAP,
        NO_DIRECTOR_RULE,
        DIRECTOR_ORDER_60,
        DIRECTOR_2025,
        WINDOW_PERIOD_END,
        COUNTING_MODES,
        LETTER_BY_OCT_30,
        RECTIFICATION_DAYS,
        ONE_REMINDER_THEN_REFER,
        QUALITY_THRESHOLDS,
        TIER_LABELS,
    ),
)

#: The default grading table: grade by business type and scale.
GRADING_TABLE: dict[BusinessType, dict[Scale, Grade]] = {
    BusinessType.PRODUCTION: {
        Scale.LARGE: Grade.A,
        Scale.MEDIUM: Grade.B,
        Scale.SMALL: Grade.C,
        Scale.MICRO: Grade.D,
    },
    BusinessType.SALES: {
        Scale.LARGE: Grade.A,
        Scale.MEDIUM: Grade.B,
        Scale.SMALL: Grade.C,
        Scale.MICRO: Grade.D,
    },
    BusinessType.CATERING: {
        Scale.LARGE: Grade.A,
        Scale.MEDIUM: Grade.B,
        Scale.SMALL: Grade.C,
        Scale.MICRO: Grade.D,
    },
    BusinessType.CANTEEN: {
        Scale.LARGE: Grade.A,
        Scale.MEDIUM: Grade.B,
        Scale.SMALL: Grade.C,
        Scale.MICRO: Grade.D,
    },
    BusinessType.SPECIAL_FOOD: {
        Scale.LARGE: Grade.A,
        Scale.MEDIUM: Grade.A,
        Scale.SMALL: Grade.B,
        Scale.MICRO: Grade.B,
    },
    BusinessType.WORKSHOP: {
        Scale.LARGE: Grade.C,
        Scale.MEDIUM: Grade.C,
        Scale.SMALL: Grade.C,
        Scale.MICRO: Grade.D,
    },
    BusinessType.VENDOR: {
        Scale.LARGE: Grade.D,
        Scale.MEDIUM: Grade.D,
        Scale.SMALL: Grade.D,
        Scale.MICRO: Grade.D,
    },
}
#: A business of unknown scale is graded as this scale.
UNKNOWN_SCALE = Scale.MICRO
#: Floors applied after the table: the grade is raised to at least this one.
CHAIN_HEADQUARTERS_FLOOR = Grade.B
CANTEEN_1000_DINERS_FLOOR = Grade.B
SCHOOL_CANTEEN_FLOOR = Grade.C


def _higher(first: Grade, second: Grade) -> Grade:
    """The higher grade (A is highest)."""
    return min(first, second, key=lambda g: g.value)


def grade_by_table(business: FoodBusiness) -> tuple[Grade, str, str]:
    """The table grade with the reasons in Chinese and English."""
    scale = business.scale or UNKNOWN_SCALE
    grade = GRADING_TABLE[business.business_type][scale]
    missing_zh, missing_en = ("", "") if business.scale else ("（规模未填）", " (scale missing)")
    why_zh = [f"{business.business_type.zh}·{scale.zh}{missing_zh}→{grade.value}"]
    why_en = [f"{business.business_type.en}, {scale.en}{missing_en} -> {grade.value}"]
    floors: list[tuple[bool, Grade, str, str]] = [
        (business.chain_headquarters, CHAIN_HEADQUARTERS_FLOOR, "连锁总部", "chain headquarters"),
        (
            business.business_type is BusinessType.CANTEEN and (business.diners or 0) >= 1000,
            CANTEEN_1000_DINERS_FLOOR,
            "就餐人数≥1000",
            "1,000+ diners",
        ),
        (
            business.canteen_kind in (CanteenKind.SCHOOL, CanteenKind.KINDERGARTEN),
            SCHOOL_CANTEEN_FLOOR,
            "学校或托幼食堂",
            "school or kindergarten canteen",
        ),
    ]
    for applies, floor, zh, en in floors:
        if applies and _higher(grade, floor) != grade:
            grade = floor
            why_zh.append(f"{zh}至少{floor.value}级")
            why_en.append(f"{en}: at least {floor.value}")
    return grade, "；".join(why_zh), "; ".join(why_en)


@hookimpl
def twores_rule_sets() -> list[RuleSet]:
    return [RULE_SET]


_RECORDED = {grade: Ruling(grade, GRADE_RECORDED) for grade in Grade}


@hookimpl(trylast=True)
def twores_grade_business(business: FoodBusiness) -> Ruling[Grade]:
    if business.grade is not None:
        return _RECORDED[business.grade]
    grade, why_zh, why_en = grade_by_table(business)
    return Ruling(grade, GRADE_TABLE, why_zh, why_en)


#: The national tier for each grade.
TIER_FOR_GRADE_TABLE = {
    Grade.A: Tier.CITY,
    Grade.B: Tier.COUNTY,
    Grade.C: Tier.TOWNSHIP,
    Grade.D: Tier.VILLAGE,
}


@hookimpl(trylast=True)
def twores_tier_for_grade(grade: Grade) -> Ruling[Tier]:
    return Ruling(TIER_FOR_GRADE_TABLE[grade], TIER_FOR_GRADE)


@hookimpl(trylast=True)
def twores_supervision_frequency() -> Ruling[Frequency]:
    return Ruling(Frequency(PeriodKind.QUARTER, 1), QUARTERLY)


@hookimpl(trylast=True)
def twores_load_cap() -> Ruling[int | None]:
    return Ruling(None, NO_LOAD_CAP)


def _director_order_60(business: FoodBusiness) -> tuple[bool, str, str]:
    kind, scale, diners = business.business_type, business.scale, business.diners or 0
    large_or_medium = scale in (Scale.LARGE, Scale.MEDIUM)
    if kind is BusinessType.SPECIAL_FOOD:
        return True, "特殊食品生产企业", "special-food maker"
    if kind is BusinessType.PRODUCTION and large_or_medium:
        return True, "大中型食品生产企业", "large or medium producer"
    if kind in (BusinessType.CATERING, BusinessType.SALES) and large_or_medium:
        return True, f"大中型{kind.zh}企业", f"large or medium {kind.en} business"
    if kind in (BusinessType.CATERING, BusinessType.SALES) and business.chain_headquarters:
        return True, f"{kind.zh}连锁总部", f"{kind.en} chain headquarters"
    if kind is BusinessType.CANTEEN:
        if business.canteen_kind is CanteenKind.KINDERGARTEN and diners >= 300:
            return True, "托幼机构食堂就餐≥300人", "kindergarten canteen, 300+ diners"
        if business.canteen_kind is CanteenKind.SCHOOL and diners >= 500:
            return True, "学校食堂就餐≥500人", "school canteen, 500+ diners"
        if diners > 1000:
            return True, "集中用餐单位就餐>1000人", "canteen, over 1,000 diners"
    if kind is BusinessType.CATERING and diners > 1000:
        return True, "供餐>1000人", "meals for over 1,000"
    return False, "不属于须配备总监的情形", "not a class that must appoint a director"


def _director_2025(business: FoodBusiness) -> tuple[bool, str, str]:
    kind, scale, diners = business.business_type, business.scale, business.diners or 0
    large_or_medium = scale in (Scale.LARGE, Scale.MEDIUM)
    if kind is BusinessType.SPECIAL_FOOD:
        return True, "第六条：特殊食品生产企业", "Art. 6: special-food maker"
    if (
        kind in (BusinessType.PRODUCTION, BusinessType.SALES, BusinessType.CATERING)
        and large_or_medium
    ):
        return True, f"第六条：大中型{kind.zh}企业", f"Art. 6: large or medium {kind.en} business"
    if kind is BusinessType.CATERING and diners > 1000:
        return (
            True,
            "第六条：中央厨房或集体用餐配送>1000人",
            "Art. 6: central kitchen or group meals >1,000",
        )
    if kind in (BusinessType.CATERING, BusinessType.SALES) and business.chain_headquarters:
        return True, f"第六条：{kind.zh}连锁总部", f"Art. 6: {kind.en} chain headquarters"
    if kind is BusinessType.CANTEEN:
        thresholds = {
            CanteenKind.KINDERGARTEN: 300,
            CanteenKind.SCHOOL: 500,
            CanteenKind.ELDERLY_CARE: 300,
        }
        threshold = thresholds.get(business.canteen_kind or CanteenKind.OTHER, 1000)
        if diners >= threshold:
            kind_zh = (business.canteen_kind or CanteenKind.OTHER).zh
            kind_en = (business.canteen_kind or CanteenKind.OTHER).en
            return (
                True,
                f"集中用餐单位规定：{kind_zh}食堂平均每餐≥{threshold}人",
                f"canteen rule: {kind_en} canteen, {threshold}+ diners per meal",
            )
    return False, "不属于须配备总监的情形", "not a class that must appoint a director"


@hookimpl(trylast=True)
def twores_requires_director(business: FoodBusiness, on: date) -> Ruling[bool]:
    if on < ORDER_60_IN_FORCE:
        return Ruling(False, NO_DIRECTOR_RULE)
    rule, decide = (
        (DIRECTOR_ORDER_60, _director_order_60)
        if on < RULES_2025_IN_FORCE
        else (DIRECTOR_2025, _director_2025)
    )
    required, why_zh, why_en = decide(business)
    return Ruling(required, rule, why_zh, why_en)


@hookimpl(trylast=True)
def twores_window_close(period: Period) -> Ruling[date]:
    return Ruling(period.end, WINDOW_PERIOD_END)


_COUNTING = frozenset({VisitMode.ON_SITE, VisitMode.VIDEO, VisitMode.GROUPED})


@hookimpl(trylast=True)
def twores_counting_visit_modes() -> Ruling[frozenset[VisitMode]]:
    return Ruling(_COUNTING, COUNTING_MODES)


@hookimpl(trylast=True)
def twores_letter_renewal(year: int) -> Ruling[date]:
    return Ruling(date(year, 10, 30), LETTER_BY_OCT_30)


_DAYS = {Severity.MINOR: 15, Severity.MAJOR: 7, Severity.SEVERE: 3}


@hookimpl(trylast=True)
def twores_rectification_days(severity: Severity) -> Ruling[int]:
    return Ruling(_DAYS[severity], RECTIFICATION_DAYS)


@hookimpl(trylast=True)
def twores_escalation_policy() -> Ruling[EscalationPolicy]:
    return Ruling(EscalationPolicy(reminders=1, grace_days=7), ONE_REMINDER_THEN_REFER)


@hookimpl(trylast=True)
def twores_quality_rules() -> Ruling[QualityRules]:
    return Ruling(QualityRules(), QUALITY_THRESHOLDS)


_LABELS = {
    Tier.PROVINCE: TierLabel("省", "province"),
    Tier.CITY: TierLabel("市", "city"),
    Tier.COUNTY: TierLabel("县", "county"),
    Tier.TOWNSHIP: TierLabel("乡", "township"),
    Tier.VILLAGE: TierLabel("村", "village"),
}


#: What a unit's own name says it is, per tier (longest suffix first): 镇 is not a 乡.
#: Mongolian names (盟, 旗, 苏木, 嘎查) are the Inner Mongolia plugin's to give.
_BY_SUFFIX: dict[Tier, tuple[tuple[str, TierLabel], ...]] = {
    Tier.CITY: (
        ("自治州", TierLabel("州", "prefecture")),
        ("地区", TierLabel("地区", "prefecture")),
    ),
    Tier.COUNTY: (
        ("区", TierLabel("区", "district")),
        ("市", TierLabel("市", "county-level city")),
    ),
    Tier.TOWNSHIP: (
        ("街道办事处", TierLabel("街道", "sub-district")),
        ("街道", TierLabel("街道", "sub-district")),
        ("镇", TierLabel("镇", "town")),
    ),
    Tier.VILLAGE: (
        ("社区居委会", TierLabel("社区", "community")),
        ("居委会", TierLabel("社区", "community")),
        ("社区", TierLabel("社区", "community")),
    ),
}


@hookimpl(trylast=True)
def twores_area_label(area: Area) -> Ruling[TierLabel]:
    for suffix, label in _BY_SUFFIX.get(area.tier, ()):
        if area.name.endswith(suffix):
            return Ruling(label, TIER_LABELS)
    return Ruling(_LABELS[area.tier], TIER_LABELS)
