"""The example notifier: every problem-ledger transition as one log line (``twores.events``).

A real notifier (SMS, WeCom, e-mail) implements the same hook; block this one by name
(``log_events``) when it is not wanted.
"""

from __future__ import annotations

import logging

from twores.core.problems import ProblemEvent
from twores.plugins import hookimpl

LOG = logging.getLogger("twores.events")


@hookimpl
def twores_on_event(event: ProblemEvent, area_path: tuple[str, ...]) -> None:
    deadline = f" 期限 {event.deadline.isoformat()}" if event.deadline else ""
    LOG.info(
        "问题 %s #%d %s → %s（%s，%s）%s",
        event.problem_id,
        event.seq,
        event.action.zh,
        event.status.zh,
        event.actor,
        area_path[-1] if area_path else "",
        deadline,
    )
