"""biometric enrollment: attempts, sealed templates, adjudication cases, gallery journal

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gallery_journal",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_gallery_journal")),
    )
    with op.batch_alter_table("gallery_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gallery_journal_ref"), ["ref"], unique=False)

    op.create_table(
        "enrollment_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("demographics", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("best_llr", sa.Float(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('issued', 'refused', 'pending', 'merged')", name=op.f("ck_enrollment_attempts_status")
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"], ["persons.id"], name=op.f("fk_enrollment_attempts_duplicate_of_persons")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_enrollment_attempts_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_attempts")),
    )
    with op.batch_alter_table("enrollment_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrollment_attempts_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrollment_attempts_status"), ["status"], unique=False)

    op.create_table(
        "adjudication_cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("candidate_ref", sa.String(length=32), nullable=False),
        sa.Column("fused_llr", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("decision", sa.String(length=9), nullable=True),
        sa.Column("adjudicator", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('same', 'different')",
            name=op.f("ck_adjudication_cases_decision"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'decided', 'closed')", name=op.f("ck_adjudication_cases_status")
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["enrollment_attempts.id"],
            name=op.f("fk_adjudication_cases_attempt_id_enrollment_attempts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjudication_cases")),
    )
    with op.batch_alter_table("adjudication_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adjudication_cases_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_adjudication_cases_status"), ["status"], unique=False)

    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("slot", sa.String(length=8), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("algorithm", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Float(), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "person_id IS NOT NULL OR attempt_id IS NOT NULL", name=op.f("ck_templates_owner")
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["enrollment_attempts.id"],
            name=op.f("fk_templates_attempt_id_enrollment_attempts"),
        ),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_templates_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("uid", name=op.f("uq_templates_uid")),
    )
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_templates_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_templates_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_templates_person_id"))
        batch_op.drop_index(batch_op.f("ix_templates_attempt_id"))

    op.drop_table("templates")
    with op.batch_alter_table("adjudication_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adjudication_cases_status"))
        batch_op.drop_index(batch_op.f("ix_adjudication_cases_attempt_id"))

    op.drop_table("adjudication_cases")
    with op.batch_alter_table("enrollment_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollment_attempts_status"))
        batch_op.drop_index(batch_op.f("ix_enrollment_attempts_person_id"))

    op.drop_table("enrollment_attempts")
    with op.batch_alter_table("gallery_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gallery_journal_ref"))

    op.drop_table("gallery_journal")
