"""OAuth 1.0a request signing (HMAC-SHA1, RFC 5849) for X's user-context calls, with `oauthlib`.

`oauthlib` is the implementation tweepy and requests-oauthlib sign with: it builds the signature
base string (method, normalised base URI, every query, form and `oauth_*` parameter, RFC 3986
encoded and sorted) and the `Authorization: OAuth ...` header. JSON and multipart bodies are not
signed, so only a form-urlencoded body is handed to it. The tests check the header against
published vectors (X's "Creating a signature" example, the OAuth 1.0 photos example) and, on
every request to the fake X API, with oauthlib's server-side signature functions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_AUTH_HEADER, Client
from yarl import URL

_FORM = "application/x-www-form-urlencoded"

# oauthlib logs the collected parameters and the signature base string (the consumer key and the
# access token) at DEBUG. Secrets never reach the logs, so its loggers stay at WARNING whatever
# LOG_LEVEL says.
logging.getLogger("oauthlib").setLevel(logging.WARNING)


@dataclass(frozen=True)
class OAuth1Credentials:
    """The app's consumer key/secret and the bot account's access token/secret."""

    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    token: str = field(repr=False)
    token_secret: str = field(repr=False)


def authorization_header(
    credentials: OAuth1Credentials,
    method: str,
    url: str | URL,
    *,
    form: Iterable[tuple[str, str]] = (),
    nonce: str | None = None,
    timestamp: int | None = None,
) -> str:
    """The `Authorization: OAuth ...` value for a request to `url` (its query is signed) with
    `form` as its application/x-www-form-urlencoded body, if any. `nonce` and `timestamp` are
    for the published test vectors; by default both are fresh."""
    client = Client(
        credentials.consumer_key,
        client_secret=credentials.consumer_secret,
        resource_owner_key=credentials.token,
        resource_owner_secret=credentials.token_secret,
        signature_method=SIGNATURE_HMAC_SHA1,
        signature_type=SIGNATURE_TYPE_AUTH_HEADER,
        nonce=nonce,
        timestamp=None if timestamp is None else str(timestamp),
    )
    fields = list(form)
    body = urlencode(fields) if fields else None
    headers = {"Content-Type": _FORM} if fields else {}
    _, signed, _ = client.sign(str(url), http_method=method.upper(), body=body, headers=headers)
    header: str = signed["Authorization"]
    return header
