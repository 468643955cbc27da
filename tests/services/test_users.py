"""Sign-in accounts: who may change which account, what sign-in reveals, and how repeated
failures are throttled."""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Clock

import twores
from twores.divisions import demo_region
from twores.services import users
from twores.services.sign_in import SignInThrottle, SignInThrottledError, sign_in, throttle_key
from twores.services.stores import open_store
from twores.services.users import User, add_user, authenticate

PASSWORD = "correct-horse-9"
SYSTEM = twores.Scope.system("test")


@pytest.fixture
def store(tmp_path: Path) -> twores.Store:
    app = twores.build(load_entrypoints=False)
    store = open_store(app, f"sqlite:///{tmp_path / 'users.db'}")
    with store.unit_of_work(SYSTEM) as uow:
        uow.areas.upsert_many(demo_region())
        uow.commit()
    return store


def test_accounts_are_listed_to_an_office_only_and_never_with_their_hash(
    store: twores.Store,
) -> None:
    app = twores.build(load_entrypoints=False)
    office = User("town", "大圩镇食安办", twores.Role.OFFICE, "450323101")
    add_user(app, store, SYSTEM, office, password=PASSWORD)
    listed = users.list_users(app, store, twores.Scope("town", twores.Role.OFFICE, "450323101"))
    assert [u.username for u in listed] == ["town"] and listed[0].password_hash is None
    for role in (twores.Role.READ_ONLY, twores.Role.CADRE):
        scope = twores.Scope(
            "x", role, "450323101", cadre_id="C1" if role is twores.Role.CADRE else None
        )
        with pytest.raises(twores.ScopeError, match="账号管理"):
            users.list_users(app, store, scope)
    assert authenticate(app, store, "town", PASSWORD).username == "town"  # the hash stays


def test_an_office_cannot_rewrite_an_admin_account_in_its_area(store: twores.Store) -> None:
    app = twores.build(load_entrypoints=False)
    admin = User("county-admin", "县管理员", twores.Role.ADMIN, "450323")
    add_user(app, store, SYSTEM, admin, password=PASSWORD)
    office = twores.Scope("市食安办", twores.Role.OFFICE, "4503")
    demoted = User("county-admin", "县管理员", twores.Role.OFFICE, "450323")
    with pytest.raises(twores.ScopeError):
        add_user(app, store, office, demoted, password="taken-over-1")
    assert authenticate(app, store, "county-admin", PASSWORD).role is twores.Role.ADMIN
    county_office = User("county-office", "县食安办", twores.Role.OFFICE, "450323")
    assert add_user(app, store, office, county_office, password=PASSWORD).inserted == 1


def test_a_cadre_users_area_must_hold_their_cadre(store: twores.Store) -> None:
    app = twores.build(load_entrypoints=False)
    cadre = twores.Cadre(
        id="C1", name="吴伟", tier=twores.Tier.VILLAGE, area_code="450323101202", phone=None
    )
    with store.unit_of_work(SYSTEM) as uow:
        uow.cadres.upsert_many([cadre])
        uow.commit()
    elsewhere = User("c1", "吴伟", twores.Role.CADRE, "450324", cadre_id="C1")  # 全州县
    with pytest.raises(twores.InvalidValueError, match="450323101202"):
        add_user(app, store, SYSTEM, elsewhere, password=PASSWORD)
    own = User("c1", "吴伟", twores.Role.CADRE, "450323101", cadre_id="C1")
    assert add_user(app, store, SYSTEM, own, password=PASSWORD).inserted == 1


def test_an_unknown_name_costs_a_password_check(
    store: twores.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = twores.build(load_entrypoints=False)
    checked: list[str] = []
    real = users.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        checked.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(users, "verify_password", counting)
    with pytest.raises(users.AuthenticationError):
        authenticate(app, store, "nobody", PASSWORD)
    assert checked == [PASSWORD]


@pytest.fixture
def office(store: twores.Store) -> User:
    app = twores.build(load_entrypoints=False)
    user = User("dwz", "大圩镇食安办", twores.Role.OFFICE, "450323101")
    add_user(app, store, SYSTEM, user, password=PASSWORD)
    stored = users.find_user(app, store, "dwz")
    assert stored is not None
    return stored


def _fail(app: twores.Twores, store: twores.Store, throttle: SignInThrottle, **kw: Any) -> None:
    username = kw.pop("username", "dwz")
    with pytest.raises(users.AuthenticationError):
        sign_in(app, store, username, "wrong-guess-1", throttle=throttle, **kw)


def test_a_name_is_locked_after_its_failures_until_the_window_passes(
    store: twores.Store, office: User, clock: Clock
) -> None:
    app = twores.build(load_entrypoints=False)
    throttle = SignInThrottle(per_user=3, window=timedelta(minutes=10), clock=clock)
    for _ in range(3):
        _fail(app, store, throttle, client="10.0.0.1")
        clock.advance(minutes=1)
    # locked: even the right password, from another client, is refused unchecked
    with pytest.raises(SignInThrottledError) as refused:
        sign_in(app, store, "dwz", PASSWORD, client="10.0.0.2", throttle=throttle)
    assert refused.value.retry_after == 7 * 60  # the first failure leaves the window then
    assert refused.value.message("zh") == "登录失败次数过多，请 7 分钟后再试"
    assert refused.value.to_dict()["retry_after"] == 420
    clock.advance(minutes=7)
    assert sign_in(app, store, "dwz", PASSWORD, client="10.0.0.2", throttle=throttle) == office


def test_a_password_is_not_checked_while_locked(
    store: twores.Store, office: User, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = twores.build(load_entrypoints=False)
    throttle = SignInThrottle(per_user=2, clock=clock)
    _fail(app, store, throttle)
    _fail(app, store, throttle)
    checked: list[str] = []

    def counting(password_hash: str | None, password: str) -> bool:
        checked.append(password)
        return True

    monkeypatch.setattr(users, "verify_password", counting)
    with pytest.raises(SignInThrottledError):
        sign_in(app, store, "dwz", PASSWORD, throttle=throttle)
    assert checked == []


def test_a_burst_of_parallel_guesses_gets_no_more_checks_than_the_limit(
    store: twores.Store, office: User, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt is counted before its password is checked, so guesses sent at once
    see each other (a slow check no longer lets the whole burst through)."""
    app = twores.build(load_entrypoints=False)
    throttle = SignInThrottle(per_user=3, clock=clock)
    checked: list[str] = []

    def slow_wrong(password_hash: str | None, password: str) -> bool:
        checked.append(password)
        time.sleep(0.05)
        return False

    monkeypatch.setattr(users, "verify_password", slow_wrong)
    barrier = threading.Barrier(12)

    def guess(n: int) -> str:
        barrier.wait()
        try:
            sign_in(app, store, "dwz", f"guess-{n}", throttle=throttle)
        except SignInThrottledError:
            return "throttled"
        except users.AuthenticationError:
            return "wrong"
        return "in"

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(guess, range(12)))
    assert len(checked) <= 3 and answers.count("wrong") == len(checked)
    assert answers.count("throttled") == 12 - len(checked) and "in" not in answers


def test_the_lockout_decays_one_failure_at_a_time(
    store: twores.Store, office: User, clock: Clock
) -> None:
    app = twores.build(load_entrypoints=False)
    throttle = SignInThrottle(per_user=2, window=timedelta(minutes=15), clock=clock)
    _fail(app, store, throttle)
    clock.advance(minutes=10)
    _fail(app, store, throttle)
    clock.advance(minutes=5)  # the first failure has left the window, the second has not
    _fail(app, store, throttle)
    with pytest.raises(SignInThrottledError) as refused:
        sign_in(app, store, "dwz", PASSWORD, throttle=throttle)
    assert refused.value.retry_after == 10 * 60


def test_a_success_clears_the_names_failures(
    store: twores.Store, office: User, clock: Clock
) -> None:
    app = twores.build(load_entrypoints=False)
    throttle = SignInThrottle(per_user=3, clock=clock)
    _fail(app, store, throttle)
    _fail(app, store, throttle)
    assert sign_in(app, store, "dwz", PASSWORD, throttle=throttle) == office
    _fail(app, store, throttle)
    _fail(app, store, throttle)  # two, not four: still allowed
    assert sign_in(app, store, "dwz", PASSWORD, throttle=throttle) == office


def test_one_client_trying_many_names_is_locked_out(
    store: twores.Store, office: User, clock: Clock
) -> None:
    app = twores.build(load_entrypoints=False)
    throttle = SignInThrottle(per_user=5, per_client=4, clock=clock)
    for name in ("dwz", "admin", "root", "nobody"):
        _fail(app, store, throttle, username=name, client="203.0.113.9")
        clock.advance(seconds=30)
    with pytest.raises(SignInThrottledError) as refused:
        sign_in(app, store, "dwz", PASSWORD, client="203.0.113.9", throttle=throttle)
    assert refused.value.retry_after == 15 * 60 - 2 * 60
    # the name itself is not locked: from elsewhere it signs in
    assert sign_in(app, store, "dwz", PASSWORD, client="198.51.100.7", throttle=throttle) == office


@pytest.mark.parametrize(
    "username",
    ["nobody", "dwz\n", "x" * 500, "李四"],
    ids=["unknown", "trailing-newline", "too-long", "not-a-username"],
)
def test_an_unknown_name_is_throttled_like_a_real_one(
    store: twores.Store, office: User, clock: Clock, username: str
) -> None:
    app = twores.build(load_entrypoints=False)
    throttle = SignInThrottle(per_user=2, clock=clock)
    answers = []
    for name in ("dwz", username):
        _fail(app, store, throttle, username=name)
        _fail(app, store, throttle, username=name)
        with pytest.raises(SignInThrottledError) as refused:
            sign_in(app, store, name, PASSWORD, throttle=throttle)
        answers.append(refused.value.to_dict())
    assert answers[0] == answers[1]
    assert throttle_key(username) != "dwz" and len(throttle_key(username)) <= 64


def test_failures_and_refusals_are_logged(
    store: twores.Store, office: User, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    app = twores.build(load_entrypoints=False)
    throttle = SignInThrottle(per_user=1, clock=clock)
    with caplog.at_level(logging.WARNING, logger="twores.sign_in"):
        _fail(app, store, throttle, client="10.0.0.1")
        with pytest.raises(SignInThrottledError):
            sign_in(app, store, "dwz", PASSWORD, client="10.0.0.1", throttle=throttle)
    failed, refused = (r.getMessage() for r in caplog.records)
    assert "sign-in failed" in failed and "'dwz'" in failed and "10.0.0.1" in failed
    assert "sign-in refused" in refused and "retry_after=900s" in refused


def test_failures_older_than_the_window_are_pruned(
    store: twores.Store, office: User, clock: Clock
) -> None:
    app = twores.build(load_entrypoints=False)
    throttle = SignInThrottle(per_user=5, clock=clock)
    _fail(app, store, throttle, username="nobody")
    clock.advance(minutes=16)
    _fail(app, store, throttle)
    with store.unit_of_work(SYSTEM) as uow:
        failures = app.plugins.sign_in_failures(uow)
        since = clock.now - timedelta(days=1)
        assert failures.recent(since=since, limit=9, username="nobody") == []
        assert failures.recent(since=since, limit=9, username="dwz") == [clock.now]


def test_only_the_system_reads_failed_sign_ins(store: twores.Store) -> None:
    app = twores.build(load_entrypoints=False)
    office = twores.Scope("市食安办", twores.Role.OFFICE, "4503")
    with store.unit_of_work(office) as uow, pytest.raises(twores.ScopeError):
        app.plugins.sign_in_failures(uow)


def test_throttle_limits_must_be_sensible() -> None:
    with pytest.raises(twores.InvalidValueError):
        SignInThrottle(per_user=0)
    with pytest.raises(twores.InvalidValueError):
        SignInThrottle(window=timedelta(0))
