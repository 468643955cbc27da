"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): a township cadre
signs in, sees only the township, records a visit and sees the dashboard change.

Screenshots go to test-artifacts/web/ (git-ignored)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import OTHER_TOWNSHIP, PASSWORD, TOWNSHIP

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason=f"{CHROMIUM} is missing and could not be installed (make chromium)",
)


@pytest.fixture(scope="module")
def base_url(web_app: Any) -> Iterator[str]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


def _done(page: Any) -> int:
    return int(page.locator("#tile-task_completion .num").inner_text())


def test_township_cadre_records_a_visit_and_the_dashboard_moves(
    browser: Any, base_url: str, web_db: dict[str, Any]
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{base_url}/dashboard")
    assert "/login" in page.url
    page.fill("#username", "cadre")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.goto(f"{base_url}/dashboard")
    page.screenshot(path=str(ARTIFACTS / "1-dashboard.png"), full_page=True)
    assert "大圩镇" in page.locator("#area-name").inner_text()
    links = page.locator("#children a").evaluate_all("els => els.map(e => e.href)")
    assert links and all(TOWNSHIP in link for link in links)
    assert page.locator("svg.chart").count() > 0
    before = _done(page)

    page.goto(f"{base_url}/dashboard?area={OTHER_TOWNSHIP}")
    assert page.locator("#error").is_visible()  # another township: refused
    page.screenshot(path=str(ARTIFACTS / "2-other-township-refused.png"))

    page.goto(f"{base_url}/cadre")
    open_task = page.locator("#tasks tr.open a").first
    key = open_task.get_attribute("href").rsplit("/", 1)[-1]
    page.select_option("#business_key", key)
    page.click("#record")
    page.wait_for_selector("#done")
    page.screenshot(path=str(ARTIFACTS / "3-visit-recorded.png"), full_page=True)

    page.goto(f"{base_url}/dashboard")
    assert _done(page) == before + 1
    page.screenshot(path=str(ARTIFACTS / "4-dashboard-after.png"), full_page=True)

    page.click("#lang-switch")
    assert "KPI dashboard" in page.title() or "Dashboard" in page.content()
    page.close()
