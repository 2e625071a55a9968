"""The web channel's HTTP API end to end, through the real app (real SQLite, real filters), with
every live response checked against the served OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from bot.services import SERVICES
from inference.images import decode_image
from tests.api_contract import ApiContract
from tests.image_builders import png_declaring
from tests.web_app import Client, MakeClient, app_clients, get_job, wait_for_job

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
JOBS = "/api/v1/jobs"
JOB = "/api/v1/jobs/{id}"
OPENAPI = "/api/v1/openapi.json"


@pytest.fixture
async def make_client(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[MakeClient]:
    async with app_clients(aiohttp_client, tmp_path) as make:
        yield make


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()


@pytest.fixture
async def contract(client: Client) -> ApiContract:
    response = await client.get(OPENAPI)
    assert response.status == 200
    return ApiContract(await response.json())


def upload(
    image: bytes | None,
    filename: str = "photo.png",
    content_type: str = "image/png",
    **fields: str,
) -> aiohttp.FormData:
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        form.add_field(name, value)
    if image is not None:
        form.add_field("image", image, filename=filename, content_type=content_type)
    return form


async def post_job(
    client: Client, contract: ApiContract, form: aiohttp.FormData, **headers: str
) -> tuple[int, dict[str, Any], Any]:
    response = await client.post(JOBS, data=form, headers=headers)
    body = await response.json()
    contract.check("POST", JOBS, response.status, response.headers, body)
    return response.status, body, response.headers


async def test_document_is_valid_openapi_31(client: Client) -> None:
    response = await client.get(OPENAPI)
    assert response.status == 200
    assert response.content_type == "application/json"
    document = await response.json()
    assert document["openapi"].startswith("3.1")
    validate_openapi(document)
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


async def test_every_api_route_is_documented_and_exists(client: Client) -> None:
    document = await (await client.get(OPENAPI)).json()
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    served = {
        (route.method, route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
    }
    assert served == documented


async def test_filter_job_end_to_end(client: Client, contract: ApiContract) -> None:
    photo = (TESTDATA / "coffee_color.png").read_bytes()
    status, accepted, headers = await post_job(
        client, contract, upload(photo, operation="filter", filter="lofi", share="true")
    )
    assert status == 202
    assert accepted["status"] == "queued"
    assert headers["Location"] == accepted["status_url"] == f"{JOBS}/{accepted['id']}"
    job = await wait_for_job(client, contract, accepted)
    assert job["status"] == "done", job
    assert (job["operation"], job["filter"], job["error"]) == ("filter", "Lo-Fi", None)
    assert job["position"] is None

    result = await client.get(job["result_url"])
    assert result.status == 200
    assert result.content_type == "image/jpeg"
    assert result.headers["Cache-Control"].startswith("public, max-age=31536000")  # shared
    assert result.headers["X-Content-Type-Options"] == "nosniff"
    filtered = decode_image(await result.read())
    original = decode_image(photo)
    assert filtered.shape == original.shape == (400, 600, 3)
    difference = np.abs(filtered.astype(np.int16) - original.astype(np.int16)).mean()
    assert difference > 3, f"Lo-Fi barely changed the photo (mean |diff| {difference:.2f})"

    uploaded = await client.get(job["input_url"])
    assert uploaded.status == 200
    assert uploaded.content_type == "image/png"
    assert uploaded.headers["Cache-Control"].startswith("private, max-age=")  # an original
    assert await uploaded.read() == photo


async def test_colorize_job_or_a_clear_refusal(client: Client, contract: ApiContract) -> None:
    grey = (TESTDATA / "chelsea_grey.png").read_bytes()
    status, body, _ = await post_job(client, contract, upload(grey, operation="colorize"))
    if not client.app[SERVICES].pipeline.can_colorize:
        assert status == 400
        assert "Colourising isn't available" in body["error"]
        return
    assert status == 202
    job = await wait_for_job(client, contract, body)
    assert job["status"] == "done", job
    assert (job["operation"], job["filter"]) == ("colorize", None)
    result = decode_image(await (await client.get(job["result_url"])).read())
    assert result.shape == (300, 451, 3)
    channels = result.astype(np.int16)
    assert np.abs(channels[..., 2] - channels[..., 0]).mean() > 2, "result is still grey"


BAD_UPLOADS: dict[str, tuple[Callable[[], aiohttp.FormData], int, str]] = {
    "no-file": (lambda: upload(None, operation="filter", filter="Lo-Fi"), 400, "attach a photo"),
    "empty": (lambda: upload(b"", filter="Lo-Fi"), 400, "empty"),
    "text": (
        lambda: upload(b"words\n" * 20, "a.txt", "text/plain", filter="Lo-Fi"),
        400,
        "isn't a photo",
    ),
    "huge-png": (lambda: upload(png_declaring(60000, 60000), filter="Lo-Fi"), 413, "too"),
    "unknown-filter": (lambda: upload(png_declaring(64, 64), filter="lofy"), 400, "Did you mean"),
    "bad-operation": (
        lambda: upload(png_declaring(64, 64), operation="sharpen", filter="Lo-Fi"),
        400,
        "`operation` must be",
    ),
    "no-filter": (
        lambda: upload(png_declaring(64, 64), operation="filter"),
        400,
        "choose a filter",
    ),
    "file-in-another-field": (lambda: file_named("photo"), 400, "named `image` (this one"),
}


def file_named(field: str) -> aiohttp.FormData:
    """A photo sent under another form field name than the API's `image`."""
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("operation", "colorize")
    form.add_field(field, png_declaring(64, 64), filename="a.png", content_type="image/png")
    return form


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
async def test_plainly_bad_upload_is_refused_at_once(
    client: Client, contract: ApiContract, case: str
) -> None:
    build, status, message = BAD_UPLOADS[case]
    got, body, _ = await post_job(client, contract, build())
    assert got == status, body
    assert message in body["error"], body
    assert not list((client.app[SERVICES].media.root).rglob("*.*")), "a refused upload was stored"


async def test_failed_job_reports_the_friendly_message(
    client: Client, contract: ApiContract
) -> None:
    # The header is fine (so the upload is accepted) but the pixel data is cut short.
    status, accepted, _ = await post_job(
        client, contract, upload(png_declaring(64, 64), filter="Moon")
    )
    assert status == 202
    job = await wait_for_job(client, contract, accepted)
    assert job["status"] == "failed", job
    assert job["result_url"] is None
    assert "Traceback" not in job["error"] and len(job["error"]) < 300
    assert "photo" in job["error"] or "picture" in job["error"] or "image" in job["error"]


async def test_not_multipart_is_400(client: Client, contract: ApiContract) -> None:
    response = await client.post(JOBS, json={"image": "x"})
    body = await response.json()
    contract.check("POST", JOBS, response.status, response.headers, body)
    assert response.status == 400
    assert "multipart/form-data" in body["error"]


async def test_file_over_the_byte_limit_is_413(make_client: MakeClient) -> None:
    client = await make_client(MAX_IMAGE_BYTES="2048")
    contract = ApiContract(await (await client.get(OPENAPI)).json())
    photo = (TESTDATA / "coffee_color.png").read_bytes()
    status, body, _ = await post_job(client, contract, upload(photo, filter="Lo-Fi"))
    assert status == 413
    assert "too large" in body["error"]


async def test_unknown_job_and_unknown_media_are_404(client: Client, contract: ApiContract) -> None:
    response = await client.get(f"{JOBS}/no-such-job")
    body = await response.json()
    contract.check("GET", JOB, response.status, response.headers, body)
    assert response.status == 404
    assert body == {"error": "There is no such job."}
    for key in ("0" * 64 + ".jpg", "not-a-key.jpg", "..%2F..%2Fcolorbot.db"):
        assert (await client.get(f"/media/{key}")).status == 404


async def test_idempotency_key_dedupes(client: Client, contract: ApiContract) -> None:
    photo = png_declaring(64, 64)
    first = await post_job(
        client, contract, upload(photo, filter="Lo-Fi"), **{"Idempotency-Key": "k1"}
    )
    again = await post_job(
        client, contract, upload(photo, filter="Lo-Fi"), **{"Idempotency-Key": "k1"}
    )
    other = await post_job(
        client, contract, upload(photo, filter="Lo-Fi"), **{"Idempotency-Key": "k2"}
    )
    assert first[0] == again[0] == other[0] == 202
    assert first[1]["id"] == again[1]["id"]
    assert other[1]["id"] != first[1]["id"]


async def test_rate_limit_is_429_with_retry_after(make_client: MakeClient) -> None:
    client = await make_client(run_worker=False, USER_JOBS_PER_HOUR="1")
    contract = ApiContract(await (await client.get(OPENAPI)).json())
    photo = png_declaring(64, 64)
    assert (await post_job(client, contract, upload(photo, filter="Lo-Fi")))[0] == 202
    status, body, headers = await post_job(client, contract, upload(photo, filter="Moon"))
    assert status == 429, body
    assert int(headers["Retry-After"]) > 0
    # The limit counts every job, photo or clip, and the message says so.
    assert "sent 1 photo or video in the last hour" in body["error"], body


async def test_full_queue_is_503_with_retry_after(make_client: MakeClient) -> None:
    client = await make_client(run_worker=False, MAX_QUEUE="1")
    contract = ApiContract(await (await client.get(OPENAPI)).json())
    photo = png_declaring(64, 64)
    status, queued, _ = await post_job(client, contract, upload(photo, filter="Lo-Fi"))
    assert (status, queued["position"]) == (202, 1)
    job = await get_job(client, contract, queued["status_url"])
    assert (job["status"], job["position"], job["result_url"]) == ("queued", 1, None)
    status, body, headers = await post_job(client, contract, upload(photo, filter="Moon"))
    assert status == 503, body
    assert headers["Retry-After"] == "300"
