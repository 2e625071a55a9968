"""Runs one claimed job: fetch the photo, do the work, store the result, reply once.

This is the one place errors reach the user: a `UserError` becomes exactly one message on the
job's channel; `RetryLater` and unexpected errors put the job back with backoff until its
attempts are used up, then the user gets one apology.
"""

from __future__ import annotations

import asyncio
import logging
import random

from bot.services import Services
from core.errors import RetryLater, UserError
from db import jobs as queue
from db.models import Job, utcnow
from handlers.platform import Platform, Reply
from inference.images import decode_image, encode_jpeg, probe_image

log = logging.getLogger(__name__)

GIVE_UP_MESSAGE = (
    "Sorry, something went wrong on my side and I couldn't finish your photo. "
    "Please try again later."
)


def backoff_seconds(attempt: int) -> float:
    """2, 4, 8, ... seconds (capped at 5 minutes), with jitter so retries spread out."""
    base: float = min(300.0, 2.0**attempt)
    return base * random.uniform(0.75, 1.25)


async def run_job(services: Services, job: Job, worker_id: str) -> str:
    """Run `job` to an outcome ("done", "failed", "retry", "lost"); never raises for the job's
    own failures."""
    channel = services.channels.get(job.channel)
    if channel is None:
        log.error("job %s: channel %s is not enabled; retrying later", job.id, job.channel)
        await queue.retry_job(
            services.db,
            job,
            worker_id,
            delay_seconds=60,
            reason=f"channel {job.channel} not enabled",
        )
        return "retry"
    if job.attempts > services.settings.job_max_attempts:
        await _fail(services, channel, job, worker_id, "gave_up", GIVE_UP_MESSAGE)
        return "failed"
    if job.reply_started_at is not None and job.replied_at is None:
        # An earlier attempt died while sending: it may have arrived. At most one reply.
        log.warning("job %s: an earlier attempt was cut off mid-reply; not replying again", job.id)
        await queue.complete_job(
            services.db, job, worker_id, result=None, reply_message_id=None, inference_seconds=None
        )
        return "done"
    try:
        async with channel.working(job):
            await _process(services, channel, job, worker_id)
    except UserError as exc:
        log.info("job %s failed for the user (%s): %s", job.id, exc.kind, exc.detail)
        await _fail(services, channel, job, worker_id, exc.kind, exc.user_message)
        return "failed"
    except RetryLater as exc:
        services.metrics.channel_errors.labels(job.channel, "transient").inc()
        await queue.clear_reply_started(services.db, job.id, worker_id)
        return await _retry_or_give_up(services, channel, job, worker_id, exc.reason, exc.delay_s)
    except queue.LeaseLostError:
        log.warning("job %s: lease lost to another worker; dropping this attempt", job.id)
        return "lost"
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("job %s: unexpected error on attempt %d", job.id, job.attempts)
        return await _retry_or_give_up(services, channel, job, worker_id, repr(exc), None)
    return "done"


async def _process(services: Services, channel: Platform, job: Job, worker_id: str) -> None:
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
    await services.intake.make_way()
    stored = await queue.begin_reply(
        services.db,
        job,
        worker_id,
        queue.NewResult(
            media=media_key,
            input_media=job.input_media,
            width=size.width,
            height=size.height,
            bytes=len(jpeg),
            gallery=job.share or channel.shares_by_default(job),
            public_id=result_id,
        ),
    )
    message_id = await channel.send_result(job, reply) if stored is not None else None
    await services.intake.make_way()
    await queue.complete_job(
        services.db,
        job,
        worker_id,
        result=None,
        reply_message_id=message_id,
        inference_seconds=outcome.seconds,
    )
    _observe_done(services, job, "done")


async def _retry_or_give_up(
    services: Services,
    channel: Platform,
    job: Job,
    worker_id: str,
    reason: str,
    delay: float | None,
) -> str:
    if job.attempts >= services.settings.job_max_attempts:
        log.error("job %s: giving up after %d attempts: %s", job.id, job.attempts, reason)
        await _fail(services, channel, job, worker_id, "gave_up", GIVE_UP_MESSAGE)
        return "failed"
    wait = delay if delay is not None else backoff_seconds(job.attempts)
    log.warning(
        "job %s: attempt %d failed (%s); retrying in %.0f s", job.id, job.attempts, reason, wait
    )
    await queue.retry_job(services.db, job, worker_id, delay_seconds=wait, reason=reason)
    return "retry"


async def _fail(
    services: Services, channel: Platform, job: Job, worker_id: str, kind: str, message: str
) -> None:
    message_id = None
    if await queue.mark_reply_started(services.db, job.id, worker_id):
        try:
            message_id = await channel.send_error(job, message)
        except RetryLater as exc:
            if job.attempts >= services.settings.job_max_attempts:
                log.error(
                    "job %s: the platform stayed unreachable; failing it without telling "
                    "the user (%s)",
                    job.id,
                    exc.reason,
                )
                await queue.fail_job(
                    services.db, job, worker_id, kind=kind, message=message, reply_message_id=None
                )
                _observe_done(services, job, "failed")
                return
            # Tell the user later: the job goes back with its error kept for the next try.
            await queue.clear_reply_started(services.db, job.id, worker_id)
            log.warning("job %s: could not send the error message yet: %s", job.id, exc.reason)
            await queue.retry_job(
                services.db,
                job,
                worker_id,
                delay_seconds=exc.delay_s or backoff_seconds(job.attempts),
                reason=f"sending error: {exc.reason}",
            )
            return
    await queue.fail_job(
        services.db, job, worker_id, kind=kind, message=message, reply_message_id=message_id
    )
    _observe_done(services, job, "failed")


def _observe_done(services: Services, job: Job, outcome: str) -> None:
    services.metrics.jobs.labels(job.channel, job.operation, outcome).inc()
    if job.started_at is not None:
        services.metrics.queue_wait.observe((job.started_at - job.created_at).total_seconds())
    elapsed = (utcnow() - job.created_at).total_seconds()
    services.metrics.end_to_end.labels(job.channel, job.operation).observe(elapsed)
