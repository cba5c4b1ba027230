"""Checkpoints as C2SP signed notes: signing, verifying, cosigning, keys and malformed notes."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from padron.audit.checkpoint import (
    Checkpoint,
    CheckpointPolicy,
    Signer,
    Verifier,
    add_cosignature,
    key_id,
    new_checkpoint,
    open_checkpoint,
    open_note,
    parse_note,
    sign,
    sign_note,
)
from padron.audit.errors import (
    InconsistentCheckpointError,
    KeyFormatError,
    MalformedNoteError,
    SignatureError,
    UnknownSignerError,
)
from padron.audit.merkle import EMPTY_ROOT, consistency_proof, leaf_hash, leaf_hashes
from tests.unit.audit.sample import AUTHORITY_KEY, LOG_KEY, ORIGIN, START, build_log

LOG = LOG_KEY.verifier()
AUTHORITY = AUTHORITY_KEY.verifier()
HASHES = leaf_hashes(build_log(40))
CHECKPOINT = new_checkpoint(ORIGIN, HASHES, START)

# The example of golang.org/x/mod/sumdb/note (note.go's package documentation and note_test.go):
# Go's reference implementation of signed notes. Ed25519 is deterministic, so signing the same
# text with the same key must give the very same note.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2"
    + "pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_notes_are_those_of_the_go_reference_implementation() -> None:
    signer = Signer.from_skey(GO_SKEY)
    assert signer.verifier().vkey == GO_VKEY
    assert signer.skey == GO_SKEY
    assert sign_note(GO_TEXT, signer) == GO_NOTE
    note, signers = open_note(GO_NOTE, [Verifier.from_vkey(GO_VKEY)])
    assert (note.text, signers) == (GO_TEXT, ("PeterNeumann",))
    with pytest.raises(SignatureError):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), [Verifier.from_vkey(GO_VKEY)])


def test_key_id_is_the_signed_note_recommendation() -> None:
    # SHA-256(name || 0x0A || 0x01 || key)[:4]; c74f20a3 is the id Go gives PeterNeumann's key
    public = base64.b64decode(GO_VKEY.split("+")[2])[1:]
    assert key_id("PeterNeumann", public).hex() == "c74f20a3"


# --- checkpoints --------------------------------------------------------------------------------


def test_checkpoint_text_is_origin_size_root_and_time() -> None:
    note = sign(CHECKPOINT, LOG_KEY)
    text, signature_line = note.split("\n\n")
    root_line = base64.b64encode(CHECKPOINT.root).decode()
    assert text == f"{ORIGIN}\n40\n{root_line}\ntime 2025-03-01T09:00:00.000000Z"
    assert signature_line.startswith(f"— {ORIGIN} ")
    assert signature_line.endswith("\n") and signature_line.count("\n") == 1
    raw = base64.b64decode(signature_line.split(" ")[2])
    assert raw[:4] == LOG_KEY.key_id and len(raw) == 4 + 64


def test_a_signed_checkpoint_opens_to_the_same_checkpoint() -> None:
    opened = open_checkpoint(sign(CHECKPOINT, LOG_KEY), [LOG])
    assert opened.checkpoint == CHECKPOINT
    assert opened.signers == (ORIGIN,)


def test_an_empty_log_has_a_checkpoint_too() -> None:
    empty = new_checkpoint(ORIGIN, [], START)
    assert (empty.size, empty.root) == (0, EMPTY_ROOT)
    assert open_checkpoint(sign(empty, LOG_KEY), [LOG]).checkpoint == empty


def test_a_changed_body_fails_its_signature() -> None:
    note = sign(CHECKPOINT, LOG_KEY)
    with pytest.raises(SignatureError, match=ORIGIN):
        open_checkpoint(note.replace("\n40\n", "\n39\n"), [LOG])


def test_a_changed_signature_fails() -> None:
    note = sign(CHECKPOINT, LOG_KEY)
    text, line = note.split("\n\n")
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[10] ^= 0x01
    forged = f"{text}\n\n— {ORIGIN} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(SignatureError):
        open_checkpoint(forged, [LOG])


def test_a_checkpoint_signed_by_another_key_is_reported_as_unknown() -> None:
    impostor = Signer(ORIGIN, bytes(32))  # the log's name, another key
    with pytest.raises(UnknownSignerError, match=impostor.key_id.hex()) as caught:
        open_checkpoint(sign(CHECKPOINT, impostor), [LOG])
    assert caught.value.details["signers"] == [ORIGIN]
    with pytest.raises(UnknownSignerError):
        open_checkpoint(sign(CHECKPOINT, LOG_KEY), [AUTHORITY])


# --- cosignatures -------------------------------------------------------------------------------


def test_the_authority_cosigns_and_each_signature_verifies_on_its_own() -> None:
    note = add_cosignature(sign(CHECKPOINT, LOG_KEY), AUTHORITY_KEY, trusted=[LOG])
    assert len(parse_note(note).signatures) == 2
    assert open_checkpoint(note, [LOG]).signers == (ORIGIN,)
    assert open_checkpoint(note, [AUTHORITY]).signers == (AUTHORITY.name,)
    assert open_checkpoint(note, [LOG, AUTHORITY]).signers == (ORIGIN, AUTHORITY.name)
    assert open_checkpoint(note, [LOG]).checkpoint == CHECKPOINT

    # a forged cosignature fails for whoever checks it, not for who only trusts the log
    text, block = note.split("\n\n")
    log_line, authority_line = block.splitlines()
    name, encoded = authority_line[2:].split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 0x01
    forged = f"{text}\n\n{log_line}\n— {name} {base64.b64encode(bytes(raw)).decode()}\n"
    assert open_checkpoint(forged, [LOG]).signers == (ORIGIN,)
    with pytest.raises(SignatureError, match=AUTHORITY.name):
        open_checkpoint(forged, [AUTHORITY])


def test_cosigning_twice_changes_nothing() -> None:
    once = add_cosignature(sign(CHECKPOINT, LOG_KEY), AUTHORITY_KEY, trusted=[LOG])
    assert add_cosignature(once, AUTHORITY_KEY, trusted=[LOG]) == once


def test_the_authority_does_not_cosign_what_the_log_did_not_sign() -> None:
    note = sign(CHECKPOINT, LOG_KEY)
    with pytest.raises(SignatureError):
        add_cosignature(note.replace("\n40\n", "\n41\n"), AUTHORITY_KEY, trusted=[LOG])
    with pytest.raises(UnknownSignerError):
        add_cosignature(sign(CHECKPOINT, Signer(ORIGIN, bytes(32))), AUTHORITY_KEY, trusted=[LOG])


def test_the_authority_cosigns_only_an_extension_of_what_it_cosigned_before() -> None:
    old = new_checkpoint(ORIGIN, HASHES[:25], START)
    proof = consistency_proof(25, HASHES)
    note = add_cosignature(sign(CHECKPOINT, LOG_KEY), AUTHORITY_KEY, trusted=[LOG], previous=old, proof=proof)
    assert open_checkpoint(note, [AUTHORITY]).checkpoint == CHECKPOINT

    # the log rewrote entry 3 after the authority cosigned 25 entries
    rewritten = [*HASHES[:3], leaf_hash(b"rewritten"), *HASHES[4:]]
    fork = new_checkpoint(ORIGIN, rewritten, START)
    with pytest.raises(InconsistentCheckpointError, match="does not extend"):
        add_cosignature(
            sign(fork, LOG_KEY),
            AUTHORITY_KEY,
            trusted=[LOG],
            previous=old,
            proof=consistency_proof(25, rewritten),
        )
    # the log went back to fewer entries
    with pytest.raises(InconsistentCheckpointError, match="fewer"):
        add_cosignature(sign(old, LOG_KEY), AUTHORITY_KEY, trusted=[LOG], previous=CHECKPOINT, proof=[])
    other_log = Checkpoint("other.example/log", 25, old.root, START)
    with pytest.raises(InconsistentCheckpointError, match="different logs"):
        add_cosignature(
            sign(CHECKPOINT, LOG_KEY), AUTHORITY_KEY, trusted=[LOG], previous=other_log, proof=proof
        )


# --- malformed notes and checkpoints ------------------------------------------------------------


def good_note() -> str:
    return sign(CHECKPOINT, LOG_KEY)


@pytest.mark.parametrize(
    ("note", "complaint"),
    [
        (good_note().replace("\n\n", "\n"), "blank line"),
        (good_note().rstrip("\n"), "newline"),
        (good_note().replace("— ", "-- "), "em dash"),
        (good_note().replace("— ", "—"), "em dash"),
        (good_note().replace(f"— {ORIGIN} ", f"— {ORIGIN}  "), "key name"),
        (good_note()[:-5] + "!!!\n", "base64"),
        (good_note() + "— x AAAA\n", "too short"),
        (good_note().replace("\n40\n", "\n4\t0\n"), "control character"),
        (good_note() + "".join(good_note().split("\n\n")[1] for _ in range(100)), "at most 100"),
        ("\n\n— x AAAAAAAA\n", "empty"),
        (b"\xff" + good_note().encode(), "UTF-8"),
        ("\ud800" + good_note(), "Unicode"),
        (good_note() + "x" * 70_000, "at most 65536"),
    ],
)
def test_malformed_notes_are_refused(note: str | bytes, complaint: str) -> None:
    with pytest.raises(MalformedNoteError, match=complaint):
        open_checkpoint(note, [LOG])


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (f"{ORIGIN}\n40\n{base64.b64encode(bytes(32)).decode()}\n", "four lines"),
        (
            f"{ORIGIN}\n040\n{base64.b64encode(bytes(32)).decode()}\ntime 2025-03-01T09:00:00.000000Z\n",
            "size",
        ),
        (f"{ORIGIN}\n-1\n{base64.b64encode(bytes(32)).decode()}\ntime 2025-03-01T09:00:00.000000Z\n", "size"),
        (
            f"{ORIGIN}\n40\n{base64.b64encode(bytes(31)).decode()}\ntime 2025-03-01T09:00:00.000000Z\n",
            "32 bytes",
        ),
        (f"{ORIGIN}\n40\nnot base64\ntime 2025-03-01T09:00:00.000000Z\n", "base64"),
        (f"{ORIGIN}\n40\n{base64.b64encode(bytes(32)).decode()}\ntime 2025-03-01T09:00:00Z\n", "time"),
        (f"{ORIGIN}\n40\n{base64.b64encode(bytes(32)).decode()}\nwhen 2025-03-01T09:00:00.000000Z\n", "time"),
        (f"a log\n40\n{base64.b64encode(bytes(32)).decode()}\ntime 2025-03-01T09:00:00.000000Z\n", "origin"),
    ],
)
def test_malformed_checkpoint_bodies_are_refused(body: str, complaint: str) -> None:
    # signed properly, so that only the body's form is at fault
    with pytest.raises(MalformedNoteError, match=complaint):
        open_checkpoint(sign_note(body, LOG_KEY), [LOG])


def test_a_note_text_with_a_blank_line_cannot_be_signed() -> None:
    with pytest.raises(MalformedNoteError):
        sign_note("a\n\nb\n", LOG_KEY)


# --- keys ---------------------------------------------------------------------------------------


ECDSA_TYPED_KEY = base64.b64encode(bytes([0x02]) + bytes(32)).decode()  # signature type 0x02, not Ed25519


def test_keys_load_from_raw_base64_and_text_forms() -> None:
    public = LOG.public_key
    assert Verifier(ORIGIN, public) == LOG
    assert Verifier.from_base64(ORIGIN, base64.b64encode(public).decode()) == LOG
    assert Verifier.from_vkey(LOG.vkey) == LOG
    seed = bytes(range(32))
    assert Signer.from_base64(ORIGIN, base64.b64encode(seed).decode()).verifier() == LOG
    assert Signer.from_skey(LOG_KEY.skey).verifier() == LOG
    assert Signer.generate(ORIGIN).verifier() != LOG


def test_a_signer_does_not_show_its_key() -> None:
    assert base64.b64encode(bytes(range(32))).decode() not in repr(LOG_KEY)
    assert LOG_KEY.skey.split("+")[-1] not in repr(LOG_KEY)


@pytest.mark.parametrize(
    "load",
    [
        lambda: Verifier(ORIGIN, bytes(31)),
        lambda: Verifier.from_base64(ORIGIN, "not base64!"),
        lambda: Verifier("a name", LOG.public_key),
        lambda: Verifier("a+b", LOG.public_key),
        lambda: Verifier("", LOG.public_key),
        lambda: Verifier.from_vkey(LOG.vkey.replace(LOG.key_id.hex(), "00000000")),
        lambda: Verifier.from_vkey(ORIGIN),
        lambda: Verifier.from_vkey(f"{ORIGIN}+{LOG.key_id.hex()}+{ECDSA_TYPED_KEY}"),
        lambda: Signer(ORIGIN, bytes(16)),
        lambda: Signer.from_skey(LOG.vkey),
        lambda: Signer.from_skey(LOG_KEY.skey.replace(LOG_KEY.key_id.hex(), "00000000")),
    ],
)
def test_malformed_keys_are_refused(load: object) -> None:
    assert callable(load)
    with pytest.raises(KeyFormatError):
        load()


# --- when to write the next checkpoint ----------------------------------------------------------


def test_checkpoint_policy() -> None:
    policy = CheckpointPolicy(every=100, interval=timedelta(minutes=5))
    last = new_checkpoint(ORIGIN, HASHES[:40], START)
    assert policy.due(None, 1, START)
    assert not policy.due(None, 0, START)
    assert not policy.due(last, 40, START + timedelta(hours=1))  # nothing new to sign
    assert not policy.due(last, 139, START + timedelta(minutes=4))
    assert policy.due(last, 140, START + timedelta(minutes=4))
    assert policy.due(last, 41, START + timedelta(minutes=5))
    with pytest.raises(ValueError):
        CheckpointPolicy(every=0)
