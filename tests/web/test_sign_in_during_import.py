"""Signing in while another process writes to the SQLite database (as ``twores import``
does for minutes, holding its write lock): a right password still signs in at once, a
wrong one is still refused and counted, and the throttle still locks a name out; what
was counted meanwhile is stored once the lock is free (rev1 §2)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.conftest import Clock

import twores
from twores.core.ports import Store, WritesBusyError
from twores.services import sign_in as signing
from twores.services.sign_in import SignInThrottle, SignInThrottledError, sign_in
from twores.services.stores import open_store
from twores.services.users import AuthenticationError, User, add_user

PASSWORD = "correct-horse-9"
#: Well under the unit's 5 s wait for a writer, after which the sign-in answered 503.
QUICK = 3.0


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[twores.Twores, Store, Path]]:
    path = tmp_path / "busy.db"
    app = twores.build(load_entrypoints=False)
    store = open_store(app, f"sqlite:///{path}", writes_wait=5)
    system = twores.Scope.system("test setup")
    add_user(app, store, system, User("admin", "管理员", twores.Role.ADMIN), password=PASSWORD)
    add_user(app, store, system, User("clerk", "文员", twores.Role.ADMIN), password=PASSWORD)
    yield app, store, path
    store.close()


class Import:
    """Another connection holding the database's write lock, as an import does."""

    def __init__(self, path: Path) -> None:
        self.connection: sqlite3.Connection | None = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute("UPDATE audit_head SET seq = seq")

    def end(self) -> None:
        if self.connection is not None:
            self.connection.execute("COMMIT")
            self.connection.close()
            self.connection = None


@pytest.fixture
def importing(db: tuple[twores.Twores, Store, Path]) -> Iterator[Import]:
    running = Import(db[2])
    yield running
    running.end()


def stored_failures(path: Path, username: str) -> int:
    with sqlite3.connect(path) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM sign_in_failures WHERE username = ?", (username,)
        ).fetchone()
    return int(count)


def test_a_right_password_signs_in_at_once_while_another_process_writes(
    db: tuple[twores.Twores, Store, Path], importing: Import, clock: Clock
) -> None:
    app, store, _ = db
    throttle = SignInThrottle(per_user=3, clock=clock)
    started = time.monotonic()
    user = sign_in(app, store, "admin", PASSWORD, client="10.0.0.1", throttle=throttle)
    assert user.username == "admin"
    assert time.monotonic() - started < QUICK


def test_wrong_passwords_are_counted_and_lock_the_name_out_while_another_process_writes(
    db: tuple[twores.Twores, Store, Path], importing: Import, clock: Clock
) -> None:
    app, store, path = db
    throttle = SignInThrottle(per_user=3, per_client=50, clock=clock)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            sign_in(app, store, "admin", "wrong-guess-1", client="10.0.0.1", throttle=throttle)
        clock.advance(minutes=1)
    with pytest.raises(SignInThrottledError) as locked:  # the right password, unchecked
        sign_in(app, store, "admin", PASSWORD, client="10.0.0.2", throttle=throttle)
    assert locked.value.retry_after == 12 * 60
    assert stored_failures(path, "admin") == 0  # counted in this process only, so far
    importing.end()
    # the next sign-in that can write stores what was counted (for every process to see)
    assert sign_in(app, store, "clerk", PASSWORD, throttle=throttle).username == "clerk"
    assert stored_failures(path, "admin") == 3
    signing._PENDING.clear()  # another process: the stored failures alone lock it out
    with pytest.raises(SignInThrottledError):
        sign_in(app, store, "admin", PASSWORD, throttle=throttle)
    clock.advance(minutes=12)
    assert sign_in(app, store, "admin", PASSWORD, throttle=throttle).username == "admin"
    assert stored_failures(path, "admin") == 0


def test_stored_failures_count_while_another_process_writes(
    db: tuple[twores.Twores, Store, Path], clock: Clock
) -> None:
    app, store, path = db
    throttle = SignInThrottle(per_user=3, clock=clock)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            sign_in(app, store, "admin", "wrong-guess-1", throttle=throttle)
    assert stored_failures(path, "admin") == 2
    running = Import(path)
    try:
        with pytest.raises(AuthenticationError):  # the third, counted here
            sign_in(app, store, "admin", "wrong-guess-1", throttle=throttle)
        with pytest.raises(SignInThrottledError):
            sign_in(app, store, "admin", PASSWORD, throttle=throttle)
    finally:
        running.end()


def test_too_many_attempts_waiting_to_be_stored_are_refused_unchecked(
    db: tuple[twores.Twores, Store, Path],
    importing: Import,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, store, _ = db
    monkeypatch.setattr(signing, "PENDING_MAX", 2)
    throttle = SignInThrottle(per_user=5, per_client=50, clock=clock)
    for name in ("guest", "root"):
        with pytest.raises(AuthenticationError):
            sign_in(app, store, name, "123456789", throttle=throttle)
    with pytest.raises(WritesBusyError):  # fail closed: its password is not checked
        sign_in(app, store, "admin", PASSWORD, throttle=throttle)


def test_the_throttle_locks_a_name_out_when_nothing_else_writes(
    db: tuple[twores.Twores, Store, Path], clock: Clock
) -> None:
    app, store, path = db
    throttle = SignInThrottle(per_user=3, clock=clock)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            sign_in(app, store, "admin", "wrong-guess-1", throttle=throttle)
    assert stored_failures(path, "admin") == 3
    with pytest.raises(SignInThrottledError):
        sign_in(app, store, "admin", PASSWORD, throttle=throttle)


def test_the_web_signs_in_while_another_process_writes(
    db: tuple[twores.Twores, Store, Path], importing: Import, clock: Clock
) -> None:
    from twores_web import create_app

    app, store, _ = db
    throttle = SignInThrottle(per_user=3, per_client=5, clock=clock)
    web = create_app(app, store, secret="test", freeze_heap=False, sign_in_throttle=throttle)
    with TestClient(web) as client:
        client.get("/login")

        def api_sign_in(password: str) -> Any:
            return client.post(
                "/api/login",
                json={"username": "admin", "password": password},
                headers={"x-csrftoken": client.cookies.get("csrftoken") or ""},
            )

        assert api_sign_in("wrong-guess-1").status_code == 401
        started = time.monotonic()
        signed_in = api_sign_in(PASSWORD)
        assert signed_in.status_code == 201, signed_in.text
        assert time.monotonic() - started < QUICK
        assert client.get("/api/me").json()["username"] == "admin"


def test_a_success_stored_as_a_failure_while_its_password_was_checked_is_cleared(
    db: tuple[twores.Twores, Store, Path], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rev6 §2: admin signs in while an import runs (the attempt counted in this process);
    the import ends while the password is checked, and a sign-in that can write stores
    what was counted, admin's attempt among it. Admin's success leaves no failure stored,
    so more such successes than ``per_user`` never lock admin out."""
    import threading

    app, store, path = db
    throttle = SignInThrottle(per_user=2, per_client=50, clock=clock)
    real = signing.authenticate
    checking, stored = threading.Event(), threading.Event()

    def slow(app: twores.Twores, store: Store, username: str, password: str) -> User:
        if username == "admin":
            checking.set()
            assert stored.wait(30)  # the password hash takes its time
        return real(app, store, username, password)

    def admin_signs_in() -> None:
        signed_in.append(sign_in(app, store, "admin", PASSWORD, throttle=throttle))

    monkeypatch.setattr(signing, "authenticate", slow)
    for _ in range(3):  # more than per_user of them
        signed_in: list[User] = []
        running = Import(path)
        admin = threading.Thread(target=admin_signs_in)
        try:
            admin.start()
            assert checking.wait(30)
            running.end()  # the import ends while admin's password is checked
            with pytest.raises(AuthenticationError):  # can write: stores what was counted
                sign_in(app, store, "clerk", "wrong-guess-1", throttle=throttle)
        finally:
            running.end()
            stored.set()
            admin.join(30)
        assert [u.username for u in signed_in] == ["admin"]
        assert stored_failures(path, "admin") == 0
        assert stored_failures(path, "clerk") == 1
        with sqlite3.connect(path) as connection:
            connection.execute("DELETE FROM sign_in_failures WHERE username = 'clerk'")
        checking.clear()
        stored.clear()
        clock.advance(minutes=1)
