"""video and GIF jobs: what a job's input is, its progress, what a result is

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08

`jobs.input_kind` ("photo", "video", "gif"; every existing job is a photo) and the index a
worker whose clip slots are full claims photos by; `jobs.progress`, `eta_seconds`,
`progress_at`: a clip's progress as its worker last reported it. `results.media_kind`,
`mime_type`, `duration_seconds` and `poster` (a JPEG frame of a clip, indexed like every
column that holds a media key). `usage_days.clips` and `clip_seconds`: the stats page's video
jobs and seconds of footage.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("input_kind", sa.String(length=8), server_default="photo", nullable=False)
        )
        batch_op.add_column(sa.Column("progress", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("eta_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("progress_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_jobs_claim_kind", ["status", "input_kind", "id"], unique=False)
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("media_kind", sa.String(length=8), server_default="photo", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "mime_type", sa.String(length=32), server_default="image/jpeg", nullable=False
            )
        )
        batch_op.add_column(sa.Column("duration_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("poster", sa.String(length=80), nullable=True))
        batch_op.create_index("ix_results_poster", ["poster"], unique=False)
    with op.batch_alter_table("usage_days", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clips", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("clip_seconds", sa.Float(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_days", schema=None) as batch_op:
        batch_op.drop_column("clip_seconds")
        batch_op.drop_column("clips")
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index("ix_results_poster")
        batch_op.drop_column("poster")
        batch_op.drop_column("duration_seconds")
        batch_op.drop_column("mime_type")
        batch_op.drop_column("media_kind")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_claim_kind")
        batch_op.drop_column("progress_at")
        batch_op.drop_column("eta_seconds")
        batch_op.drop_column("progress")
        batch_op.drop_column("input_kind")
