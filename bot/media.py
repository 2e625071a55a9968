"""Content-addressed media files under `<COLORBOT_DATA_DIR>/media`, written atomically, and
the links they are served by.

A key is `<sha256>.<ext>`; the file lives at `media/<2 hex>/<2 hex>/<key>`. Files are written to
a temporary name in the same folder and renamed into place, so nothing half-written is ever
visible under a key, and writing the same bytes twice is free (it only refreshes the file's
time, which the sweep of unreferenced files goes by).

Clips are big, so they go through files, never whole in memory: work in progress lives in the
store's scratch folder (`media/scratch/<name>/`, on the same file system, so `put_file` moves
a finished file into the store with one rename); a folder there is removed by whoever made it
when done, and by the hourly sweep once nothing in it has been touched for an hour (what a
killed process left).

Links: a public picture (in the gallery) is `/media/<key>`; any other is served only through a
signed link that expires, `/media/<expires>.<signature>/<key>` (see `MediaLinks`).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.signing import Signer

CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "bin": "application/octet-stream",
}
# The media extension for each format `inference.images.probe_image` reports.
FORMAT_EXTENSIONS = {
    "JPEG": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "BMP": "bmp",
    "TIFF": "tif",
}
_KEY = re.compile(r"^[0-9a-f]{64}\.(" + "|".join(CONTENT_TYPES) + r")$")


SCRATCH = "scratch"
_HASH_CHUNK = 1 << 20


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.scratch_root = root / SCRATCH
        root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def is_key(key: str) -> bool:
        return bool(_KEY.match(key))

    def path(self, key: str) -> Path:
        if not self.is_key(key):
            raise ValueError(f"not a media key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    @staticmethod
    def key_for(data: bytes, ext: str) -> str:
        """The key `data` is (or would be) stored under; stores nothing."""
        if ext not in CONTENT_TYPES:
            raise ValueError(f"unsupported media extension {ext!r}")
        return f"{hashlib.sha256(data).hexdigest()}.{ext}"

    def put(self, data: bytes, ext: str) -> str:
        """Store `data`; returns its key. Blocking: call on a thread for big files."""
        key = self.key_for(data, ext)
        target = self.path(key)
        try:
            os.utime(target)  # already stored: only mark it as just used
            return key
        except FileNotFoundError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    @staticmethod
    def key_for_file(path: Path, ext: str) -> str:
        """The key the file at `path` is (or would be) stored under. Blocking."""
        if ext not in CONTENT_TYPES:
            raise ValueError(f"unsupported media extension {ext!r}")
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while block := stream.read(_HASH_CHUNK):
                digest.update(block)
        return f"{digest.hexdigest()}.{ext}"

    def put_file(self, source: Path, ext: str, *, key: str | None = None) -> str:
        """Move the finished file at `source` (in this store's scratch folder, or anywhere
        on the same file system) into the store; returns its key (`key`: the one
        `key_for_file` just gave for it). Blocking: call on a thread. `source` is gone
        afterwards, whether it was stored or already there."""
        key = key or self.key_for_file(source, ext)
        with source.open("rb") as stream:
            os.fsync(stream.fileno())
        target = self.path(key)
        try:
            os.utime(target)
            source.unlink()
            return key
        except FileNotFoundError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        return key

    def scratch(self, name: str) -> Path:
        """An empty scratch folder for one piece of work (e.g. `job-12`), emptied first if
        an earlier, interrupted attempt left something in it. Blocking."""
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise ValueError(f"not a scratch folder name: {name!r}")
        folder = self.scratch_root / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def remove_scratch(self, folder: Path) -> None:
        """Remove a scratch folder made by `scratch` and everything in it. Blocking."""
        if folder.parent != self.scratch_root:
            raise ValueError(f"not a scratch folder: {folder}")
        shutil.rmtree(folder, ignore_errors=True)

    def stale_scratch(self, seconds: float) -> list[Path]:
        """Scratch folders in which nothing was written for `seconds` (a process died mid
        work). Blocking."""
        cutoff = time.time() - seconds
        if not self.scratch_root.is_dir():
            return []
        with os.scandir(self.scratch_root) as entries:
            folders = [Path(entry.path) for entry in entries if entry.is_dir()]
        return [folder for folder in folders if _newest_mtime(folder) < cutoff]

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.is_key(key) and self.path(key).is_file()

    def delete(self, key: str) -> bool:
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def put_image(self, data: bytes, image_format: str) -> str:
        """Store an uploaded image under the extension of its (probed) format."""
        return self.put(data, image_extension(image_format))

    def files_older_than(self, seconds: float) -> Iterator[StoredFile]:
        """Every file (stored media and half-written temporaries) last written or used more
        than `seconds` ago. Blocking: iterate on a thread."""
        cutoff = time.time() - seconds
        for first in _folders(self.root):
            for second in _folders(first):
                with os.scandir(second) as entries:
                    for entry in entries:
                        if entry.is_file() and entry.stat().st_mtime < cutoff:
                            key = entry.name if self.is_key(entry.name) else None
                            yield StoredFile(Path(entry.path), key)

    def delete_if_older_than(self, stored: StoredFile, seconds: float) -> bool:
        """Delete a file found by `files_older_than` unless it was used since (a new upload of
        the same bytes refreshes its time)."""
        try:
            if stored.path.stat().st_mtime >= time.time() - seconds:
                return False
            stored.path.unlink()
        except FileNotFoundError:
            return False
        return True

    @staticmethod
    def content_type(key: str) -> str:
        return CONTENT_TYPES[key.rsplit(".", 1)[1]]


def image_extension(image_format: str) -> str:
    """The media extension of an image format `inference.images.probe_image` reports."""
    return FORMAT_EXTENSIONS.get(image_format, "bin")


@dataclass(frozen=True)
class StoredFile:
    path: Path
    key: str | None  # None: a temporary left by a write that never finished


_STORE_FOLDER = re.compile(r"^[0-9a-f]{2}$")


def _folders(parent: Path) -> list[Path]:
    """The store's own sub-folders of `parent` (two hex digits: not the scratch folder)."""
    if not parent.is_dir():
        return []
    return [
        Path(entry.path)
        for entry in os.scandir(parent)
        if entry.is_dir() and _STORE_FOLDER.match(entry.name)
    ]


def _newest_mtime(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for path in folder.rglob("*"):
        try:
            newest = max(newest, path.stat().st_mtime)
        except FileNotFoundError:
            continue
    return newest


PRIVATE_LINK_SECONDS = 24 * 3600
_LINK_STEP_SECONDS = 3600  # expiry times are whole hours, so repeated links are the same URL


class MediaLinks:
    """URLs of media: plain for public pictures, signed and expiring for private ones. A
    private link is `/media/<expires>.<signature>/<key>`: `expires` is a Unix time, and the
    signature covers the key and that time."""

    def __init__(
        self,
        signer: Signer,
        *,
        seconds: int = PRIVATE_LINK_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._signer = signer
        self._seconds = seconds
        self._clock = clock

    @staticmethod
    def public(key: str) -> str:
        return f"/media/{key}"

    def private(self, key: str) -> str:
        """A link to `key` valid for at least `seconds` (up to an hour more)."""
        expires = math.ceil((self._clock() + self._seconds) / _LINK_STEP_SECONDS)
        expires *= _LINK_STEP_SECONDS
        return f"/media/{expires}.{self._signer.sign('media', f'{key}:{expires}')}/{key}"

    def seconds_left(self, key: str, grant: str) -> int | None:
        """For the `<expires>.<signature>` part of a private link: the seconds it is still
        valid for; None when it is forged, for another key, or expired."""
        expires, _, signature = grant.partition(".")
        if not expires.isdigit() or len(expires) > 12:
            return None
        if not self._signer.verify("media", f"{key}:{expires}", signature):
            return None
        left = int(expires) - int(self._clock())
        return left if left > 0 else None
