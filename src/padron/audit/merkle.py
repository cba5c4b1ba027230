"""The RFC 6962 Merkle Tree Hash over SHA-256, with inclusion and consistency proofs.

The tree is the one of RFC 6962 section 2.1 (and RFC 9162 section 2.1): a leaf is
``SHA-256(0x00 || entry)``, an inner node ``SHA-256(0x01 || left || right)``, a list of ``n > 1``
leaves is split at ``k``, the largest power of two smaller than ``n``, and the empty tree hashes
to ``SHA-256("")``. Every function here works on *leaf hashes* (what the registry can keep per
entry), so that nothing hashes an entry twice. Computing a root or a proof walks the leaves once
(O(n)); a proof holds O(log n) hashes; checking one is O(log n). :class:`TreeBuilder` gives the
root of every prefix while appending, which is how :func:`padron.audit.verify.verify_log` checks
all checkpoints in one pass.

Verification follows the algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2 and returns
``False`` for every malformed input (a wrong length, an index outside the tree) instead of raising.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Final

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
_LEAF: Final = b"\x00"
_NODE: Final = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(_LEAF + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE + left + right).digest()


def leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    """The leaf hash of every entry, in order."""
    return [leaf_hash(entry) for entry in entries]


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH of ``hashes[lo:hi]``, bottom-up (an odd node at the end of a level moves up as is,
    which builds exactly the left-balanced tree of RFC 6962)."""
    level = list(hashes[lo:hi])
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root(hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of a list of leaf hashes (``EMPTY_ROOT`` for none)."""
    return _subtree(hashes, 0, len(hashes))


def inclusion_proof(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    """RFC 6962 ``PATH(index, D[n])``: the audit path of leaf ``index``, from the leaf upwards."""
    if not 0 <= index < len(hashes):
        raise ValueError(f"leaf {index} is not in a tree of {len(hashes)} leaves")
    siblings: list[bytes] = []  # from the root downwards
    lo, hi = 0, len(hashes)
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            siblings.append(_subtree(hashes, lo + k, hi))
            hi = lo + k
        else:
            siblings.append(_subtree(hashes, lo, lo + k))
            lo += k
    siblings.reverse()
    return siblings


def consistency_proof(old_size: int, hashes: Sequence[bytes]) -> list[bytes]:
    """RFC 6962 ``PROOF(m, D[n])``: that the tree of the first ``old_size`` leaves is a prefix of
    the tree of all of ``hashes`` (empty for ``old_size`` 0 or ``len(hashes)``)."""
    n = len(hashes)
    if not 0 <= old_size <= n:
        raise ValueError(f"a tree of {old_size} leaves is not a prefix of one of {n}")
    if old_size in (0, n):
        return []
    nodes: list[bytes] = []  # from the root downwards
    lo, hi, m, whole = 0, n, old_size, True
    while True:
        if m == hi - lo:
            if not whole:
                nodes.append(_subtree(hashes, lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            nodes.append(_subtree(hashes, lo + k, hi))
            hi = lo + k
        else:
            nodes.append(_subtree(hashes, lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    nodes.reverse()
    return nodes


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree of ``size`` leaves
    whose root is ``expected_root`` (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < size or not _well_formed(leaf, expected_root, *proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows that the tree of ``old_size`` leaves with root ``old_root`` is a
    prefix of the tree of ``new_size`` leaves with root ``new_root`` (RFC 9162 section 2.1.4.2)."""
    if not 0 <= old_size <= new_size or not _well_formed(old_root, new_root, *proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root and (old_size > 0 or old_root == EMPTY_ROOT)
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is a complete subtree of the new one
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class TreeBuilder:
    """Appends leaf hashes one at a time and gives the root of the tree so far in O(log n).

    It keeps the roots of the complete subtrees the tree decomposes into (one per set bit of the
    size, largest first); the root folds them from the right.
    """

    def __init__(self) -> None:
        self._size = 0
        self._peaks: list[bytes] = []

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> None:
        node, carry = leaf, self._size
        while carry & 1:
            node = node_hash(self._peaks.pop(), node)
            carry >>= 1
        self._peaks.append(node)
        self._size += 1

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        result = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            result = node_hash(peak, result)
        return result
