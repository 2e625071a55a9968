"""Runs one claimed job: fetch the photo or clip, do the work, store the result, reply once
(the work itself: `bot.photo_jobs`, `bot.clip_jobs`; the reply: `bot.delivery`).

This is the one place errors reach the user: a `UserError` becomes exactly one message on the
job's channel; `RetryLater` and unexpected errors put the job back with backoff until its
attempts are used up, then the user gets one apology.
"""

from __future__ import annotations

import asyncio
import logging
import random

from bot.clip_jobs import process_clip
from bot.delivery import observe_done
from bot.photo_jobs import process_photo
from bot.services import Services
from core.errors import RetryLater, UserError
from db import jobs as queue
from db.models import InputKind, Job
from handlers.platform import Platform

log = logging.getLogger(__name__)

GIVE_UP_MESSAGE = (
    "Sorry, something went wrong on my side and I couldn't finish your photo. "
    "Please try again later."
)
GIVE_UP_CLIP_MESSAGE = GIVE_UP_MESSAGE.replace("your photo", "your video")


def give_up_message(job: Job) -> str:
    return GIVE_UP_CLIP_MESSAGE if job.input_kind in InputKind.CLIPS else GIVE_UP_MESSAGE


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
        await _fail(services, channel, job, worker_id, "gave_up", give_up_message(job))
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
            if job.input_kind in InputKind.CLIPS:
                await process_clip(services, channel, job, worker_id)
            else:
                await process_photo(services, channel, job, worker_id)
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
        await _fail(services, channel, job, worker_id, "gave_up", give_up_message(job))
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
                observe_done(services, job, "failed")
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
    observe_done(services, job, "failed")
