"""gallery item page image, daily end-to-end latency

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

`results.before_display`: the original re-encoded for the gallery's item page (no metadata,
at most 1600 px), made with the thumbnails. `latency_days`: p50/p95 end-to-end seconds per
day over all jobs (usage_days keeps them per channel, operation and filter, which cannot be
merged into one day's percentiles).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("before_display", sa.String(length=80), nullable=True))
    op.create_table(
        "latency_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("p50_seconds", sa.Float(), nullable=True),
        sa.Column("p95_seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("latency_days")
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_column("before_display")
