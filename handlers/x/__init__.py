"""The X (Twitter) channel: mentions and DMs with a photo, webhook or polling.

`XChannel` is what the registry builds. Inside: `channel` (webhook routes, lifecycle, the
worker's fetch/send), `events` (webhook payloads -> posts and DMs, pure), `commands` (what a
mention asks for, pure), `intake` (queueing them), `polling` (mentions in poll mode), `api`
(the v2 API calls), `oauth1` (request signing, with oauthlib) and `signatures` (webhook CRC and
HMAC checks).
"""

from handlers.x.channel import XChannel

__all__ = ["XChannel"]
