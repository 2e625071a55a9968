"""Videos and GIFs through `POST /api/v1/jobs` and `GET /api/v1/jobs/{id}` on the real app
(real SQLite, real models, real PyAV), every live response checked against the served OpenAPI
document: MP4, MOV, WebM and GIF told by content, progress while a clip runs, the result and
its poster, and each refusal (over a limit, by how much; not a video) with nothing stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.media import MediaStore
from bot.services import SERVICES
from inference.video import VideoEngine
from tests.api_contract import ApiContract
from tests.clip_helpers import grey, grey_gif, grey_video, leftovers
from tests.test_video_errors import cut_in_half
from tests.video_builders import AudioSpec, panning, read_clip, write_audio_only, write_video
from tests.web_app import Client, MakeClient, app_clients, get_job, owner, wait_for_job

JOBS = "/api/v1/jobs"


@pytest.fixture
async def make_client(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[MakeClient]:
    async with app_clients(aiohttp_client, tmp_path) as make:
        yield make


async def contract_of(client: Client) -> ApiContract:
    return ApiContract(await (await client.get("/api/v1/openapi.json")).json())


def clip_form(path: Path, content_type: str = "application/octet-stream", **fields: str) -> Any:
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("image", path.read_bytes(), filename=path.name, content_type=content_type)
    return form


async def submit(client: Client, contract: ApiContract, form: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post(JOBS, data=form)
    body = await response.json()
    contract.check("POST", JOBS, response.status, response.headers, body)
    return response.status, body


def stored_files(client: Client) -> list[Path]:
    media: MediaStore = client.app[SERVICES].media
    return [p for p in media.root.rglob("*") if p.is_file()]


async def test_a_gif_upload_reports_progress_and_comes_back_a_gif(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client()
    services = client.app[SERVICES]
    # Progress after every chunk of frames (the service reports at most once a second), so
    # the polls below see it part-way however fast this machine is.
    services.video = VideoEngine(
        services.pipeline.colorizer,
        services.pipeline.filters,
        services.video.compute,
        services.video_limits,
        progress_every_s=0.0,
    )
    contract = await contract_of(client)
    gif = grey_gif(tmp_path / "anim.bin", frames=60, size=(160, 120))  # the name says nothing
    status, accepted = await submit(client, contract, clip_form(gif))
    assert status == 202, accepted
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 180
    while True:
        job = await get_job(client, contract, accepted["status_url"], owner(accepted))
        seen.append(job)
        if job["status"] in ("done", "failed"):
            break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.03)
    assert job["status"] == "done", job
    assert job["input_kind"] == "gif" and job["result_type"] == "image/gif"
    assert job["progress"] == {"fraction": 1.0, "eta_seconds": 0.0}
    assert job["duration"] == pytest.approx(6.0)
    assert job["poster_url"].endswith(".jpg") and job["result_url"].endswith(".gif")
    running = [j["progress"] for j in seen if j["status"] == "running" and j["progress"]]
    assert running, [j["status"] for j in seen]  # the running clip's progress was shown
    assert any(0 < p["fraction"] < 1 for p in running), running  # part-way, not only 0 or 1
    assert [p["fraction"] for p in running] == sorted(p["fraction"] for p in running)
    for url, kind in ((job["result_url"], "image/gif"), (job["poster_url"], "image/jpeg")):
        response = await client.get(url)
        assert response.status == 200 and response.content_type == kind
    result = await client.get(job["result_url"])
    played = tmp_path / "result.gif"
    played.write_bytes(await result.read())
    assert read_clip(played).frames == 60
    assert leftovers(client.app[SERVICES].media) == []
    # Someone without the token sees the progress, not the pictures.
    stranger = await get_job(client, contract, accepted["status_url"])
    assert stranger["result_url"] is None and stranger["poster_url"] is None


@pytest.mark.parametrize(
    ("name", "container", "codec", "audio", "extension"),
    [
        ("clip.mp4", None, "libx264", AudioSpec(), "mp4"),
        ("clip.mov", "mov", "libx264", AudioSpec(), "mov"),
        ("clip.webm", "webm", "libvpx-vp9", AudioSpec(codec="libopus"), "webm"),
    ],
)
async def test_mp4_mov_and_webm_are_taken_by_content_and_come_back_as_mp4_with_sound(
    make_client: MakeClient,
    tmp_path: Path,
    name: str,
    container: str | None,
    codec: str,
    audio: AudioSpec,
    extension: str,
) -> None:
    client = await make_client()
    contract = await contract_of(client)
    clip = write_video(
        tmp_path / name,
        grey(panning(12, 64, 48)),
        fps=6,
        container_format=container,
        codec=codec,
        audio=audio,
    )
    status, accepted = await submit(client, contract, clip_form(clip, "image/jpeg"))
    assert status == 202, accepted
    job = await wait_for_job(client, contract, accepted)
    assert job["status"] == "done", job
    assert job["input_kind"] == "video" and job["result_type"] == "video/mp4"
    assert job["input_url"].endswith(f".{extension}")
    result = tmp_path / "result.mp4"
    result.write_bytes(await (await client.get(job["result_url"])).read())
    facts = read_clip(result)
    assert (facts.codec, facts.frames, facts.audio_codec) == ("h264", 12, "aac")
    assert job["duration"] == pytest.approx(2.0, abs=0.05)


async def test_a_clip_over_a_limit_is_refused_by_how_much_and_nothing_is_stored(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client(MAX_VIDEO_SECONDS="2", MAX_VIDEO_BYTES="30000")
    contract = await contract_of(client)
    long = grey_video(tmp_path / "long.mp4", frames=30, fps=10, audio=False)
    status, body = await submit(client, contract, clip_form(long))
    assert status == 413, body
    assert body["error"].startswith("That clip is too long (3 s, 1 s over the 2 s limit)")
    big = grey_video(tmp_path / "big.mp4", frames=20, size=(320, 240), fps=10, seed=3)
    assert big.stat().st_size > 30_000
    status, body = await submit(client, contract, clip_form(big))
    assert status == 413, body
    assert (
        "That video is too large (" in body["error"] and "over the 0.03 MB limit" in (body["error"])
    )
    assert stored_files(client) == []


@pytest.mark.parametrize("case", ["audio only", "cut off", "text"])
async def test_a_file_that_is_no_clip_gets_one_clear_message_and_nothing_is_stored(
    make_client: MakeClient, tmp_path: Path, case: str
) -> None:
    client = await make_client()
    contract = await contract_of(client)
    if case == "audio only":
        path = write_audio_only(tmp_path / "sound.m4a")
        expected = "sound but no picture"
    elif case == "cut off":
        path = cut_in_half(grey_video(tmp_path / "whole.mp4", frames=20))
        expected = "cut off"
    else:
        path = tmp_path / "notes.mp4"
        path.write_text("not a video at all\n" * 100)
        expected = "That file isn't a photo or a video. Please send a photo"
    status, body = await submit(client, contract, clip_form(path, "video/mp4"))
    assert status == 400, body
    assert expected in body["error"], body
    assert stored_files(client) == []
