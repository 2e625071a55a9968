"""Queries on results (the pictures jobs made)."""

from __future__ import annotations

from sqlalchemy import select

from db.engine import Database
from db.models import Result


async def get_result_for_job(db: Database, job_id: int) -> Result | None:
    async with db.sessions() as session:
        return await session.scalar(select(Result).where(Result.job_id == job_id))


async def get_result(db: Database, public_id: str) -> Result | None:
    async with db.sessions() as session:
        return await session.scalar(select(Result).where(Result.public_id == public_id))
