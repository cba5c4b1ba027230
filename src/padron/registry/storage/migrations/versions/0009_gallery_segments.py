"""gallery segments: the galleries' search form saved (sealed) at a journal position, so a
restart loads them in bulk and replays only the journal after it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gallery_snapshots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("layout", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("sealed_bytes", sa.BigInteger(), nullable=False),
        sa.Column("written_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gallery_snapshots")),
    )
    with op.batch_alter_table("gallery_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gallery_snapshots_layout"), ["layout"], unique=False)
    op.create_table(
        "gallery_segments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("snapshot_id", sa.String(length=36), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("layout", sa.String(length=32), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("shards", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["gallery_snapshots.id"],
            name=op.f("fk_gallery_segments_snapshot_id_gallery_snapshots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gallery_segments")),
        sa.UniqueConstraint("snapshot_id", "modality", "shard", "part", name="uq_gallery_segments_part"),
    )
    with op.batch_alter_table("gallery_segments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gallery_segments_snapshot_id"), ["snapshot_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # sealed parts do not compress: store them out of line without trying (TOAST would)
        op.execute("ALTER TABLE gallery_segments ALTER COLUMN sealed SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("gallery_segments")
    op.drop_table("gallery_snapshots")
