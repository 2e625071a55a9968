"""Videos and GIFs in the gallery, through the real app: a shared clip job's item gets a
thumbnail from poster frames and a plain copy of its original (re-encoded, without the
upload's metadata) to show beside it; its card is a looping muted preview with the
before/after toggle, its page the Before / After stage; what it shows is public, the uploaded
file itself is not."""

from __future__ import annotations

import re
from pathlib import Path

import av

from bot.pages.thumbnails import ThumbnailMaker
from bot.services import SERVICES
from db.models import InputKind, JobStatus
from db.results import get_result_for_job
from tests.clip_helpers import enqueue_clip, grey_gif, grey_video, leftovers, wait_finished
from tests.conftest import MakeApp
from tests.video_builders import read_clip

PLACE = "+48.8584+002.2945/"


async def test_a_shared_video_is_a_looping_preview_with_its_original_beside_it(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = await make_app(channels=["web"], intake=False)
    services = app.client.app[SERVICES]
    media = services.media
    clip = grey_video(
        tmp_path / "phone.mov", frames=30, container_format="mov", metadata={"location": PLACE}
    )
    with av.open(str(clip)) as container:
        assert container.metadata.get("location") == PLACE  # the upload says where it was shot
    job = await enqueue_clip(app.db, media, clip, event_id="shared-video", share=True)
    assert (await wait_finished(app.db, job.id)).status == JobStatus.DONE
    assert await ThumbnailMaker(services).make_missing(5) == 1
    result = await get_result_for_job(app.db, job.id)
    assert result is not None and result.before_display is not None
    assert result.before_display.endswith(".mp4") and result.before_display != result.input_media
    before = media.path(result.before_display)
    facts = read_clip(before)
    assert (facts.codec, facts.frames, facts.audio_codec) == ("h264", 30, None)
    with av.open(str(before)) as container:
        assert "location" not in container.metadata
    assert leftovers(media) == []

    page = await (await app.client.get("/gallery")).text()
    card = page[page.index(f'id="item-{result.public_id}"') :].split("</li>")[0]
    assert 'class="shot has-before is-clip"' in card
    after_video = re.search(r'<video class="shot-clip-media shot-clip-after" src="([^"]+)"', card)
    before_video = re.search(r'<video class="shot-clip-media shot-clip-before" src="([^"]+)"', card)
    assert after_video and after_video.group(1) == f"/media/{result.media}"
    assert before_video and before_video.group(1) == f"/media/{result.before_display}"
    assert f'poster="/media/{result.poster}"' in card and "muted loop playsinline" in card
    assert 'class="shot-toggle"' in card and "Video · 3 s" in card
    for key, kind in (
        (result.media, "video/mp4"),
        (result.before_display, "video/mp4"),
        (result.poster, "image/jpeg"),
        (result.thumb_webp, "image/webp"),
    ):
        response = await app.client.get(f"/media/{key}")
        assert response.status == 200 and response.content_type == kind, key
    assert (await app.client.get(f"/media/{result.input_media}")).status == 404  # the upload

    item = await (await app.client.get(f"/gallery/{result.public_id}")).text()
    assert f'data-result="/media/{result.media}"' in item
    assert f'data-before="/media/{result.before_display}"' in item
    assert 'data-type="video/mp4"' in item and 'id="clip-after"' in item
    assert '<meta property="og:video" content="http://127.0.0.1' in item
    assert "<dt>Video</dt><dd>3 s, 96x64</dd>" in item


async def test_a_shared_gif_shows_as_images(make_app: MakeApp, tmp_path: Path) -> None:
    app = await make_app(channels=["web"], intake=False)
    services = app.client.app[SERVICES]
    gif = grey_gif(tmp_path / "loop.gif", frames=10)
    job = await enqueue_clip(
        app.db, services.media, gif, event_id="shared-gif", kind=InputKind.GIF, share=True
    )
    assert (await wait_finished(app.db, job.id)).status == JobStatus.DONE
    assert await ThumbnailMaker(services).make_missing(5) == 1
    result = await get_result_for_job(app.db, job.id)
    assert result is not None and result.before_display is not None
    assert result.before_display.endswith(".gif")
    assert read_clip(services.media.path(result.before_display)).frames == 10
    page = await (await app.client.get("/gallery")).text()
    card = page[page.index(f'id="item-{result.public_id}"') :].split("</li>")[0]
    assert f'<img class="shot-clip-media shot-clip-after" src="/media/{result.media}"' in card
    assert (
        f'<img class="shot-clip-media shot-clip-before" src="/media/{result.before_display}"'
        in (card)
    )
    assert "<video" not in card and "GIF · 1 s" in card
