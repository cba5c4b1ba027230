"""the sharing gateway's requests: partners' URLs, signature nonces, requests with their
decisions (sealed probes and answers), officers' approvals, the exchange logs and their
cosigned checkpoints, anti-fishing flags, customs cargo inspections (with their seizures and the
push queue to partners); the officer and customs roles for API keys

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


_ROLES = "'registrar', 'verifier', 'investigator', 'adjudicator', 'auditor', 'admin', 'partner'"


def _key_roles(roles: str) -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_api_keys_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_api_keys_role"), f"role IN ({roles})")


def upgrade() -> None:
    _key_roles(_ROLES + ", 'officer', 'customs'")
    # audit subjects name partners (partner:<id of up to 63>) and cargo, not only persons
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column(
            "subject", existing_type=sa.String(length=40), type_=sa.String(length=100), existing_nullable=True
        )
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("url", sa.String(length=300), nullable=True))
    op.create_table(
        "gateway_nonces",
        sa.Column("partner_id", sa.String(length=63), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_gateway_nonces_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("partner_id", "nonce", name=op.f("pk_gateway_nonces")),
    )
    with op.batch_alter_table("gateway_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_nonces_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "gateway_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=63), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=63), nullable=False),
        sa.Column("case_ref", sa.String(length=200), nullable=False),
        sa.Column("rung_asked", sa.Integer(), nullable=False),
        sa.Column("rung", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("withheld", sa.JSON(), nullable=False),
        sa.Column("agreement_id", sa.String(length=63), nullable=True),
        sa.Column("agreement_version", sa.Integer(), nullable=True),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("embargo_until", sa.Date(), nullable=True),
        sa.Column("probe", sa.LargeBinary(), nullable=True),
        sa.Column("answer", sa.LargeBinary(), nullable=True),
        sa.Column("log_seq", sa.Integer(), nullable=True),
        sa.Column("probe_digest", sa.String(length=64), nullable=True),
        sa.Column("hit", sa.Boolean(), nullable=True),
        sa.Column("probe_kept_until", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'answered', 'denied')", name=op.f("ck_gateway_requests_status")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_gateway_requests_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_requests")),
    )
    with op.batch_alter_table("gateway_requests", schema=None) as batch_op:
        batch_op.create_index("ix_gateway_requests_quota", ["partner_id", "operation", "day"], unique=False)
        batch_op.create_index("ix_gateway_requests_status", ["status", "received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_requests_probe_digest"), ["probe_digest"], unique=False)
    op.create_table(
        "gateway_approvals",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("decision IN ('approve', 'deny')", name=op.f("ck_gateway_approvals_decision")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["gateway_requests.id"],
            name=op.f("fk_gateway_approvals_request_id_gateway_requests"),
        ),
        sa.PrimaryKeyConstraint("request_id", "actor", name=op.f("pk_gateway_approvals")),
    )
    op.create_table(
        "exchange_entries",
        sa.Column("partner_id", sa.String(length=63), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_exchange_entries_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("partner_id", "seq", name=op.f("pk_exchange_entries")),
    )
    op.create_table(
        "exchange_checkpoints",
        sa.Column("partner_id", sa.String(length=63), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("side IN ('ours', 'theirs')", name=op.f("ck_exchange_checkpoints_side")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_exchange_checkpoints_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("partner_id", "side", "size", name=op.f("pk_exchange_checkpoints")),
    )
    op.create_table(
        "gateway_flags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=63), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_by", sa.String(length=200), nullable=True),
        sa.Column("clear_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('repeated-probe', 'repeated-subject', 'enumeration')",
            name=op.f("ck_gateway_flags_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_gateway_flags_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_flags")),
    )
    with op.batch_alter_table("gateway_flags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gateway_flags_open", ["partner_id", "operation", "kind", "cleared_at"], unique=False
        )
    op.create_table(
        "customs_inspections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("container", sa.String(length=11), nullable=True),
        sa.Column("bill_of_lading", sa.String(length=35), nullable=True),
        sa.Column("air_waybill", sa.String(length=11), nullable=True),
        sa.Column("hs_codes", sa.JSON(), nullable=False),
        sa.Column("port_of_loading", sa.String(length=5), nullable=False),
        sa.Column("port_of_entry", sa.String(length=5), nullable=False),
        sa.Column("departed_on", sa.Date(), nullable=True),
        sa.Column("arrived_on", sa.Date(), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("seals", sa.JSON(), nullable=False),
        sa.Column("risk_reason", sa.String(length=32), nullable=False),
        sa.Column("risk_text", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("source_partner", sa.String(length=63), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "risk_reason IN ('intelligence', 'random', 'documentary-inconsistency', 'x-ray-anomaly', "
            "'canine-alert', 'origin-risk', 'value-anomaly', 'other')",
            name=op.f("ck_customs_inspections_risk_reason"),
        ),
        sa.CheckConstraint(
            "outcome IN ('cleared', 'held', 'seized')", name=op.f("ck_customs_inspections_outcome")
        ),
        sa.CheckConstraint(
            "container IS NOT NULL OR bill_of_lading IS NOT NULL OR air_waybill IS NOT NULL",
            name=op.f("ck_customs_inspections_transport"),
        ),
        sa.CheckConstraint(
            "(source_partner IS NULL) = (source_id IS NULL)", name=op.f("ck_customs_inspections_source")
        ),
        sa.ForeignKeyConstraint(
            ["source_partner"], ["partners.id"], name=op.f("fk_customs_inspections_source_partner_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customs_inspections")),
        sa.UniqueConstraint(
            "source_partner", "source_id", name=op.f("uq_customs_inspections_source_partner")
        ),
    )
    with op.batch_alter_table("customs_inspections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customs_inspections_container"), ["container"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_customs_inspections_bill_of_lading"), ["bill_of_lading"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_customs_inspections_air_waybill"), ["air_waybill"], unique=False)
        batch_op.create_index("ix_customs_inspections_outcome", ["outcome", "inspected_on"], unique=False)
    op.create_table(
        "customs_seizures",
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "category IN ('drugs', 'firearms', 'ammunition', 'currency', 'other')",
            name=op.f("ck_customs_seizures_category"),
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["customs_inspections.id"],
            name=op.f("fk_customs_seizures_inspection_id_customs_inspections"),
        ),
        sa.PrimaryKeyConstraint("inspection_id", "position", name=op.f("pk_customs_seizures")),
    )
    op.create_table(
        "customs_pushes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(length=63), nullable=False),
        sa.Column("agreement_id", sa.String(length=63), nullable=False),
        sa.Column("agreement_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_id", sa.String(length=36), nullable=True),
        sa.Column("receipt_sha256", sa.String(length=64), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'refused', 'cancelled')", name=op.f("ck_customs_pushes_status")
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["customs_inspections.id"],
            name=op.f("fk_customs_pushes_inspection_id_customs_inspections"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_customs_pushes_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customs_pushes")),
        sa.UniqueConstraint("inspection_id", "partner_id", name=op.f("uq_customs_pushes_inspection_id")),
    )
    with op.batch_alter_table("customs_pushes", schema=None) as batch_op:
        batch_op.create_index("ix_customs_pushes_status", ["status", "partner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customs_pushes", schema=None) as batch_op:
        batch_op.drop_index("ix_customs_pushes_status")
    op.drop_table("customs_pushes")
    op.drop_table("customs_seizures")
    with op.batch_alter_table("customs_inspections", schema=None) as batch_op:
        batch_op.drop_index("ix_customs_inspections_outcome")
        batch_op.drop_index(batch_op.f("ix_customs_inspections_air_waybill"))
        batch_op.drop_index(batch_op.f("ix_customs_inspections_bill_of_lading"))
        batch_op.drop_index(batch_op.f("ix_customs_inspections_container"))
    op.drop_table("customs_inspections")
    op.drop_table("gateway_flags")
    op.drop_table("exchange_checkpoints")
    op.drop_table("exchange_entries")
    op.drop_table("gateway_approvals")
    with op.batch_alter_table("gateway_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_requests_probe_digest"))
        batch_op.drop_index("ix_gateway_requests_status")
        batch_op.drop_index("ix_gateway_requests_quota")
    op.drop_table("gateway_requests")
    with op.batch_alter_table("gateway_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_nonces_expires_at"))
    op.drop_table("gateway_nonces")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_column("url")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column(
            "subject", existing_type=sa.String(length=100), type_=sa.String(length=40), existing_nullable=True
        )
    _key_roles(_ROLES)
