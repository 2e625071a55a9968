"""Photo latency while a clip is being processed, against the same photos with nothing else
running, in the same run: `python -m benchmarks.bench_clip_latency [--photos N] [--seconds S]`.

The real app (web channel, its in-process worker: WORKER_CONCURRENCY photo loops and one clip
slot, VIDEO_CONCURRENCY=1) on loopback; photos (1 MP, colourised, which shares the model with
the clip; and Lo-Fi) are uploaded one at a time through `POST /api/v1/jobs` and followed
until done. Latency is each job's end-to-end time as the service records it (`total_seconds`:
from its acceptance to its reply). Three blocks: photos alone, photos while a 720p clip of
S seconds is colourised (only those that finished before the clip did count), photos alone
again; the ratio compares the middle block's p50/p95 with the two outer blocks together.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from benchmarks.channel_timing import channel_app, one_mp_jpeg
from benchmarks.video_clips import long_720p
from bot.services import load_video_engine
from db import jobs as queue
from db.maintenance import percentile
from db.models import JobStatus

CLIPS = Path(__file__).resolve().parents[1] / "artifacts" / "bench_video" / "clips"
PHOTOS = (
    ("colourise", "colorize", None, "astronaut_grey.png"),
    ("Lo-Fi", "filter", "Lo-Fi", "astronaut_color.png"),
)


async def upload(client: TestClient[Any, Any], data: bytes, name: str, **fields: str) -> Any:
    form = aiohttp.FormData()
    form.add_field("image", data, filename=name)
    for key, value in fields.items():
        form.add_field(key, value)
    response = await client.post("/api/v1/jobs", data=form)
    assert response.status == 202, await response.text()
    return await response.json()


async def photo_latency(
    client: TestClient[Any, Any], services: Any, jpeg: bytes, operation: str, name: str | None
) -> float:
    fields = {"operation": operation, **({"filter": name} if name else {})}
    accepted = await upload(client, jpeg, "photo.jpg", **fields)
    job = await queue.get_job_by_public_id(services.db, accepted["id"])
    assert job is not None
    while True:
        job = await queue.get_job(services.db, job.id)
        assert job is not None
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            assert job.status == JobStatus.DONE, job.error_message
            assert job.total_seconds is not None
            return job.total_seconds
        await asyncio.sleep(0.005)


def line(title: str, seconds: list[float]) -> str:
    p50 = percentile(seconds, 0.5) or 0.0
    p95 = percentile(seconds, 0.95) or 0.0
    return f"    {title:<22} n={len(seconds):3d}  p50 {p50 * 1e3:7.1f} ms  p95 {p95 * 1e3:7.1f} ms"


async def run(photos: int, clip_seconds: int, threads: int) -> None:
    CLIPS.mkdir(parents=True, exist_ok=True)
    clip = await asyncio.to_thread(long_720p, CLIPS, clip_seconds)
    clip_bytes = await asyncio.to_thread(clip.read_bytes)
    env = {"WORKER_CONCURRENCY": "2", "VIDEO_CONCURRENCY": "1"}
    async with channel_app("web", env, threads) as (client, services):
        served = services.video
        for idle, how in ((True, "SCHED_IDLE (as served)"), (False, "nice 19 (as photos)")):
            services.video = load_video_engine(services.pipeline, services.video_limits, idle=idle)
            print(f"clip threads at {how}:")
            try:
                for case in PHOTOS:
                    await measure(client, services, case, (clip_bytes, clip_seconds), photos)
            finally:
                await asyncio.to_thread(services.video.compute.close)
        services.video = served


async def measure(
    client: TestClient[Any, Any],
    services: Any,
    case: tuple[str, str, str | None, str],
    clip: tuple[bytes, int],
    photos: int,
) -> None:
    title, operation, name, photo = case
    if operation == "colorize" and not services.pipeline.can_colorize:
        print(f"  {title}: skipped, no colourisation model is installed")
        return
    jpeg = one_mp_jpeg(photo)
    for _ in range(3):  # warm-up
        await photo_latency(client, services, jpeg, operation, name)
    before = [await photo_latency(client, services, jpeg, operation, name) for _ in range(photos)]
    accepted = await upload(client, clip[0], "clip.mp4")
    clip_job = await queue.get_job_by_public_id(services.db, accepted["id"])
    assert clip_job is not None
    await started_work(services, clip_job.id)
    during: list[float] = []
    started = time.perf_counter()
    for _ in range(photos):
        seconds = await photo_latency(client, services, jpeg, operation, name)
        job = await queue.get_job(services.db, clip_job.id)
        if job is None or job.status != JobStatus.RUNNING:
            break  # the clip was done before this photo: it does not count
        during.append(seconds)
    spent = time.perf_counter() - started
    clip_done = await wait_done(services, clip_job.id)
    after = [await photo_latency(client, services, jpeg, operation, name) for _ in range(photos)]
    alone = before + after
    print(f"  {title} (1 MP), a {clip[1]} s 720p clip colourised meanwhile:")
    print(line("alone (baseline)", alone))
    print(line("while the clip runs", during))
    for what, fraction in (("p50", 0.5), ("p95", 0.95)):
        ratio = (percentile(during, fraction) or 0) / (percentile(alone, fraction) or 1)
        print(f"    ratio {what} {ratio:5.2f}")
    print(
        f"    clip: {clip_done:.1f} s end to end ({clip[1] / clip_done:.2f}x real time), "
        f"{len(during)} photos in {spent:.1f} s beside it; median photo alone "
        f"{statistics.median(alone) * 1e3:.0f} ms"
    )


async def started_work(services: Any, job_id: int) -> None:
    """Until the clip reports progress (it is past probing, into its frames)."""
    while True:
        job = await queue.get_job(services.db, job_id)
        if job is None or job.progress is not None:
            return
        await asyncio.sleep(0.05)


async def wait_done(services: Any, job_id: int) -> float:
    while True:
        job = await queue.get_job(services.db, job_id)
        assert job is not None
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            assert job.status == JobStatus.DONE, job.error_message
            return float(job.total_seconds or 0.0)
        await asyncio.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=30, help="photos per block")
    parser.add_argument("--seconds", type=int, default=20, help="the clip's length")
    parser.add_argument("--threads", type=int, default=0, help="INFERENCE_THREADS")
    args = parser.parse_args()
    asyncio.run(run(args.photos, args.seconds, args.threads))


if __name__ == "__main__":
    main()
