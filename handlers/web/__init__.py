"""The web channel: the HTTP API the try-it page (and any client) uploads to.

`WebChannel` is what the registry builds: `POST /api/v1/jobs`, `GET /api/v1/jobs/{id}` and the
API's OpenAPI document (`openapi`). The pages themselves belong to the app (`bot.pages`).
"""

from handlers.web.channel import WebChannel

__all__ = ["WebChannel"]
