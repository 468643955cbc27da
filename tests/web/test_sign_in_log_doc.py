"""docs/web.md's "Auditing" examples are the lines the sign-in throttle really logs."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from tests.conftest import Clock

import twores
from twores.divisions import demo_region
from twores.services import users
from twores.services.sign_in import SignInThrottle, SignInThrottledError, sign_in
from twores.services.stores import open_store
from twores.services.users import User, add_user

WEB_MD = Path(__file__).resolve().parents[2] / "docs" / "web.md"
SYSTEM = twores.Scope.system("test")


@pytest.fixture
def store(tmp_path: Path) -> twores.Store:
    app = twores.build(load_entrypoints=False)
    store = open_store(app, f"sqlite:///{tmp_path / 'users.db'}")
    with store.unit_of_work(SYSTEM) as uow:
        uow.areas.upsert_many(demo_region())
        uow.commit()
    user = User("dwz", "大圩镇食安办", twores.Role.OFFICE, "450323101")
    add_user(app, store, SYSTEM, user, password="correct-horse-9")
    return store


def _documented() -> str:
    return " ".join(WEB_MD.read_text(encoding="utf-8").split())  # examples wrap across lines


def test_the_documented_sign_in_log_lines_are_the_logged_ones(
    store: twores.Store, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    app = twores.build(load_entrypoints=False)
    throttle = SignInThrottle(per_user=1, clock=clock)
    with caplog.at_level(logging.WARNING, logger="twores.sign_in"):
        with pytest.raises(users.AuthenticationError):
            sign_in(app, store, "dwz", "wrong-guess-1", client="10.0.0.7", throttle=throttle)
        with pytest.raises(SignInThrottledError):
            sign_in(app, store, "dwz", "wrong-guess-2", client="10.0.0.7", throttle=throttle)
    failed, refused = (r.getMessage() for r in caplog.records)
    doc = _documented()
    assert f"`{failed}`" in doc
    # the documented wait is another number of seconds; the rest is word for word
    refused = re.sub(r"retry_after=\d+s$", "retry_after=540s", refused)
    assert f"`{refused}`" in doc
