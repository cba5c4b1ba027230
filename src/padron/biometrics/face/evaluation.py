"""Accuracy of face pipelines on public protocols: LFW View 2 (+ an open-set 1:N experiment) and a
generic one-folder-per-identity protocol.

Conventions (stated so that auditors can check them):

- Every score is a similarity (higher = more alike). padron: cosine of unit vectors. Baseline:
  ``-Euclidean distance`` of face_recognition's raw vectors.
- A failure to acquire (no face, unreadable file) gives the comparison a score of ``-inf``: a genuine
  pair with a failure counts as a false non-match, an impostor pair as a correct non-match, a 1:N
  mated probe as a miss, a non-mated probe as a correct rejection. Failures are also reported (``fta``).
- 1:N figures use rank 1: FNIR(T) = share of mated probes whose mate is not the top candidate or
  scores below T; FPIR(T) = share of non-mated probes whose top candidate scores T or more; T is set
  on the non-mated probes for the target FPIR (as :func:`threshold_at_fmr` does for impostors).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from padron.biometrics.face import models
from padron.biometrics.face.baseline import PIPELINE_ID as BASELINE_ID
from padron.biometrics.face.baseline import baseline_vector
from padron.biometrics.face.cache import Extraction, TemplateCache
from padron.biometrics.face.errors import EvaluationDataError, FaceError
from padron.biometrics.face.extract import ExtractorParameters, FaceExtractor
from padron.biometrics.face.quality import QualityMeasures, QualityParameters, score
from padron.biometrics.face.template import ALGORITHM, TEMPLATE_VERSION
from padron.biometrics.metrics import eer, fnmr_at_fmr, threshold_at_fmr

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".gif", ".tif", ".tiff"})
FloatArray = npt.NDArray[np.float64]
Progress = Callable[[int, int], None]

# --- pipelines ----------------------------------------------------------------------------------


class Pipeline(Protocol):
    name: str

    @property
    def cache_id(self) -> str: ...

    def run(self, data: bytes, image_key: str) -> Extraction: ...

    def similarity(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """(len(a), len(b)) scores between the rows of two vector matrices."""
        ...

    def paired(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """Scores between a[k] and b[k] for every k."""
        ...


class PadronPipeline:
    name = "padron"

    def __init__(self, params: ExtractorParameters | None = None) -> None:
        self.extractor = FaceExtractor(params)

    @property
    def cache_id(self) -> str:
        p = self.extractor.params
        return f"padron:{ALGORITHM}:v{TEMPLATE_VERSION}:{models.resnet_digest()}:{p.cache_key()}"

    def run(self, data: bytes, image_key: str) -> Extraction:
        try:
            sample = self.extractor.extract(data)
        except FaceError as error:
            return Extraction(None, None, error.code, None, 0.0)
        vector = np.frombuffer(sample.template.payload, dtype="<f4").astype(np.float32)
        return Extraction(vector, sample.measures.to_dict(), None, sample.detector, sample.extract_ms)

    def similarity(self, a: FloatArray, b: FloatArray) -> FloatArray:
        return np.asarray(a @ b.T, dtype=np.float64)

    def paired(self, a: FloatArray, b: FloatArray) -> FloatArray:
        return np.asarray(np.einsum("ij,ij->i", a, b), dtype=np.float64)


class BaselinePipeline:
    name = "baseline"

    @property
    def cache_id(self) -> str:
        return f"{BASELINE_ID}:{models.resnet_digest()}"

    def run(self, data: bytes, image_key: str) -> Extraction:
        try:
            vector, ms = baseline_vector(data)
        except FaceError as error:
            return Extraction(None, None, error.code, None, 0.0)
        return Extraction(vector.astype(np.float32), None, None, "hog", ms)

    def similarity(self, a: FloatArray, b: FloatArray) -> FloatArray:
        sq = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
        return np.asarray(-np.sqrt(np.maximum(sq, 0.0)), dtype=np.float64)

    def paired(self, a: FloatArray, b: FloatArray) -> FloatArray:
        return np.asarray(-np.linalg.norm(a - b, axis=1), dtype=np.float64)


def pipelines(with_baseline: bool, params: ExtractorParameters | None = None) -> list[Pipeline]:
    chosen: list[Pipeline] = [PadronPipeline(params)]
    if with_baseline:
        chosen.append(BaselinePipeline())
    return chosen


@dataclass
class Templates:
    """One pipeline's vectors for a list of images (NaN rows where acquisition failed)."""

    pipeline: Pipeline
    vectors: FloatArray
    ok: npt.NDArray[np.bool_]
    extract_ms: FloatArray  # NaN where not measured
    errors: dict[str, int] = field(default_factory=dict)
    quality: FloatArray | None = None  # 0-100 (padron only; NaN where acquisition failed)

    def pair_scores(self, i: npt.NDArray[np.intp], j: npt.NDArray[np.intp]) -> FloatArray:
        """Scores of the pairs (i[k], j[k]); -inf where either side failed."""
        out = np.full(i.size, -np.inf)
        good = self.ok[i] & self.ok[j]
        if good.any():
            out[good] = self.pipeline.paired(self.vectors[i[good]], self.vectors[j[good]])
        return out

    def summary(self) -> dict[str, Any]:
        measured = self.extract_ms[np.isfinite(self.extract_ms)]
        return {
            "templates": int(self.ok.sum()),
            "fta": int((~self.ok).sum()),
            "fta_rate": float((~self.ok).mean()) if self.ok.size else 0.0,
            "fta_codes": dict(sorted(self.errors.items())),
            "extract_ms_median": float(np.median(measured)) if measured.size else None,
        }


def extract_images(
    paths: Sequence[Path],
    chosen: Sequence[Pipeline],
    cache: TemplateCache,
    progress: Progress | None = None,
) -> list[Templates]:
    """Run (or read from the cache) every pipeline on every image, in one pass over the files."""
    n = len(paths)
    vectors = [np.full((n, 128), np.nan) for _ in chosen]
    ms = [np.full(n, np.nan) for _ in chosen]
    quality = [np.full(n, np.nan) for _ in chosen]
    quality_params = QualityParameters()
    errors: list[dict[str, int]] = [{} for _ in chosen]
    ids = [p.cache_id for p in chosen]
    for k, path in enumerate(paths):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        for p, pipeline in enumerate(chosen):
            found = cache.get(digest, ids[p])
            if found is None:
                found = pipeline.run(data, digest)
                cache.put(digest, ids[p], found)
            if found.vector is not None:
                vectors[p][k] = found.vector
                ms[p][k] = found.extract_ms
                if found.measures is not None:
                    quality[p][k] = score(QualityMeasures.from_dict(found.measures), quality_params).score
            else:
                code = found.error_code or "unknown"
                errors[p][code] = errors[p].get(code, 0) + 1
        if progress is not None:
            progress(k + 1, n)
    cache.commit()
    return [
        Templates(
            pipeline=pl,
            vectors=v,
            ok=np.isfinite(v[:, 0]),
            extract_ms=t,
            errors=e,
            quality=q if np.isfinite(q).any() else None,
        )
        for pl, v, t, e, q in zip(chosen, vectors, ms, errors, quality, strict=True)
    ]


# --- measures -----------------------------------------------------------------------------------


def best_threshold(scores: FloatArray, labels: npt.NDArray[np.bool_]) -> float:
    """The threshold that maximizes accuracy (match when score >= t) on these labelled scores."""
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], labels[order]
    # t placed before index k: indices < k predicted non-match, >= k match
    correct = np.concatenate([[0], np.cumsum(~y)]) + np.concatenate([np.cumsum(y[::-1])[::-1], [0]])
    # only cut between distinct scores
    valid = np.concatenate([[True], s[1:] != s[:-1], [True]])
    correct = np.where(valid, correct, -1)
    k = int(np.argmax(correct))
    if k == 0:
        return float(s[0]) if np.isfinite(s[0]) else -np.inf
    if k == s.size:
        return float(np.inf)
    lo, hi = s[k - 1], s[k]
    return float((lo + hi) / 2.0) if np.isfinite(lo) else float(hi)


def ten_fold_accuracy(
    scores: FloatArray, labels: npt.NDArray[np.bool_], folds: npt.NDArray[np.intp]
) -> list[float]:
    """LFW View 2: for each fold, the threshold that is best on the other nine, tested on it."""
    accuracies = []
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        t = best_threshold(scores[train], labels[train])
        predicted = scores[test] >= t
        accuracies.append(float(np.mean(predicted == labels[test])))
    return accuracies


def acquired_pairs_only(
    scores: FloatArray, labels: npt.NDArray[np.bool_], folds: npt.NDArray[np.intp]
) -> dict[str, float]:
    """View 2 accuracy over the pairs whose two images were both acquired (finite scores): what a user
    who drops images without a detected face would report. Not comparable across pipelines that
    acquire different images; reported beside the main figure, which counts failures as non-matches."""
    kept = np.isfinite(scores)
    accuracies = ten_fold_accuracy(scores[kept], labels[kept], folds[kept])
    return {
        "pairs": int(kept.sum()),
        "accuracy_mean": float(np.mean(accuracies)),
        "accuracy_std": float(np.std(accuracies, ddof=1)) if len(accuracies) > 1 else 0.0,
    }


def open_set(
    t: Templates,
    gallery: npt.NDArray[np.intp],
    gallery_ids: npt.NDArray[np.intp],
    mated: npt.NDArray[np.intp],
    mated_ids: npt.NDArray[np.intp],
    nonmated: npt.NDArray[np.intp],
    fpirs: Iterable[float],
) -> dict[str, float]:
    """Rank-1 identification rate and FNIR at each FPIR (see the module docstring)."""
    g_ok = gallery[t.ok[gallery]]
    g_ids = gallery_ids[t.ok[gallery]]
    top_mated, top_mated_id = _top1(t, mated, g_ok, g_ids)
    top_non, _ = _top1(t, nonmated, g_ok, g_ids)
    hit = top_mated_id == mated_ids
    out = {"rank1": float(hit.mean())}
    for fpir in fpirs:
        threshold = threshold_at_fmr(top_non, fpir)
        out[f"fnir_at_fpir_{fpir:g}"] = float(np.mean(~(hit & (top_mated >= threshold))))
    return out


def _top1(
    t: Templates, probes: npt.NDArray[np.intp], g: npt.NDArray[np.intp], g_ids: npt.NDArray[np.intp]
) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Top score and its identity for each probe (-inf and -1 where the probe failed)."""
    best = np.full(probes.size, -np.inf)
    who = np.full(probes.size, -1, dtype=np.intp)
    if g.size == 0:
        return best, who
    gallery = t.vectors[g]
    for start in range(0, probes.size, 1024):
        chunk = probes[start : start + 1024]
        ok = t.ok[chunk]
        if not ok.any():
            continue
        s = t.pipeline.similarity(t.vectors[chunk[ok]], gallery)
        arg = np.argmax(s, axis=1)
        idx = np.arange(start, start + chunk.size)[ok]
        best[idx] = s[np.arange(s.shape[0]), arg]
        who[idx] = g_ids[arg]
    return best, who


def verification(genuine: FloatArray, impostor: FloatArray) -> dict[str, float]:
    return {
        "eer": eer(genuine, impostor),
        "fmr100": fnmr_at_fmr(genuine, impostor, 1e-2),
        "fmr1000": fnmr_at_fmr(genuine, impostor, 1e-3),
    }


def quality_effect(
    quality: FloatArray,
    i: npt.NDArray[np.intp],
    j: npt.NDArray[np.intp],
    same: npt.NDArray[np.bool_],
    genuine: FloatArray,
    impostor: FloatArray,
) -> dict[str, Any]:
    """Does the quality score predict errors? FNMR at the FMR-1e-3 threshold (set on all impostor
    pairs) for genuine pairs whose worse image is at or above the enrollment floor, and below it."""
    floor = QualityParameters().enrollment_floor
    worse = np.fmin(quality[i], quality[j])[same]
    threshold = threshold_at_fmr(impostor, 1e-3)
    out: dict[str, Any] = {
        "floor": floor,
        "image_quality_median": float(np.nanmedian(quality)),
        "images_at_or_above_floor": float(np.mean(quality[np.isfinite(quality)] >= floor)),
    }
    for label, mask in (("at_or_above_floor", worse >= floor), ("below_floor", ~(worse >= floor))):
        out[f"genuine_pairs_{label}"] = int(mask.sum())
        out[f"fnmr_at_fmr_1e-3_{label}"] = float(np.mean(genuine[mask] < threshold)) if mask.any() else None
    return out


# --- protocols ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LfwPairs:
    paths: list[Path]  # unique images, sorted
    i: npt.NDArray[np.intp]
    j: npt.NDArray[np.intp]
    same: npt.NDArray[np.bool_]
    fold: npt.NDArray[np.intp]


def lfw_image(root: Path, name: str, number: int) -> Path:
    return root / "images_deepfunneled" / name / f"{name}_{number:04d}.jpg"


def read_lfw_pairs(root: Path, limit: int | None = None) -> LfwPairs:
    """Parse View 2 ``pairs.txt`` (10 folds x 300 matched + 300 mismatched pairs); with ``limit``,
    keep only the first ``limit`` matched and ``limit`` mismatched pairs of each fold."""
    pairs_file = root / "pairs.txt"
    if not pairs_file.is_file() or not (root / "images_deepfunneled").is_dir():
        raise EvaluationDataError(
            f"{root} must hold pairs.txt and images_deepfunneled/ (LFW deep-funneled)", folder=str(root)
        )
    lines = pairs_file.read_text(encoding="utf-8").split("\n")
    try:
        n_folds, per = (int(x) for x in lines[0].split())
    except ValueError:
        raise EvaluationDataError("pairs.txt must start with '<folds> <pairs per half-fold>'") from None
    rows: list[tuple[Path, Path, bool, int]] = []
    body = [line.split() for line in lines[1:] if line.strip()]
    if len(body) != 2 * n_folds * per:
        raise EvaluationDataError(f"pairs.txt has {len(body)} pairs, its header promises {2 * n_folds * per}")
    for k, parts in enumerate(body):
        fold = k // (2 * per)
        try:
            if len(parts) == 3:
                rows.append(
                    (
                        lfw_image(root, parts[0], int(parts[1])),
                        lfw_image(root, parts[0], int(parts[2])),
                        True,
                        fold,
                    )
                )
            elif len(parts) == 4:
                rows.append(
                    (
                        lfw_image(root, parts[0], int(parts[1])),
                        lfw_image(root, parts[2], int(parts[3])),
                        False,
                        fold,
                    )
                )
            else:
                raise ValueError(parts)
        except ValueError:
            raise EvaluationDataError(f"pairs.txt line {k + 2} is malformed: {' '.join(parts)}") from None
    if limit is not None:  # the first `limit` matched and mismatched pairs of every fold
        rows = [r for k, r in enumerate(rows) if (k % per) < limit]
    paths = sorted({p for r in rows for p in r[:2]})
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise EvaluationDataError(f"{len(missing)} images named in pairs.txt are missing, e.g. {missing[0]}")
    index = {p: n for n, p in enumerate(paths)}
    return LfwPairs(
        paths=paths,
        i=np.array([index[r[0]] for r in rows], dtype=np.intp),
        j=np.array([index[r[1]] for r in rows], dtype=np.intp),
        same=np.array([r[2] for r in rows], dtype=bool),
        fold=np.array([r[3] for r in rows], dtype=np.intp),
    )


def identity_folders(root: Path) -> dict[str, list[Path]]:
    """Identity name -> its images (sorted by file name), identities sorted by name."""
    if not root.is_dir():
        raise EvaluationDataError(f"{root} is not a folder", folder=str(root))
    out: dict[str, list[Path]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if images:
            out[folder.name] = images
    return out


@dataclass(frozen=True)
class OpenSetDesign:
    gallery: npt.NDArray[np.intp]
    gallery_ids: npt.NDArray[np.intp]
    mated: npt.NDArray[np.intp]
    mated_ids: npt.NDArray[np.intp]
    nonmated: npt.NDArray[np.intp]

    def sizes(self) -> dict[str, int]:
        return {
            "gallery": int(self.gallery.size),
            "mated_probes": int(self.mated.size),
            "nonmated_probes": int(self.nonmated.size),
        }


def lfw_open_set_design(people: dict[str, list[Path]], index: dict[Path, int]) -> OpenSetDesign:
    """Identities with 2+ images sorted by name: even-indexed enrolled with their first image (others
    are mated probes), odd-indexed not enrolled (all their images are non-mated probes); identities
    with one image are enrolled as distractors."""
    multi = [name for name in sorted(people) if len(people[name]) >= 2]
    single = [name for name in sorted(people) if len(people[name]) == 1]
    gallery: list[int] = []
    gallery_ids: list[int] = []
    mated: list[int] = []
    mated_ids: list[int] = []
    nonmated: list[int] = []
    ident = {name: n for n, name in enumerate(sorted(people))}
    for k, name in enumerate(multi):
        images = [index[p] for p in people[name]]
        if k % 2 == 0:
            gallery.append(images[0])
            gallery_ids.append(ident[name])
            mated.extend(images[1:])
            mated_ids.extend([ident[name]] * (len(images) - 1))
        else:
            nonmated.extend(images)
    for name in single:
        gallery.append(index[people[name][0]])
        gallery_ids.append(ident[name])
    a = np.asarray
    return OpenSetDesign(
        gallery=a(gallery, dtype=np.intp),
        gallery_ids=a(gallery_ids, dtype=np.intp),
        mated=a(mated, dtype=np.intp),
        mated_ids=a(mated_ids, dtype=np.intp),
        nonmated=a(nonmated, dtype=np.intp),
    )


def first_vs_rest_pairs(
    people: dict[str, list[Path]], index: dict[Path, int]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(first images, genuine i, genuine j): each identity's first image against each of its others."""
    firsts = np.array([index[imgs[0]] for imgs in people.values()], dtype=np.intp)
    gi = [index[imgs[0]] for imgs in people.values() for _ in imgs[1:]]
    gj = [index[p] for imgs in people.values() for p in imgs[1:]]
    return firsts, np.array(gi, dtype=np.intp), np.array(gj, dtype=np.intp)


def all_first_impostors(t: Templates, firsts: npt.NDArray[np.intp]) -> FloatArray:
    """Scores of every pair of different identities' first images (upper triangle; -inf on failure)."""
    n = firsts.size
    ok = t.ok[firsts]
    v = t.vectors[firsts]
    out = np.empty(n * (n - 1) // 2)
    pos = 0
    for a in range(0, n, 512):
        rows = np.arange(a, min(n, a + 512))
        s = np.full((rows.size, n), -np.inf)
        good_rows = ok[rows]
        if good_rows.any() and ok.any():
            block = t.pipeline.similarity(v[rows[good_rows]], v[ok])
            tmp = np.full((int(good_rows.sum()), n), -np.inf)
            tmp[:, ok] = block
            s[good_rows] = tmp
        for r, row in enumerate(rows):
            tail = s[r, row + 1 :]
            out[pos : pos + tail.size] = tail
            pos += tail.size
    return out


@dataclass
class Outcome:
    """Figures per pipeline (``padron`` first) and the score samples behind them, for plots."""

    figures: dict[str, dict[str, Any]]
    scores: dict[str, tuple[FloatArray, FloatArray]]  # "<pipeline> <set>" -> (genuine, impostor)
    extended: dict[str, tuple[FloatArray, FloatArray]] = field(default_factory=dict)


FPIRS = (0.01, 0.003)
#: every pair of 8,000 images is 32 million scores (about 1 GB of working memory with the indices)
MAX_FOLDER_IMAGES = 8_000


def run_lfw(
    root: Path,
    chosen: Sequence[Pipeline],
    cache: TemplateCache,
    progress: Progress | None = None,
    *,
    pair_limit: int | None = None,
    open_set_experiment: bool = True,
    extended: bool = False,
) -> Outcome:
    """LFW View 2 (10 folds) and, unless ``pair_limit`` restricts the run, the open-set 1:N experiment.

    ``extended``: also score each identity's first image against its others (genuine) and every pair of
    identities' first images (impostor, ~16.5 million pairs) -- the distributions the shipped
    calibration comes from.
    """
    pairs = read_lfw_pairs(root, limit=pair_limit)
    people = identity_folders(root / "images_deepfunneled") if (open_set_experiment or extended) else {}
    paths = sorted(set(pairs.paths) | {p for imgs in people.values() for p in imgs})
    index = {p: n for n, p in enumerate(paths)}
    remap = np.array([index[p] for p in pairs.paths], dtype=np.intp)
    pi, pj = remap[pairs.i], remap[pairs.j]
    results = extract_images(paths, chosen, cache, progress)
    design = lfw_open_set_design(people, index) if open_set_experiment else None
    firsts_gi_gj = first_vs_rest_pairs(people, index) if extended else None
    out = Outcome(figures={}, scores={})
    for t in results:
        scores = t.pair_scores(pi, pj)
        accuracies = ten_fold_accuracy(scores, pairs.same, pairs.fold)
        genuine, impostor = scores[pairs.same], scores[~pairs.same]
        fig: dict[str, Any] = {
            "accuracy_mean": float(np.mean(accuracies)),
            "accuracy_std": float(np.std(accuracies, ddof=1)) if len(accuracies) > 1 else 0.0,
            "tar_at_far_1e-3": 1.0 - fnmr_at_fmr(genuine, impostor, 1e-3),
            "eer": eer(genuine, impostor),
            "fold_accuracies": accuracies,
            "pairs": int(scores.size),
            "acquired_pairs_only": acquired_pairs_only(scores, pairs.same, pairs.fold),
        }
        if t.quality is not None:
            fig["quality"] = quality_effect(t.quality, pi, pj, pairs.same, genuine, impostor)
        if design is not None:
            fig.update(
                open_set(
                    t,
                    design.gallery,
                    design.gallery_ids,
                    design.mated,
                    design.mated_ids,
                    design.nonmated,
                    FPIRS,
                )
            )
            fig.update(design.sizes())
        fig.update(t.summary())
        fig["images"] = len(paths)
        if people:
            fig["identities"] = len(people)
        out.figures[t.pipeline.name] = fig
        out.scores[f"{t.pipeline.name} (View 2)"] = (genuine, impostor)
        if firsts_gi_gj is not None:
            firsts, gi, gj = firsts_gi_gj
            g_ext = t.pair_scores(gi, gj)
            i_ext = all_first_impostors(t, firsts)
            out.extended[t.pipeline.name] = (g_ext, i_ext)
            fig["extended"] = {
                "genuine_pairs": int(g_ext.size),
                "impostor_pairs": int(i_ext.size),
                "eer": eer(g_ext, i_ext),
                **{
                    f"fnmr_at_fmr_{f:.0e}".replace("e-0", "e-"): fnmr_at_fmr(g_ext, i_ext, f)
                    for f in (1e-3, 1e-4, 1e-5)
                },
            }
    return out


def run_folders(
    root: Path,
    chosen: Sequence[Pipeline],
    cache: TemplateCache,
    progress: Progress | None = None,
) -> Outcome:
    """One sub-folder per identity: every genuine and impostor pair; closed-set rank 1 with each
    identity's first image enrolled and its other images as probes."""
    people = identity_folders(root)
    if len(people) < 2 or not any(len(v) >= 2 for v in people.values()):
        raise EvaluationDataError(
            f"{root} needs at least two identity sub-folders, one of them with two or more images",
            folder=str(root),
        )
    paths = [p for imgs in people.values() for p in imgs]
    if len(paths) > MAX_FOLDER_IMAGES:
        raise EvaluationDataError(
            f"{len(paths):,} images: the folders protocol scores every pair and holds them in memory; "
            f"use at most {MAX_FOLDER_IMAGES:,}",
            images=len(paths),
        )
    ids = np.array([n for n, imgs in enumerate(people.values()) for _ in imgs], dtype=np.intp)
    first = np.array([k == 0 for imgs in people.values() for k in range(len(imgs))], dtype=bool)
    iu, ju = np.triu_indices(len(paths), k=1)
    iu, ju = iu.astype(np.intp), ju.astype(np.intp)
    same = ids[iu] == ids[ju]
    results = extract_images(paths, chosen, cache, progress)
    out = Outcome(figures={}, scores={})
    gallery = np.flatnonzero(first).astype(np.intp)
    probes = np.flatnonzero(~first).astype(np.intp)
    for t in results:
        scores = t.pair_scores(iu, ju)
        genuine, impostor = scores[same], scores[~same]
        fig: dict[str, Any] = verification(genuine, impostor)
        _, who = _top1(t, probes, gallery[t.ok[gallery]], ids[gallery][t.ok[gallery]])
        fig["rank1"] = float(np.mean(who == ids[probes])) if probes.size else None
        fig.update(
            {
                "genuine_pairs": int(genuine.size),
                "impostor_pairs": int(impostor.size),
                "identities": len(people),
                "images": len(paths),
            }
        )
        fig.update(t.summary())
        out.figures[t.pipeline.name] = fig
        out.scores[t.pipeline.name] = (genuine, impostor)
    return out
