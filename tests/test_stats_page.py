"""Usage over time: the numbers (SQLite and PostgreSQL), /stats drawn as inline SVG, and the
same numbers at /stats.json, without personal data or hidden gallery items."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.media import MediaStore
from bot.services import SERVICES
from db.engine import Database
from db.maintenance import percentile, roll_up_day
from db.models import utcnow
from db.usage import days_without_latency, roll_up_latency, usage_report
from tests.conftest import MakeApp
from tests.gallery_seed import seed_item, seed_job, seed_usage_history

NOON = time(12, tzinfo=UTC)


def at(day: date, hours: float = 0) -> datetime:
    return datetime.combine(day, NOON) + timedelta(hours=hours)


async def test_usage_per_day_from_roll_ups_and_live_today(database: Database) -> None:
    today = utcnow().date()
    before = today - timedelta(days=2)
    times = [1.0, 2.0, 3.0, 4.0, 10.0]
    for seconds in times:
        await seed_job(database, created_at=at(before), channel="telegram", seconds=seconds)
    await seed_job(database, created_at=at(before), channel="telegram", failed=True)
    await seed_job(database, created_at=at(before, 1), channel="x", operation="colorize")
    await seed_job(database, created_at=at(before), filter_name="Juno", seconds=5.0)
    # Today: not rolled up, counted live.
    for name in ("Juno", "Juno", "Lark"):
        await seed_job(database, created_at=at(today, -12), filter_name=name)  # 00:00 today
    await roll_up_day(database, before)
    assert await days_without_latency(database, before, today) == [before]
    assert await roll_up_latency(database, before) == 7
    assert await days_without_latency(database, before, today) == []

    report = await usage_report(database, today - timedelta(days=6), today)
    assert [day.day for day in report.days] == [today - timedelta(days=n) for n in range(6, -1, -1)]
    past = report.days[-3]
    assert past.day == before
    assert (past.succeeded, past.failed, past.jobs) == (7, 1, 8)
    assert dict(past.by_channel_operation) == {
        "telegram/filter": 6,
        "x/colorize": 1,
        "web/filter": 1,
    }
    done_times = [*times, 2.0, 5.0]  # the colourise job took the default 2 s
    assert past.p50_seconds == percentile(done_times, 0.5)
    assert past.p95_seconds == percentile(done_times, 0.95) == 10.0
    live = report.days[-1]
    assert (live.jobs, dict(live.filters)) == (3, {"Juno": 2, "Lark": 1})
    assert report.days[-2].jobs == 0 and report.days[-2].p50_seconds is None
    assert report.top_filters == [("Lo-Fi", 6), ("Juno", 3), ("Lark", 1)]
    assert report.series_names == ["telegram/filter", "web/filter", "x/colorize"]


async def test_stats_page_draws_the_numbers(make_app: MakeApp) -> None:
    app = await make_app(channels=["web"], run_worker=False, intake=False)
    services = app.services
    jobs = await seed_usage_history(services.db, 10, utcnow())
    await seed_job(services.db, created_at=utcnow(), channel="web", filter_name="Amaro")
    response = await app.client.get("/stats")
    assert response.status == 200
    html = await response.text()
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\son[a-z]+=|style=", html)
    assert html.count("<svg viewBox=") == 4
    assert html.count('role="img"') == 4
    for title in (
        "Jobs per day, by channel and operation",
        "Successes and failures per day",
        "End-to-end time per day (p50 and p95)",
        "Most used filters",
    ):
        assert f">{title}</figcaption>" in html
    assert html.count('<rect class="series-') > 20 and "<polyline" in html
    assert re.search(r"<title>\d+ [A-Z][a-z]{2}: Telegram · filter \d+ jobs</title>", html)
    assert f"{jobs + 1:,}" in html  # the period's total

    body = await (await app.client.get("/stats.json")).json()
    assert body["period"]["days"] == 30 and len(body["days"]) == 30
    assert body["totals"]["jobs"] == jobs + 1
    assert sum(day["jobs"] for day in body["days"]) == jobs + 1
    assert body["days"][-1]["by_channel_operation"] == {"web/filter": 1}
    assert body["days"][-1]["day"] == utcnow().date().isoformat()
    rolled = next(day for day in body["days"] if day["jobs"])
    assert rolled["p50_seconds"] is not None and rolled["p95_seconds"] >= rolled["p50_seconds"]
    filters = {row["filter"]: row["jobs"] for row in body["top_filters"]}
    assert filters["Amaro"] >= 1 and list(filters.values()) == sorted(
        filters.values(), reverse=True
    )
    week = await (await app.client.get("/stats.json?days=7")).json()
    assert len(week["days"]) == 7
    bad = await app.client.get("/stats?days=5")
    assert bad.status == 400 and "must be one of 7, 30, 90" in await bad.text()


async def test_stats_json_has_no_personal_data_and_no_hidden_items(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = await make_app(channels=["web"], run_worker=False, intake=False)
    db = app.services.db
    media: MediaStore = app.client.app[SERVICES].media
    shown = await seed_item(db, media, channel="x", author_handle="ada", post_url="https://x.com/a")
    hidden = await seed_item(db, media, channel="telegram", display_name="Grace", hidden=True)
    text = await (await app.client.get("/stats.json")).text()
    assert shown.public_id in text and hidden.public_id not in text
    for personal in ("ada", "Grace", "x.com", "user", "voter"):
        assert personal not in text, personal
    page = await (await app.client.get("/stats")).text()
    assert shown.public_id in page and hidden.public_id not in page


@pytest.mark.parametrize("days", [7, 30, 90])
async def test_every_period_renders(make_app: MakeApp, days: int) -> None:
    app = await make_app(channels=["web"], run_worker=False, intake=False)
    html = await (await app.client.get(f"/stats?days={days}")).text()
    assert f'aria-current="page">{days} days</a>' in html
    assert "No finished jobs in this period yet." in html  # nothing yet: said, not drawn


async def test_video_jobs_and_their_seconds_of_footage_are_counted(
    make_app: MakeApp, database: Database
) -> None:
    """Rolled up for past days and live for today (SQLite and PostgreSQL), on the page and in
    /stats.json; a failed clip counts as a clip job but adds no footage."""
    today = utcnow().date()
    before = today - timedelta(days=3)
    await seed_job(database, created_at=at(before), input_kind="video", footage=42.5)
    await seed_job(database, created_at=at(before), input_kind="gif", footage=3.0)
    await seed_job(database, created_at=at(before), input_kind="video", failed=True)
    await seed_job(database, created_at=at(before))  # a photo
    await seed_job(database, created_at=at(today, -12), input_kind="video", footage=60.0)
    await roll_up_day(database, before)
    report = await usage_report(database, today - timedelta(days=6), today)
    past = report.days[-4]
    assert (past.jobs, past.clips, past.clip_seconds) == (4, 3, 45.5)
    assert (report.days[-1].clips, report.days[-1].clip_seconds) == (1, 60.0)
    assert (report.clips, report.clip_seconds) == (4, 105.5)

    app = await make_app(channels=["web"], run_worker=False, intake=False)
    db = app.services.db
    await seed_job(db, created_at=at(before), input_kind="video", footage=90.0)
    await seed_job(db, created_at=at(today, -12), input_kind="gif", footage=2.0)
    await seed_job(db, created_at=at(today, -12))
    await roll_up_day(db, before)
    body = await (await app.client.get("/stats.json?days=7")).json()
    assert body["totals"]["clips"] == 2 and body["totals"]["clip_seconds"] == 92.0
    assert (body["days"][-1]["clips"], body["days"][-1]["clip_seconds"]) == (1, 2.0)
    assert (body["days"][-4]["clips"], body["days"][-4]["clip_seconds"]) == (1, 90.0)
    html = await (await app.client.get("/stats?days=7")).text()
    tile = html[html.index('id="clips-tile"') :].split("</li>")[0]
    assert ">2</span>" in tile and "videos and GIFs, 1 min 32 s of footage" in tile
    assert "<td>1 (1 min 30 s)</td>" in html
