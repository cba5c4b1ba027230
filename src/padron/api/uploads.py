"""Biometric uploads: ``multipart/form-data`` read into memory, bounded, never spooled to disk.

Starlette's own form parser writes every uploaded file over 1 MiB to a temporary file, so a
face photo or a fingerprint would lie in plaintext in ``/tmp`` while it is processed. Padron's
vault promises that no biometric byte is ever on disk in the clear, so uploads are parsed here
with python-multipart's push parser straight into memory, within limits checked as the bytes
arrive: the whole body (:data:`MAX_UPLOAD_BYTES`), each file (the image limit shared with the
command line, :data:`padron.biometrics.images.MAX_IMAGE_BYTES`), each text field and the number
of parts. A route names the fields it takes (:class:`UploadForm`); anything else is refused.

The fields of a biometric upload (:data:`SAMPLE_FIELDS`): ``face`` (an image), ``finger_1`` ..
``finger_10`` (images, by ISO/ANSI position) and ``finger_template_1`` .. ``finger_template_10``
(ISO/IEC 19794-2:2005 minutiae records), besides the route's own text fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from padron.api.problems import MalformedRequestError, RequestTooLargeError, UnsupportedMediaTypeError
from padron.biometrics.images import MAX_IMAGE_BYTES
from padron.domain.errors import ErrorCategory, PadronError

#: the largest multipart body (a face and ten fingers at typical sizes fit many times over)
MAX_UPLOAD_BYTES: Final = 64 * 1024 * 1024
#: the largest text field of a multipart body (a person's demographics as JSON)
MAX_TEXT_FIELD_BYTES: Final = 64 * 1024
#: the most parts a multipart body may have (1 face + 10 fingers + text fields)
MAX_PARTS: Final = 32
#: an ISO/IEC 19794-2 record holds at most 255 minutiae per view, 6 bytes each
MAX_TEMPLATE_BYTES: Final = 64 * 1024

FINGER_POSITIONS: Final = tuple(str(p) for p in range(1, 11))
FACE_FIELD: Final = "face"
FINGER_FIELDS: Final = {f"finger_{p}": p for p in FINGER_POSITIONS}
TEMPLATE_FIELDS: Final = {f"finger_template_{p}": p for p in FINGER_POSITIONS}
SAMPLE_FIELDS: Final = frozenset({FACE_FIELD, *FINGER_FIELDS, *TEMPLATE_FIELDS})


class MalformedUploadError(MalformedRequestError):
    code = "PAD-UPLOAD-001"
    summary = (
        "A multipart/form-data body cannot be parsed (HTTP 400): no boundary, a broken part, "
        "a part without a name, or a field given twice."
    )


class UploadPartTooLargeError(RequestTooLargeError):
    code = "PAD-UPLOAD-002"
    summary = "One part of an upload is larger than its limit (HTTP 413); details give the part and limit."


class UploadFieldError(PadronError):
    code = "PAD-UPLOAD-003"
    summary = (
        "An upload has a field the endpoint does not take, a text field sent as a file or a "
        "file sent as text, or too many parts (HTTP 422); details name the field."
    )


class NoSampleError(PadronError):
    code = "PAD-UPLOAD-004"
    category = ErrorCategory.INVALID
    summary = "A biometric request carries no sample: send face, finger_N or finger_template_N parts."


@dataclass(frozen=True)
class Part:
    name: str
    data: bytes
    #: the part's filename: set for a file, None for a text field
    filename: str | None = None
    content_type: str | None = None

    @property
    def is_file(self) -> bool:
        return self.filename is not None


@dataclass(frozen=True)
class UploadForm:
    """The fields a route takes: ``text`` fields and ``files`` (besides the samples when
    ``samples``), with the ``required`` text fields."""

    text: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    samples: bool = True

    def file_limit(self, name: str) -> int | None:
        if not self.samples or name not in SAMPLE_FIELDS:
            return None
        return MAX_TEMPLATE_BYTES if name in TEMPLATE_FIELDS else MAX_IMAGE_BYTES

    def openapi(self, descriptions: Mapping[str, str]) -> dict[str, Any]:
        """The request body of the route in OpenAPI (the parser is not FastAPI's, so the route
        declares it with ``openapi_extra``)."""
        properties: dict[str, Any] = {
            name: {
                "type": "string",
                "maxLength": MAX_TEXT_FIELD_BYTES,
                "description": descriptions.get(name, ""),
            }
            for name in sorted(self.text)
        }
        if self.samples:
            properties[FACE_FIELD] = {
                "type": "string",
                "format": "binary",
                "description": "Face image (JPEG, PNG, ...).",
            }
            for name, position in FINGER_FIELDS.items():
                properties[name] = {
                    "type": "string",
                    "format": "binary",
                    "description": f"Image of finger {position} (ISO/ANSI position).",
                }
            for name, position in TEMPLATE_FIELDS.items():
                properties[name] = {
                    "type": "string",
                    "format": "binary",
                    "description": f"ISO/IEC 19794-2:2005 minutiae record of finger {position}.",
                }
        schema = {"type": "object", "properties": properties, "required": sorted(self.required)}
        encoding = (
            {name: {"contentType": "application/octet-stream"} for name in SAMPLE_FIELDS}
            if self.samples
            else {}
        )
        return {
            "requestBody": {
                "required": True,
                "content": {"multipart/form-data": {"schema": schema, "encoding": encoding}},
            }
        }


@dataclass(frozen=True)
class Upload:
    """A parsed upload: text fields, and the samples by kind and slot."""

    text: Mapping[str, str]
    face: bytes | None
    fingers: Mapping[str, bytes]
    finger_templates: Mapping[str, bytes]

    @property
    def has_samples(self) -> bool:
        return self.face is not None or bool(self.fingers) or bool(self.finger_templates)

    def require_samples(self) -> None:
        if not self.has_samples:
            raise NoSampleError(
                "the request carries no biometric sample: send a face, finger_N or finger_template_N part"
            )

    @property
    def images(self) -> dict[str, bytes]:
        """The uploaded images by slot (``face``, ``1``..``10``), to be kept sealed."""
        out = dict(self.fingers)
        if self.face is not None:
            out["face"] = self.face
        return out


class _Collector:
    """python-multipart callbacks gathering parts into memory within the limits."""

    def __init__(self, form: UploadForm) -> None:
        self.form = form
        self.parts: dict[str, Part] = {}
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._chunks: list[bytes] = []
        self._size = 0
        self._name = ""
        self._filename: str | None = None
        self._limit = MAX_TEXT_FIELD_BYTES

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }

    def on_part_begin(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise UploadFieldError(f"the upload has more than {MAX_PARTS} parts", max_parts=MAX_PARTS)
        self._headers = {}
        self._chunks = []
        self._size = 0

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        raw_name = options.get(b"name")
        if disposition != b"form-data" or not raw_name:
            raise MalformedUploadError("a part of the upload has no Content-Disposition: form-data; name=...")
        try:
            name = raw_name.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedUploadError("a part's name is not UTF-8") from None
        if name in self.parts:
            raise MalformedUploadError(f"the field {name!r} is given twice; give each once", field=name)
        filename = options.get(b"filename")
        self._name = name
        self._filename = None if filename is None else filename.decode("utf-8", "replace")
        if self._filename is None:
            if name not in self.form.text:
                raise UploadFieldError(_unknown(name, self.form), field=name)
            self._limit = MAX_TEXT_FIELD_BYTES
        else:
            limit = self.form.file_limit(name)
            if limit is None:
                raise UploadFieldError(_unknown(name, self.form, as_file=True), field=name)
            self._limit = limit

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if self._size > self._limit and self._filename is None:
            # a text field breaks its schema (maxLength): a field error, like a JSON field's
            raise UploadFieldError(
                f"the field {self._name!r} is longer than {self._limit} bytes",
                field=self._name,
                max_bytes=self._limit,
            )
        if self._size > self._limit:
            raise UploadPartTooLargeError(
                f"the part {self._name!r} is larger than {self._limit} bytes",
                field=self._name,
                max_bytes=self._limit,
            )
        self._chunks.append(data[start:end])

    def on_part_end(self) -> None:
        content_type = self._headers.get(b"content-type")
        self.parts[self._name] = Part(
            name=self._name,
            data=b"".join(self._chunks),
            filename=self._filename,
            content_type=content_type.decode("latin-1") if content_type else None,
        )
        self._chunks = []


def _unknown(name: str, form: UploadForm, *, as_file: bool = False) -> str:
    if as_file and name in form.text:
        return f"the field {name!r} is a text field; send it without a filename"
    if not as_file and form.samples and name in SAMPLE_FIELDS:
        return f"the field {name!r} is a file; send it with a filename (as a file part)"
    known = sorted(form.text | (SAMPLE_FIELDS if form.samples else frozenset()))
    return f"this endpoint takes no field {name!r}; its fields: {', '.join(known)}"


async def read_upload(request: Request, form: UploadForm) -> Upload:
    """The request's multipart body, parsed in memory within the limits (each refusal with its
    code: PAD-API-006 not multipart, PAD-UPLOAD-001 malformed, PAD-UPLOAD-002 / PAD-API-002 too
    large, PAD-UPLOAD-003 a field the endpoint does not take)."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise UnsupportedMediaTypeError(
            "send the body as Content-Type: multipart/form-data (a face and finger images or templates)",
            content_type=request.headers.get("content-type"),
        )
    boundary = options.get(b"boundary")
    if not boundary:
        raise MalformedUploadError("the multipart Content-Type has no boundary")
    collector = _Collector(form)
    parser = MultipartParser(boundary, cast(Any, collector.callbacks()))
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > MAX_UPLOAD_BYTES:
                raise RequestTooLargeError(
                    f"the request body is larger than {MAX_UPLOAD_BYTES} bytes", max_bytes=MAX_UPLOAD_BYTES
                )
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as error:
        raise MalformedUploadError(f"the multipart body is malformed: {error}") from None
    if collector._chunks or (received and not collector.parts):
        raise MalformedUploadError("the multipart body ends inside a part (no closing boundary)")
    text: dict[str, str] = {}
    faces: bytes | None = None
    fingers: dict[str, bytes] = {}
    templates: dict[str, bytes] = {}
    for name, part in collector.parts.items():
        if not part.is_file:
            try:
                text[name] = part.data.decode("utf-8")
            except UnicodeDecodeError as error:
                raise MalformedUploadError(
                    f"the field {name!r} is not UTF-8 (byte {error.start + 1})", field=name
                ) from None
        elif name == FACE_FIELD:
            faces = part.data
        elif name in FINGER_FIELDS:
            fingers[FINGER_FIELDS[name]] = part.data
        else:
            templates[TEMPLATE_FIELDS[name]] = part.data
    both = sorted(set(fingers) & set(templates), key=int)
    if both:
        raise UploadFieldError(
            f"finger {', '.join(both)}: send an image (finger_N) or an ISO template "
            "(finger_template_N) for a position, not both",
            positions=both,
        )
    missing = sorted(form.required - set(text))
    if missing:
        raise UploadFieldError(f"the upload is missing the field(s) {', '.join(missing)}", fields=missing)
    return Upload(text=text, face=faces, fingers=fingers, finger_templates=templates)
