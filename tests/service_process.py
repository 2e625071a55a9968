"""Run `colorbot serve` / `colorbot worker` as real subprocesses for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from bot.media import MediaStore
from db.engine import Database
from db.jobs import NewJob, QueueLimits, enqueue_job
from tests.postgres import free_port

ROOT = Path(__file__).resolve().parents[1]


def service_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "TELEGRAM_"))}
    env.update(
        COLORBOT_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        COLORBOT_HOST="127.0.0.1",
        PORT=str(free_port()),
        INFERENCE_THREADS="1",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start(command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    stream = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", command],
        cwd=ROOT,
        env=env,
        stdout=stream,
        stderr=subprocess.STDOUT,
    )


def wait_ready(env: dict[str, str], process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    url = f"http://127.0.0.1:{env['PORT']}/readyz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s")


def photo_bytes(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    """A distinct colourful JPEG per seed (so content-addressed media keys differ)."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 6.28, size=3)
    channels = [127 + 120 * np.sin(x / (31 + 7 * c) + y / 43 + phase[c]) for c in range(3)]
    image = np.clip(np.dstack(channels), 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return encoded.tobytes()


async def enqueue_web_jobs(db: Database, media: MediaStore, count: int, *, prefix: str) -> None:
    limits = QueueLimits(max_queue=100_000, user_jobs_per_hour=100_000)
    for index in range(count):
        key = media.put(photo_bytes(index), "jpg")
        new = NewJob(
            channel="web",
            event_id=f"{prefix}-{index}",
            operation="filter",
            filter_name="Lo-Fi",
            user_external_id="load-test",
            source={"media": key},
            input_media=key,
        )
        await enqueue_job(db, new, limits)
