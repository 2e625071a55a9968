"""One photo job's work: fetch (or take the bytes already fetched), store the original, run
the pipeline, store the JPEG, reply once (`bot.delivery`)."""

from __future__ import annotations

import asyncio

from bot.delivery import deliver
from bot.services import Services
from db import jobs as queue
from db.models import Job
from handlers.platform import Platform, Reply
from inference.images import decode_image, encode_jpeg, probe_image


async def process_photo(
    services: Services, channel: Platform, job: Job, worker_id: str, data: bytes | None = None
) -> None:
    """`data`: the photo, when the runner already has it (a clip job whose file turned out to
    be a still picture); else the channel fetches it."""
    if data is None:
        data = await channel.fetch_input(job)
    if job.input_media is None:
        info = probe_image(data, services.image_limits)
        key = await asyncio.to_thread(services.media.put_image, data, info.format)
        await queue.update_job_fields(services.db, job.id, input_media=key)
        job.input_media = key
    compute = services.pipeline.compute
    photo = await compute.run(decode_image, data, services.image_limits)
    outcome = await services.pipeline.run(job.operation, job.filter_name, photo)
    services.metrics.inference.labels(job.operation).observe(outcome.seconds)
    jpeg = await compute.run(encode_jpeg, outcome.bgr)
    media_key = await asyncio.to_thread(services.media.put, jpeg, "jpg")
    size = probe_image(jpeg, services.image_limits)
    result_id = queue.new_public_id()
    reply = Reply(
        image=jpeg,
        media_key=media_key,
        width=size.width,
        height=size.height,
        operation=job.operation,
        filter_name=job.filter_name,
        colourised=outcome.colourised,
        had_colour=outcome.had_colour,
        seconds=outcome.seconds,
        result_id=result_id,
    )
    result = queue.NewResult(
        media=media_key,
        input_media=job.input_media,
        width=size.width,
        height=size.height,
        bytes=len(jpeg),
        gallery=job.share or channel.shares_by_default(job),
        public_id=result_id,
    )
    await deliver(
        services, channel, job, worker_id, reply, result, inference_seconds=outcome.seconds
    )
