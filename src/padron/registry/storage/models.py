"""SQLAlchemy models of the registry. Every schema change comes with an Alembic migration
(`migrations/versions/`); a test checks that the migrations produce exactly these tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class PersonRow(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    curp: Mapped[str] = mapped_column(String(18), unique=True)
    given_names: Mapped[str] = mapped_column(String(100))
    first_surname: Mapped[str] = mapped_column(String(100))
    second_surname: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    birth_state: Mapped[str] = mapped_column(String(2))
    nationality: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12), index=True)
    merged_into: Mapped[str | None] = mapped_column(String(18))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declarative API
    __table_args__ = (
        CheckConstraint("sex IN ('H', 'M')", name="sex"),
        CheckConstraint(
            "status IN ('active', 'suspended', 'revoked', 'deceased', 'merged')",
            name="status",
        ),
        CheckConstraint("(status = 'merged') = (merged_into IS NOT NULL)", name="merged_into"),
        Index("ix_persons_names", "first_surname", "second_surname", "given_names"),
    )


class CurpRow(Base):
    """Every CURP ever issued, current or retired: a value is never issued twice, and a retired
    CURP (after a correction of the data it derives from) still finds its holder."""

    __tablename__ = "curps"

    curp: Mapped[str] = mapped_column(String(18), primary_key=True)
    stem: Mapped[str] = mapped_column(String(16), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HistoryRow(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "person_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    curp: Mapped[str] = mapped_column(String(18))
    kind: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)


class EnrollmentAttemptRow(Base):
    """Every biometric enrollment request and what became of it."""

    __tablename__ = "enrollment_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    #: the submitted demographics (CurpData fields + nationality), as JSON
    demographics: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: issued | refused | pending | merged
    status: Mapped[str] = mapped_column(String(12), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    best_llr: Mapped[float | None] = mapped_column(Float)
    #: the de-duplication evidence: thresholds, candidates with per-slot scores and LLRs
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("status IN ('issued', 'refused', 'pending', 'merged')", name="status"),)


class TemplateRow(Base):
    """A biometric template, sealed by the vault (AES-256-GCM; ``uid`` is the associated data)."""

    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("enrollment_attempts.id"), index=True)
    slot: Mapped[str] = mapped_column(String(8))
    modality: Mapped[str] = mapped_column(String(16))
    algorithm: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    quality: Mapped[float | None] = mapped_column(Float)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("person_id IS NOT NULL OR attempt_id IS NOT NULL", name="owner"),)


class SampleImageRow(Base):
    """A submitted image (face or finger) of an enrollment attempt, kept for the adjudicator and
    sealed by the vault like the templates: the associated data names the attempt and the slot
    (``image:attempt:<id>/slot:<slot>``), so a row moved to another attempt or slot fails to open."""

    __tablename__ = "sample_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("enrollment_attempts.id"), index=True)
    #: "face" or a finger position "1".."10"
    slot: Mapped[str] = mapped_column(String(8))
    #: e.g. image/png, image/jpeg, image/tiff
    media_type: Mapped[str] = mapped_column(String(64))
    #: bytes of the image (before sealing)
    size: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("attempt_id", "slot", name="uq_sample_images_attempt_slot"),
        CheckConstraint("size > 0", name="size"),
    )


class AdjudicationCaseRow(Base):
    """A grey-zone match between an enrollment attempt and an existing subject, for a human."""

    __tablename__ = "adjudication_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("enrollment_attempts.id"), index=True)
    #: gallery reference of the candidate: "p:<person id>" or "a:<pending attempt id>"
    candidate_ref: Mapped[str] = mapped_column(String(32))
    fused_llr: Mapped[float] = mapped_column(Float)
    #: per-slot raw scores and LLRs, thresholds, and the demographic comparison
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: open | decided | closed (closed: the attempt was resolved by another case)
    status: Mapped[str] = mapped_column(String(8), index=True)
    decision: Mapped[str | None] = mapped_column(String(9))
    adjudicator: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('open', 'decided', 'closed')", name="status"),
        CheckConstraint("decision IS NULL OR decision IN ('same', 'different')", name="decision"),
    )


class GalleryJournalRow(Base):
    """Every change of gallery membership, in order. Written in the same transaction as the
    registry change it reflects; galleries (in any process) replay it to stay in step."""

    __tablename__ = "gallery_journal"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(32), index=True)
    #: add | remove
    op: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class GallerySnapshotRow(Base):
    """One saved state of every gallery (their search form), at a gallery-journal position. Its
    segments are written first, each in its own transaction; the snapshot is usable once
    ``completed_at`` is set, which is written last (so a writer that dies half-way leaves an
    incomplete snapshot that nobody loads and the next writer deletes)."""

    __tablename__ = "gallery_snapshots"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: the galleries' layout: ``<modality>=<layout>`` joined by commas (memory, ray/<shards>)
    layout: Mapped[str] = mapped_column(String(200), index=True)
    #: the journal position every segment covers at least (set when complete)
    position: Mapped[int | None] = mapped_column(Integer)
    segments: Mapped[int] = mapped_column(Integer)
    sealed_bytes: Mapped[int] = mapped_column(BigInteger)
    #: host:pid of the process that wrote it
    written_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class GallerySegmentRow(Base):
    """One part of one gallery shard's saved state (padron.matching.segments layout), sealed by
    the vault; the associated data names the snapshot, modality, layout, shard, part and journal
    position (:func:`padron.registry.segments.segment_context`), so a part moved elsewhere fails
    to open."""

    __tablename__ = "gallery_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[str] = mapped_column(ForeignKey("gallery_snapshots.id"), index=True)
    modality: Mapped[str] = mapped_column(String(16))
    #: memory, or ray/<shards>
    layout: Mapped[str] = mapped_column(String(32))
    shard: Mapped[int] = mapped_column(Integer)
    shards: Mapped[int] = mapped_column(Integer)
    part: Mapped[int] = mapped_column(Integer)
    parts: Mapped[int] = mapped_column(Integer)
    #: the gallery-journal position this shard's state covers
    position: Mapped[int] = mapped_column(Integer)
    #: padron.matching.segments.FORMAT of the plaintext
    format: Mapped[int] = mapped_column(Integer)
    #: bytes of the plaintext part
    size: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("snapshot_id", "modality", "shard", "part", name="uq_gallery_segments_part"),
    )


class AuditEntryRow(Base):
    """One entry of the audit log: its canonical bytes (what is verified and shown) and, beside
    them, the fields queries filter on. Written only by padron.registry.audit.AuditTrail."""

    __tablename__ = "audit_entries"

    #: the entry's index in the log, from 0, without gaps
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    partner: Mapped[str | None] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    #: whose record (``person:<n>``, ``partner:<id>``, ``cargo:<reference>``, ...): up to 100
    subject: Mapped[str | None] = mapped_column(String(100), index=True)
    outcome: Mapped[str] = mapped_column(String(80))
    entry: Mapped[bytes] = mapped_column(LargeBinary)


class AuditCheckpointRow(Base):
    """A signed checkpoint of the audit log (C2SP signed note): the first ``size`` entries hash
    to ``root``; cosignatures by outside authorities are appended to ``note``."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(Integer, index=True)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text)


class ApiKeyRow(Base):
    """A credential of the HTTP API. The token (``pdn_<key_id>_<secret>``) is shown once, at
    creation; only ``secret_hash`` is kept, and a revoked key stays (revoked_at set) for the
    audit trail.

    ``secret_hash`` is the SHA-256 of the secret's text, in hex: the secret is 256 random bits,
    so no guess can be tested against the hash faster than it can be sent to the API -- a slow
    password hash (bcrypt, Argon2) protects low-entropy human passwords and here would only cost
    every request its milliseconds (and make the API easier to overload)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: public lookup id: 12 lowercase base32 characters (a-z, 2-7)
    key_id: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    #: refreshed at most once a minute per key (not a write per request)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: requests per minute; NULL: the API's default
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(
            "role IN ('registrar', 'verifier', 'investigator', 'adjudicator', 'auditor', 'admin', 'partner', "
            "'officer', 'customs')",
            name="role",
        ),
        CheckConstraint("rate_limit_per_minute IS NULL OR rate_limit_per_minute > 0", name="rate_limit"),
        CheckConstraint("(revoked_at IS NULL) = (revoked_by IS NULL)", name="revoked_by"),
        # a name names one usable key; a revoked key's name may be given to its successor
        Index(
            "uq_api_keys_active_name",
            "name",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )


class PartnerRow(Base):
    """A partner agency of the sharing gateway (padron.sharing): a peer known by its key."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    agency: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(3))
    contact: Mapped[str] = mapped_column(String(200))
    #: the raw Ed25519 public key, base64
    public_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: where the partner's own gateway answers (a peer running padron), for our requests to it
    url: Mapped[str | None] = mapped_column(String(300), nullable=True, default=None)

    __table_args__ = (CheckConstraint("status IN ('active', 'suspended')", name="status"),)


class AgreementRow(Base):
    """One version of an agreement with a partner: its terms (JSON) and the Cedar policy they
    compile to, kept as shown to the officers; a new version never replaces an old one."""

    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        CheckConstraint("version >= 1", name="version"),
    )


class GatewayNonceRow(Base):
    """A partner's signature nonce, kept until the signature expires: a replay is refused."""

    __tablename__ = "gateway_nonces"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class GatewayRequestRow(Base):
    """A partner's request and what became of it: the decision with its reasons, the rung
    granted, the probe (sealed, only while an officer has to decide; deleted after the search)
    and the answer (sealed: it may carry core data)."""

    __tablename__ = "gateway_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    operation: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(63))
    case_ref: Mapped[str] = mapped_column(String(200))
    rung_asked: Mapped[int] = mapped_column(Integer)
    rung: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    withheld: Mapped[list[str]] = mapped_column(JSON)
    agreement_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    agreement_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: SHA-256 of the signed request body
    request_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the UTC day the request counts against the daily quota
    day: Mapped[date] = mapped_column(Date)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    embargo_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    probe: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    answer: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: the exchange-log entry of the request's current state (padron.sharing.exchange)
    log_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: a keyed digest of the probe (HMAC under the registry's key: repeats are recognised, the
    #: probe is neither kept nor recoverable from it)
    probe_digest: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    #: whether the answer found someone (the anti-fishing hit rate)
    hit: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: an agreement that retains partners' probes keeps this one (sealed) until this day
    probe_kept_until: Mapped[date | None] = mapped_column(Date, nullable=True)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'answered', 'denied')", name="status"),
        Index("ix_gateway_requests_quota", "partner_id", "operation", "day"),
        Index("ix_gateway_requests_status", "status", "received_at"),
    )


class GatewayApprovalRow(Base):
    """One officer's decision on a pending request (two distinct officers where the agreement
    asks for them: the primary key keeps an officer from counting twice)."""

    __tablename__ = "gateway_approvals"

    request_id: Mapped[str] = mapped_column(ForeignKey("gateway_requests.id"), primary_key=True)
    actor: Mapped[str] = mapped_column(String(200), primary_key=True)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("decision IN ('approve', 'deny')", name="decision"),)


class ExchangeEntryRow(Base):
    """Our exchange log with one partner: one entry per state of its requests that it was told
    (pending, answered, denied), in order; the partner verifies each answer's inclusion and
    cosigns our checkpoints (padron.sharing.exchange)."""

    __tablename__ = "exchange_entries"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExchangeCheckpointRow(Base):
    """A signed checkpoint of an exchange log: ``ours`` (our log with the partner, kept once the
    partner cosigned it) or ``theirs`` (the partner's log with us, cosigned by us)."""

    __tablename__ = "exchange_checkpoints"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    side: Mapped[str] = mapped_column(String(8), primary_key=True)
    size: Mapped[int] = mapped_column(Integer, primary_key=True)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("side IN ('ours', 'theirs')", name="side"),)


class GatewayFlagRow(Base):
    """A pattern in a partner's requests that officers must look at (padron.sharing.vigilance):
    a probe repeated, one person asked about again and again, an enumeration (many requests,
    almost no hits). An open enumeration flag throttles the partner's operation until cleared."""

    __tablename__ = "gateway_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    operation: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cleared_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    clear_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        CheckConstraint("kind IN ('repeated-probe', 'repeated-subject', 'enumeration')", name="kind"),
        Index("ix_gateway_flags_open", "partner_id", "operation", "kind", "cleared_at"),
    )


class CustomsInspectionRow(Base):
    """A cargo inspection (padron.sharing.customs): recorded by this country's customs, or
    received from a partner's customs (``source_partner``, its own id ``source_id``; kept apart:
    never answered to another partner, never pushed on). No personal data: transport references,
    goods by HS code, ports, dates, seals, why it was inspected and what came of it."""

    __tablename__ = "customs_inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: ISO 6346, 11 characters
    container: Mapped[str | None] = mapped_column(String(11), nullable=True, index=True)
    bill_of_lading: Mapped[str | None] = mapped_column(String(35), nullable=True, index=True)
    #: airline prefix and serial, 11 digits
    air_waybill: Mapped[str | None] = mapped_column(String(11), nullable=True, index=True)
    #: 6-digit HS headings and 10-digit Mexican codes (fracción and NICO), as given
    hs_codes: Mapped[list[str]] = mapped_column(JSON)
    port_of_loading: Mapped[str] = mapped_column(String(5))
    port_of_entry: Mapped[str] = mapped_column(String(5))
    departed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    arrived_on: Mapped[date] = mapped_column(Date)
    inspected_on: Mapped[date] = mapped_column(Date)
    #: [{"number": ..., "intact": bool}]
    seals: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    risk_reason: Mapped[str] = mapped_column(String(32))
    risk_text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text)
    #: the partner a received inspection came from (NULL: our own)
    source_partner: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), nullable=True)
    #: the inspection's id at that partner
    source_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "risk_reason IN ('intelligence', 'random', 'documentary-inconsistency', 'x-ray-anomaly', "
            "'canine-alert', 'origin-risk', 'value-anomaly', 'other')",
            name="risk_reason",
        ),
        CheckConstraint("outcome IN ('cleared', 'held', 'seized')", name="outcome"),
        CheckConstraint(
            "container IS NOT NULL OR bill_of_lading IS NOT NULL OR air_waybill IS NOT NULL", name="transport"
        ),
        CheckConstraint("(source_partner IS NULL) = (source_id IS NULL)", name="source"),
        UniqueConstraint("source_partner", "source_id"),
        Index("ix_customs_inspections_outcome", "outcome", "inspected_on"),
    )


class CustomsSeizureRow(Base):
    """What an inspection seized, in order: drugs, firearms, ammunition, currency or other goods,
    with the quantity (decimal text) and its unit (kg, g, l, ml, units, rounds, ISO 4217)."""

    __tablename__ = "customs_seizures"

    inspection_id: Mapped[int] = mapped_column(ForeignKey("customs_inspections.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(8))

    __table_args__ = (
        CheckConstraint(
            "category IN ('drugs', 'firearms', 'ammunition', 'currency', 'other')", name="category"
        ),
    )


class CustomsPushRow(Base):
    """An inspection queued for a partner whose customs agreement pushes held and seized cargo
    (padron.sharing.customs_push), and what became of it: sent (with the partner's signed
    receipt), refused by the partner, or cancelled (the agreement no longer pushes)."""

    __tablename__ = "customs_pushes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("customs_inspections.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    agreement_id: Mapped[str] = mapped_column(String(63))
    agreement_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: the partner's receipt: its id and the SHA-256 of the signed receipt body
    receipt_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    receipt_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reasons: Mapped[list[str]] = mapped_column(JSON)

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'refused', 'cancelled')", name="status"),
        UniqueConstraint("inspection_id", "partner_id"),
        Index("ix_customs_pushes_status", "status", "partner_id"),
    )


class ConsoleSessionRow(Base):
    """A web console session: opened by presenting an API key at the login page, it stands for
    that key (its id, name and role) until it expires or is ended. Only the SHA-256 of the
    session id is kept; the id itself lives in the browser's HttpOnly cookie."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64), index=True)
    key_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: refreshed at most once a minute; a session idle for longer than its idle limit ends
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
