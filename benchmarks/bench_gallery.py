"""Gallery page render time with 100,000 gallery items, on SQLite and on a throwaway PostgreSQL.

The database is filled in bulk (100,000 gallery items, every 50th hidden, plus 50,000 private
results, spread over a year, every item with real thumbnails in the media store), analysed,
and then the real app (its handlers, middleware, templates) answers over loopback HTTP. For
page 1 and page 50 of /gallery (page 50 reached by following the "Next page" links, i.e. the
keyset cursors) and of /gallery/recent, it prints p50/p95 of the whole request as a returning
visitor sees it (their votes are looked up too). In the same run, as baselines: GET /healthz
(the app's floor), and the same page read straight from the database by keyset and by OFFSET,
at page 50 and at page 2,000, with the query plans (EXPLAIN) showing which index is read.
Bounded: it stops by itself.

    python -m benchmarks.bench_gallery [--items 100000] [--requests 60] [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bot.app import close_services, create_app, open_services
from bot.metrics import Metrics
from bot.pages.home import PREVIEWS
from bot.pages.thumbnails import make_thumbnails
from bot.services import Services, load_pipeline
from bot.settings import Settings
from db.engine import Database
from db.gallery import PAGE_SIZE, RankCursor, explain, ranked_query, recent_query
from inference.images import ImageLimits
from tests.gallery_seed import photo_pair, seed_many
from tests.postgres import find_bindir, postgres_cluster

TARGET_P95_MS = 50.0
NEXT = re.compile(r'<a class="button primary" href="([^"]+)" rel="next">')


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def timed(count: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    """Milliseconds of `count` sequential calls (after two untimed warm-up calls)."""
    for _ in range(2):
        await call()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(name: str, times: list[float]) -> float:
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    print(f"  {name:<44} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   (n={len(times)})")
    return p95


async def fill(services: Services, items: int) -> None:
    started = time.perf_counter()
    before, after, _ = photo_pair(0)
    made = make_thumbnails(after, before, ImageLimits())
    media = services.media
    thumbnails = (
        media.put(made.webp, "webp"),
        media.put(made.jpeg, "jpg"),
        media.put(made.before_display or b"", "jpg"),
    )
    after_key, before_key = media.put(after, "jpg"), media.put(before, "png")
    # One result in three stays private (interleaved, as in life): 100,000 shared ones come
    # with 50,000 private ones.
    private = items // 2
    await seed_many(
        services.db,
        items + private,
        media=after_key,
        input_media=before_key,
        thumbnails=thumbnails,
        shared=lambda n: n % 3 != 2,
    )
    async with services.db.engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    seconds = time.perf_counter() - started
    print(f"  filled: {items:,} gallery items + {private:,} private results in {seconds:.0f} s")


async def page_url(client: TestClient[Any, Any], path: str, number: int) -> str:
    """The URL of page `number`, reached by following the "Next page" links from `path`."""
    url = path
    for _ in range(number - 1):
        html = await (await client.get(url)).text()
        found = NEXT.search(html)
        assert found is not None, f"no next page after {url}"
        url = found.group(1).replace("&amp;", "&")
    return url


async def direct(db: Database, statement: Any) -> None:
    async with db.sessions() as session:
        rows = (await session.execute(statement)).all()
    assert len(rows) == PAGE_SIZE


async def cursor_at(db: Database, position: int) -> tuple[RankCursor, int]:
    """The keyset cursors (ranked, recent) of the item just before `position`."""
    statement = ranked_query(None, position)
    async with db.sessions() as session:
        ranked = (await session.execute(statement)).all()[-1]
        recent = (await session.execute(recent_query(None, position))).all()[-1]
    return RankCursor(ranked.score, ranked.id), recent.id


async def run_one(name: str, url: str, data: Path, items: int, requests: int) -> list[float]:
    print(f"\n== {name} ==")
    settings = Settings.from_env(
        {
            "COLORBOT_DATA_DIR": str(data),
            "DATABASE_URL": url,
            "AUTO_MIGRATE": "true",
            "LOG_LEVEL": "WARNING",
        }
    )
    metrics = Metrics()
    services = await open_services(settings, load_pipeline(settings, metrics))
    p95s: list[float] = []
    try:
        await fill(services, items)
        app = create_app(services, run_worker=False, intake=False, channel_names=["web"])
        async with TestClient(TestServer(app)) as client:
            await app[PREVIEWS].get()  # the home page's tiles, baked at start: not measured
            await client.get("/gallery")  # a returning visitor: has a cookie, votes looked up
            page50 = await page_url(client, "/gallery", 50)
            recent50 = await page_url(client, "/gallery/recent", 50)
            html = await (await client.get(page50)).text()
            assert html.count('<li class="tile"') == PAGE_SIZE and "Page 50" in html

            async def get(path: str) -> None:
                response = await client.get(path)
                await response.read()
                assert response.status == 200

            print("  through the app (HTTP on loopback, whole request):")
            report("GET /healthz (baseline)", await timed(requests, partial(get, "/healthz")))
            for label, path in (
                ("GET /gallery (page 1)", "/gallery"),
                ("GET /gallery page 50 (keyset cursor)", page50),
                ("GET /gallery/recent (page 1)", "/gallery/recent"),
                ("GET /gallery/recent page 50", recent50),
            ):
                p95s.append(report(label, await timed(requests, partial(get, path))))

        db = services.db
        print("  the page's query alone, keyset against OFFSET:")
        deep = min(2000, items // PAGE_SIZE - 2)  # page 2,000 at the default size
        plans: dict[str, Any] = {
            "ranked page 1": ranked_query(None, PAGE_SIZE + 1),
            "recent page 1": recent_query(None, PAGE_SIZE + 1),
        }
        for page in (50, deep):
            position = (page - 1) * PAGE_SIZE
            ranked, recent = await cursor_at(db, position)
            offset = ranked_query(None, PAGE_SIZE).offset(position)
            keyset = ranked_query(ranked, PAGE_SIZE)
            report(
                f"ranked page {page}: keyset", await timed(requests, partial(direct, db, keyset))
            )
            report(
                f"ranked page {page}: OFFSET {position}",
                await timed(requests, partial(direct, db, offset)),
            )
            plans[f"ranked page {page} (keyset)"] = ranked_query(ranked, PAGE_SIZE + 1)
            plans[f"recent page {page} (keyset)"] = recent_query(recent, PAGE_SIZE + 1)
            plans[f"ranked page {page} by OFFSET {position} (contrast)"] = offset
        print("  query plans:")
        for label, statement in plans.items():
            print(f"  -- {label}:")
            for line in await explain(db, statement):
                print(f"     {line}")
    finally:
        await close_services(services)
    return p95s


async def create_database(base_url: str) -> str:
    dsn = base_url.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute('CREATE DATABASE "bench_gallery"')
    finally:
        await connection.close()
    return f"{base_url}/bench_gallery"


async def main(items: int, requests: int, databases: list[str]) -> None:
    verdicts = []
    for name in databases:
        with tempfile.TemporaryDirectory() as scratch:
            data = Path(scratch)
            if name == "sqlite":
                url = f"sqlite+aiosqlite:///{data}/colorbot.db"
                p95s = await run_one("SQLite", url, data, items, requests)
            else:
                if find_bindir() is None:
                    print("\n== PostgreSQL: skipped, the server binaries are not installed ==")
                    continue
                with postgres_cluster() as base:
                    url = await create_database(base)
                    p95s = await run_one("PostgreSQL", url, data, items, requests)
            verdicts.append((name, max(p95s)))
    print()
    for name, worst in verdicts:
        verdict = "meets" if worst <= TARGET_P95_MS else "MISSES"
        print(
            f"{name}: worst gallery p95 {worst:.1f} ms, {verdict} the {TARGET_P95_MS:.0f} ms target"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--db", default="sqlite,postgresql")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.items, arguments.requests, arguments.db.split(",")))
