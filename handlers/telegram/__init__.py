"""The Telegram channel (python-telegram-bot v22 inside the aiohttp app).

`TelegramChannel` is what the registry builds. Inside: `channel` (webhook route, lifecycle, the
worker's fetch/send), `updates` (an update -> a plan, pure), `intake` (carrying a plan out),
`buttons` and `keyboards` (inline buttons), `replies` (sending results and progress), `albums`,
`polling` (getUpdates in development), `calls` (retries of Bot API calls), `http` (PTB's
requests on the shared aiohttp session) and `texts` (everything the bot says).
"""

from handlers.telegram.channel import TelegramChannel

__all__ = ["TelegramChannel"]
