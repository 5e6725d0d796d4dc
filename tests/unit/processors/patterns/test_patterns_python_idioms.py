"""Python idiom tags: context managers, retry with backoff, caching, async fan-out, dependency injection."""

from __future__ import annotations

from processors.patterns import extract_patterns
from schemas.documents import Document

SRC = '''
import asyncio
import functools
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Protocol


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self.start


@contextmanager
def opened(path):
    f = open(path)
    try:
        yield f
    finally:
        f.close()


def fetch_with_backoff(client, url, retries=5):
    delay = 0.1
    for attempt in range(retries):
        try:
            return client.get(url)
        except ConnectionError:
            time.sleep(delay)
            delay = min(delay * 2, 10)
    raise RuntimeError("gave up")


def poll(check):
    while True:
        try:
            return check()
        except ValueError:
            time.sleep(1)


async def fetch_all_exp(session, urls):
    for attempt in range(3):
        try:
            return await session.get(urls)
        except OSError:
            await asyncio.sleep(2 ** attempt)


@functools.lru_cache(maxsize=128)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


_cache = {}


def load_user(user_id, db):
    if user_id in _cache:
        return _cache[user_id]
    user = db.query(user_id)
    _cache[user_id] = user
    return user


async def crawl(urls):
    return await asyncio.gather(*(fetch(u) for u in urls))


async def crawl_tasks(urls):
    tasks = []
    for u in urls:
        tasks.append(asyncio.create_task(fetch(u)))
    return [await t for t in tasks]


async def crawl_group(urls):
    async with asyncio.TaskGroup() as tg:
        for u in urls:
            tg.create_task(fetch(u))


def resize_all(paths):
    with ThreadPoolExecutor() as pool:
        futures = [pool.submit(resize, p) for p in paths]
    return [f.result() for f in futures]


class Repository(Protocol):
    def save(self, item) -> None: ...


class Mailer(ABC):
    @abstractmethod
    def send(self, to, text): ...


class SignupService:
    def __init__(self, repo: Repository, mailer: Mailer, retries: int = 3):
        self.repo = repo
        self.mailer = mailer
        self.retries = retries

    def signup(self, user):
        self.repo.save(user)
        self.mailer.send(user.email, "welcome")


class Point:
    def __init__(self, x: float, y: float):
        self.x = x
        self.y = y

    def norm(self):
        return (self.x ** 2 + self.y ** 2) ** 0.5


def plain(a, b):
    total = 0
    for x in a:
        total += x * b
    return total
'''


def _tags() -> dict[str, dict[str, float]]:
    records = extract_patterns(Document(id="i", type="code", content=SRC, version="v", language="python", uri="idioms.py")).patterns
    return {r.name: {t.name: t.confidence for t in r.tags} for r in records}


def test_context_managers():
    tags = _tags()
    assert tags["Timer"]["context_manager"] >= 0.9
    assert tags["opened"]["context_manager"] >= 0.9


def test_retry_with_backoff_vs_fixed_delay():
    tags = _tags()
    assert tags["fetch_with_backoff"]["retry_backoff"] >= 0.8
    assert tags["fetch_all_exp"]["retry_backoff"] >= 0.8
    assert "retry" in tags["poll"] and "retry_backoff" not in tags["poll"]


def test_caching():
    tags = _tags()
    assert tags["fib"]["caching"] >= 0.9
    assert tags["load_user"]["caching"] >= 0.6


def test_async_and_thread_fanout():
    tags = _tags()
    assert tags["crawl"]["async_fanout"] >= 0.8
    assert tags["crawl_tasks"]["async_fanout"] >= 0.8
    assert tags["crawl_group"]["async_fanout"] >= 0.8
    assert tags["resize_all"]["concurrent_fanout"] >= 0.7


def test_dependency_injection_typed_by_abstractions():
    tags = _tags()
    assert tags["SignupService"]["dependency_injection"] >= 0.9
    assert "dependency_injection" not in tags["Point"]


def test_evidence_names_lines():
    records = extract_patterns(Document(id="i", type="code", content=SRC, version="v", language="python")).patterns
    rec = next(r for r in records if r.name == "fetch_with_backoff")
    tag = next(t for t in rec.tags if t.name == "retry_backoff")
    assert any("line" in e and "sleep" in e for e in tag.evidence)
    assert any("delay * 2" in e for e in tag.evidence)
    di = next(t for r in records if r.name == "SignupService" for t in r.tags if t.name == "dependency_injection")
    assert any("Repository (abstract)" in e and "signup()" in e for e in di.evidence)


def test_plain_function_has_no_idiom_tags():
    tags = _tags()
    assert tags["plain"] == {}
    assert tags["Point.norm"] == {}
