"""verify_log on a signed log of 230 entries: each kind of tampering is named with its place.

The log has checkpoints (signed by the log, some cosigned by the authority) at 40, 80, ..., 200;
the last 30 entries are not signed yet.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from padron.audit.checkpoint import Signer, add_cosignature, new_checkpoint, sign
from padron.audit.entry import AuditEntry
from padron.audit.errors import (
    InclusionProofError,
    LogMismatchError,
    NotCheckpointedError,
    SignatureError,
    UnknownSignerError,
)
from padron.audit.merkle import leaf_hashes
from padron.audit.verify import FindingKind, InclusionReceipt, LogReport, prove, verify_log, verify_receipt
from tests.unit.audit.sample import (
    AUTHORITY_KEY,
    LOG_KEY,
    ORIGIN,
    START,
    append,
    build_log,
    checkpoints,
    edited,
    entry_fields,
    forged_after,
)

SIZES = (40, 80, 120, 160, 200)
LOG = build_log(230)
CHECKPOINTS = checkpoints(LOG, SIZES)
KEYS = [LOG_KEY.verifier()]

EDITED, DELETED, INSERTED, REORDERED = (
    FindingKind.EDITED,
    FindingKind.DELETED,
    FindingKind.INSERTED,
    FindingKind.REORDERED,
)


def verify(entries: Sequence[bytes], notes: Sequence[str] = CHECKPOINTS) -> LogReport:
    return verify_log(entries, notes, KEYS, origin=ORIGIN)


def found(report: LogReport) -> list[tuple[FindingKind, int | None, tuple[int, ...], int | None]]:
    return [(f.kind, f.index, f.related, f.checkpoint) for f in report.findings]


def test_an_untouched_log_verifies() -> None:
    report = verify(LOG)
    assert report.ok
    assert report.findings == ()
    assert (report.entries, report.checkpoints, report.verified_checkpoints) == (230, 5, 5)
    assert report.latest is not None and report.latest.size == 200
    assert report.to_dict()["ok"] is True


def test_a_log_cosigned_by_the_authority_verifies_for_the_authority_alone() -> None:
    cosigned = [add_cosignature(note, AUTHORITY_KEY, trusted=KEYS) for note in CHECKPOINTS]
    assert verify_log(LOG, cosigned, [AUTHORITY_KEY.verifier()]).ok


# --- the five kinds of tampering ----------------------------------------------------------------


def test_an_edited_field_names_the_entry() -> None:
    log = list(LOG)
    log[17] = edited(log[17], outcome="refused:PAD-PERSON-002")
    report = verify(log)
    assert not report.ok
    assert found(report) == [(EDITED, 17, (), None)]
    assert "entry 17 was edited" in report.findings[0].message


def test_an_edit_that_also_rewrote_the_entrys_own_link_names_the_entry() -> None:
    log = list(LOG)
    log[17] = edited(log[17], actor="intruder", prev=bytes(32))
    assert found(verify(log)) == [(EDITED, 17, (), None)]


def test_an_entry_made_unreadable_is_named() -> None:
    log = list(LOG)
    log[30] = log[30].replace(b'"outcome":"ok"', b'"outcome": "ok"')  # not canonical any more
    report = verify(log)
    assert found(report) == [(EDITED, 30, (), None)]
    assert "no longer decodes" in report.findings[0].message


def test_a_deleted_entry_is_named() -> None:
    log = [data for i, data in enumerate(LOG) if i != 40]
    report = verify(log)
    assert found(report) == [(DELETED, 40, (), None)]
    assert "entry 40 was deleted" in report.findings[0].message


def test_deleted_entries_are_named_as_one_run() -> None:
    log = [data for i, data in enumerate(LOG) if not 40 <= i <= 44]
    assert found(verify(log)) == [(DELETED, 40, (41, 42, 43, 44), None)]


def test_an_inserted_forgery_is_named_by_its_position() -> None:
    log = list(LOG)
    # the forger gives it the place and the link of the real entry 5
    log.insert(5, forged_after(LOG, 5))
    report = verify(log)
    assert found(report) == [(INSERTED, 5, (), None)]
    assert "inserted at position 5" in report.findings[0].message


@pytest.mark.parametrize("seq", [0, 5, 6, 229, 230, 10**6])
def test_an_inserted_forgery_is_named_whatever_place_it_claims(seq: int) -> None:
    log = list(LOG)
    log.insert(5, forged_after(LOG, 5, seq=seq, prev=bytes(range(32))))
    assert found(verify(log)) == [(INSERTED, 5, (), None)]


def test_an_inserted_row_that_is_not_an_entry_is_named() -> None:
    log = list(LOG)
    log.insert(5, b"DROP TABLE audit;")
    assert found(verify(log)) == [(INSERTED, 5, (), None)]


def test_swapped_entries_are_named() -> None:
    log = list(LOG)
    log[10], log[11] = log[11], log[10]
    report = verify(log)
    assert found(report) == [(REORDERED, 10, (11,), None)]
    assert "entries 10 and 11 were swapped" in report.findings[0].message


def test_distant_swapped_entries_are_named() -> None:
    log = list(LOG)
    log[10], log[150] = log[150], log[10]
    assert found(verify(log)) == [(REORDERED, 10, (150,), None)]


def test_a_moved_entry_is_named() -> None:
    log = list(LOG)
    log.insert(5, log.pop(20))
    report = verify(log)
    assert found(report) == [(REORDERED, 20, (5,), None)]
    assert "stored before entry 5" in report.findings[0].message


def test_truncation_after_a_checkpoint_is_named() -> None:
    report = verify(LOG[:150])
    assert found(report) == [(FindingKind.TRUNCATED, 150, (), 4)]
    assert "holds 150 entries but checkpoint 4 signed 200" in report.findings[0].message
    assert report.latest is not None and report.latest.size == 120


def test_a_tail_removed_after_the_latest_checkpoint_goes_unnoticed() -> None:
    # the limit of the design: entries after the latest checkpoint are not signed yet
    assert verify(LOG[:210]).ok


def test_a_forged_checkpoint_signature_is_named() -> None:
    notes = list(CHECKPOINTS)
    text, line = notes[2].split("\n\n")
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[20] ^= 0x40
    notes[2] = f"{text}\n\n— {ORIGIN} {base64.b64encode(bytes(raw)).decode()}\n"
    report = verify(LOG, notes)
    assert found(report) == [(FindingKind.BAD_SIGNATURE, None, (), 2)]
    assert report.verified_checkpoints == 4


def test_a_checkpoint_changed_after_signing_is_named() -> None:
    notes = list(CHECKPOINTS)
    notes[1] = notes[1].replace("\n80\n", "\n81\n")
    assert found(verify(LOG, notes)) == [(FindingKind.BAD_SIGNATURE, None, (), 1)]


def test_a_checkpoint_by_an_unknown_key_is_named() -> None:
    notes = [*CHECKPOINTS, *checkpoints(LOG, [230], signer=Signer(ORIGIN, bytes(32)))]
    report = verify(LOG, notes)
    assert found(report) == [(FindingKind.UNKNOWN_KEY, None, (), 5)]


def test_a_malformed_checkpoint_is_named() -> None:
    notes = [*CHECKPOINTS[:2], "not a note", *CHECKPOINTS[2:]]
    assert found(verify(LOG, notes)) == [(FindingKind.MALFORMED_CHECKPOINT, None, (), 2)]


def test_a_checkpoint_of_another_log_is_named() -> None:
    other = Signer("other.example/log", bytes(range(32)))
    note = sign(new_checkpoint("other.example/log", leaf_hashes(LOG), START), other)
    report = verify_log(LOG, [*CHECKPOINTS, note], [*KEYS, other.verifier()], origin=ORIGIN)
    assert found(report) == [(FindingKind.WRONG_ORIGIN, None, (), 5)]


# --- what the links cannot see, the signed roots do ---------------------------------------------


def rechained_from(log: Sequence[bytes], start: int) -> list[bytes]:
    """The log with entry ``start`` edited and every later entry re-linked (a thorough forger)."""
    rewritten = list(log[:start])
    for i in range(start, len(log)):
        fields = entry_fields(i) | ({"actor": "intruder"} if i == start else {})
        append(rewritten, **fields)
    return rewritten


def test_a_rewritten_chain_is_narrowed_to_between_two_checkpoints() -> None:
    report = verify(rechained_from(LOG, 130))
    assert found(report) == [(FindingKind.ROOT_MISMATCH, 120, (), 3)]
    assert "entries 120 to 159 are not what checkpoint 3 signed" in report.findings[0].message
    assert report.latest is not None and report.latest.size == 120


def test_a_rewritten_log_signed_again_is_a_fork() -> None:
    rewritten = rechained_from(LOG, 130)
    # whoever holds the log key signs the rewritten log; the earlier checkpoints still stand
    notes = [*CHECKPOINTS, *checkpoints(rewritten, [230])]
    report = verify(rewritten, notes)
    assert found(report) == [
        (FindingKind.ROOT_MISMATCH, 120, (), 3),
        (FindingKind.INCONSISTENT, None, (), 5),
    ]
    assert "does not extend checkpoint 4" in report.findings[1].message


def test_a_checkpoint_smaller_than_the_one_before_is_a_rollback() -> None:
    notes = [*CHECKPOINTS, *checkpoints(LOG, [180])]
    report = verify(LOG, notes)
    assert found(report) == [(FindingKind.INCONSISTENT, None, (), 5)]
    assert "rolled back" in report.findings[0].message


def test_an_edit_just_before_the_last_entry_is_certain_only_when_signed() -> None:
    log = list(LOG)
    log[228] = edited(log[228], actor="intruder")
    report = verify(log)
    assert found(report) == [(EDITED, 228, (229,), None)]
    assert "entry 228 was edited, or the last entry, 229, was" in report.findings[0].message
    signed = [*CHECKPOINTS, *checkpoints(LOG, [230])]
    assert found(verify(log, signed)) == [(EDITED, 228, (), None)]


def test_an_edit_of_the_last_signed_entry_shows_in_the_root() -> None:
    # entry 199's successor is not signed, but entry 200 still links to the original
    log = list(LOG[:200])
    log[199] = edited(log[199], outcome="ok, nothing to see")
    assert found(verify(log)) == [(FindingKind.ROOT_MISMATCH, 160, (), 4)]


def test_several_faults_are_all_named() -> None:
    log = list(LOG)
    log[100] = edited(log[100], subject="person-0")
    log[10], log[11] = log[11], log[10]
    del log[60]
    assert found(verify(log)) == [
        (REORDERED, 10, (11,), None),
        (DELETED, 60, (), None),
        (EDITED, 100, (), None),
    ]


Tampering = tuple[int, list[int], list[bytes], tuple[FindingKind, int, tuple[int, ...]]]


@st.composite
def tamperings(draw: st.DrawFn) -> Tampering:
    n = draw(st.integers(4, 60))
    every = draw(st.integers(1, n))
    sizes = list(range(every, n + 1, every))
    log = build_log(n)
    kind = draw(st.sampled_from(["edit", "delete", "insert", "swap"]))
    expected: tuple[FindingKind, int, tuple[int, ...]]
    i = draw(st.integers(0, n - 2))  # entry n - 1 has no successor to vouch for it
    if kind == "edit":
        field = draw(st.sampled_from(["actor", "outcome", "subject", "details"]))
        value: object = {"note": "changed"} if field == "details" else "changed"
        log[i] = edited(log[i], **{field: value})
        # the edit of the one before the last entry is certain only if a checkpoint signed both
        unsure = i == n - 2 and sizes[-1] < n
        expected = (EDITED, i, (n - 1,) if unsure else ())
    elif kind == "delete":
        del log[i]
        expected = (DELETED, i, ())
    elif kind == "insert":
        log.insert(i, forged_after(log, i))
        expected = (INSERTED, i, ())
    else:
        j = draw(st.integers(i + 1, n - 1))
        log[i], log[j] = log[j], log[i]
        expected = (REORDERED, i, (j,))
    return n, sizes, log, expected


@settings(max_examples=80, deadline=None)
@given(tamperings())
def test_any_single_tampering_is_named_exactly(case: Tampering) -> None:
    n, sizes, log, expected = case
    notes = checkpoints(build_log(n), sizes)
    report = verify(log, notes)
    assert [(f.kind, f.index, f.related) for f in report.findings] == [expected]


# --- proving one entry --------------------------------------------------------------------------


def test_an_entry_is_proved_against_the_latest_checkpoint() -> None:
    receipt = prove(17, LOG, CHECKPOINTS, KEYS)
    assert (receipt.index, receipt.entry, receipt.checkpoint) == (17, LOG[17], CHECKPOINTS[-1])
    assert len(receipt.proof) <= 8
    entry = verify_receipt(receipt, KEYS)
    assert entry == AuditEntry.from_bytes(LOG[17])


def test_a_receipt_for_another_entry_or_checkpoint_does_not_verify() -> None:
    receipt = prove(17, LOG, CHECKPOINTS, KEYS)
    with pytest.raises(InclusionProofError):
        verify_receipt(InclusionReceipt(17, LOG[18], receipt.proof, receipt.checkpoint), KEYS)
    with pytest.raises(InclusionProofError):
        verify_receipt(InclusionReceipt(18, LOG[17], receipt.proof, receipt.checkpoint), KEYS)
    with pytest.raises(InclusionProofError):
        verify_receipt(InclusionReceipt(17, LOG[17], receipt.proof, CHECKPOINTS[0]), KEYS)
    with pytest.raises(SignatureError):
        verify_receipt(
            InclusionReceipt(17, LOG[17], receipt.proof, receipt.checkpoint.replace("\n200\n", "\n201\n")),
            KEYS,
        )
    with pytest.raises(UnknownSignerError):
        verify_receipt(receipt, [AUTHORITY_KEY.verifier()])


def test_an_entry_after_the_latest_checkpoint_cannot_be_proved_yet() -> None:
    with pytest.raises(NotCheckpointedError, match="200"):
        prove(210, LOG, CHECKPOINTS, KEYS)
    with pytest.raises(NotCheckpointedError):
        prove(0, LOG, [], KEYS)


def test_a_forged_latest_checkpoint_is_passed_over() -> None:
    notes = [*CHECKPOINTS, *checkpoints(LOG, [230], signer=Signer(ORIGIN, bytes(32)))]
    assert prove(17, LOG, notes, KEYS).checkpoint == CHECKPOINTS[-1]


def test_a_tampered_log_cannot_be_proved() -> None:
    log = list(LOG)
    log[100] = edited(log[100], actor="intruder")
    with pytest.raises(LogMismatchError):
        prove(17, log, CHECKPOINTS, KEYS)
    with pytest.raises(LogMismatchError):
        prove(17, LOG[:150], CHECKPOINTS, KEYS)


def test_a_proof_from_a_cosigned_checkpoint_verifies_for_the_authority() -> None:
    cosigned = [add_cosignature(note, AUTHORITY_KEY, trusted=KEYS) for note in CHECKPOINTS]
    receipt = prove(199, LOG, cosigned, KEYS)
    assert verify_receipt(receipt, [AUTHORITY_KEY.verifier()]).seq == 199
