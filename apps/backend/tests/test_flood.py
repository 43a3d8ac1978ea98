"""Login floods against one worker (`python -m todo_api serve`, WEB_CONCURRENCY=1).

The worker's resident memory is sampled every few milliseconds while 400 wrong-password
logins arrive at once; the figures are printed (run pytest with -s to see them).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import httpx
import psutil
import pytest

from conftest import DatabaseFactory, Server, settings_from, sign_up, unique_email
from todo_api.migrations import upgrade_to_head

FLOOD = 400
PEAK_RSS_LIMIT_MB = 400
LEGIT_LOGIN_SECONDS = 2.0
FRONTEND_SECRET = "frontend-to-backend-" + "k" * 32
ATTACKER = "203.0.113.66"
PERSON = "198.51.100.7"
# The person logs in once this many flood requests were answered.
FLOOD_UNDER_WAY = 20


class RssSampler:
    """Samples a process's resident set size in a thread; `peak_mb` is the largest seen."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak: int = self.process.memory_info().rss
        self.before: int = self.peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss: int = self.process.memory_info().rss
            self.peak = max(self.peak, rss)
            time.sleep(0.002)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20

    @property
    def before_mb(self) -> float:
        return self.before / 2**20


@dataclass
class FloodResult:
    statuses: Counter[int] = field(default_factory=Counter)
    retry_after_missing: int = 0
    legit_status: int | None = None
    legit_seconds: float | None = None
    seconds: float = 0.0
    # Flood responses that came back after the person's login was answered: the flood was
    # still going on while it was served.
    answered_later: int = 0


def _as(address: str) -> dict[str, str]:
    """Headers the frontend adds: the person's address and the shared secret."""
    return {"X-Client-Address": address, "X-Client-Address-Secret": FRONTEND_SECRET}


FloodOutcome = tuple[dict[int, int], int, float, list[float]]


async def _send_all(
    base_url: str, bodies: list[dict[str, str]], addresses: list[str], answered: Synchronized[int]
) -> FloodOutcome:
    statuses: Counter[int] = Counter()
    missing = 0
    answered_at: list[float] = []
    limits = httpx.Limits(max_connections=len(bodies) + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:

        async def attempt(body: dict[str, str], address: str) -> None:
            nonlocal missing
            response = await http.post("/auth/login", json=body, headers=_as(address))
            answered_at.append(time.monotonic())  # one clock for all processes of the machine
            with answered.get_lock():
                answered.value += 1
            statuses[response.status_code] += 1
            if response.status_code in (429, 503) and "retry-after" not in response.headers:
                missing += 1

        began = time.monotonic()
        await asyncio.gather(
            *(attempt(body, address) for body, address in zip(bodies, addresses, strict=True))
        )
    return dict(statuses), missing, time.monotonic() - began, answered_at


def _flood_process(
    base_url: str,
    bodies: list[dict[str, str]],
    addresses: list[str],
    answered: Synchronized[int],
    results: Queue[FloodOutcome],
) -> None:
    results.put(asyncio.run(_send_all(base_url, bodies, addresses, answered)))


def _flood(
    base_url: str,
    bodies: list[dict[str, str]],
    addresses: list[str],
    legit: tuple[dict[str, str], str] | None,
) -> FloodResult:
    """The flood comes from a process of its own, as it would from another machine, so the
    person's login (from this process) is not slowed down by the flood's own client."""
    context = multiprocessing.get_context("spawn")
    answered: Synchronized[int] = context.Value("i", 0)
    results: Queue[FloodOutcome] = context.Queue()
    flood = context.Process(
        target=_flood_process, args=(base_url, bodies, addresses, answered, results)
    )
    flood.start()
    result = FloodResult()
    legit_done = float("inf")
    try:
        if legit is not None:
            body, address = legit
            deadline = time.monotonic() + 60
            while answered.value < FLOOD_UNDER_WAY and time.monotonic() < deadline:
                time.sleep(0.002)  # until the worker is busy answering the flood
            with httpx.Client(base_url=base_url, timeout=30) as http:
                began = time.monotonic()
                response = http.post("/auth/login", json=body, headers=_as(address))
                legit_done = time.monotonic()
                result.legit_seconds = legit_done - began
                result.legit_status = response.status_code
        statuses, result.retry_after_missing, result.seconds, answered_at = results.get(timeout=120)
        result.statuses.update(statuses)
        result.answered_later = sum(1 for moment in answered_at if moment > legit_done)
    finally:
        flood.join(timeout=30)
    return result


@pytest.fixture
def flood_server(database_factory: DatabaseFactory, tmp_path: Path) -> Iterator[Server]:
    """A one-worker server with the default throttling policy, behind a 'frontend'."""
    env = {
        key: value
        for key, value in database_factory.make().items()
        if not key.endswith("_ATTEMPTS")  # the defaults, not the test suite's roomy limits
    }
    env |= {"WEB_CONCURRENCY": "1", "FORWARDED_ADDRESS_SECRET": FRONTEND_SECRET}
    upgrade_to_head(settings_from(env))
    server = Server(env, tmp_path / "server.log")
    yield server
    server.stop()


def _report(name: str, sampler: RssSampler, result: FloodResult) -> None:
    legit = "-" if result.legit_seconds is None else f"{result.legit_seconds:.2f}s"
    print(
        f"\n{name}: {FLOOD} logins in {result.seconds:.1f}s, statuses "
        f"{dict(sorted(result.statuses.items()))}, worker RSS {sampler.before_mb:.0f} MB "
        f"before, peak {sampler.peak_mb:.0f} MB; legit login {result.legit_status} in "
        f"{legit}, with {result.answered_later} flood requests still unanswered"
    )


def test_a_flood_on_one_account_is_throttled_and_memory_stays_bounded(
    flood_server: Server,
) -> None:
    # A run in which the flood's client saw every answer before the person's login was answered
    # shows nothing about serving during a flood: it is run again (its other checks still hold).
    for _ in range(3):
        with httpx.Client(base_url=flood_server.base_url) as http:
            victim = sign_up(http)
            person = sign_up(http)
        wrong = {"email": victim.email, "password": "not the password"}
        right = {"email": person.email, "password": person.password}
        with RssSampler(flood_server.process.pid) as sampler:
            result = _flood(
                flood_server.base_url, [wrong] * FLOOD, [ATTACKER] * FLOOD, (right, PERSON)
            )
        _report("one account, one address", sampler, result)

        assert set(result.statuses) <= {401, 429, 503}, result.statuses
        assert result.statuses[429] > FLOOD / 2  # the throttle, not the pool, stopped most
        assert result.retry_after_missing == 0
        assert sampler.peak_mb < PEAK_RSS_LIMIT_MB
        assert result.legit_status == 200
        assert result.legit_seconds is not None
        assert result.legit_seconds < LEGIT_LOGIN_SECONDS
        # The victim, at an address that took no part in the flood, gets in; the flooding
        # address stays refused, the right password included.
        victim_right = {"email": victim.email, "password": victim.password}
        with httpx.Client(base_url=flood_server.base_url) as http:
            began = time.monotonic()
            owner = http.post("/auth/login", json=victim_right, headers=_as(PERSON))
            owner_seconds = time.monotonic() - began
            flooder = http.post("/auth/login", json=victim_right, headers=_as(ATTACKER))
        assert owner.status_code == 200
        assert owner_seconds < LEGIT_LOGIN_SECONDS
        assert flooder.status_code == 429
        assert int(flooder.headers["retry-after"]) > 0
        if result.answered_later > 0:
            return
    pytest.fail("the person's login was never answered while the flood was still going on")


def test_a_flood_from_many_addresses_is_held_by_the_hashing_pool(flood_server: Server) -> None:
    # Every request names another account and comes from another address: no counter fills
    # up, so only the bounded hashing pool stands between the flood and the worker's memory.
    bodies = [{"email": unique_email(), "password": "guess-1234"} for _ in range(FLOOD)]
    addresses = [f"10.{n // 250}.{n % 250}.9" for n in range(FLOOD)]
    with RssSampler(flood_server.process.pid) as sampler:
        result = _flood(flood_server.base_url, bodies, addresses, None)
    _report("many accounts, many addresses", sampler, result)

    assert set(result.statuses) <= {401, 503}, result.statuses
    assert result.statuses[401] > 0
    assert result.statuses[503] > 0  # the pool was full and said so
    assert result.retry_after_missing == 0
    assert sampler.peak_mb < PEAK_RSS_LIMIT_MB
    # Afterwards the worker serves as before.
    with httpx.Client(base_url=flood_server.base_url) as http:
        sign_up(http)
