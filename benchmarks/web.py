"""The web dashboard under load on 内蒙古-sized data (225,200 businesses, 39,300 cadres).

The store is the schedule benchmark's SQLite file with 2026Q1 scheduled and a share of its
visits recorded. ``twores serve`` runs it in a subprocess (one uvicorn worker); 20 clients
(httpx, asyncio) each sign in and fetch the dashboard page, after a warm-up.

Figures: p50 and p95 (medians of 3 rounds of 300 requests) of the dashboard page
(province-level user, 内蒙古 → 12 cities; city user, 呼和浩特 → counties). Target
(docs/benchmarks.md): p95 ≤ 200 ms under 20 concurrent clients. Baseline: the sign-in page (a
template, no database) under the same load in the same run, so the ratio is the
dashboard's own cost.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx

import twores
from benchmarks.harness import Figure, scaled
from benchmarks.schedule import ON, SCOPE, loaded_store
from twores.core.periods import CHINA_TZ
from twores.services.supervision import VisitInput, record_visits, schedule
from twores.services.users import User, add_user

PERIOD = "2026Q1"
CLIENTS = max(2, scaled(20))
REQUESTS = max(CLIENTS, scaled(300))  # per round and page, after warm-up
ROUNDS = 3  # figures are medians over the rounds
RANKS = ((0, 50), (0, 95), (1, 50), (1, 95))
PASSWORD = "bench-password-15"
USERS = {"bench-province": "15", "bench-city": "1501"}  # 内蒙古, 呼和浩特市
TWORES = Path(sys.executable).with_name("twores")


def _prepare() -> tuple[twores.Twores, str] | None:
    found = loaded_store()
    if found is None:
        return None
    app, store, path = found
    schedule(app, store, SCOPE, PERIOD, on=ON)
    rnd = random.Random(15)
    with store.unit_of_work(SCOPE) as uow:
        held = {a.business_key: a.cadre_id for a in uow.assignments.stream(active_on=ON)}
        tasks = [t for t in uow.tasks.stream() if not t.exempt and t.business_key in held]
    chosen = rnd.sample(tasks, len(tasks) // 8)  # about one task in eight done
    visits = [
        VisitInput(t.business_key, held[t.business_key], ON + timedelta(days=rnd.randrange(60)))
        for t in chosen
    ]
    record_visits(app, store, SCOPE, visits, now=datetime(2026, 3, 20, 10, tzinfo=CHINA_TZ))
    for username, area in USERS.items():
        user = User(username, f"{area} 食安办", twores.Role.OFFICE, area)
        add_user(app, store, SCOPE, user, password=PASSWORD)
    store.close()
    print(f"  {len(visits):,} visits recorded of {len(tasks):,} tasks")
    return app, path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(path: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TWORES_WEB_SECRET": "bench", "TWORES_DISABLE_PLUGIN_AUTOLOAD": "1"}
    server = subprocess.Popen(
        [str(TWORES), "--db", path, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("twores serve did not start")


async def _signed_in(base: str, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=60)
    await client.get("/login")
    token = client.cookies.get("csrftoken", "")
    answer = await client.post(
        "/api/login",
        json={"username": username, "password": PASSWORD},
        headers={"x-csrftoken": token},
    )
    answer.raise_for_status()
    return client


async def _load(
    base: str, username: str, url: str, total: int, clients: int = CLIENTS
) -> list[float]:
    """``total`` GETs of ``url`` spread over ``clients`` concurrent signed-in clients."""
    signed_in = [await _signed_in(base, username) for _ in range(clients)]
    timings: list[float] = []

    async def worker(client: httpx.AsyncClient, count: int) -> None:
        for _ in range(count):
            start = time.perf_counter()
            answer = await client.get(url)
            timings.append(time.perf_counter() - start)
            answer.raise_for_status()

    share = total // clients
    await asyncio.gather(*(worker(c, share) for c in signed_in))
    for client in signed_in:
        await client.aclose()
    return timings


def _p(timings: list[float], q: int) -> float:
    return statistics.quantiles(timings, n=100)[q - 1]


def run() -> list[Figure]:
    prepared = _prepare()
    if prepared is None:
        return []
    _, path = prepared
    try:
        return _measure(path)
    finally:
        shutil.rmtree(Path(path).parent, ignore_errors=True)


def _measure(path: str) -> list[Figure]:
    port = _free_port()
    server = _serve(path, port)
    base = f"http://127.0.0.1:{port}"
    figures: list[Figure] = []
    try:
        for username, area in USERS.items():
            page = f"/dashboard?period={PERIOD}"
            asyncio.run(_load(base, username, page, CLIENTS, clients=1))  # fills the summary
            asyncio.run(_load(base, username, page, CLIENTS * 2))  # warm-up
            rounds = [  # (sign-in page, dashboard) timings, alternating, several rounds
                (
                    asyncio.run(_load(base, username, "/login", REQUESTS)),
                    asyncio.run(_load(base, username, page, REQUESTS)),
                )
                for _ in range(ROUNDS)
            ]
            base_p50, base_p95, p50, p95 = (
                statistics.median(_p(r[i], q) for r in rounds) for i, q in RANKS
            )
            label = f"web dashboard {area} ({CLIENTS} clients)"
            figures += [
                Figure(f"{label} p50", p50, "sign-in page p50", base_p50, "-", True),
                Figure(f"{label} p95", p95, "sign-in page p95", base_p95, "<= 200 ms", p95 <= 0.2),
            ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    return figures
