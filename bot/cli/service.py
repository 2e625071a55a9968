"""CLI commands that run the service: `serve`, `worker`, `db upgrade`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
from typing import Any

from aiohttp import web

from bot.app import close_services, create_app, open_services
from bot.settings import Settings
from db.engine import connect
from db.migrate import upgrade

log = logging.getLogger(__name__)


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="web server + worker + scheduler (the default)")
    serve.set_defaults(run=run_serve)
    worker = commands.add_parser("worker", help="workers only, against the same database")
    worker.set_defaults(run=run_worker)
    database = commands.add_parser("db", help="database maintenance")
    actions = database.add_subparsers(dest="action", metavar="ACTION", required=True)
    migrate = actions.add_parser("upgrade", help="migrate the database to the latest revision")
    migrate.set_defaults(run=run_db_upgrade)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(serve(settings, listen=True))
    return 0


def run_worker(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(serve(settings, listen=False))
    return 0


def run_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    async def migrate() -> None:
        database = connect(settings.database_url)
        try:
            await upgrade(database)
        finally:
            await database.close()

    asyncio.run(migrate())
    print("database is at the latest revision")
    return 0


async def serve(settings: Settings, *, listen: bool) -> None:
    """Run until SIGTERM/SIGINT. On a signal: stop intake (close the listening socket), let
    running jobs finish within SHUTDOWN_TIMEOUT_S, release the rest back to the queue."""
    services = await open_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(create_app(services, intake=listen), handle_signals=False)
    try:
        await runner.setup()
        # Everything loaded so far (models, modules, the app) lives as long as the process:
        # keep it out of the garbage collector's full passes, which otherwise stall the event
        # loop for tens of milliseconds under load.
        gc.freeze()
        if listen:
            site = web.TCPSite(runner, settings.host, settings.port)
            await site.start()
            log.info("colorbot serving on http://%s:%d", settings.host, settings.port)
            print(f"colorbot is running: open http://{settings.host}:{settings.port}", flush=True)
        else:
            log.info("colorbot worker running (no web server)")
        await stop.wait()
        log.info("stopping: no new work is taken; waiting for running jobs")
    finally:
        await runner.cleanup()
        await close_services(services)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
