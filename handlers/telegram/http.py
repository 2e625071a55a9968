"""The Bot API over our one shared aiohttp session (a `telegram.request.BaseRequest` for
python-telegram-bot), capped file downloads, and keeping the bot token out of every message.

The token is part of every Bot API URL (`/bot<token>/method`, `/file/bot<token>/path`), so no
error raised here carries a URL or chains an exception that does, and `TokenRedactor` scrubs
it from PTB's own log records (PTB logs its base URL at DEBUG level when a bot is built).

Failures are classified for "at most one reply": `NotSentError` means the request never
reached the server (safe to send again); `DeliveryUnknownError` means it was sent but no
answer came (a read timeout, a dropped connection): it may have been carried out.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from handlers.clips import save_capped

DOWNLOAD_CHUNK = 256 * 1024
# The loggers python-telegram-bot writes its URLs to.
PTB_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot")


class NotSentError(NetworkError):
    """The request never reached the Bot API (could not connect): nothing was done."""


class DeliveryUnknownError(TimedOut):
    """The request was sent but no answer came back: it may or may not have been carried out."""


class FileTooLargeError(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than {limit} bytes")
        self.limit = limit


class DownloadError(Exception):
    """A file download failed; `transient` when trying again later may work."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.transient = transient


def redact(text: str, secret: str) -> str:
    return text.replace(secret, "<token>") if secret else text


class TokenRedactor(logging.Filter):
    """Replaces the token in log records of the loggers it is attached to. The message is
    formatted here, when it is logged: PTB logs a getFile result and then puts the file URL
    (with the token) into that very dict, which a later formatting would show."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage(), self.secret), None
        return True

    def attach(self) -> None:
        for name in PTB_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def detach(self) -> None:
        for name in PTB_LOGGERS:
            logging.getLogger(name).removeFilter(self)


class AiohttpRequest(BaseRequest):
    """PTB's HTTP layer on a shared `aiohttp.ClientSession` (which it never closes).

    Like PTB's own httpx implementation, parameters go form-encoded, and as multipart when
    a file is uploaded."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        secret: str,
        *,
        read_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        upload_timeout: float = 120.0,
    ) -> None:
        self.session = session
        self.secret = secret
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._upload_timeout = upload_timeout

    @property
    def read_timeout(self) -> float:
        return self._read_timeout

    async def initialize(self) -> None:
        return None  # the session is the app's, opened before us

    async def shutdown(self) -> None:
        return None  # and closed by the app after us

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        files = request_data.multipart_data if request_data else {}
        read = _seconds(read_timeout, self._read_timeout)
        if files:  # the read timer may run while the upload is still being written
            read = max(read, _seconds(write_timeout, self._upload_timeout))
        connect = _seconds(connect_timeout, self._connect_timeout)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
        data: Any = None
        if request_data is not None:
            data = (
                _form(request_data.json_parameters, files)
                if files
                else (request_data.json_parameters)
            )
        try:
            async with self.session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError:
            raise NotSentError("Timed out connecting to the Bot API") from None
        except aiohttp.ClientConnectorError as exc:
            raise NotSentError(
                redact(f"Cannot connect to the Bot API ({exc.os_error.strerror})", self.secret)
            ) from None
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise DeliveryUnknownError("No answer from the Bot API in time") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError):
            raise DeliveryUnknownError("The Bot API connection broke before the answer") from None
        except aiohttp.ClientError as exc:
            raise NetworkError(f"Bot API request failed ({type(exc).__name__})") from None


def _seconds(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) else default


def _form(parameters: dict[str, str], files: dict[str, Any]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename or name, content_type=mimetype)
    return form


def file_url(path_or_url: str) -> str:
    """A `File.file_path` as PTB gives it (the base file URL + the path) with the path part
    percent-encoded, as Telegram expects."""
    parts = urlsplit(path_or_url)
    return urlunsplit(parts._replace(path=quote(parts.path, safe="/:@")))


async def download(
    session: aiohttp.ClientSession, url: str, *, max_bytes: int, limit_s: float = 60.0
) -> bytes:
    """The file at `url`, reading at most `max_bytes` (a file that claimed to be smaller
    but is not is cut off at the limit: `FileTooLargeError`)."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=limit_s)) as response:
            if response.status != 200:
                raise DownloadError(
                    f"file download answered HTTP {response.status}",
                    transient=response.status >= 500 or response.status in (404, 408, 429),
                )
            if response.content_length is not None and response.content_length > max_bytes:
                raise FileTooLargeError(max_bytes)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLargeError(max_bytes)
                chunks.append(chunk)
            return b"".join(chunks)
    except (TimeoutError, aiohttp.ServerTimeoutError):
        raise DownloadError("file download timed out", transient=True) from None
    except aiohttp.ClientError as exc:
        reason = f"file download failed ({type(exc).__name__})"
        raise DownloadError(reason, transient=True) from None


async def download_to(
    session: aiohttp.ClientSession,
    url: str,
    target: Path,
    *,
    max_bytes: int,
    limit_s: float = 300.0,
) -> int:
    """Stream the file at `url` into `target`, at most `max_bytes` (over it: the clip's
    `VideoError`, and no partial file); the bytes written. Errors carry no URL."""
    timeout = aiohttp.ClientTimeout(total=limit_s, sock_read=60.0)
    try:
        async with session.get(url, timeout=timeout) as response:
            if response.status != 200:
                raise DownloadError(
                    f"file download answered HTTP {response.status}",
                    transient=response.status >= 500 or response.status in (404, 408, 429),
                )
            return await save_capped(response, target, max_bytes)
    except (TimeoutError, aiohttp.ServerTimeoutError):
        raise DownloadError("file download timed out", transient=True) from None
    except aiohttp.ClientError as exc:
        reason = f"file download failed ({type(exc).__name__})"
        raise DownloadError(reason, transient=True) from None


async def cancel_quietly(task: asyncio.Task[Any]) -> None:
    """Cancel a helper task and wait for it, without swallowing our own cancellation."""
    task.cancel()
    await asyncio.wait([task])
