"""`padron face check IMAGE`: is this photo usable? Quality score, reasons, and the template's size.

Exit status 0 when a face was acquired (and, with ``--enroll``, its quality reaches the floor);
1 with the error code otherwise (e.g. PAD-FACE-010 no face, PAD-FACE-011 below the floor).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from padron.cli.files import IMAGE_FILE_LIMIT, read_input
from padron.cli.output import console, print_json, report_error
from padron.domain.errors import PadronError

app = typer.Typer(help="Face samples: check a photo's quality and make its template.", no_args_is_help=True)


@app.callback()
def face() -> None:
    """Face samples: check a photo's quality and make its template."""


@app.command("check")
def check(
    image: Annotated[Path, typer.Argument(help="JPEG, PNG, PGM, GIF or TIFF photo.")],
    enroll: Annotated[bool, typer.Option("--enroll", help="Apply the enrollment quality floor.")] = False,
    floor: Annotated[
        float | None, typer.Option("--floor", help="Enrollment floor, 0-100 [default: 50].")
    ] = None,
    detector: Annotated[
        str, typer.Option("--detector", help="hog (CNN fallback) or mmod (CNN only).")
    ] = "hog",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Decode, find the face, score its quality and make its template."""
    try:
        result = _check(image, enroll=enroll, floor=floor, detector=detector)
    except PadronError as error:
        report_error(error, as_json=as_json)
        raise typer.Exit(1) from None
    if as_json:
        print_json(result)
        return
    console.print(
        f"quality {result['quality']['score']:.0f}/100, {result['faces_found']} face(s), {result['detector']}"
    )
    for reason in result["quality"]["reasons"]:
        console.print(f"  - {reason}")
    console.print(f"template {result['template_bytes']} bytes ({result['algorithm']} v{result['version']})")


def _check(image: Path, *, enroll: bool, floor: float | None, detector: str) -> dict[str, Any]:
    from padron.biometrics.face import (
        Detector,
        ExtractorParameters,
        FaceExtractor,
        Purpose,
        QualityParameters,
    )
    from padron.biometrics.face.errors import FaceParameterError

    if detector not in {d.value for d in Detector}:
        raise FaceParameterError(f"unknown detector {detector!r}; use hog or mmod", field="detector")

    data = read_input(image, limit=IMAGE_FILE_LIMIT, what="face image")
    quality = QualityParameters() if floor is None else QualityParameters(enrollment_floor=floor)
    extractor = FaceExtractor(ExtractorParameters(detector=Detector(detector), quality=quality))
    sample = extractor.extract(data, Purpose.ENROLL if enroll else Purpose.VERIFY)
    return {
        "image": str(image),
        "image_size": list(sample.image_size),
        "faces_found": sample.quality.faces_found,
        "detector": sample.detector,
        "box": [sample.box.left, sample.box.top, sample.box.right, sample.box.bottom],
        "quality": sample.quality.to_dict(),
        "algorithm": sample.template.algorithm,
        "version": sample.template.version,
        "template_bytes": len(sample.template.to_bytes()),
        "extract_ms": round(sample.extract_ms, 1),
    }
