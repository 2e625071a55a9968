"""`GET /stats` (charts drawn as inline SVG by `bot.pages.charts`) and `GET /stats.json` (the same
numbers). Per day: jobs by channel and operation, successes and failures, p50/p95 end-to-end
seconds, videos and GIFs and their seconds of footage; over the period: the most used
filters, and the top of the gallery (never hidden items, no personal data)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp import web

from bot.pages import charts
from bot.pages.gallery import card
from bot.pages.rendering import render
from bot.services import SERVICES
from db.gallery import GalleryItem, gallery_totals, ranked_page
from db.models import utcnow
from db.usage import UsageReport, usage_report

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
TOP_FILTERS = 10
TOP_ITEMS = 5
OPERATIONS = {"colorize": "colourise", "filter": "filter"}
CHANNELS = {"web": "Web", "telegram": "Telegram", "x": "X"}


def add_routes(app: web.Application) -> None:
    app.add_routes([web.get("/stats", stats_page), web.get("/stats.json", stats_json)])


def _period(request: web.Request) -> int:
    raw = request.query.get("days", "")
    if raw and (not raw.isdigit() or int(raw) not in PERIODS):
        raise web.HTTPBadRequest(text=f"`days` must be one of {', '.join(map(str, PERIODS))}.")
    return int(raw) if raw else DEFAULT_PERIOD


async def _numbers(request: web.Request) -> tuple[int, UsageReport, list[GalleryItem], Any]:
    db = request.app[SERVICES].db
    days = _period(request)
    today = utcnow().date()
    report = await usage_report(db, today - timedelta(days=days - 1), today)
    top = (await ranked_page(db, None, TOP_ITEMS)).items
    return days, report, top, await gallery_totals(db)


def series_label(name: str) -> str:
    """ "web/filter" -> "Web · filter"."""
    channel, _, operation = name.partition("/")
    return f"{CHANNELS.get(channel, channel)} · {OPERATIONS.get(operation, operation)}"


def day_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def seconds_label(value: float) -> str:
    return f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def footage_label(seconds: float) -> str:
    """Seconds of footage: "42 s", "12 min 5 s", "3 h 20 min"."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def build_charts(report: UsageReport) -> dict[str, Any]:
    labels = [day_label(day.day) for day in report.days]
    names = report.series_names
    return {
        "jobs": charts.stacked_bars(
            "Jobs per day, by channel and operation",
            labels,
            {
                series_label(name): [d.by_channel_operation[name] for d in report.days]
                for name in names
            },
            "jobs",
        ),
        "outcomes": charts.stacked_bars(
            "Successes and failures per day",
            labels,
            {
                "succeeded": [d.succeeded for d in report.days],
                "failed": [d.failed for d in report.days],
            },
            "jobs",
        ),
        "latency": charts.line_chart(
            "End-to-end time per day (p50 and p95)",
            labels,
            {
                "p50": [d.p50_seconds for d in report.days],
                "p95": [d.p95_seconds for d in report.days],
            },
            seconds_label,
        ),
        "filters": charts.bar_list("Most used filters", report.top_filters[:TOP_FILTERS], "jobs"),
    }


async def stats_page(request: web.Request) -> web.Response:
    days, report, top, totals = await _numbers(request)
    succeeded = sum(day.succeeded for day in report.days)
    jobs = sum(day.jobs for day in report.days)
    response = render(
        request,
        "stats.html",
        period=days,
        periods=PERIODS,
        report=report,
        charts=build_charts(report),
        day_label=day_label,
        series_label=series_label,
        seconds_label=seconds_label,
        footage_label=footage_label,
        jobs=jobs,
        success_rate=(succeeded / jobs) if jobs else None,
        today=report.days[-1],
        totals=totals,
        top=[card(item, voted=False) for item in top],
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


async def stats_json(request: web.Request) -> web.Response:
    days, report, top, totals = await _numbers(request)
    body = {
        "period": {"days": days, "from": report.days[0].day.isoformat(), "to": _last(report)},
        "days": [
            {
                "day": day.day.isoformat(),
                "jobs": day.jobs,
                "succeeded": day.succeeded,
                "failed": day.failed,
                "by_channel_operation": dict(sorted(day.by_channel_operation.items())),
                "p50_seconds": day.p50_seconds,
                "p95_seconds": day.p95_seconds,
                "clips": day.clips,
                "clip_seconds": round(day.clip_seconds, 3),
            }
            for day in report.days
        ],
        "totals": {
            "jobs": sum(day.jobs for day in report.days),
            "succeeded": sum(day.succeeded for day in report.days),
            "failed": sum(day.failed for day in report.days),
            "clips": report.clips,
            "clip_seconds": round(report.clip_seconds, 3),
        },
        "top_filters": [
            {"filter": name, "jobs": jobs} for name, jobs in report.top_filters[:TOP_FILTERS]
        ],
        "gallery": {
            "items": totals.items,
            "votes": totals.votes,
            "top": [
                {
                    "id": item.public_id,
                    "url": f"/gallery/{item.public_id}",
                    "channel": item.channel,
                    "operation": item.operation,
                    "filter": item.filter_name,
                    "votes": item.votes,
                    "likes": item.external_likes,
                    "featured": item.featured,
                    "created_at": item.created_at.isoformat(),
                }
                for item in top
            ],
        },
        "generated_at": utcnow().isoformat(),
    }
    return web.json_response(body, headers={"Cache-Control": "no-cache"})


def _last(report: UsageReport) -> str:
    return report.days[-1].day.isoformat()
