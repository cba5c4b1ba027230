"""sealed sample images: the submitted face and finger images of every enrollment attempt

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sample_images",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=8), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_sample_images_size")),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["enrollment_attempts.id"],
            name=op.f("fk_sample_images_attempt_id_enrollment_attempts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_images")),
        sa.UniqueConstraint("attempt_id", "slot", name="uq_sample_images_attempt_slot"),
    )
    with op.batch_alter_table("sample_images", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sample_images_attempt_id"), ["attempt_id"], unique=False)


def downgrade() -> None:
    op.drop_table("sample_images")
