"""Content-addressed media files under `<COLORBOT_DATA_DIR>/media`, written atomically.

A key is `<sha256>.<ext>`; the file lives at `media/<2 hex>/<2 hex>/<key>`. Files are written to
a temporary name in the same folder and renamed into place, so nothing half-written is ever
visible under a key, and writing the same bytes twice is free.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tif": "image/tiff",
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


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def is_key(key: str) -> bool:
        return bool(_KEY.match(key))

    def path(self, key: str) -> Path:
        if not self.is_key(key):
            raise ValueError(f"not a media key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes, ext: str) -> str:
        """Store `data`; returns its key. Blocking: call on a thread for big files."""
        if ext not in CONTENT_TYPES:
            raise ValueError(f"unsupported media extension {ext!r}")
        key = f"{hashlib.sha256(data).hexdigest()}.{ext}"
        target = self.path(key)
        if target.exists():
            return key
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
        return self.put(data, FORMAT_EXTENSIONS.get(image_format, "bin"))

    @staticmethod
    def content_type(key: str) -> str:
        return CONTENT_TYPES[key.rsplit(".", 1)[1]]
