"""indexes on every column that holds a media key

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

`GET /media/{key}` asks whether a visible gallery item shows the key (only those are served
without a signed link), and the hourly sweep of unreferenced media files asks which of a batch
of keys any row references: both are index lookups with these, not table scans.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_jobs_input_media", "jobs", "input_media"),
    ("ix_results_media", "results", "media"),
    ("ix_results_input_media", "results", "input_media"),
    ("ix_results_thumb_webp", "results", "thumb_webp"),
    ("ix_results_thumb_jpeg", "results", "thumb_jpeg"),
    ("ix_results_before_display", "results", "before_display"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
