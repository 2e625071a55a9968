"""The `colorbot` console script: `main` parses the command line; one module per command
group (`service`: serve, worker, db; `images`: colorize, filter, filters; `models`: list, pull,
verify)."""

from bot.cli.main import main

__all__ = ["main"]
