"""The `colorbot` console script.

    colorbot [serve]              web + worker + scheduler in one process (the default)
    colorbot worker               workers only, against the same database
    colorbot colorize IN OUT      colourise a photo
    colorbot filter NAME IN OUT   apply one of the 40 filters
    colorbot filters              list the filters
    colorbot models list|pull|verify
    colorbot db upgrade           migrate the database to the latest revision

Every error prints one clear line on stderr and exits non-zero.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.cli import images, models, service
from bot.settings import Settings, SettingsError
from core.errors import UserError
from db.migrate import DatabaseNotMigratedError
from inference.registry import ModelNotInstalledError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorbot", description="Colourise photos and apply Instagram-like filters."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    service.add_commands(commands)
    images.add_commands(commands)
    models.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["serve", *(argv or sys.argv[1:])])
    try:
        settings = Settings.from_env()
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        for chatty in ("apscheduler", "alembic.runtime.migration"):
            logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.root.level))
        code: int = args.run(args, settings)
        return code
    except SettingsError as exc:
        print(f"colorbot: setting error: {exc}", file=sys.stderr)
        return 2
    except (UserError, ModelNotInstalledError, DatabaseNotMigratedError, OSError) as exc:
        print(f"colorbot: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, UserError):
        return exc.user_message
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename}"
    return " ".join(str(exc).split())
