"""dlib and its public-domain model files, loaded lazily and once per process.

The weights ship inside the ``face-recognition-models`` wheel. Its ``__init__`` imports
``pkg_resources`` (gone from setuptools >= 81), so we never import it: we locate the package's folder
with ``importlib.util.find_spec`` (which does not execute the package) and read the ``.dat`` files.

Only the 5-point landmark model is used: the 68-point model's licence forbids commercial use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from padron.biometrics.face.errors import FaceModelUnavailableError

MODELS_PACKAGE = "face_recognition_models"
LANDMARKS_5 = "shape_predictor_5_face_landmarks.dat"
RESNET = "dlib_face_recognition_resnet_model_v1.dat"
MMOD = "mmod_human_face_detector.dat"

_lock = threading.Lock()


def models_dir() -> Path:
    """The folder holding the ``.dat`` files of the installed face-recognition-models wheel."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelUnavailableError(
            "the face-recognition-models package is not installed; install padron's `face` extra"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    if not folder.is_dir():
        raise FaceModelUnavailableError(f"no models folder in {folder.parent}")
    return folder


def model_file(name: str) -> Path:
    path = models_dir() / name
    if not path.is_file():
        raise FaceModelUnavailableError(f"model file {name} is missing from {path.parent}", file=name)
    return path


def dlib_module() -> Any:
    try:
        import dlib
    except ImportError as error:
        raise FaceModelUnavailableError(
            f"dlib is not installed ({error}); install padron's `face` extra (dlib-bin)"
        ) from None
    return dlib


@dataclass(frozen=True)
class DlibModels:
    """The HOG detector, the 5-point landmark predictor and the ResNet descriptor network."""

    dlib: Any
    hog: Any
    landmarks: Any
    resnet: Any


@cache
def _load() -> DlibModels:
    dlib = dlib_module()
    return DlibModels(
        dlib=dlib,
        hog=dlib.get_frontal_face_detector(),
        landmarks=dlib.shape_predictor(str(model_file(LANDMARKS_5))),
        resnet=dlib.face_recognition_model_v1(str(model_file(RESNET))),
    )


@cache
def _load_mmod() -> Any:
    return dlib_module().cnn_face_detection_model_v1(str(model_file(MMOD)))


def load_models() -> DlibModels:
    """The models, loaded on first use (thread-safe), then shared by the whole process."""
    with _lock:
        return _load()


def load_mmod() -> Any:
    """dlib's CNN ("mmod") face detector, loaded on first use."""
    with _lock:
        return _load_mmod()


@cache
def resnet_digest() -> str:
    """First 16 hex digits of the ResNet weights' SHA-256: part of every cache key."""
    return hashlib.sha256(model_file(RESNET).read_bytes()).hexdigest()[:16]
