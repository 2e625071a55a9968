"""App assembly: shared services, the aiohttp application, and its lifecycle.

`open_services` creates every shared object once (database engine, migrations check, model
sessions, outgoing HTTP session, media store, metrics); `create_app` mounts the routes and ties
the channels, the worker and the scheduler to the app's start and stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web
from sqlalchemy import text

from bot import pages
from bot.guards import largest_body, request_guard
from bot.media import MediaStore
from bot.metrics import CONTENT_TYPE, Metrics
from bot.scheduler import Scheduler, housekeeping_tasks
from bot.services import SERVICES, Services, load_pipeline
from bot.settings import Settings
from bot.signing import Signer, load_key
from bot.worker import Worker
from db.engine import connect
from db.media import is_public
from db.migrate import current_revision, ensure_migrated, head_revision
from handlers.registry import build_channels
from inference.pipeline import PhotoPipeline

log = logging.getLogger(__name__)

WORKER = web.AppKey("worker", Worker)
PUBLIC_MEDIA_CACHE = "public, max-age=31536000, immutable"
MEDIA_GONE = "There is no such picture (it may have been deleted)."


async def open_services(settings: Settings, pipeline: PhotoPipeline | None = None) -> Services:
    """Everything shared, created once. Fails (with the reason) on an unmigrated database
    when AUTO_MIGRATE is off."""
    signer = Signer(load_key(settings.cookie_secret, settings.data_dir))
    db = connect(settings.database_url)
    try:
        await ensure_migrated(db, auto_migrate=settings.auto_migrate)
        metrics = Metrics()
        if pipeline is None:
            pipeline = await asyncio.to_thread(load_pipeline, settings, metrics)
    except BaseException:
        await db.close()
        raise
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60, connect=10))
    media = MediaStore(settings.data_dir / "media")
    return Services(settings, db, media, pipeline, metrics, http, signer)


async def close_services(services: Services) -> None:
    await services.intake.close()
    await asyncio.to_thread(services.video.compute.close)
    await services.http.close()
    await services.db.close()


def create_app(
    services: Services,
    *,
    run_worker: bool = True,
    intake: bool = True,
    channel_names: list[str] | None = None,
) -> web.Application:
    """The app. `intake` (serve) starts the channels' receiving side and the scheduler; a
    worker-only process runs with intake=False and is never bound to a port."""
    settings = services.settings
    app = web.Application(
        client_max_size=largest_body(settings),  # each route's own limit: bot.guards
        middlewares=[pages.error_middleware, request_guard(services)],
    )
    app[SERVICES] = services
    services.channels = build_channels(services, channel_names)
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/metrics", metrics),
            web.get("/media/{key}", public_media),
            web.get("/media/{grant}/{key}", private_media),
        ]
    )
    for channel in services.channels.values():
        app.add_routes(channel.routes())
    pages.add_routes(app)
    app.cleanup_ctx.append(_lifecycle(services, run_worker, intake))
    return app


def _lifecycle(
    services: Services, run_worker: bool, intake: bool
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        for channel in services.channels.values():
            await channel.start(intake=intake)
        worker = None
        if run_worker:
            worker = Worker(services, concurrency=services.settings.worker_concurrency)
            app[WORKER] = worker
            services.wake_workers = worker.notify
            worker.start()
        scheduler = None
        if intake:
            tasks = housekeeping_tasks(services)
            for channel in services.channels.values():
                tasks.extend(channel.periodic_tasks())
            scheduler = Scheduler(tasks)
            scheduler.start()
        yield
        # Intake has stopped (the server closed its sockets before cleanup): finish up.
        if scheduler is not None:
            await scheduler.stop()
        if worker is not None:
            await worker.stop(services.settings.shutdown_timeout_s)
        for channel in services.channels.values():
            await channel.stop()

    return context


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    """200 only when the models are loaded and warmed and the database answers and is at the
    code's migration head."""
    services = request.app[SERVICES]
    problems: list[str] = []
    try:
        async with services.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        revision = await current_revision(services.db)
        if revision != head_revision():
            problems.append(f"database at revision {revision}, needs {head_revision()}")
    except (OSError, ConnectionError, TimeoutError) as exc:
        problems.append(f"database unreachable: {type(exc).__name__}")
    except Exception as exc:  # noqa: BLE001 - any driver error means "not ready"; reported
        problems.append(f"database error: {type(exc).__name__}")
    body = {
        "status": "ready" if not problems else "not ready",
        "problems": problems,
        "colorize": services.pipeline.can_colorize,
        "filters": len(services.pipeline.filters.names),
        "channels": sorted(services.channels),
    }
    return web.json_response(body, status=200 if not problems else 503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[SERVICES].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def public_media(request: web.Request) -> web.StreamResponse:
    """A picture the gallery shows; anything else (originals, results not shared, files no
    row references) only through a signed link, so a plain URL for it is 404."""
    services = request.app[SERVICES]
    key = request.match_info["key"]
    if not services.media.exists(key) or not await is_public(services.db, key):
        raise web.HTTPNotFound(text=MEDIA_GONE)
    return _media_file(services.media, key, PUBLIC_MEDIA_CACHE)


async def private_media(request: web.Request) -> web.StreamResponse:
    """A signed, expiring link (`bot.media.MediaLinks`), given only to a picture's owner."""
    services = request.app[SERVICES]
    key = request.match_info["key"]
    left = services.media_links.seconds_left(key, request.match_info["grant"])
    if left is None or not services.media.exists(key):
        raise web.HTTPNotFound(text=MEDIA_GONE)
    return _media_file(services.media, key, f"private, max-age={left}")


def _media_file(store: MediaStore, key: str, cache: str) -> web.FileResponse:
    return web.FileResponse(
        store.path(key),
        headers={
            "Content-Type": store.content_type(key),
            "Cache-Control": cache,
            "X-Content-Type-Options": "nosniff",
        },
    )
