"""ANSI/NIST-ITL 1-2011 traditional encoding: a reader and a writer of whole transactions.

A transaction is one Type-1 record (transaction information) followed by the records its field
1.003 (CNT) lists, in that order. Two kinds of record exist:

* **tagged** records (Types 1, 2, 9-22, 98, 99): ASCII fields ``T.NNN:value``; the separators are
  FS 0x1C (ends the record), GS 0x1D (between fields), RS 0x1E (between subfields) and US 0x1F
  (between information items). Field ``T.001`` (LEN) is the record's length in bytes, itself and
  the final FS included; ``T.002`` is the IDC (Type-1 has VER there instead). The image field
  ``T.999`` of an image record (Types 10, 13, 14, ...) is binary and runs to the record's FS, so
  it is always last.
* **binary** records of fixed layout, big-endian: Type-4 (and the legacy Types 3, 5, 6) is an
  18-byte header -- LEN (4 bytes), IDC, IMP, FGP (6 bytes: finger positions, 255 = unused), ISR,
  HLL (2), VLL (2), CGA (compression: 0 none, 1 WSQ, 2 JPEG, 3 JPEG lossless, 4 JPEG 2000, 5 its
  lossless form, 6 PNG) -- then the image; Types 7 and 8 are kept opaque after LEN and IDC.

:func:`decode` reads a file into a :class:`Transaction` (typed Type-1 fields, the records with
their fields, views of the finger and face images) and :func:`encode` writes one, computing every
LEN and 1.003 itself. What the writer produced reads back equal and writes back byte for byte;
other files read, write and read back equal (fields in numerical order, tags as ``T.NNN``).

What real senders write is accepted where the meaning is clear, and reported in
:attr:`Transaction.notes`: a tag whose record number differs from its record's (NIST's own test
file has ``13.005`` inside a Type-9 record), a field given twice, raw pixels beyond the declared
size. Everything else malformed is refused with a ``PAD-NIST-`` error naming the record, the field
and the byte offset (:mod:`padron.interchange.errors`); no other exception escapes :func:`decode`.

Limits (:data:`MAX_TRANSACTION_BYTES`, :data:`MAX_RECORDS`, :data:`MAX_FIELDS_PER_RECORD`, and
:data:`~padron.biometrics.images.MAX_IMAGE_BYTES` per image, the limit of every other image
channel) bound what a hostile file can make the reader allocate. WSQ images are carried as opaque
bytes (their compression is reported); nothing here decodes pixels.
"""

from padron.interchange.ansinist.model import (
    BINARY_IMAGE_TYPES,
    MAX_FIELDS_PER_RECORD,
    MAX_RECORDS,
    MAX_TRANSACTION_BYTES,
    OPAQUE_BINARY_TYPES,
    TAGGED_TYPES,
    BinaryImageRecord,
    BinaryRecord,
    Compression,
    FaceImage,
    Field,
    FingerImage,
    Record,
    TaggedRecord,
    Transaction,
)
from padron.interchange.ansinist.reader import decode, is_ansi_nist
from padron.interchange.ansinist.samples import (
    SampleInputs,
    face_record_for,
    finger_record_for,
    reply_to,
    sample_inputs,
)
from padron.interchange.ansinist.writer import encode, face_record, finger_record, summarize, text_record

__all__ = [
    "BINARY_IMAGE_TYPES",
    "MAX_FIELDS_PER_RECORD",
    "MAX_RECORDS",
    "MAX_TRANSACTION_BYTES",
    "OPAQUE_BINARY_TYPES",
    "TAGGED_TYPES",
    "BinaryImageRecord",
    "BinaryRecord",
    "Compression",
    "FaceImage",
    "Field",
    "FingerImage",
    "Record",
    "SampleInputs",
    "TaggedRecord",
    "Transaction",
    "decode",
    "encode",
    "face_record",
    "face_record_for",
    "finger_record",
    "finger_record_for",
    "is_ansi_nist",
    "reply_to",
    "sample_inputs",
    "summarize",
    "text_record",
]
