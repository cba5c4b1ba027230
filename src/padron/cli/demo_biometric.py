"""The biometric half of `padron demo`: a synthetic population with planted duplicates enrolled
through de-duplication, adjudication, 1:1 verification and 1:N identification.

Fingerprints come from padron's synthetic generator (no external data): each person's master
fingers are grown from their seed, an impression is rendered, PNG-encoded and run through the
same extractor (pyfing chain + NFIQ 2 gate) and matcher as real captures. A planted duplicate is
the same person enrolling again under another name with new impressions of the same fingers.
Rendering and extraction run in worker processes; enrollment runs in order in this process.
"""

from __future__ import annotations

import io
import multiprocessing
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from padron.domain.access import AccessContext, Purpose
from padron.domain.errors import PadronError
from padron.domain.finger import FingerPosition
from padron.domain.person import PersonDraft
from padron.domain.template import Modality, Template
from padron.matching.fusion import LlrModel, fit_llr, llr_threshold
from padron.registry.identity import IdentityService
from padron.synth.population import REFERENCE_DATE, Record, finger_seed, plan_records

ACTOR = "demo:enrollment-officer"
ADJUDICATOR = "demo:adjudicator"
#: the demo's desks: enrollment, adjudication, verification, and an investigation for 1:N
ENROLLING = AccessContext.cli(ACTOR, Purpose.ENROLLMENT)
ADJUDICATING = AccessContext.cli(ADJUDICATOR, Purpose.ADJUDICATION)
VERIFYING = AccessContext.cli("demo:verifier", Purpose.VERIFICATION)
INVESTIGATING = AccessContext.cli("demo:investigator", Purpose.INVESTIGATION, case_ref="DEMO-1")
#: right and left index fingers (ISO/ANSI positions 2 and 7): the usual pair at enrollment desks
DEFAULT_FINGERS = ("2", "7")


@dataclass(frozen=True)
class _Job:
    seed: int
    identity: int
    scale: float
    impression_set: int
    positions: tuple[str, ...]
    chain: str = "classic"
    #: (min, max) share of the fingertip touching the sensor; None: the generator's default
    contact: tuple[float, float] | None = None
    #: apply the NFIQ 2 enrollment gate (False: bulk captures skip NFIQ 2, see BULK_NFIQ2)
    gate: bool = True
    #: where masters are cached between runs (None: generated every time)
    masters: str | None = None


def _png(image: Any) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def capture(job: _Job) -> tuple[dict[str, bytes], dict[str, str]]:
    """Render and extract one person's fingers: template bytes by slot, and refusals by slot."""
    from padron.biometrics.fingerprint import FingerprintExtractor
    from padron.synth.fingerprint import MasterCache, MasterParams, generate_finger, impressions
    from padron.synth.fingerprint.params import ImpressionParams

    # the extraction cache (keyed by image content) makes a second run quick
    extractor = _extractor(job.chain, lambda: FingerprintExtractor(chain=job.chain, use_cache=True))
    master_params = MasterParams(scale=job.scale)
    cache = MasterCache(Path(job.masters), master_params) if job.masters else None
    individual = finger_seed(job.seed, job.identity)
    templates: dict[str, bytes] = {}
    refused: dict[str, str] = {}
    for position in job.positions:
        master = (
            cache.get(individual, FingerPosition(int(position)))
            if cache
            else generate_finger(individual, int(position), params=master_params)
        )
        params = (
            ImpressionParams(contact_min=job.contact[0], contact_max=job.contact[1]) if job.contact else None
        )
        image = impressions(master, 1, seed=job.impression_set, params=params)[0]
        try:
            if job.gate:
                templates[position] = extractor.enroll(_png(image)).to_bytes()
            else:
                templates[position] = _ungated(_png(image), extractor).to_bytes()
        except PadronError as error:
            refused[position] = error.code
    return templates, refused


def _ungated(data: bytes, extractor: Any) -> Template:
    """The template without NFIQ 2 (about a third of the processor time of a capture): the
    extractor's own steps, cached by image content like the gated path but in a key of its own
    (so that an entry without NFIQ 2 never answers a gated extraction)."""
    from padron.biometrics.fingerprint import cache
    from padron.biometrics.fingerprint.api import MIN_MINUTIAE
    from padron.biometrics.fingerprint.errors import TooFewMinutiaeError
    from padron.biometrics.fingerprint.extract import extract, select
    from padron.biometrics.fingerprint.image import decode
    from padron.biometrics.fingerprint.template import create, to_envelope

    key = cache.cache_key(data, extractor.chain, None) + "-nonfiq"
    hit = cache.load(key)
    if hit is not None:
        extraction = hit[0]
    else:
        extraction = extract(decode(data, None), extractor.chain)
        cache.store(key, extraction, None)
    extraction = select(extraction)
    if len(extraction.minutiae) < MIN_MINUTIAE:
        raise TooFewMinutiaeError(
            f"only {len(extraction.minutiae)} minutiae found (need {MIN_MINUTIAE})",
            minutiae=len(extraction.minutiae),
            required=MIN_MINUTIAE,
        )
    shape = (int(extraction.foreground.shape[0]), int(extraction.foreground.shape[1]))
    return to_envelope(create(extraction.minutiae, shape, extraction.chain, None, extractor.cylinder_params))


_EXTRACTORS: dict[str, Any] = {}


#: synthetic persons captured twice to calibrate the fingerprint LLR on the demo's own "sensor"
SITE_PEOPLE = 12
#: bulk captures (population, site calibration) run NFIQ 2? It costs about a third of a capture's
#: processor time (340 of 940 ms per print, mostly its own mindtct pass), and no synthetic
#: impression of the generator's default settings falls under the floor (README, realism
#: figures); the light-touch, 1:1 and 1:N captures keep the gate
BULK_NFIQ2 = False
#: adults whose light-touch captures are tried until one lands in the grey zone, and the bisection
#: over the share of the fingertip touching the sensor done for each: the evidence of one finger
#: grows with the contact, and the grey zone is narrow (about 4.6 nats wide, between ln(N/0.01) and
#: ln(N/1e-4)), so a fixed list of contact levels can step over it; bisection finds it in a few
#: captures, made on demand in this process (about half a second each)
LIGHT_TOUCH_ADULTS = 6
LIGHT_TOUCH_STEPS = 5
LIGHT_TOUCH_RANGE = (0.2, 1.05)
LIGHT_TOUCH_WIDTH = 0.04
#: adults captured afresh for 1:1 and 1:N
VERIFIED = 4
#: no fingerprints below this age (ridges too fine to extract reliably; Aadhaar's rule too)
BIOMETRIC_MIN_AGE = 5


def _biometric(record: Record) -> bool:
    born = record.data.birth_date
    age = (
        REFERENCE_DATE.year
        - born.year
        - ((REFERENCE_DATE.month, REFERENCE_DATE.day) < (born.month, born.day))
    )
    return age >= BIOMETRIC_MIN_AGE


def _site_calibration(
    service: IdentityService, jobs: list[_Job], captures: list[tuple[dict[str, bytes], dict[str, str]]]
) -> tuple[LlrModel, tuple[int, int]]:
    """Genuine (same person and finger, two captures) and impostor (same finger position, other
    persons) scores with the production matcher, and the LLR model fitted on them. A registry
    calibrates on its own capture conditions; the packaged model comes from FVC's sensors, and
    synthetic prints resemble each other more than real ones do."""
    matcher = service.matchers[Modality.FINGERPRINT]
    found = [
        (job.identity, slot, Template.from_bytes(data))
        for job, (templates, _) in zip(jobs, captures, strict=True)
        for slot, data in templates.items()
    ]
    genuine: list[float] = []
    impostor: list[float] = []
    for i, (who, slot, template) in enumerate(found):
        others = [(w, t) for w, s, t in found[i + 1 :] if s == slot]
        if not others:
            continue
        scores = matcher.prepare(template).scores(matcher.batch([matcher.decode(t) for _, t in others]))
        for (w, _), score in zip(others, scores, strict=True):
            (genuine if w == who else impostor).append(float(score))
    return fit_llr(genuine, impostor), (len(genuine), len(impostor))


def _extractor(chain: str, factory: Any) -> Any:
    """One extractor (and one model load) per chain and process."""
    if chain not in _EXTRACTORS:
        _EXTRACTORS[chain] = factory()
    return _EXTRACTORS[chain]


def run(
    service: IdentityService,
    *,
    people: int,
    duplicates: int,
    seed: int,
    fingers: tuple[str, ...] = DEFAULT_FINGERS,
    workers: int = 2,
    chain: str = "classic",
    masters: Path | None = None,
    say: Any = print,
) -> dict[str, Any]:
    records = plan_records(people, duplicates, seed)
    cache = str(masters) if masters else None
    # the bulk enrollment captures skip NFIQ 2 (see BULK_NFIQ2); the scenes below keep the gate
    jobs = [
        _Job(
            seed,
            r.identity,
            r.finger_scale,
            r.impression_set,
            fingers if _biometric(r) else (),
            chain,
            gate=BULK_NFIQ2,
            masters=cache,
        )
        for r in records
    ]
    # site calibration: other synthetic individuals (never enrolled), two captures each
    site = [
        _Job(seed + 1, 1_000_000 + i, 1.0, s, fingers, chain, gate=BULK_NFIQ2, masters=cache)
        for i in range(SITE_PEOPLE)
        for s in (0, 1)
    ]
    # the scenes' captures (light touch, 1:1, 1:N) of the first adults, made in the same pool
    adults = [r for r in records if r.duplicate_of is None and _biometric(r)]
    fresh = {
        r.number: _Job(seed, r.identity, r.finger_scale, 9, fingers, chain, masters=cache)
        for r in adults[:VERIFIED]
    }
    t0 = time.perf_counter()
    # spawn: workers start clean (no inherited FAISS/OpenMP threads), each loads the extractor once.
    # Results stream back in order: the site calibration is fitted as soon as its captures are in,
    # then each person is enrolled while the workers are still capturing the next ones (the
    # de-duplication search and the captures overlap instead of leaving a core idle)
    everything = site + jobs + list(fresh.values())
    outcomes: list[tuple[Record, str, Any]] = []
    fte = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        stream = pool.map(capture, everything, chunksize=4)
        site_captures = [next(stream) for _ in site]
        site_model, site_pairs = _site_calibration(service, site, site_captures)
        service.use_llr_model(Modality.FINGERPRINT, site_model)
        say(
            f"site calibration on {SITE_PEOPLE} other synthetic persons ({site_pairs[0]} genuine, "
            f"{site_pairs[1]} impostor finger pairs): LLR = {site_model.slope:.1f} x score "
            f"{site_model.intercept:+.2f}"
        )
        for record in records:
            templates, refused = next(stream)
            draft = PersonDraft(record.data, record.nationality)
            if not _biometric(record):
                # under 5: enrolled on demographics only, as Aadhaar does (fingerprints re-captured at 5)
                person = service.registry.enroll(
                    draft, ENROLLING, reason="demo enrollment, under 5: no biometrics"
                )
                outcomes.append((record, "no-biometrics", person))
                continue
            if refused:
                fte += len(refused)
            if not templates:
                outcomes.append((record, "failure-to-enroll", None))
                continue
            samples = {slot: Template.from_bytes(data) for slot, data in templates.items()}
            result = service.enroll(draft, samples, ENROLLING, reason="demo enrollment")
            outcomes.append((record, result.status, result))
        fresh_captures = dict(zip(fresh, stream, strict=True))
    # captures and enrollments overlap: one figure for both
    enroll_seconds = time.perf_counter() - t0

    status_of = {r.number: st for r, st, _ in outcomes}
    # a duplicate can be caught by fingerprints only if both enrollments gave fingerprints
    unchecked = [
        (r, st, res)
        for r, st, res in outcomes
        if r.duplicate_of is not None and "no-biometrics" in (st, status_of.get(r.duplicate_of))
    ]
    planted = [
        (r, st, res)
        for r, st, res in outcomes
        if r.duplicate_of is not None and (r, st, res) not in unchecked
    ]
    originals = [(r, s, res) for r, s, res in outcomes if r.duplicate_of is None]
    caught = [o for o in planted if o[1] in ("refused", "pending")]
    false_alarms = [o for o in originals if o[1] in ("refused", "pending")]
    statuses = Counter(s for _, s, _ in outcomes)
    say(
        f"enrolled {len(records)} records ({people} persons, {duplicates} planted duplicates) with fingers "
        f"{', '.join(fingers)}: {dict(statuses)}; {len(unchecked)} planted duplicate(s) of children under "
        f"{BIOMETRIC_MIN_AGE} cannot be caught by fingerprints"
    )
    curp_of = {r.number: res.person.curp for r, s, res in outcomes if s == "issued" and res.person}
    curp_of.update({r.number: res.curp for r, s, res in outcomes if s == "no-biometrics"})
    caught_rows = []
    for record, status, result in caught:
        original_curp = curp_of.get(record.duplicate_of or -1)
        caught_rows.append(
            {
                "record": record.number,
                "name": f"{record.data.given_names} {record.data.first_surname}",
                "status": status,
                "original_record": record.duplicate_of,
                "original_curp": original_curp,
                "matched": result.duplicate_of if status == "refused" else None,
                "cases": result.cases,
                "best_llr": round(result.candidates[0].llr, 2) if result.candidates else None,
            }
        )
        say(
            f"  duplicate caught: record {record.number} '{record.data.given_names} "
            f"{record.data.first_surname}' -> {status} (original {original_curp})"
        )

    # a returning person under a new name who gives one finger, pressed lightly (half the tip touching
    # the sensor, still above the quality floor): weaker evidence; the first such capture that falls
    # between the two thresholds goes to a human
    size = max(1, service.index.size())
    grey, sure = (llr_threshold(size, f) for f in (service.policy.fpir_grey, service.policy.fpir_sure))
    returning = [
        (r, res) for r, st, res in outcomes if st == "issued" and r.duplicate_of is None and res.person
    ]
    tried: list[float | None] = []
    light_samples: dict[str, Template] | None = None
    for record, original in returning[:LIGHT_TOUCH_ADULTS]:
        low, high = LIGHT_TOUCH_RANGE
        for _ in range(LIGHT_TOUCH_STEPS):
            middle = (low + high) / 2
            job = _Job(
                seed,
                record.identity,
                record.finger_scale,
                5,
                fingers[:1],
                chain,
                contact=(middle - LIGHT_TOUCH_WIDTH / 2, middle + LIGHT_TOUCH_WIDTH / 2),
                gate=False,
                masters=cache,
            )
            # tried without NFIQ 2 (a third of a capture's time); the one kept must pass the gate
            templates, _ = capture(job)
            samples = {slot: Template.from_bytes(data) for slot, data in templates.items()}
            llr = service.verify(original.person.curp, samples, VERIFYING).llr if samples else None
            tried.append(None if llr is None else round(llr, 2))
            if llr is None or llr < grey:
                low = middle  # too little evidence (or refused as too poor): press harder
            elif llr >= sure:
                high = middle
            else:
                gated, _ = capture(replace(job, gate=True))
                if gated:
                    light_samples = {slot: Template.from_bytes(data) for slot, data in gated.items()}
                    break
                low = middle  # under the NFIQ 2 floor: press harder
        if light_samples is None:
            continue
        samples = light_samples
        alias = plan_records(1, 0, seed + 99)[0].data
        result = service.enroll(
            PersonDraft(alias, record.nationality),
            samples,
            ENROLLING,
            reason="demo enrollment, light touch",
        )
        outcomes.append(
            (Record(0, record.identity, alias, record.nationality, 5, record.number), result.status, result)
        )
        say(
            f"  light-touch applicant '{alias.given_names} {alias.first_surname}' (really "
            f"{original.person.curp}): {result.status}"
            + (f", case(s) {result.cases}" if result.cases else "")
        )
        break

    # the adjudicator works through the open cases (here with the ground truth at hand)
    cases = service.cases(ADJUDICATING)
    decided = []
    for case in cases:
        attempt_record = next(
            (r for r, _, res in outcomes if getattr(res, "attempt_id", None) == case.attempt_id), None
        )
        truth_same = (
            attempt_record is not None
            and attempt_record.duplicate_of is not None
            and case.candidate_curp == curp_of.get(attempt_record.duplicate_of)
        )
        if case.status != "open":
            continue
        done = service.decide(
            case.id,
            ADJUDICATING,
            same=truth_same,
            reason="fingerprints examined side by side" if truth_same else "ridge detail differs",
        )
        decided.append(done.to_dict())
        say(f"  adjudication case {case.id}: {done.decision} -> attempt {done.applicant['attempt_status']}")

    # 1:1 and 1:N with fresh impressions
    verify_rows, identify_rows = [], []
    issued = [
        (r, res) for r, s, res in outcomes if s == "issued" and r.duplicate_of is None and r.number in fresh
    ][:3]
    for record, result in issued:
        templates, _ = fresh_captures[record.number]
        samples = {slot: Template.from_bytes(data) for slot, data in templates.items()}
        if not samples:
            continue
        genuine = service.verify(result.person.curp, samples, VERIFYING)
        found, _threshold = service.identify(samples, INVESTIGATING, top=3)
        verify_rows.append({"curp": result.person.curp, "match": genuine.match, "llr": round(genuine.llr, 2)})
        identify_rows.append(
            {
                "probe_of": result.person.curp,
                "rank1": found[0].curp if found else None,
                "candidates": len(found),
            }
        )
        say(
            f"  verify {result.person.curp}: {'match' if genuine.match else 'no match'} "
            f"(LLR {genuine.llr:+.1f}); identify: rank 1 = {found[0].curp if found else 'none'}"
        )
    if len(issued) >= 2:
        (a, _), (_, res_b) = issued[0], issued[1]
        templates, _ = fresh_captures[a.number]
        impostor = service.verify(
            res_b.person.curp, {s: Template.from_bytes(d) for s, d in templates.items()}, VERIFYING
        )
        verify_rows.append(
            {
                "curp": res_b.person.curp,
                "impostor": True,
                "match": impostor.match,
                "llr": round(impostor.llr, 2),
            }
        )
        say(
            f"  verify someone else's fingers against {res_b.person.curp}: "
            f"{'match' if impostor.match else 'no match'} (LLR {impostor.llr:+.1f})"
        )

    return {
        "planted_duplicates": len(planted) + len(unchecked),
        "duplicates_checkable": len(planted),
        "duplicates_under_5_not_checkable": len(unchecked),
        "duplicates_caught": len(caught),
        "duplicates_refused": sum(1 for o in caught if o[1] == "refused"),
        "duplicates_to_adjudication": sum(1 for o in caught if o[1] == "pending"),
        "duplicates_missed": len(planted) - len(caught),
        "enrolled_without_biometrics_under_5": sum(1 for _, st, _ in outcomes if st == "no-biometrics"),
        "false_alarms": len(false_alarms),
        "adjudication_cases": len(cases),
        "adjudication_decisions": decided,
        "caught": caught_rows,
        "statuses": dict(statuses),
        "failures_to_enroll": fte,
        "fingers": list(fingers),
        "verification": verify_rows,
        "identification": identify_rows,
        "light_touch_llrs_tried": tried,
        "site_calibration": {
            "llr": site_model.to_dict(),
            "genuine_pairs": site_pairs[0],
            "impostor_pairs": site_pairs[1],
        },
        "capture_and_enroll_seconds": round(enroll_seconds, 2),
        "gallery": service.gallery_stats(),
    }
