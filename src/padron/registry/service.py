"""Use cases of the identity registry: enroll, look up, update, change status, merge, history.

Every change runs in one database transaction together with its history entry, so a change is
either fully recorded or not at all. CURPs are unique by a primary key over every CURP ever issued
(``curps``); the lowest free homonym differentiator is chosen inside the transaction and a
concurrent writer that took the same value makes this one retry with the next free value.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from padron.domain.access import AccessContext
from padron.domain.curp import (
    CurpData,
    Sex,
    build_curp,
    clean_name,
    curp_stem,
    homonym_alphabet,
    normalize_curp,
    parse_birth_date,
    parse_birth_state,
    parse_sex,
)
from padron.domain.errors import (
    ConcurrentUpdateError,
    CurpHomonymError,
    CurpHomonymsExhaustedError,
    MergeTargetError,
    NoChangeError,
    PersonNotFoundError,
    StorageConflictError,
    UnknownFieldError,
)
from padron.domain.person import (
    CURP_FIELDS,
    UPDATABLE_FIELDS,
    ChangeKind,
    HistoryEntry,
    Person,
    PersonDraft,
    Status,
    check_transition,
    parse_nationality,
)
from padron.domain.text import require_actor_reason
from padron.registry.audit import AuditTrail, person_ref
from padron.registry.storage.database import Database, lock_enrollment
from padron.registry.storage.models import CurpRow, GalleryJournalRow, HistoryRow, PersonRow

T = TypeVar("T")

#: how often a write that collided with a concurrent writer is retried before giving up
MAX_ATTEMPTS = 25


def _now() -> datetime:
    return datetime.now(UTC)


def _to_person(row: PersonRow) -> Person:
    return Person(
        id=row.id,
        curp=row.curp,
        given_names=row.given_names,
        first_surname=row.first_surname,
        second_surname=row.second_surname,
        birth_date=row.birth_date,
        sex=Sex(row.sex),
        birth_state=row.birth_state,
        nationality=row.nationality,
        status=Status(row.status),
        merged_into=row.merged_into,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _to_entry(row: HistoryRow) -> HistoryEntry:
    return HistoryEntry(
        id=row.id,
        person_id=row.person_id,
        curp=row.curp,
        kind=ChangeKind(row.kind),
        actor=row.actor,
        reason=row.reason,
        at=row.at,
        changes=dict(row.changes),
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Sex):
        return value.value
    return value


class Registry:
    """The registry's use cases over one database."""

    def __init__(self, database: Database, *, audit: AuditTrail | None = None) -> None:
        self.db = database
        #: every use case writes its audit entry through here, in its own transaction
        self.audit = audit or AuditTrail()

    @classmethod
    def open(cls, url: str, *, migrate: bool = False) -> Registry:
        """Open the registry at ``url``; with ``migrate`` bring its schema up to date first,
        otherwise refuse a database whose schema is missing or old (SchemaNotInitializedError)."""
        database = Database(url)
        if migrate:
            database.migrate()
        else:
            database.require_current_schema()
        return cls(database)

    def close(self) -> None:
        self.db.dispose()

    # --- reads ----------------------------------------------------------------------------------

    def get(self, curp: str, ctx: AccessContext) -> Person:
        """The person who holds ``curp`` now or held it before a correction (a disclosure: audited)."""

        def work(session: Session) -> Person:
            row = self._row_by_curp(session, curp)
            self.audit.record(session, ctx, "person.read", subject=person_ref(row.id))
            return _to_person(row)

        return self.transact(work)

    def find(self, curp: str, ctx: AccessContext) -> Person | None:
        try:
            return self.get(curp, ctx)
        except PersonNotFoundError:
            return None

    def persons(
        self,
        ctx: AccessContext,
        *,
        status: Status | None = None,
        name: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Person]:
        """Persons in enrollment order, optionally by status and by a name fragment; each person
        listed is a disclosure of their record (one audit entry each)."""
        query = select(PersonRow).order_by(PersonRow.id).limit(limit).offset(offset)
        if status is not None:
            query = query.where(PersonRow.status == status.value)
        if name:
            # names are stored NFC and upper case; % and _ in the fragment are literal characters
            fragment = unicodedata.normalize("NFC", " ".join(name.split()).upper())
            escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            query = query.where(
                or_(
                    PersonRow.given_names.like(pattern, escape="\\"),
                    PersonRow.first_surname.like(pattern, escape="\\"),
                    PersonRow.second_surname.like(pattern, escape="\\"),
                )
            )

        def work(session: Session) -> list[Person]:
            found = [_to_person(row) for row in session.scalars(query)]
            for person in found:
                self.audit.record(session, ctx, "person.list", subject=person_ref(person.id))
            return found

        return self.transact(work)

    def count(self, *, status: Status | None = None) -> int:
        query = select(func.count()).select_from(PersonRow)
        if status is not None:
            query = query.where(PersonRow.status == status.value)
        with self.db.read_session() as session:
            return int(session.scalar(query) or 0)

    def history(self, curp: str, ctx: AccessContext) -> list[HistoryEntry]:
        """Every change to the person holding ``curp``, oldest first (audited)."""

        def work(session: Session) -> list[HistoryEntry]:
            row = self._row_by_curp(session, curp)
            rows = session.scalars(
                select(HistoryRow).where(HistoryRow.person_id == row.id).order_by(HistoryRow.id)
            )
            self.audit.record(session, ctx, "person.history", subject=person_ref(row.id))
            return [_to_entry(r) for r in rows]

        return self.transact(work)

    def curps_of(self, curp: str, ctx: AccessContext) -> list[str]:
        """Every CURP the person holding ``curp`` has held, in the order they were issued (audited)."""

        def work(session: Session) -> list[str]:
            row = self._row_by_curp(session, curp)
            self.audit.record(session, ctx, "person.curps", subject=person_ref(row.id))
            return list(
                session.scalars(
                    select(CurpRow.curp).where(CurpRow.person_id == row.id).order_by(CurpRow.issued_at)
                )
            )

        return self.transact(work)

    # --- writes ---------------------------------------------------------------------------------

    def enroll(
        self, draft: PersonDraft, ctx: AccessContext, *, reason: str, homonym: str | None = None
    ) -> Person:
        """Register a new person and issue their CURP (lowest free homonym differentiator unless
        ``homonym`` asks for a specific, free one)."""
        actor, reason = require_actor_reason(ctx.actor, reason)
        nationality = parse_nationality(draft.nationality)

        def work(session: Session) -> Person:
            row = self.create_person(session, draft, nationality, actor, reason, homonym=homonym)
            self.audit.record(session, ctx, "person.create", subject=person_ref(row.id))
            return _to_person(row)

        return self.transact(work)

    def create_person(
        self,
        session: Session,
        draft: PersonDraft,
        nationality: str,
        actor: str,
        reason: str,
        *,
        homonym: str | None = None,
    ) -> PersonRow:
        """Insert a person with a fresh CURP and the creation history entry, in ``session``
        (for use cases that enroll as part of a larger transaction, e.g. de-duplication)."""
        now = _now()
        curp = self._allocate_curp(session, draft.data, requested=homonym)
        row = PersonRow(
            curp=curp,
            given_names=draft.data.given_names,
            first_surname=draft.data.first_surname,
            second_surname=draft.data.second_surname,
            birth_date=draft.data.birth_date,
            sex=draft.data.sex.value,
            birth_state=draft.data.birth_state,
            nationality=nationality,
            status=Status.ACTIVE.value,
            merged_into=None,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        session.add(CurpRow(curp=curp, stem=curp[:16], person_id=row.id, issued_at=now))
        person = _to_person(row)
        created = {k: [None, _json_value(v)] for k, v in person.to_dict().items() if k in _RECORDED}
        self._record(session, row, ChangeKind.CREATED, actor, reason, now, created)
        return row

    def update(
        self,
        curp: str,
        changes: Mapping[str, str | None],
        ctx: AccessContext,
        *,
        reason: str,
        expected_version: int | None = None,
        status: Status | None = None,
    ) -> Person:
        """Correct demographic data. If a field the CURP derives from changes its first 16
        characters, a new CURP is issued and the old one retired (it still finds the person).

        With ``status`` the status changes too, in the same transaction: every argument is
        validated before anything is written, and a refused status change leaves the
        correction unwritten as well (one history entry per part, both or neither)."""
        actor, reason = require_actor_reason(ctx.actor, reason)
        unknown = sorted(set(changes) - set(UPDATABLE_FIELDS))
        if unknown:
            raise UnknownFieldError(
                f"cannot update {', '.join(unknown)}; updatable fields: {', '.join(UPDATABLE_FIELDS)}",
                fields=unknown,
            )
        parsed = {field: _parse_field(field, value) for field, value in changes.items()}
        if status == Status.MERGED:
            check_transition(Status.ACTIVE, status)  # refused up front: merging is its own use case

        def work(session: Session) -> Person:
            row = self._row_by_curp(session, curp)
            if expected_version is not None and row.version != expected_version:
                raise ConcurrentUpdateError(
                    f"{row.curp} is at version {row.version}, not {expected_version}",
                    current=row.version,
                )
            if status is not None:
                check_transition(Status(row.status), status)  # before the correction is applied
            if parsed:
                self._correct(session, row, parsed, actor, reason)
            if status is not None:
                self._change_status(session, row, status, actor, reason)
            details = {"fields": sorted(parsed), "status": status.value if status else None}
            self.audit.record(session, ctx, "person.update", subject=person_ref(row.id), details=details)
            return _to_person(row)

        return self.transact(work)

    def _correct(
        self, session: Session, row: PersonRow, parsed: Mapping[str, Any], actor: str, reason: str
    ) -> None:
        """Apply parsed corrections to ``row`` with their history entry (inside a transaction)."""
        if row.status == Status.MERGED.value:
            raise MergeTargetError(f"{row.curp} was merged into {row.merged_into}; update that record")
        before = _to_person(row)
        diff = {
            field: [_json_value(getattr(before, field)), _json_value(value)]
            for field, value in parsed.items()
            if getattr(before, field) != value
        }
        if not diff:
            raise NoChangeError(f"the update changes nothing on {row.curp}")
        data = replace(before.curp_data, **{k: v for k, v in parsed.items() if k in CURP_FIELDS})
        now = _now()
        century_changed = homonym_alphabet(data.birth_date) != homonym_alphabet(before.birth_date)
        if curp_stem(data) != row.curp[:16] or century_changed:
            # allocate before touching the row, so the row is written (and versioned) once
            new_curp = self._allocate_curp(session, data)
            old = session.get(CurpRow, row.curp)
            assert old is not None
            old.retired_at = now
            session.add(CurpRow(curp=new_curp, stem=new_curp[:16], person_id=row.id, issued_at=now))
            diff["curp"] = [row.curp, new_curp]
            row.curp = new_curp
        for field, value in parsed.items():
            setattr(row, field, value.value if isinstance(value, Sex) else value)
        row.updated_at = now
        session.flush()
        self._record(session, row, ChangeKind.UPDATED, actor, reason, now, diff)

    def set_status(self, curp: str, status: Status, ctx: AccessContext, *, reason: str) -> Person:
        """Suspend, revoke, reactivate or record the death of a person."""
        actor, reason = require_actor_reason(ctx.actor, reason)

        def work(session: Session) -> Person:
            row = self._row_by_curp(session, curp)
            self._change_status(session, row, status, actor, reason)
            details = {"status": status.value}
            self.audit.record(session, ctx, "person.status", subject=person_ref(row.id), details=details)
            return _to_person(row)

        return self.transact(work)

    def _change_status(
        self, session: Session, row: PersonRow, status: Status, actor: str, reason: str
    ) -> None:
        current = Status(row.status)
        check_transition(current, status)
        now = _now()
        row.status = status.value
        row.updated_at = now
        session.flush()
        self._record(
            session, row, ChangeKind.STATUS, actor, reason, now, {"status": [current.value, status.value]}
        )

    def merge(self, curp: str, into: str, ctx: AccessContext, *, reason: str) -> Person:
        """Record that ``curp`` is a duplicate of ``into``: it becomes ``merged`` and points at the
        surviving identity; both records get a history entry. Returns the merged record."""
        actor, reason = require_actor_reason(ctx.actor, reason)

        def work(session: Session) -> Person:
            lock_enrollment(session)  # the merged identity leaves the galleries (journal)
            source = self._row_by_curp(session, curp)
            try:
                target = self._row_by_curp(session, into)
            except PersonNotFoundError:
                raise MergeTargetError(f"merge target {normalize_curp(into)} does not exist") from None
            if target.id == source.id:
                raise MergeTargetError(f"cannot merge {source.curp} into itself")
            if target.status != Status.ACTIVE.value:
                raise MergeTargetError(f"merge target {target.curp} is {target.status}, not active")
            if source.status == Status.MERGED.value:
                raise MergeTargetError(f"{source.curp} is already merged into {source.merged_into}")
            now = _now()
            old_status = source.status
            source.status = Status.MERGED.value
            source.merged_into = target.curp
            source.updated_at = now
            target.updated_at = now
            session.flush()
            self._record(
                session,
                source,
                ChangeKind.MERGED,
                actor,
                reason,
                now,
                {"status": [old_status, Status.MERGED.value], "merged_into": [None, target.curp]},
            )
            self._record(
                session, target, ChangeKind.MERGED, actor, reason, now, {"absorbed": [None, source.curp]}
            )
            session.add(GalleryJournalRow(ref=f"p:{source.id}", op="remove", at=now))
            details = {"into": person_ref(target.id)}
            self.audit.record(session, ctx, "person.merge", subject=person_ref(source.id), details=details)
            return _to_person(source)

        return self.transact(work)

    # --- internals ------------------------------------------------------------------------------

    def _row_by_curp(self, session: Session, curp: str) -> PersonRow:
        key = normalize_curp(curp)
        row = session.scalar(select(PersonRow).where(PersonRow.curp == key))
        if row is None:
            issued = session.get(CurpRow, key)
            if issued is not None:
                row = session.get(PersonRow, issued.person_id)
        if row is None:
            raise PersonNotFoundError(f"no person holds or held the CURP {key}", curp=key)
        return row

    def _allocate_curp(self, session: Session, data: CurpData, *, requested: str | None = None) -> str:
        stem = curp_stem(data)
        taken = {c[16] for c in session.scalars(select(CurpRow.curp).where(CurpRow.stem == stem))}
        if requested is not None:
            curp = build_curp(data, requested)  # validates the value against the birth century
            if curp[16] in taken:
                raise CurpHomonymError(
                    f"homonym differentiator {curp[16]} is already taken for {stem}", taken=sorted(taken)
                )
            return curp
        for value in homonym_alphabet(data.birth_date):
            if value not in taken:
                return build_curp(data, value)
        raise CurpHomonymsExhaustedError(
            f"all {len(taken)} homonym differentiators are taken for {stem}", stem=stem
        )

    def _record(
        self,
        session: Session,
        row: PersonRow,
        kind: ChangeKind,
        actor: str,
        reason: str,
        at: datetime,
        changes: dict[str, list[Any]],
    ) -> None:
        session.add(
            HistoryRow(
                person_id=row.id,
                curp=row.curp,
                kind=kind.value,
                actor=actor,
                reason=reason,
                at=at,
                changes=changes,
            )
        )

    def transact(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in its own transaction (all of it or nothing); run it again from the start
        when a concurrent writer took the same CURP (unique violation) or changed the same row
        (stale version). Every use case that writes goes through here."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self.db.session() as session:
                    return work(session)
            except IntegrityError as error:
                if not _is_unique_violation(error):
                    raise
            except StaleDataError:
                pass
            time.sleep(min(0.2, 0.005 * 2**attempt))
        raise StorageConflictError(
            f"gave up after {MAX_ATTEMPTS} attempts that collided with concurrent writers"
        )


#: the fields written to the history when a person is created
_RECORDED = frozenset(
    {
        "curp",
        "given_names",
        "first_surname",
        "second_surname",
        "birth_date",
        "sex",
        "birth_state",
        "nationality",
    }
)


def _is_unique_violation(error: IntegrityError) -> bool:
    """A concurrent writer took the same key (retry), as opposed to a broken constraint (a bug)."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is not None:
        return bool(sqlstate == "23505")
    return "UNIQUE constraint failed" in str(error.orig)


def _parse_field(field: str, value: str | None) -> Any:
    if field in ("given_names", "first_surname"):
        return clean_name(value, field)
    if field == "second_surname":
        return clean_name(value, field, required=False)
    if field == "birth_date":
        return parse_birth_date(value or "")
    if field == "sex":
        return parse_sex(value or "")
    if field == "birth_state":
        return parse_birth_state(value or "")
    if field == "nationality":
        return parse_nationality(value or "")
    raise UnknownFieldError(f"cannot update {field}")  # pragma: no cover - checked by the caller
