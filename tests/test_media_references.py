"""Which rows reference a media key: what the gallery makes public (all that `/media/<key>`
serves), and the scheduler's sweep of files no row references (a process died between writing
and recording them), which go once they are an hour old while referenced and fresh ones stay.
On a real media folder, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import select, update

from bot.media import MediaStore
from bot.pages.thumbnails import ThumbnailMaker
from bot.scheduler import housekeeping_tasks
from bot.services import SERVICES
from db.engine import Database, connect
from db.gallery import explain
from db.media import REFERENCES, is_public, media_in_use
from db.migrate import upgrade
from db.models import Result
from tests.conftest import MakeApp
from tests.gallery_seed import seed_item
from tests.service_process import photo_bytes

TWO_HOURS = 2 * 3600


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


async def test_unreferenced_files_older_than_an_hour_are_deleted(make_app: MakeApp) -> None:
    app = await make_app(channels=["web"], run_worker=False, intake=False)
    services = app.client.app[SERVICES]
    media = services.media
    item = await seed_item(app.db, media)
    assert await ThumbnailMaker(services).make_missing(5) == 1
    referenced = {p for p in media.root.rglob("*") if p.is_file()}
    assert len(referenced) == 5  # result, original, two thumbnails, the re-encoded original

    orphan = media.path(media.put(photo_bytes(1), "jpg"))
    fresh_orphan = media.path(media.put(photo_bytes(2), "jpg"))
    reused = media.path(media.put(photo_bytes(3), "jpg"))
    half_written = orphan.parent / ".incoming-abc123"
    half_written.write_bytes(b"\xff\xd8 cut off")
    for path in [*referenced, orphan, reused, half_written]:
        age(path, TWO_HOURS)
    media.put(photo_bytes(3), "jpg")  # stored again just now (a new upload of the same bytes)

    sweep = {task.name: task for task in housekeeping_tasks(services)}["sweep-unreferenced-media"]
    await sweep.run()
    left = {p for p in media.root.rglob("*") if p.is_file()}
    assert left == referenced | {fresh_orphan, reused}
    assert media.exists(item.media) and item.input_media and media.exists(item.input_media)
    await sweep.run()  # nothing more to do
    assert {p for p in media.root.rglob("*") if p.is_file()} == left


async def test_only_what_a_visible_gallery_item_shows_is_public(
    database: Database, tmp_path: Path
) -> None:
    media = MediaStore(tmp_path / "media")
    shown = await seed_item(database, media)
    private = await seed_item(database, media, pair=1, gallery=False)
    hidden = await seed_item(database, media, pair=2)
    async with database.sessions.begin() as session:
        await session.execute(
            update(Result)
            .where(Result.id == shown.id)
            .values(thumb_webp="t" * 64 + ".webp", thumb_jpeg="t" * 64 + ".jpg")
        )
        await session.execute(update(Result).where(Result.id == hidden.id).values(hidden=True))
    for key in (shown.media, "t" * 64 + ".webp", "t" * 64 + ".jpg"):
        assert await is_public(database, key), key
    for key in (shown.input_media, private.media, private.input_media, hidden.media, "x.jpg"):
        assert key is not None and not await is_public(database, key), key
    keys = {shown.media, private.input_media or "", "unknown.jpg"}
    assert await media_in_use(database, keys) == keys - {"unknown.jpg"}


async def test_the_reference_lookups_read_indexes(tmp_path: Path) -> None:
    db = connect(f"sqlite+aiosqlite:///{tmp_path}/colorbot.db")
    await upgrade(db)
    try:
        for column in REFERENCES:
            plan = " ".join(await explain(db, select(column).where(column.in_(["a", "b"]))))
            assert "USING COVERING INDEX" in plan, (column, plan)
    finally:
        await db.close()
