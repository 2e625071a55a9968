"""The real app behind a test client, for the web channel's and the pages' tests, and polling
a job through the API as its submitter.

One `PhotoPipeline` (filters loaded, and baked on first use) is shared by every app in the test
process; each app gets its own data dir and SQLite file.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import close_services, create_app, open_services
from bot.metrics import Metrics
from bot.services import Services, load_pipeline
from bot.settings import Settings
from inference.pipeline import PhotoPipeline
from tests.api_contract import ApiContract

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


@functools.cache
def shared_pipeline() -> PhotoPipeline:
    """The filters and the embedded colourisation model (when installed), loaded once."""
    return load_pipeline(Settings.from_env({}), Metrics())


@asynccontextmanager
async def app_clients(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[MakeClient]:
    """`make(run_worker=True, **env)` -> a client of a fresh app; `env` adds settings."""
    opened: list[tuple[Client, Services]] = []

    async def make(run_worker: bool = True, **env: str) -> Client:
        data_dir = tmp_path / f"data{len(opened)}"
        data_dir.mkdir()
        settings = Settings.from_env(
            {
                "COLORBOT_DATA_DIR": str(data_dir),
                "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir}/colorbot.db",
                "USER_JOBS_PER_HOUR": "1000",
                **env,
            }
        )
        services = await open_services(settings, shared_pipeline())
        app = create_app(services, run_worker=run_worker, channel_names=["web"])
        client: Client = await aiohttp_client(app)
        opened.append((client, services))
        return client

    try:
        yield make
    finally:
        for client, services in reversed(opened):
            await client.close()  # stops the scheduler and the worker first
            await close_services(services)


def owner(accepted: dict[str, Any]) -> dict[str, str]:
    """The header that shows a job's pictures: its token from the upload's answer."""
    return {"Authorization": f"Bearer {accepted['token']}"}


async def get_job(
    client: Client, contract: ApiContract, url: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = await client.get(url, headers=headers)
    body = await response.json()
    contract.check("GET", "/api/v1/jobs/{id}", response.status, response.headers, body)
    assert response.status == 200, body
    result: dict[str, Any] = body
    return result


async def wait_for_job(
    client: Client, contract: ApiContract, accepted: dict[str, Any]
) -> dict[str, Any]:
    """Poll as the submitter until the job is done or failed."""
    deadline = time.monotonic() + 120
    while True:
        job = await get_job(client, contract, accepted["status_url"], owner(accepted))
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after 120 s"
        await asyncio.sleep(0.1)
