"""Sign-in with throttling: a username or a client that keeps failing is refused a while.

After ``per_user`` failed sign-ins for one username within ``window`` (default 5 in 15
minutes), or ``per_client`` from one client address (default 20: one client trying many
names), further attempts are refused without checking the password until enough of those
failures have left the window. Unknown usernames are counted exactly like known ones, so
neither the answer nor its timing tells anyone which names exist. A successful sign-in
clears its username's failures.

Failures are stored through the store (``sign_in_failures``), so every process serving the
app counts the same ones. Each failure and each refusal is logged on ``twores.sign_in``;
they stay out of the hash-chained audit log, which records changes to the data (see
docs/web.md).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from twores.bootstrap import Twores
from twores.core.errors import InvalidValueError, TworesError
from twores.core.ports import Store
from twores.core.security import Scope
from twores.core.users import SignInFailures, User, is_username
from twores.services.users import AuthenticationError, authenticate

__all__ = ["SignInThrottle", "SignInThrottledError", "sign_in", "throttle_key"]

LOG = logging.getLogger("twores.sign_in")
_SYSTEM = Scope.system("sign-in")
_CLIENT_MAX = 64


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _at_least_one(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise InvalidValueError(attribute.name, value, "至少为 1", "must be at least 1")


def _positive(instance: Any, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidValueError(attribute.name, value, "须大于 0", "must be longer than 0")


@attrs.frozen
class SignInThrottle:
    """How many failures within ``window`` lock a username or a client out; ``clock`` gives
    the current time (timezone-aware)."""

    per_user: int = attrs.field(default=5, validator=_at_least_one)
    per_client: int = attrs.field(default=20, validator=_at_least_one)
    window: timedelta = attrs.field(default=timedelta(minutes=15), validator=_positive)
    clock: Callable[[], datetime] = attrs.field(default=_utc_now, eq=False, repr=False)


class SignInThrottledError(TworesError):
    """Too many failed sign-ins for this username or from this client (one message for
    both, whether the name exists or not); ``retry_after`` is in seconds."""

    code = "sign_in_throttled"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"登录失败次数过多，请 {minutes} 分钟后再试",
            f"too many failed sign-ins: try again in {minutes} min",
        )

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["retry_after"] = self.retry_after
        return data


def throttle_key(username: str) -> str:
    """The name failures are counted under: a possible username as it is, anything else by
    its hash (bounded in length, and never a real user's name)."""
    if is_username(username):
        return username
    digest = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()
    return "#" + digest[:63]


def _wait(failures: list[datetime], limit: int, window: timedelta, now: datetime) -> float:
    """Seconds until fewer than ``limit`` of ``failures`` (newest first) lie in the window."""
    if len(failures) < limit:
        return 0.0
    return (failures[limit - 1] + window - now).total_seconds()


def sign_in(
    app: Twores,
    store: Store,
    username: str,
    password: str,
    *,
    client: str | None = None,
    throttle: SignInThrottle | None = None,
) -> User:
    """The user whose password this is. While the username or ``client`` (its address) is
    throttled, :class:`SignInThrottledError` without checking the password; a wrong
    password (or unknown name) is counted and raises :class:`AuthenticationError`."""
    throttle = throttle or SignInThrottle()
    name = throttle_key(username)
    client = client[:_CLIENT_MAX] if client else None
    now = throttle.clock()
    since = now - throttle.window
    with store.unit_of_work(_SYSTEM) as uow:
        # One sign-in at a time checks and counts (the repository's lock): each attempt is
        # counted before its password is checked, so guesses sent at once see each other
        # and a burst gets no more checks than guesses made one by one.
        failures = app.plugins.sign_in_failures(uow)
        _refuse_if_throttled(failures, throttle, name, client, now, username)
        failures.add(name, client, now)  # a failure unless the password is right
        failures.prune(since)  # what no window counts any more
        uow.commit()
    try:
        user = authenticate(app, store, username, password)
    except AuthenticationError:
        LOG.warning(
            "登录失败 / sign-in failed: user=%r client=%s",
            username[:_CLIENT_MAX],
            client,
        )
        raise
    with store.unit_of_work(_SYSTEM) as uow:
        app.plugins.sign_in_failures(uow).clear(name)  # this attempt and earlier failures
        uow.commit()
    return user


def _refuse_if_throttled(
    failures: SignInFailures,
    throttle: SignInThrottle,
    name: str,
    client: str | None,
    now: datetime,
    username: str,
) -> None:
    """:class:`SignInThrottledError` when the name or the client has failed too often."""
    since, window = now - throttle.window, throttle.window
    mine = failures.recent(since=since, limit=throttle.per_user, username=name)
    theirs = (
        failures.recent(since=since, limit=throttle.per_client, client=client) if client else []
    )
    wait = max(
        _wait(mine, throttle.per_user, window, now),
        _wait(theirs, throttle.per_client, window, now),
    )
    if wait <= 0:
        return
    retry_after = max(1, math.ceil(wait))
    LOG.warning(
        "登录被拒绝（失败次数过多）/ sign-in refused (throttled): user=%r client=%s "
        "retry_after=%ds",
        username[:_CLIENT_MAX],
        client,
        retry_after,
    )
    raise SignInThrottledError(retry_after)
