"""initial schema: persons, curps, person_history

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("curp", sa.String(length=18), nullable=False),
        sa.Column("given_names", sa.String(length=100), nullable=False),
        sa.Column("first_surname", sa.String(length=100), nullable=False),
        sa.Column("second_surname", sa.String(length=100), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_state", sa.String(length=2), nullable=False),
        sa.Column("nationality", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("merged_into", sa.String(length=18), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(status = 'merged') = (merged_into IS NOT NULL)", name=op.f("ck_persons_merged_into")
        ),
        sa.CheckConstraint("sex IN ('H', 'M')", name=op.f("ck_persons_sex")),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'revoked', 'deceased', 'merged')",
            name=op.f("ck_persons_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("curp", name=op.f("uq_persons_curp")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(
            "ix_persons_names", ["first_surname", "second_surname", "given_names"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_persons_status"), ["status"], unique=False)

    op.create_table(
        "curps",
        sa.Column("curp", sa.String(length=18), nullable=False),
        sa.Column("stem", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_curps_person_id_persons")),
        sa.PrimaryKeyConstraint("curp", name=op.f("pk_curps")),
    )
    with op.batch_alter_table("curps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_curps_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_curps_stem"), ["stem"], unique=False)

    op.create_table(
        "person_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("curp", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_person_history_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_history")),
    )
    with op.batch_alter_table("person_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_history_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("person_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_history_person_id"))

    op.drop_table("person_history")
    with op.batch_alter_table("curps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_curps_stem"))
        batch_op.drop_index(batch_op.f("ix_curps_person_id"))

    op.drop_table("curps")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_status"))
        batch_op.drop_index("ix_persons_names")

    op.drop_table("persons")
