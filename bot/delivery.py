"""The end of every successful job, photo or clip: store the result and commit that its reply
is starting (one transaction), send it once, mark the job done; and the metrics of a finished
job."""

from __future__ import annotations

from bot.services import Services
from core.errors import UserError
from db import jobs as queue
from db.models import Job, utcnow
from handlers.platform import Platform, Reply


async def deliver(
    services: Services,
    channel: Platform,
    job: Job,
    worker_id: str,
    reply: Reply,
    result: queue.NewResult,
    *,
    inference_seconds: float,
) -> None:
    """Reply at most once: when an earlier attempt already started a reply (it may have
    arrived), the result is stored and nothing is sent (`queue.begin_reply`). A `UserError`
    from `send_result` means the channel sent nothing (say, X refused or failed to process
    the upload): the result is withdrawn and the error goes up, to be sent as the reply."""
    await services.intake.make_way()
    stored = await queue.begin_reply(services.db, job, worker_id, result)
    try:
        message_id = await channel.send_result(job, reply) if stored is not None else None
    except UserError:
        await queue.withdraw_reply(services.db, job, worker_id)
        raise
    await services.intake.make_way()
    await queue.complete_job(
        services.db,
        job,
        worker_id,
        result=None,
        reply_message_id=message_id,
        inference_seconds=inference_seconds,
    )
    observe_done(services, job, "done")


def observe_done(services: Services, job: Job, outcome: str) -> None:
    services.metrics.jobs.labels(job.channel, job.operation, outcome).inc()
    if job.started_at is not None:
        services.metrics.queue_wait.observe((job.started_at - job.created_at).total_seconds())
    elapsed = (utcnow() - job.created_at).total_seconds()
    services.metrics.end_to_end.labels(job.channel, job.operation).observe(elapsed)
