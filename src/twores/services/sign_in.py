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

While another writer holds the store (SQLite has one write lock for the whole database,
and ``twores import`` or ``twores schedule`` holds it for minutes), a sign-in cannot store
its attempt. It does not wait for it (nobody could sign in during an import): the backend
says its failures are only readable (``writable`` false, after a short wait: see
``SqlSignInFailures``), and the attempt is counted in this process instead, before its
password is checked, with the stored failures read as they were last committed. So:

- a right password signs in (unless the name or client is throttled, by the stored
  failures and this process's together);
- a wrong one is refused as always and counted in this process; the next sign-in that can
  write stores what was counted so (still within the window), so other processes and
  restarts see it from then on;
- the limits hold per process while the store is busy: with ``N`` processes serving the
  app, at most ``N`` times ``per_user`` guesses for a name (and ``per_client`` per client)
  within a window, where the stored count alone allows ``per_user``; failures counted in a
  process that stops before it can store them are lost;
- a success while the store is busy forgets this process's failures of the name, and
  then clears the stored ones if the store can be written by then (one more try, waiting
  as briefly as the sign-in's own); if it still cannot, they stay (they leave the window,
  or the next success that can write clears them). An attempt another sign-in stored
  while this one's password was being checked (the import ended meanwhile) is among the
  stored ones: cleared likewise, so a right password is not left counted as a failure;
- at most ``PENDING_MAX`` attempts wait in a process: beyond that a sign-in is refused as
  busy (503), its password unchecked (fail closed).

Refusing the wrong password with "busy" instead would not help: any answer but a
signed-in session tells a guesser the guess was wrong, so an attempt that is not counted
somewhere is a free guess. Waiting for the write lock would keep everyone out for as long
as an import runs.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from twores.bootstrap import Twores
from twores.core.errors import InvalidValueError, TworesError
from twores.core.ports import Store, WritesBusyError
from twores.core.security import Scope
from twores.core.users import SignInFailures, User, is_username
from twores.services.users import AuthenticationError, authenticate

__all__ = ["SignInThrottle", "SignInThrottledError", "sign_in", "throttle_key"]

LOG = logging.getLogger("twores.sign_in")
_SYSTEM = Scope.system("sign-in")
_CLIENT_MAX = 64
#: Attempts a process counts at most while the store cannot record them (see above).
PENDING_MAX = 10_000


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


_Attempt = tuple[str, str | None, datetime]  # throttle key, client, when


@attrs.define
class _Pending:
    """Attempts this process counted while the store could not record them."""

    lock: threading.Lock = attrs.field(factory=threading.Lock)
    attempts: list[_Attempt] = attrs.field(factory=list)


_PENDING: weakref.WeakKeyDictionary[Store, _Pending] = weakref.WeakKeyDictionary()
_PENDING_LOCK = threading.Lock()


def _pending(store: Store) -> _Pending:
    with _PENDING_LOCK:
        found = _PENDING.get(store)
        if found is None:
            found = _PENDING[store] = _Pending()
        return found


def _writable(failures: SignInFailures) -> bool:
    """Whether this unit may count attempts (a backend without the notion always may)."""
    return bool(getattr(failures, "writable", True))


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
    password (or unknown name) is counted and raises :class:`AuthenticationError`. While
    another writer holds the store, the attempt is counted in this process (see the
    module's docstring)."""
    throttle = throttle or SignInThrottle()
    name = throttle_key(username)
    client = client[:_CLIENT_MAX] if client else None
    now = throttle.clock()
    since = now - throttle.window
    pending = _pending(store)
    attempt: _Attempt = (name, client, now)
    with store.unit_of_work(_SYSTEM) as uow:
        # One sign-in at a time checks and counts (the repository's lock, and this process's
        # lock while the store is busy): each attempt is counted before its password is
        # checked, so guesses sent at once see each other and a burst gets no more checks
        # than guesses made one by one.
        failures = app.plugins.sign_in_failures(uow)
        stored = _writable(failures)
        with pending.lock:
            pending.attempts = [a for a in pending.attempts if a[2] > since]
            if stored:
                for counted in pending.attempts:  # counted here while the store was busy
                    failures.add(*counted)
                refused = _throttled(failures, (), throttle, name, client, now, username)
                if refused is None:
                    failures.add(name, client, now)  # a failure unless the password is right
                failures.prune(since)  # what no window counts any more
                uow.commit()
                pending.attempts.clear()
            else:
                refused = _throttled(
                    failures, pending.attempts, throttle, name, client, now, username
                )
                if refused is None:
                    _count_here(pending, attempt, username, client)
        if refused is not None:
            raise refused
    try:
        user = authenticate(app, store, username, password)
    except AuthenticationError:
        LOG.warning(
            "登录失败 / sign-in failed: user=%r client=%s%s",
            username[:_CLIENT_MAX],
            client,
            "" if stored else " (counted in this process: another write holds the store)",
        )
        raise
    with pending.lock:  # this attempt and the name's earlier failures counted here
        # Not there any more when a sign-in that could write stored it meanwhile (under
        # this lock, committed before it let go): then it is a stored failure to clear.
        flushed = not stored and not any(a is attempt for a in pending.attempts)
        pending.attempts = [a for a in pending.attempts if a[0] != name]
    # Whether or not the store was busy at the start: once the attempt has left the pending
    # list no sign-in can store it again, so clearing now clears it for good.
    _clear(app, store, name, flushed=flushed)
    return user


def _count_here(pending: _Pending, attempt: _Attempt, username: str, client: str | None) -> None:
    """Count ``attempt`` in this process (``pending.lock`` held); refused as busy, its
    password unchecked, when too many already wait to be stored."""
    if len(pending.attempts) >= PENDING_MAX:
        LOG.warning(
            "登录被拒绝（无法记录尝试）/ sign-in refused (attempts cannot be recorded while "
            "another write holds the store): user=%r client=%s",
            username[:_CLIENT_MAX],
            client,
        )
        raise WritesBusyError()
    pending.attempts.append(attempt)


def _clear(app: Twores, store: Store, name: str, *, flushed: bool = False) -> None:
    """Forget the stored failures of ``name`` (this attempt's too), if the store can now:
    the user is signed in either way. ``flushed``: this successful attempt was stored as a
    failure by another sign-in while its password was checked."""
    try:
        with store.unit_of_work(_SYSTEM) as uow:
            app.plugins.sign_in_failures(uow).clear(name)
            uow.commit()
    except WritesBusyError:
        LOG.log(
            logging.WARNING if flushed else logging.INFO,
            "登录成功，失败记录稍后清除 / signed in; failures kept (another write holds the "
            "store): user=%r%s",
            name,
            " (this sign-in among them)" if flushed else "",
        )


def _throttled(
    failures: SignInFailures,
    pending: Iterable[_Attempt],
    throttle: SignInThrottle,
    name: str,
    client: str | None,
    now: datetime,
    username: str,
) -> SignInThrottledError | None:
    """:class:`SignInThrottledError` when the name or the client has failed too often, by
    the stored failures and ``pending`` (counted in this process) together."""
    since, window = now - throttle.window, throttle.window
    here = [a for a in pending if a[2] > since]
    mine = failures.recent(since=since, limit=throttle.per_user, username=name)
    mine = sorted(mine + [a[2] for a in here if a[0] == name], reverse=True)
    theirs = (
        failures.recent(since=since, limit=throttle.per_client, client=client) if client else []
    )
    if client:
        theirs = sorted(theirs + [a[2] for a in here if a[1] == client], reverse=True)
    wait = max(
        _wait(mine, throttle.per_user, window, now),
        _wait(theirs, throttle.per_client, window, now),
    )
    if wait <= 0:
        return None
    retry_after = max(1, math.ceil(wait))
    LOG.warning(
        "登录被拒绝（失败次数过多）/ sign-in refused (throttled): user=%r client=%s "
        "retry_after=%ds",
        username[:_CLIENT_MAX],
        client,
        retry_after,
    )
    return SignInThrottledError(retry_after)
