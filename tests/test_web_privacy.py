"""The web API as an attacker meets it, through the real app on 127.0.0.1: an Idempotency-Key
is its client's own, a job's pictures are shown only to its submitter (or when public), private
pictures are served only through signed, expiring links, and a refused upload leaves nothing in
the media store. Two clients are told apart the way a deployment behind a proxy tells them
apart: TRUSTED_PROXIES=127.0.0.1 and a different X-Forwarded-For each."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.media import MediaLinks, MediaStore
from bot.services import SERVICES, Services
from db.gallery import moderate
from db.jobs import get_job_by_public_id
from db.models import Job, JobStatus
from tests.api_contract import ApiContract
from tests.service_process import photo_bytes
from tests.web_app import Client, MakeClient, app_clients, get_job, owner, wait_for_job

JOBS = "/api/v1/jobs"
ALICE = {"X-Forwarded-For": "198.51.100.7"}
MALLORY = {"X-Forwarded-For": "203.0.113.9"}


@pytest.fixture
async def make_client(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[MakeClient]:
    async with app_clients(aiohttp_client, tmp_path) as make:
        yield make


async def contract_of(client: Client) -> ApiContract:
    return ApiContract(await (await client.get("/api/v1/openapi.json")).json())


def services_of(client: Client) -> Services:
    return client.app[SERVICES]


def form(photo: bytes, **fields: str) -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("image", photo, filename="photo.jpg", content_type="image/jpeg")
    data.add_field("filter", fields.pop("filter", "Lo-Fi"))
    for name, value in fields.items():
        data.add_field(name, value)
    return data


async def submit(
    client: Client, contract: ApiContract, photo: bytes, headers: dict[str, str], **fields: str
) -> tuple[int, dict[str, Any]]:
    response = await client.post(JOBS, data=form(photo, **fields), headers=headers)
    body = await response.json()
    contract.check("POST", JOBS, response.status, response.headers, body)
    return response.status, body


async def status(
    client: Client, contract: ApiContract, job_id: str, headers: dict[str, str]
) -> dict[str, Any]:
    return await get_job(client, contract, f"{JOBS}/{job_id}", headers)


def bearer(accepted: dict[str, Any], who: dict[str, str]) -> dict[str, str]:
    return {**who, **owner(accepted)}


def media_key(photo: bytes) -> str:
    """The content address a JPEG upload is (or would be) stored under."""
    return f"{hashlib.sha256(photo).hexdigest()}.jpg"


def stored_files(client: Client) -> set[str]:
    return {path.name for path in services_of(client).media.root.rglob("*") if path.is_file()}


async def test_an_idempotency_key_is_its_clients_own(make_client: MakeClient) -> None:
    client = await make_client(TRUSTED_PROXIES="127.0.0.1")
    contract = await contract_of(client)
    key = {"Idempotency-Key": "upload-1"}  # the kind of key people guess
    code, alice = await submit(client, contract, photo_bytes(1), {**ALICE, **key})
    assert code == 202
    code, mallory = await submit(client, contract, photo_bytes(2), {**MALLORY, **key})
    assert code == 202
    assert mallory["id"] != alice["id"] and mallory["token"] != alice["token"]
    peek = await status(client, contract, alice["id"], bearer(mallory, MALLORY))
    assert peek["input_url"] is None and peek["result_url"] is None

    # Alice's own retry is her job again, with the same token; the same key for another upload
    # is refused rather than quietly answered with the first one.
    code, again = await submit(client, contract, photo_bytes(1), {**ALICE, **key})
    assert (code, again["id"], again["token"]) == (202, alice["id"], alice["token"])
    code, other = await submit(client, contract, photo_bytes(3), {**ALICE, **key})
    assert code == 422 and "Idempotency-Key" in other["error"]
    code, other = await submit(client, contract, photo_bytes(1), {**ALICE, **key}, filter="Moon")
    assert code == 422
    assert media_key(photo_bytes(3)) not in stored_files(client)


async def test_a_jobs_pictures_are_shown_only_to_its_submitter(make_client: MakeClient) -> None:
    client = await make_client()
    contract = await contract_of(client)
    services = services_of(client)
    code, accepted = await submit(client, contract, photo_bytes(4), {})
    assert code == 202
    job = await wait_for_job(client, contract, accepted)
    assert job["status"] == "done", job
    assert job["gallery_url"] is None  # not shared
    _, second = await submit(client, contract, photo_bytes(5), {})
    for headers in (
        {},
        {"Authorization": "Bearer " + "A" * 24},
        {"Authorization": accepted["token"]},  # not a bearer token
        owner(second),  # another job's token
    ):
        seen = await status(client, contract, accepted["id"], headers)
        assert seen["status"] == "done"
        assert (seen["result_url"], seen["input_url"]) == (None, None), headers

    # The submitter's links are signed and expire; the plain key is not served at all.
    result_key = job["result_url"].rsplit("/", 1)[1]
    input_key = job["input_url"].rsplit("/", 1)[1]
    assert input_key == media_key(photo_bytes(4))
    for url in (job["result_url"], job["input_url"]):
        response = await client.get(url)
        assert response.status == 200
        assert response.headers["Cache-Control"].startswith("private, max-age=")
        assert "immutable" not in response.headers["Cache-Control"]
    assert await (await client.get(job["input_url"])).read() == photo_bytes(4)
    grant = job["result_url"].split("/")[2]
    expires, signature = grant.split(".")
    for url in (
        f"/media/{result_key}",
        f"/media/{input_key}",
        f"/media/{grant}/{input_key}",  # a link for one picture opens no other
        f"/media/{int(expires) + 3600}.{signature}/{result_key}",  # a later expiry
        f"/media/{expires}.{'A' * len(signature)}/{result_key}",
        MediaLinks(services.signer, clock=lambda: time.time() - 3 * 86400).private(result_key),
    ):
        assert (await client.get(url)).status == 404, url


async def test_a_shared_result_is_public_but_its_original_is_not(make_client: MakeClient) -> None:
    client = await make_client()
    contract = await contract_of(client)
    services = services_of(client)
    _, accepted = await submit(client, contract, photo_bytes(6), {}, share="true")
    job = await wait_for_job(client, contract, accepted)
    assert job["status"] == "done" and job["gallery_url"] is not None
    public = await status(client, contract, accepted["id"], {})
    assert public["result_url"] == job["result_url"] and public["input_url"] is None
    shown = await client.get(public["result_url"])
    assert shown.status == 200 and "public" in shown.headers["Cache-Control"]
    input_key = job["input_url"].rsplit("/", 1)[1]
    assert (await client.get(f"/media/{input_key}")).status == 404  # originals: never plain

    gallery_id = job["gallery_url"].rsplit("/", 1)[1]
    assert await moderate(services.db, gallery_id, hidden=True) is not None
    hidden = await status(client, contract, accepted["id"], {})
    assert (hidden["result_url"], hidden["gallery_url"]) == (None, None)
    assert (await client.get(public["result_url"])).status == 404
    mine = await status(client, contract, accepted["id"], owner(accepted))
    assert (await client.get(mine["result_url"])).status == 200  # still the submitter's


@pytest.mark.parametrize(
    ("env", "refused"),
    [
        ({"USER_JOBS_PER_HOUR": "1"}, 429),
        ({"MAX_QUEUE": "1"}, 503),
    ],
)
async def test_a_refused_upload_leaves_nothing_stored(
    make_client: MakeClient, env: dict[str, str], refused: int
) -> None:
    client = await make_client(run_worker=False, **env)
    contract = await contract_of(client)
    code, _ = await submit(client, contract, photo_bytes(7), {})
    assert code == 202
    assert stored_files(client) == {media_key(photo_bytes(7))}
    for seed in (8, 9, 10):
        code, body = await submit(client, contract, photo_bytes(seed), {})
        assert code == refused, body
    assert stored_files(client) == {media_key(photo_bytes(7))}


async def test_a_photo_that_could_not_be_stored_fails_its_job_once_clearly(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job is accepted before the photo is written. If writing it fails (disk full; or the
    process dies right there), the client gets a 500, the worker waits a moment for the file
    that never comes, and the job fails with one friendly message: nothing hangs, nothing is
    left in the media store."""
    client = await make_client()

    def disk_full(self: MediaStore, data: bytes, ext: str) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(MediaStore, "put", disk_full)
    failed = await client.post(JOBS, data=form(photo_bytes(11)))
    (await contract_of(client)).check(
        "POST", JOBS, failed.status, failed.headers, await failed.json()
    )
    assert failed.status == 500
    assert "Traceback" not in (await failed.json())["error"]
    [job] = await all_jobs(services_of(client))
    deadline = time.monotonic() + 60
    while (found := await get_job_by_public_id(services_of(client).db, job.public_id)) is not None:
        if found.status == JobStatus.FAILED:
            break
        assert time.monotonic() < deadline, found.status
        await asyncio.sleep(0.1)
    assert found is not None and found.error_message is not None
    assert "upload the photo again" in found.error_message
    assert stored_files(client) == set()


async def all_jobs(services: Services) -> list[Job]:
    async with services.db.sessions() as session:
        return list((await session.scalars(select(Job))).all())


async def test_job_ids_cannot_be_walked(make_client: MakeClient) -> None:
    client = await make_client(run_worker=False)
    contract = await contract_of(client)
    ids = [(await submit(client, contract, photo_bytes(20 + n), {}))[1]["id"] for n in range(3)]
    assert len(set(ids)) == 3 and all(len(job_id) >= 16 for job_id in ids)
    for guess in ("1", "2", ids[0][:-1] + ("A" if ids[0][-1] != "A" else "B")):
        response = await client.get(f"{JOBS}/{guess}")
        assert response.status == 404, guess
