"""The app's own routes: health, readiness, metrics, media, the error renderer."""

from __future__ import annotations

from tests.conftest import MakeApp
from tests.gallery_seed import seed_item


async def test_health_ready_and_metrics(make_app: MakeApp) -> None:
    app = await make_app(channels=["web"])
    health = await app.client.get("/healthz")
    assert health.status == 200 and (await health.json())["status"] == "alive"
    ready = await app.client.get("/readyz")
    body = await ready.json()
    assert ready.status == 200, body
    assert body["filters"] == 40 and body["channels"] == ["web"]
    metrics = await app.client.get("/metrics")
    text = await metrics.text()
    assert metrics.status == 200 and metrics.content_type == "text/plain"
    for name in (
        "colorbot_jobs_total",
        "colorbot_queue_depth",
        "colorbot_queue_wait_seconds",
        "colorbot_inference_seconds",
        "colorbot_end_to_end_seconds",
        "colorbot_batch_size",
        "colorbot_channel_api_errors_total",
    ):
        assert f"# TYPE {name}" in text, name


async def test_readyz_fails_when_the_database_is_behind(make_app: MakeApp) -> None:
    app = await make_app(channels=["web"], run_worker=False, intake=False)
    async with app.db.engine.begin() as connection:
        await connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'old'")
    ready = await app.client.get("/readyz")
    body = await ready.json()
    assert ready.status == 503
    assert body["problems"] and "needs" in body["problems"][0]


async def test_media_keys_are_validated_and_unknown_pages_get_the_404_page(
    make_app: MakeApp,
) -> None:
    app = await make_app(channels=["web"], run_worker=False, intake=False)
    item = await seed_item(app.db, app.services.media)
    found = await app.client.get(f"/media/{item.media}")
    assert found.status == 200 and found.content_type == "image/jpeg"
    assert "immutable" in found.headers["Cache-Control"]
    for path in ("/media/../../etc/passwd", "/media/" + "0" * 64 + ".jpg", "/no/such/page"):
        missing = await app.client.get(path)
        assert missing.status == 404, path
        assert "text/html" in missing.headers["Content-Type"]
    api_missing = await app.client.get("/api/v1/nothing-here")
    assert api_missing.status == 404 and "error" in await api_missing.json()
