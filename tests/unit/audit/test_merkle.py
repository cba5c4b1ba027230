"""The RFC 6962 Merkle tree: known vectors, a literal reading of the RFC, and proof properties."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from padron.audit.merkle import (
    EMPTY_ROOT,
    TreeBuilder,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    leaf_hashes,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# Test vectors of github.com/transparency-dev/merkle, proof/verify_test.go (the RFC 6962 test data
# of Certificate Transparency, originally google/certificate-transparency): eight leaves, the root
# of each prefix, and known inclusion and consistency proofs. Indices there are 1-based in the
# inclusion table ({leaf, size}); here they are 0-based.
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657")] + [
    bytes.fromhex("606162636465666768696a6b6c6d6e6f")
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [
    (0, 8, ["96a296d2", "5f083f0a", "6b47aaf2"]),
    (5, 8, ["bc1a0643", "ca854ea1", "d37ee418"]),
    (2, 3, ["fac54203"]),
    (1, 5, ["6e340b9c", "5f083f0a", "bc1a0643"]),
]
INCLUSION_FULL = {
    "96a296d2": "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf2": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    "bc1a0643": "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca854ea1": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418": "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "fac54203": "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "6e340b9c": "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "0ebc5d34": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "b08693ec": "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
}
CONSISTENCY = [
    (1, 8, ["96a296d2", "5f083f0a", "6b47aaf2"]),
    (6, 8, ["0ebc5d34", "ca854ea1", "d37ee418"]),
    (2, 5, ["5f083f0a", "bc1a0643"]),
    (6, 7, ["0ebc5d34", "b08693ec", "d37ee418"]),
]
HASHES = leaf_hashes(LEAVES)


def full(short: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(INCLUSION_FULL[h]) for h in short]


def flipped(proof: list[bytes], i: int) -> list[bytes]:
    bad = list(proof)
    bad[i] = bytes([bad[i][0] ^ 0x08]) + bad[i][1:]
    return bad


# --- known vectors ------------------------------------------------------------------------------


def test_empty_tree_hashes_to_sha256_of_nothing() -> None:
    assert root([]) == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_known_vectors(size: int) -> None:
    assert root(HASHES[:size]).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_of_the_known_vectors(index: int, size: int, proof: list[str]) -> None:
    expected = full(proof)
    assert inclusion_proof(index, HASHES[:size]) == expected
    good_root = bytes.fromhex(ROOTS[size - 1])
    assert verify_inclusion(index, size, HASHES[index], expected, good_root)
    # the corruptions of the reference tests: each one must fail
    assert not verify_inclusion(index, size, leaf_hash(b"WrongLeaf"), expected, good_root)
    assert not verify_inclusion(index, size, HASHES[index], expected, EMPTY_ROOT)
    assert not verify_inclusion(index + 1, size, HASHES[index], expected, good_root)
    assert not verify_inclusion(index, size * 2, HASHES[index], expected, good_root)
    assert not verify_inclusion(index, size, HASHES[index], [*expected, good_root], good_root)
    assert not verify_inclusion(index, size, HASHES[index], [good_root, *expected], good_root)
    assert not verify_inclusion(index, size, HASHES[index], expected[:-1], good_root)
    for i in range(len(expected)):
        assert not verify_inclusion(index, size, HASHES[index], flipped(expected, i), good_root)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_of_the_known_vectors(old: int, new: int, proof: list[str]) -> None:
    expected = full(proof)
    assert consistency_proof(old, HASHES[:new]) == expected
    old_root, new_root = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    assert verify_consistency(old, new, old_root, new_root, expected)
    assert not verify_consistency(old, new, new_root, old_root, expected)
    assert not verify_consistency(old + 1, new, old_root, new_root, expected)
    assert not verify_consistency(old, new, old_root, new_root, [])
    assert not verify_consistency(old, new, old_root, new_root, expected[:-1])
    assert not verify_consistency(old, new, old_root, new_root, [*expected, old_root])
    for i in range(len(expected)):
        assert not verify_consistency(old, new, old_root, new_root, flipped(expected, i))


def test_trivial_consistency() -> None:
    some = bytes.fromhex(ROOTS[3])
    assert verify_consistency(4, 4, some, some, [])
    assert not verify_consistency(4, 4, some, bytes.fromhex(ROOTS[4]), [])
    assert not verify_consistency(4, 4, some, some, [some])
    assert verify_consistency(0, 4, EMPTY_ROOT, some, [])
    assert not verify_consistency(0, 4, some, some, [])
    assert not verify_consistency(5, 4, some, some, [])
    assert consistency_proof(0, HASHES) == consistency_proof(8, HASHES) == []


def test_malformed_inputs_do_not_verify() -> None:
    good_root = bytes.fromhex(ROOTS[7])
    proof = inclusion_proof(5, HASHES)
    assert not verify_inclusion(5, 8, HASHES[5][:31], proof, good_root)
    assert not verify_inclusion(5, 8, HASHES[5], [p[:16] for p in proof], good_root)
    assert not verify_inclusion(-1, 8, HASHES[5], proof, good_root)
    assert not verify_inclusion(8, 8, HASHES[5], proof, good_root)
    with pytest.raises(ValueError):
        inclusion_proof(8, HASHES)
    with pytest.raises(ValueError):
        consistency_proof(9, HASHES)


# --- against a literal reading of RFC 6962 section 2.1 ------------------------------------------


def rfc_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return leaf_hash(d[0])
    k = rfc_split(len(d))
    return node_hash(rfc_mth(d[:k]), rfc_mth(d[k:]))


def rfc_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = rfc_split(len(d))
    if m < k:
        return [*rfc_path(m, d[:k]), rfc_mth(d[k:])]
    return [*rfc_path(m - k, d[k:]), rfc_mth(d[:k])]


def rfc_subproof(m: int, d: Sequence[bytes], complete: bool) -> list[bytes]:
    if m == len(d):
        return [] if complete else [rfc_mth(d)]
    k = rfc_split(len(d))
    if m <= k:
        return [*rfc_subproof(m, d[:k], complete), rfc_mth(d[k:])]
    return [*rfc_subproof(m - k, d[k:], False), rfc_mth(d[:k])]


distinct_leaves = st.lists(st.binary(max_size=8), min_size=1, max_size=40, unique=True)


@settings(max_examples=60, deadline=None)
@given(distinct_leaves)
def test_root_and_proofs_are_those_of_the_rfc(data: list[bytes]) -> None:
    hashes = leaf_hashes(data)
    assert root(hashes) == rfc_mth(data)
    builder = TreeBuilder()
    for size, h in enumerate(hashes, start=1):
        builder.append(h)
        assert builder.root() == rfc_mth(data[:size])
    for m in range(len(data)):
        assert inclusion_proof(m, hashes) == rfc_path(m, data)
    for m in range(1, len(data)):
        assert consistency_proof(m, hashes) == rfc_subproof(m, data, True)


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(distinct_leaves, st.data())
def test_every_inclusion_proof_verifies_and_nothing_else_does(data: list[bytes], draw: st.DataObject) -> None:
    hashes = leaf_hashes(data)
    size, tree_root = len(hashes), root(hashes)
    other_root = root(leaf_hashes([*data[:-1], b"changed" + data[-1]]))
    for index in range(size):
        proof = inclusion_proof(index, hashes)
        assert len(proof) <= (size - 1).bit_length()
        assert verify_inclusion(index, size, hashes[index], proof, tree_root)
        assert not verify_inclusion(index, size, leaf_hash(b"not a leaf"), proof, tree_root)
        assert not verify_inclusion(index, size, hashes[index], proof, other_root)
        if size > 1:
            wrong = (index + draw.draw(st.integers(1, size - 1))) % size
            assert not verify_inclusion(wrong, size, hashes[index], proof, tree_root)


@settings(max_examples=60, deadline=None)
@given(distinct_leaves)
def test_consistency_holds_for_every_prefix_and_fails_for_a_rewritten_one(data: list[bytes]) -> None:
    hashes = leaf_hashes(data)
    n, new_root = len(hashes), root(hashes)
    for m in range(n + 1):
        proof = consistency_proof(m, hashes)
        assert len(proof) <= 2 * (n - 1).bit_length()
        assert verify_consistency(m, n, root(hashes[:m]), new_root, proof)
        if 0 < m < n:
            # a tree that changed one of the first m leaves is not an extension of the old one
            rewritten = [leaf_hash(b"rewritten"), *hashes[1:]]
            assert not verify_consistency(
                m, n, root(hashes[:m]), root(rewritten), consistency_proof(m, rewritten)
            )
            assert not verify_consistency(m, n, root(rewritten[:m]), new_root, proof)
