"""Fetch one published file, verified by its sha256, into a download cache folder.

Layout (under the cache folder, `<COLORBOT_MODEL_DIR>/downloads/`):
  `<sha256>.part`  bytes received so far; a later pull resumes it with an HTTP Range request
  `<sha256>.pth`   the complete file, renamed from `.part` only after its sha256 matched
Nothing outside that folder is written here, so a failed or interrupted pull leaves at most a
resumable `.part` behind. A `.part` whose hash turns out wrong is deleted (it cannot be resumed).

Mirrors are tried in order; each one is retried (resuming) while it keeps making progress.
The transfer is capped at the expected size (or `MAX_UNKNOWN_BYTES` when the size is not
published), and nothing reads the file's contents before its hash has been checked.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

CHUNK_BYTES = 1 << 20
MAX_UNKNOWN_BYTES = 1 << 30
ATTEMPTS_PER_MIRROR = 3
TIMEOUT_S = 30.0
USER_AGENT = "colorbot-model-pull/1"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class DownloadError(RuntimeError):
    """No mirror delivered the file with the expected hash; the message says why, per mirror."""


@dataclass(frozen=True)
class Artifact:
    """What to fetch: mirrors in order, the sha256 (hex) and, when published, the size."""

    urls: tuple[str, ...]
    sha256: str
    size: int | None = None


def render_progress(done: int, total: int | None, rate: float, width: int = 30) -> str:
    """One progress-bar line, e.g. ` 45% [#############.................] 58.1/129.0 MB 12.0 MB/s`
    (`rate` in bytes per second)."""
    speed = f"{rate / 1e6:.1f} MB/s"
    if not total:
        return f"{done / 1e6:.1f} MB {speed}"
    fraction = min(done / total, 1.0)
    filled = int(fraction * width)
    bar = "#" * filled + "." * (width - filled)
    return f"{fraction:4.0%} [{bar}] {done / 1e6:.1f}/{total / 1e6:.1f} MB {speed}"


class ProgressBar:
    """A progress bar redrawn in place on a terminal; silent when `stream` is not a terminal
    (logs and tests get only the final outcome)."""

    def __init__(self, label: str, stream: TextIO | None = None, interval_s: float = 0.1) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.interval_s = interval_s
        self._started = time.monotonic()
        self._drawn = 0.0
        self._resumed_at = 0
        self._open_line = False

    def start(self, done: int) -> None:
        """A transfer (re)starts with `done` bytes already on disk."""
        self._started = time.monotonic()
        self._resumed_at = done

    def update(self, done: int, total: int | None, *, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self._drawn < self.interval_s):
            return
        self._drawn = now
        rate = (done - self._resumed_at) / max(now - self._started, 1e-6)
        self.stream.write(f"\r{self.label} {render_progress(done, total, rate)}\x1b[K")
        self._open_line = True
        if final:
            self.end()
        self.stream.flush()

    def end(self) -> None:
        """Finish the bar's line (so a following message starts on its own line)."""
        if self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _where(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.netloc or url


class _Incomplete(Exception):
    """This attempt ended early; the `.part` file keeps what arrived."""


def _open(url: str, start: int) -> http.client.HTTPResponse:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if start:
        headers["Range"] = f"bytes={start}-"
    request = urllib.request.Request(url, headers=headers)
    response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    return response


def _attempt(url: str, part: Path, cap: int, size: int | None, bar: ProgressBar) -> None:
    """One request for the rest of `part`. Raises `_Incomplete` when it ends short, or
    `DownloadError` when this mirror cannot deliver the file at all."""
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have == size:
        return  # complete from an earlier run; the hash check follows
    try:
        response = _open(url, have)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the server cannot resume this .part: start afresh
            part.unlink()
            raise _Incomplete("the server refused to resume") from None
        raise DownloadError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"unreachable ({reason})") from None
    with response:
        start = 0
        if response.status == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
            start = int(match.group(1)) if match else -1
            if start != have:
                raise DownloadError(f"the server resumed at byte {start}, not {have}")
        length = response.headers.get("Content-Length")
        announced = start + int(length) if length and length.isdigit() else None
        if announced is not None and announced > cap:
            raise DownloadError(f"the server offers {announced} bytes, expected at most {cap}")
        if size is not None and announced is not None and announced != size:
            raise DownloadError(f"the server offers {announced} bytes, expected {size}")
        done = start
        bar.start(done)
        with part.open("r+b" if start else "wb") as out:
            out.seek(start)
            out.truncate()
            while True:
                try:
                    block = response.read(CHUNK_BYTES)
                except (http.client.HTTPException, OSError) as exc:
                    raise _Incomplete(f"connection lost after {done} bytes ({exc})") from None
                if not block:
                    break
                done += len(block)
                if done > cap:
                    raise DownloadError(f"the server sent more than the expected {cap} bytes")
                out.write(block)
                bar.update(done, size or announced)
        expected = size if size is not None else announced
        if expected is not None and done < expected:
            raise _Incomplete(f"got {done} of {expected} bytes")
        bar.update(done, size or announced, final=True)


def _from_mirror(url: str, part: Path, artifact: Artifact, bar: ProgressBar) -> None:
    """Fetch into `part` from one mirror, resuming while attempts make progress. Local I/O
    errors (a full disk) are not the mirror's fault: they propagate as OSError."""
    cap = artifact.size if artifact.size is not None else MAX_UNKNOWN_BYTES
    for attempt in range(ATTEMPTS_PER_MIRROR):
        before = part.stat().st_size if part.exists() else 0
        try:
            _attempt(url, part, cap, artifact.size, bar)
            return
        except _Incomplete as exc:
            after = part.stat().st_size if part.exists() else 0
            if attempt == ATTEMPTS_PER_MIRROR - 1 or (after <= before and part.exists()):
                raise DownloadError(f"incomplete download: {exc}") from None


@dataclass(frozen=True)
class Fetched:
    path: Path
    url: str | None  # the mirror that completed it; None when it was already downloaded


def fetch_artifact(artifact: Artifact, cache_dir: Path, bar: ProgressBar) -> Fetched:
    """The verified file in `cache_dir` (downloaded, resumed, or already there).

    Raises `DownloadError` naming each mirror's failure when none delivered the right bytes."""
    if not artifact.urls:
        raise DownloadError("no download URL is known")
    expected = artifact.sha256.lower()
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise DownloadError(f"not a sha256: {artifact.sha256!r}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    final = cache_dir / f"{expected}.pth"
    if final.is_file():
        if sha256_file(final) == expected:
            return Fetched(final, None)
        final.unlink()
    try:
        return _fetch_from_mirrors(artifact, expected, cache_dir, bar)
    finally:
        bar.end()
        with contextlib.suppress(OSError):  # only succeeds when nothing was left in it
            cache_dir.rmdir()


def _fetch_from_mirrors(
    artifact: Artifact, expected: str, cache_dir: Path, bar: ProgressBar
) -> Fetched:
    final = cache_dir / f"{expected}.pth"
    part = cache_dir / f"{expected}.part"
    failures: list[str] = []
    for url in artifact.urls:
        try:
            _from_mirror(url, part, artifact, bar)
        except DownloadError as exc:
            failures.append(f"{_where(url)}: {exc}")
            continue
        actual = sha256_file(part)
        if actual != expected:
            part.unlink()
            failures.append(
                f"{_where(url)}: sha256 mismatch (got {actual[:12]}…, "
                f"expected {expected[:12]}…), download deleted"
            )
            continue
        os.replace(part, final)
        return Fetched(final, url)
    raise DownloadError("; ".join(failures))
