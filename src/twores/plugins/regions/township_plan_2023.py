"""The 2023 township plan (XX乡全面落实两个责任机制年工作方案): its entry windows.

A documented regional example, not installed as an entry point: register it where a
locality works to this plan (``app.plugins.register(township_plan_2023)``).

* Quarterly entry closes on the quarter's last day (Q1 on 03-31, Q2 06-30, Q3 09-30),
  except Q4, whose uploads close on 11-30, before the calendar quarter ends.
* Commitment letters are signed by 10-30 (the national default already says so).
"""

from __future__ import annotations

from datetime import date

from twores.core.periods import Period, PeriodKind
from twores.core.rules import Rule, RuleSet, Ruling
from twores.plugins import hookimpl

Q4_BY_NOV_30 = Rule(
    "township_plan_2023.window.q4_nov30",
    "第四季度督导记录11月30日前上传",
    "Q4 supervision uploads close on 11-30",
    "2023年乡镇两个责任机制年工作方案：11月30日前完成第四季度上传",
    effective_from=date(2023, 1, 1),
)
QUARTER_END = Rule(
    "township_plan_2023.window.quarter_end",
    "第一至三季度督导记录于季度末关闭录入（一季度3月31日）",
    "Q1-Q3 entry closes on the quarter's last day (Q1 on 03-31)",
    "2023年乡镇两个责任机制年工作方案：3月31日系统关闭一季度录入",
    effective_from=date(2023, 1, 1),
)

RULE_SET = RuleSet(
    name="township_plan_2023",
    version="2023.1",
    title_zh="2023年乡镇工作方案（示例）",
    title_en="2023 township plan (example)",
    rules=(Q4_BY_NOV_30, QUARTER_END),
)


@hookimpl
def twores_rule_sets() -> list[RuleSet]:
    return [RULE_SET]


@hookimpl
def twores_window_close(period: Period) -> Ruling[date] | None:
    if period.kind is not PeriodKind.QUARTER or not QUARTER_END.in_force(period.start):
        return None
    if period.start.month == 10:
        return Ruling(date(period.start.year, 11, 30), Q4_BY_NOV_30)
    return Ruling(period.end, QUARTER_END)
