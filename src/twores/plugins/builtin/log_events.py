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
    # as every operational line: "中文 / English: the facts", each label in both languages
    about = ", ".join(filter(None, (event.actor, area_path[-1] if area_path else "")))
    if event.deadline:
        about += f"; 期限 / deadline {event.deadline.isoformat()}"
    LOG.info(
        "问题流转 / problem step: %s #%d %s / %s → %s / %s (%s)",
        event.problem_id,
        event.seq,
        event.action.zh,
        event.action.en,
        event.status.zh,
        event.status.en,
        about,
    )
