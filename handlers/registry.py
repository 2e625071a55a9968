"""The channel registry: one line per channel. Core code builds channels only through here.

Each entry names a class with `from_services(services) -> channel | None` (None when the
channel is not configured, e.g. no TELEGRAM_TOKEN).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services
    from handlers.platform import Platform

CHANNELS: dict[str, str] = {
    "web": "handlers.web:WebChannel",
    "telegram": "handlers.telegram:TelegramChannel",
    "x": "handlers.x:XChannel",
}


def build_channels(services: Services, names: list[str] | None = None) -> dict[str, Platform]:
    channels: dict[str, Platform] = {}
    for name, target in CHANNELS.items():
        if names is not None and name not in names:
            continue
        module_name, class_name = target.split(":")
        factory = getattr(importlib.import_module(module_name), class_name)
        channel = factory.from_services(services)
        if channel is not None:
            channels[name] = channel
    return channels
