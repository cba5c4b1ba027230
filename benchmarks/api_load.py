#!/usr/bin/env python3
"""Verification over HTTP under load, beside the same verification called in-process: JSON out.

    PYTHONPATH=src .venv/bin/python benchmarks/api_load.py [--users 10] [--seconds 10] [--rounds 3]
    PYTHONPATH=src .venv/bin/python benchmarks/api_load.py --users 2 --seconds 2 --rounds 1 --persons 3 \
        --image-seconds 0 --out /tmp/api_load.json      # the size of its test
    PYTHONPATH=src .venv/bin/python benchmarks/api_load.py --database-url postgresql+psycopg://... (EMPTY)

What it does, in one run on one machine:

1. a throwaway data folder (SQLite in it, or ``--database-url``) with its schema, a registrar
   key and a verifier key, each with the highest per-key rate limit (1,000,000 a minute: the
   default of 120 a minute would refuse a load of ~20 requests a second with 429s);
2. a real ``padron serve`` (uvicorn) process on 127.0.0.1 on a free port, ready when ``/ready``
   answers 200;
3. ``--persons`` synthetic persons (Faker demographics; ten fingers each as ISO/IEC 19794-2
   minutiae records from padron's template-level synthesis, ``padron.synth.templates``)
   enrolled over HTTP (``POST /v1/enrollments``, 1:N de-duplicated as always);
4. a pool of probes: per person two genuine captures (new impressions of fingers 2 and 7,
   claiming the person's CURP) and two impostor captures (the next person's fingers claiming
   it), sent as ``finger_template_2`` / ``finger_template_7`` records, so that the rate is the
   service's and not image extraction's;
5. a reference pass: every probe verified once in-process (single thread), its decision kept;
6. ``--rounds`` rounds of two timed phases of ``--seconds`` each with ``--users`` concurrent
   users, in ABBA order (in-process, HTTP; HTTP, in-process; ...) so that drift in what else the
   machine runs hits both sides alike. A user sends its next probe as soon as the last one is
   answered (closed loop). In-process is the route's own work called directly in this process on
   the same registry: the ISO records made templates (``extract_samples``, what the route's
   sample reader does) and ``IdentityService.verify`` with a verifier's access context -- no
   HTTP, no multipart, no key check, no event loop. The ceiling is all in-process phases
   together; processor time per verification is reported for both sides as well (a figure that
   other load on a shared machine moves much less than the wall-clock rates);
7. optionally (FVC2002 DB1_B images in ../shared/data, ``--image-seconds`` > 0) a shorter HTTP
   phase whose probes are finger images (``finger_2`` / ``finger_7``), extraction included.

Every non-2xx answer or transport failure is an error; a 200 carries the decision, checked
against the probe's in-process reference decision (any disagreement is a service bug) and
counted against the truth (genuine -> match, impostor -> no match: the matcher's accuracy).

BLAS/OpenMP pools are pinned to ``--blas-threads`` threads (default 1) in this process and the
server, as the other benchmarks pin them: each request is one thread's work, and several
multi-threaded BLAS pools on 2 cores slow verification several-fold. ``--blas-threads default``
leaves them alone.

Prints one JSON object and writes it to ``--out`` (default docs/api_load.json). The MOSIP figure
in it is their published reference figure, not something this script ran.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FVC = ROOT.parent / "shared" / "data" / "fingerprints" / "FVC2002" / "DB1_B"
BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: the fingers a probe carries (ISO/ANSI positions: right and left index)
PROBE_FINGERS = (2, 7)
#: the enrolled fingers: all ten
ENROLLED_FINGERS = tuple(range(1, 11))
#: the impressions a genuine probe uses (impression 1 is the enrollment's)
PROBE_IMPRESSIONS = (2, 3)
TARGET_RATIO = 0.7
START_TIMEOUT = 180.0
#: the per-key rate limit given to the benchmark's keys (padron.registry.keys.MAX_RATE_LIMIT)
KEY_RATE_LIMIT = 1_000_000

MOSIP_REFERENCE = {
    "system": "MOSIP ID-Authentication (IDA), biometric authentication",
    "authentications_per_s": 6,
    "concurrent_users": 10,
    "source": "MOSIP 1.2.0 Performance Test Report, scenario 'IDA Auth with bio' "
    "(https://docs.mosip.io/1.2.0/releases/release-notes/performance-test-report)",
    "note": "a published reference figure on MOSIP's reference deployment (their hardware, their "
    "matcher, a whole authentication with its crypto); not run here, and not a like-for-like "
    "comparison. MOSIP's later IDA report for v1.2.1.0 states a steady 50 authentications/s on "
    "a larger deployment.",
}


# --- the population and the probes ---------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One verification request: the claimed CURP, the records or images by position, the truth."""

    curp: str
    mated: bool
    records: dict[str, bytes] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)


def iso_record(seed: int, position: int, impression: int) -> bytes:
    """An ISO/IEC 19794-2:2005 record of one impression of a synthetic finger."""
    from padron.biometrics.fingerprint import iso19794 as iso
    from padron.synth.templates import HEIGHT, WIDTH, impression_minutiae, master_minutiae

    minutiae = impression_minutiae(master_minutiae(seed, position), impression)
    view = iso.view_from_minutiae(minutiae, finger_position=position, quality=60)
    return iso.write(iso.IsoRecord(width=WIDTH, height=HEIGHT, views=(view,)))


def person_json(person: Any, reason: str = "api load benchmark") -> str:
    data = person.data
    return json.dumps(
        {
            "given_names": data.given_names,
            "first_surname": data.first_surname,
            "second_surname": data.second_surname,
            "birth_date": data.birth_date.isoformat(),
            "sex": data.sex.value,
            "birth_state": data.birth_state,
            "nationality": person.nationality,
            "reason": reason,
        }
    )


def finger_seed(seed: int, i: int) -> int:
    return seed * 1_000_003 + i


# --- HTTP -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def encode(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type, encoded once by httpx."""
    import httpx

    request = httpx.Request(
        "POST",
        "http://127.0.0.1/",
        data=fields,
        files={name: (f"{name}.bin", data, "application/octet-stream") for name, data in files.items()},
    )
    return request.read(), request.headers["content-type"]


def probe_body(probe: Probe) -> tuple[bytes, str]:
    files = {f"finger_template_{p}": r for p, r in probe.records.items()}
    files.update({f"finger_{p}": image for p, image in probe.images.items()})
    return encode({"curp": probe.curp}, files)


class Server:
    """A ``padron serve`` process on 127.0.0.1 (started again on another port if its port was
    taken in the meantime)."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.log_path = folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.command: list[str] = []

    def start(self) -> None:
        import httpx

        for _attempt in range(3):
            port = free_port()
            self.command = [sys.executable, "-m", "padron.cli.main", "serve", "--host", "127.0.0.1"]
            self.command += ["--port", str(port)]
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    self.command, cwd=self.folder, env=self.env, stdout=log, stderr=subprocess.STDOUT
                )
            self.base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + START_TIMEOUT
            while self.process.poll() is None and time.monotonic() < deadline:
                try:
                    if httpx.get(f"{self.base}/ready", timeout=5).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            if self.process.poll() is None:
                break  # running but never ready: not a port race
        self.stop()
        raise RuntimeError(f"padron serve did not become ready:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float | None:
        """User + system processor time of the server process so far (Linux /proc), or None."""
        if self.process is None:
            return None
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- the load -------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What users saw in one or more phases (each user keeps its own; merged afterwards)."""

    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    #: answers that differ from the probe's in-process reference decision
    disagreements: int = 0
    decode_seconds: list[float] = field(default_factory=list)
    verify_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0
    #: processor seconds of this process, and of the server (HTTP phases)
    cpu: float = 0.0
    server_cpu: float | None = None
    rates: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.outcomes.update(other.outcomes)
        self.decisions.update(other.decisions)
        self.disagreements += other.disagreements
        self.decode_seconds += other.decode_seconds
        self.verify_seconds += other.verify_seconds
        self.seconds += other.seconds
        self.cpu += other.cpu
        if other.server_cpu is not None:
            self.server_cpu = (self.server_cpu or 0.0) + other.server_cpu
        self.rates += other.rates
        self.loads += other.loads

    def decide(self, probe: Probe, match: object, reference: bool | None) -> None:
        if not isinstance(match, bool):
            self.outcomes["malformed answer"] += 1
            return
        truth = "mated" if probe.mated else "nonmated"
        self.decisions[f"{truth}_{'match' if match else 'no_match'}"] += 1
        if reference is not None and match is not reference:
            self.disagreements += 1


#: one user's request: the probe index -> appends to the tally
Send = Callable[[int, Tally], None]


def run_users(users: int, seconds: float, probes: int, senders: Sequence[Send]) -> Tally:
    """``users`` closed-loop users for ``seconds`` (0: one request each); user u sends probes
    u, u + users, ... (mod ``probes``)."""
    tallies = [Tally() for _ in range(users)]
    start_line = threading.Barrier(users + 1)
    deadline = [0.0]

    def user(u: int) -> None:
        send, tally, k = senders[u], tallies[u], 0
        start_line.wait()
        while k == 0 or time.perf_counter() < deadline[0]:
            t0 = time.perf_counter()
            send((u + k * users) % probes, tally)
            tally.latencies.append(time.perf_counter() - t0)
            k += 1

    threads = [threading.Thread(target=user, args=(u,), name=f"user-{u}") for u in range(users)]
    for thread in threads:
        thread.start()
    load = os.getloadavg()[0]
    cpu_before = time.process_time()
    started = time.perf_counter()
    deadline[0] = started + seconds
    start_line.wait()
    for thread in threads:
        thread.join()
    merged = Tally()
    for t in tallies:
        merged.merge(t)
    merged.seconds = time.perf_counter() - started
    merged.cpu = time.process_time() - cpu_before
    merged.rates = [len(merged.latencies) / merged.seconds]
    merged.loads = [load]
    return merged


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def per_verification_ms(seconds: float | None, n: int) -> float | None:
    return round(1000 * seconds / n, 2) if seconds is not None and n else None


def summarize(tally: Tally) -> dict[str, Any]:
    n = len(tally.latencies)
    ms = [1000 * x for x in tally.latencies] or [0.0]
    errors = {k: v for k, v in tally.outcomes.items() if k != "200"}
    decisions = ("mated_match", "mated_no_match", "nonmated_no_match", "nonmated_match")
    out: dict[str, Any] = {
        "requests": n,
        "seconds": round(tally.seconds, 2),
        "verifications_per_s": round(n / tally.seconds, 2) if tally.seconds else 0.0,
        "per_phase_verifications_per_s": [round(r, 2) for r in tally.rates],
        "latency_ms": {
            "p50": round(percentile(ms, 0.50), 1),
            "p95": round(percentile(ms, 0.95), 1),
            "p99": round(percentile(ms, 0.99), 1),
            "mean": round(statistics.fmean(ms), 1),
            "max": round(max(ms), 1),
        },
        "errors": sum(errors.values()),
        "errors_by_status": dict(sorted(errors.items())),
        "decisions": {k: tally.decisions[k] for k in decisions},
        "disagreements_with_inprocess_reference": tally.disagreements,
        "this_process_cpu_ms_per_verification": per_verification_ms(tally.cpu, n),
        "load_average_1min_at_phase_starts": [round(x, 2) for x in tally.loads],
    }
    if tally.server_cpu is not None:
        out["server_cpu_ms_per_verification"] = per_verification_ms(tally.server_cpu, n)
    if tally.decode_seconds:
        out["iso_to_template_ms_mean"] = round(1000 * statistics.fmean(tally.decode_seconds), 2)
        out["verify_use_case_ms_mean"] = round(1000 * statistics.fmean(tally.verify_seconds), 2)
    return out


class HttpUsers:
    """``users`` keep-alive connections to the server, each sending pre-encoded probes."""

    def __init__(
        self, server: Server, token: str, probes: list[Probe], reference: list[bool], users: int
    ) -> None:
        import httpx

        self.server, self.probes, self.reference, self.users = server, probes, reference, users
        self.bodies = [probe_body(p) for p in probes]
        self.clients = [
            httpx.Client(base_url=server.base, timeout=300, headers={"Authorization": f"Bearer {token}"})
            for _ in range(users)
        ]
        self.senders = [self._sender(c) for c in self.clients]
        run_users(users, 0.0, len(probes), self.senders)  # warm-up: connections open, lazy imports done

    def _sender(self, client: Any) -> Send:
        import httpx

        def send(i: int, tally: Tally) -> None:
            body, content_type = self.bodies[i]
            try:
                response = client.post(
                    "/v1/verifications", content=body, headers={"Content-Type": content_type}
                )
            except httpx.HTTPError as error:
                tally.outcomes[f"transport: {type(error).__name__}"] += 1
                return
            tally.outcomes[str(response.status_code)] += 1
            if response.status_code == 200:
                answer = response.json()
                if answer.get("curp") != self.probes[i].curp:
                    tally.outcomes["answer for another curp"] += 1
                tally.decide(
                    self.probes[i], answer.get("match"), self.reference[i] if self.reference else None
                )

        return send

    def phase(self, seconds: float) -> Tally:
        cpu_before = self.server.cpu_seconds()
        tally = run_users(self.users, seconds, len(self.probes), self.senders)
        cpu_after = self.server.cpu_seconds()
        if cpu_before is not None and cpu_after is not None:
            tally.server_cpu = cpu_after - cpu_before
        return tally

    def close(self) -> None:
        for client in self.clients:
            client.close()


class InProcessUsers:
    """The route's work called directly: ISO records -> templates -> IdentityService.verify."""

    def __init__(self, service: Any, ctx: Any, probes: list[Probe], users: int) -> None:
        self.service, self.ctx, self.probes, self.users = service, ctx, probes, users
        self.reference: list[bool] = [self.verify(p)[0] for p in probes]  # one pass, also a warm-up
        self.senders = [self._send for _ in range(users)]

    def verify(self, probe: Probe) -> tuple[bool, float, float]:
        from padron.biometrics.samples import extract_samples

        t0 = time.perf_counter()
        templates = extract_samples(
            face=None, fingers=probe.images, finger_templates=probe.records, enroll=False
        )
        t1 = time.perf_counter()
        verification = self.service.verify(probe.curp, templates, self.ctx)
        return bool(verification.match), t1 - t0, time.perf_counter() - t1

    def _send(self, i: int, tally: Tally) -> None:
        from padron.domain.errors import PadronError

        try:
            match, decode, verify = self.verify(self.probes[i])
        except PadronError as error:
            tally.outcomes[error.code] += 1
            return
        tally.outcomes["200"] += 1
        tally.decode_seconds.append(decode)
        tally.verify_seconds.append(verify)
        tally.decide(self.probes[i], match, self.reference[i])

    def phase(self, seconds: float) -> Tally:
        return run_users(self.users, seconds, len(self.probes), self.senders)


# --- set-up ---------------------------------------------------------------------------------------


def enroll_over_http(
    server: Server, token: str, person: str, files: dict[str, bytes]
) -> tuple[int, dict[str, Any]]:
    import httpx

    body, content_type = encode({"person": person}, files)
    response = httpx.post(
        f"{server.base}/v1/enrollments",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        timeout=300,
    )
    return response.status_code, response.json()


def template_population(
    server: Server, token: str, persons: int, seed: int
) -> tuple[list[Probe], dict[str, int]]:
    """Enroll ``persons`` synthetic persons over HTTP; their genuine and impostor probes."""
    from padron.synth.demographics import DemographicGenerator

    people = DemographicGenerator(seed).people(persons)
    statuses: Counter[str] = Counter()
    enrolled: list[tuple[int, str]] = []  # (finger seed, CURP)
    for i, person in enumerate(people):
        fseed = finger_seed(seed, i)
        records = {f"finger_template_{p}": iso_record(fseed, p, 1) for p in ENROLLED_FINGERS}
        status, answer = enroll_over_http(server, token, person_json(person), records)
        statuses[str(status)] += 1
        if status == 201:
            enrolled.append((fseed, answer["curp"]))
    if len(enrolled) < 2:
        raise RuntimeError(f"fewer than 2 persons were enrolled ({dict(statuses)}): nothing to verify")
    probes: list[Probe] = []
    for k, (fseed, curp) in enumerate(enrolled):
        other = enrolled[(k + 1) % len(enrolled)][0]
        for impression in PROBE_IMPRESSIONS:
            probes.append(
                Probe(curp, True, records={str(p): iso_record(fseed, p, impression) for p in PROBE_FINGERS})
            )
            probes.append(
                Probe(curp, False, records={str(p): iso_record(other, p, impression) for p in PROBE_FINGERS})
            )
    return probes, dict(statuses)


def image_population(server: Server, token: str, seed: int) -> tuple[list[Probe], dict[str, int]]:
    """FVC2002 DB1_B: five persons, fingers 2 and 7 = two FVC fingers (impression 1 enrolled);
    genuine probes impressions 2-4, impostor probes the next person's."""
    from padron.synth.demographics import DemographicGenerator

    people = DemographicGenerator(seed + 1).people(5)
    statuses: Counter[str] = Counter()
    enrolled: list[tuple[tuple[int, int], str]] = []
    for i, person in enumerate(people):
        a, b = 101 + 2 * i, 102 + 2 * i
        files = {"finger_2": (FVC / f"{a}_1.tif").read_bytes(), "finger_7": (FVC / f"{b}_1.tif").read_bytes()}
        status, answer = enroll_over_http(server, token, person_json(person), files)
        statuses[str(status)] += 1
        if status == 201:
            enrolled.append(((a, b), answer["curp"]))
    probes: list[Probe] = []
    if len(enrolled) < 2:
        return probes, dict(statuses)

    def images(pair: tuple[int, int], impression: int) -> dict[str, bytes]:
        a, b = pair
        return {
            "2": (FVC / f"{a}_{impression}.tif").read_bytes(),
            "7": (FVC / f"{b}_{impression}.tif").read_bytes(),
        }

    for k, (pair, curp) in enumerate(enrolled):
        other = enrolled[(k + 1) % len(enrolled)][0]
        for impression in (2, 3, 4):
            probes.append(Probe(curp, True, images=images(pair, impression)))
            probes.append(Probe(curp, False, images=images(other, impression)))
    return probes, dict(statuses)


def git_commit() -> str | None:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("-dirty" if dirty else "")


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from padron.domain.access import AccessContext, Channel, Purpose, Role
    from padron.registry.factory import build_identity_service
    from padron.registry.keys import KeyStore
    from padron.registry.service import Registry
    from padron.settings import Settings

    data_dir = folder / "data"
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir, database_url=args.database_url, _env_file=None)
    url = settings.effective_database_url
    registry = Registry.open(url, migrate=True)
    store = KeyStore(registry)
    keys = {
        role: store.create(
            f"api-load {role.value}", role, created_by="benchmark", rate_limit_per_minute=KEY_RATE_LIMIT
        )
        for role in (Role.REGISTRAR, Role.VERIFIER)
    }
    registry.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith("PADRON_")}
    env["PADRON_DATA_DIR"] = str(data_dir)
    if args.database_url:
        env["PADRON_DATABASE_URL"] = args.database_url
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    server = Server(folder, env)
    try:
        server.start()
        probes, statuses = template_population(server, keys[Role.REGISTRAR].token, args.persons, args.seed)
        image_probes: list[Probe] = []
        image_statuses: dict[str, int] = {}
        if args.image_seconds > 0 and FVC.is_dir():
            image_probes, image_statuses = image_population(server, keys[Role.REGISTRAR].token, args.seed)

        # the in-process side: the same registry, the same settings, the same use case object
        inprocess_registry = Registry.open(url)
        service = build_identity_service(settings, registry=inprocess_registry)
        verifier = keys[Role.VERIFIER].key
        ctx = AccessContext(
            actor=f"key:{verifier.key_id}:{verifier.name}",
            role=Role.VERIFIER,
            channel=Channel.API,
            purpose=Purpose.VERIFICATION,
        )
        token = keys[Role.VERIFIER].token
        http_users: HttpUsers | None = None
        try:
            inprocess_users = InProcessUsers(service, ctx, probes, args.users)
            reference = inprocess_users.reference
            http_users = HttpUsers(server, token, probes, reference, args.users)
            # ABBA rounds: in-process then HTTP, HTTP then in-process, ... (drift hits both alike)
            inprocess, http = Tally(), Tally()
            for r in range(args.rounds):
                for side in ("inprocess", "http") if r % 2 == 0 else ("http", "inprocess"):
                    if side == "http":
                        http.merge(http_users.phase(args.seconds))
                    else:
                        inprocess.merge(inprocess_users.phase(args.seconds))
            images: dict[str, Any] | None = None
            if image_probes:
                image_users = HttpUsers(server, token, image_probes, [], args.users)
                try:
                    images = summarize(image_users.phase(args.image_seconds))
                finally:
                    image_users.close()
        finally:
            if http_users is not None:
                http_users.close()
            inprocess_registry.close()
    finally:
        server.stop()

    http_figures, inprocess_figures = summarize(http), summarize(inprocess)
    http_rate, ceiling = http_figures["verifications_per_s"], inprocess_figures["verifications_per_s"]
    ratio = http_rate / ceiling if ceiling else 0.0
    http_cpu = (http_figures.get("server_cpu_ms_per_verification") or 0.0) + (
        http_figures["this_process_cpu_ms_per_verification"] or 0.0
    )
    inprocess_cpu = inprocess_figures["this_process_cpu_ms_per_verification"] or 0.0
    mated = [r for p, r in zip(probes, reference, strict=True) if p.mated]
    nonmated = [r for p, r in zip(probes, reference, strict=True) if not p.mated]
    result: dict[str, Any] = {
        "benchmark": "api_load",
        "what": "1:1 verification by ISO/IEC 19794-2 finger templates (fingers 2 and 7) over HTTP "
        "(padron serve, uvicorn) vs the same verification called in-process on the use case",
        "users": args.users,
        "http_verifications_per_s": http_rate,
        "inprocess_verifications_per_s": ceiling,
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "errors": http_figures["errors"] + inprocess_figures["errors"],
        "disagreements_with_inprocess_reference": http_figures["disagreements_with_inprocess_reference"]
        + inprocess_figures["disagreements_with_inprocess_reference"],
        "processor_ms_per_verification": {
            "http_server_plus_client": round(http_cpu, 2),
            "inprocess": inprocess_cpu,
            "ratio": round(inprocess_cpu / http_cpu, 3) if http_cpu else None,
            "note": "processor time, not wall time: what the ratio would be if the machine were "
            "saturated by this benchmark alone (other work on a shared machine moves the wall-clock "
            "rates, not these)",
        },
        "probe_accuracy": {
            "mated_probes": len(mated),
            "false_non_matches": mated.count(False),
            "nonmated_probes": len(nonmated),
            "false_matches": nonmated.count(True),
            "note": "per distinct probe, from the in-process reference pass; every timed request's "
            "decision is checked against it (disagreements) and counted against the truth (decisions)",
        },
        "http": http_figures,
        "inprocess": inprocess_figures,
        "image_http": images
        if images is not None
        else (
            "skipped: --image-seconds 0"
            if args.image_seconds <= 0
            else f"skipped: no FVC2002 DB1_B images at {FVC}"
        ),
        "reference": MOSIP_REFERENCE,
        "settings": {
            "persons": args.persons,
            "enrollments_by_status": statuses,
            "image_enrollments_by_status": image_statuses or None,
            "probes": len(probes),
            "probe_mix": f"{len(PROBE_IMPRESSIONS)} genuine + {len(PROBE_IMPRESSIONS)} impostor per person",
            "probe_fingers": list(PROBE_FINGERS),
            "enrolled_fingers": list(ENROLLED_FINGERS),
            "seconds_per_phase": args.seconds,
            "rounds": args.rounds,
            "image_seconds": args.image_seconds,
            "seed": args.seed,
            "database": url.split(":", 1)[0],
            "server": " ".join(["padron", *server.command[3:]]),
            "server_workers": 1,
            "gallery_backend": settings.gallery_backend,
            "verify_fmr": settings.verify_fmr,
            "rate_limit": f"each benchmark key has its own limit of {KEY_RATE_LIMIT} requests a minute "
            "(keys create --rate-limit), so the per-key limiter never throttles the load (the default, "
            "120 a minute, would)",
            "blas_threads": {v: os.environ.get(v) for v in BLAS_VARIABLES},
            "client": "httpx.Client per user (keep-alive), bodies encoded once before the timed phase; "
            "the client runs on the same machine",
            "ceiling": "all in-process phases together (requests / seconds); phases alternate in ABBA "
            "rounds with the HTTP phases",
        },
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "git_commit": git_commit(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
    }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10, help="concurrent users (default 10)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per timed phase (default 10)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of one in-process and one HTTP phase, ABBA (default 3)"
    )
    parser.add_argument("--persons", type=int, default=50, help="synthetic persons enrolled (default 50)")
    parser.add_argument(
        "--image-seconds", type=float, default=20.0, help="seconds of the image phase (0: none; default 20)"
    )
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--database-url", help="an EMPTY database (default: SQLite in a temporary folder)")
    parser.add_argument("--blas-threads", default="1", help="BLAS/OpenMP threads, or 'default' (default 1)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "api_load.json", help="where to save the JSON"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    args = parser.parse_args(argv)
    if args.users < 1 or args.persons < 2 or args.seconds <= 0 or args.rounds < 1:
        parser.error("--users must be >= 1, --persons >= 2, --seconds > 0, --rounds >= 1")
    for variable in [v for v in os.environ if v.startswith("PADRON_")]:
        del os.environ[variable]  # this run's settings only, the same for the server and this process
    if args.blas_threads != "default":
        for variable in BLAS_VARIABLES:  # before numpy loads (this process) and for the server
            os.environ[variable] = str(int(args.blas_threads))
    with tempfile.TemporaryDirectory(prefix="padron-api-load-") as tmp:
        result = run(args, Path(tmp))
    text = json.dumps(result, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
