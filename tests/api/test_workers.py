"""Serving at scale: two `padron serve` processes on one PostgreSQL registry and one Ray cluster.

Both use the deployment's named Ray shards (one national gallery, not one per process): a person
enrolled through one server is verified and identified through the other at once, and the same
person enrolled through both at the same moment gets one CURP. Real fingerprints (FVC2002 DB1_B)
through padron's extractors. The embedded gallery refuses several workers.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from padron.domain.access import Role
from padron.registry.keys import KeyStore
from padron.registry.service import Registry
from tests.api.test_serve import free_port, server_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.shared_data, pytest.mark.xdist_group("ray")]

#: how long a server may take to load its galleries and answer /ready
READY_TIMEOUT = 120.0
DEPLOYMENT = "workers-test"


def start_server(tmp_path: Path, env: dict[str, str], name: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log_path = tmp_path / f"{name}.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "padron.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return server, f"http://127.0.0.1:{port}", log_path


def wait_ready(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{base} not ready: {log.read_text()}"
        time.sleep(0.2)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def test_two_servers_share_one_gallery_and_issue_one_curp(
    tmp_path: Path, postgres_url: str, shared_data: Path, ray_runtime: None
) -> None:
    import ray

    from padron.matching.backends.ray import NAMESPACE

    fvc = shared_data / "fingerprints" / "FVC2002" / "DB1_B"

    def fingers(a: int, b: int, impression: int) -> dict[str, Any]:
        return {
            "finger_2": ("2.tif", (fvc / f"{a}_{impression}.tif").read_bytes(), "image/tiff"),
            "finger_7": ("7.tif", (fvc / f"{b}_{impression}.tif").read_bytes(), "image/tiff"),
        }

    registry = Registry.open(postgres_url, migrate=True)
    store = KeyStore(registry)
    tokens = {r: store.create(f"{r.value} desk", r, created_by="test").token for r in Role}
    registry.close()

    def key(role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    env = server_env(tmp_path)  # one data folder: the same dev vault and audit keys for both
    env.update(
        PADRON_DATABASE_URL=postgres_url,
        PADRON_GALLERY_BACKEND="ray",
        PADRON_RAY_ADDRESS=ray.get_runtime_context().gcs_address,
        PADRON_RAY_SHARDS="1",
        PADRON_RAY_DEPLOYMENT=DEPLOYMENT,
        PADRON_VAULT_KEY=base64.b64encode(os.urandom(32)).decode(),
    )
    servers = [start_server(tmp_path, env, name) for name in ("a", "b")]
    try:
        for server, base, log in servers:
            wait_ready(server, base, log)
        (_, a, _), (_, b, _) = servers
        # one set of shards for the deployment, whichever server created them
        shards = sorted(
            x["name"] for x in ray.util.list_named_actors(all_namespaces=True) if x["namespace"] == NAMESPACE
        )
        assert shards == [f"{DEPLOYMENT}/face/1-of-1", f"{DEPLOYMENT}/fingerprint/1-of-1"]

        def person(given: str, birth: str) -> dict[str, str]:
            return {
                "person": f'{{"given_names": "{given}", "first_surname": "López", "birth_date": "{birth}", '
                '"sex": "M", "birth_state": "JC", "reason": "alta"}'
            }

        with httpx.Client(timeout=120) as http:
            enrolled = http.post(
                f"{a}/v1/enrollments",
                data=person("Ana", "1990-01-02"),
                files=fingers(101, 102, 1),
                headers=key(Role.REGISTRAR),
            )
            assert enrolled.status_code == 201, enrolled.text
            curp = enrolled.json()["curp"]
            verified = http.post(
                f"{b}/v1/verifications",
                data={"curp": curp},
                files=fingers(101, 102, 3),
                headers=key(Role.VERIFIER),
            )
            assert verified.json() == {"curp": curp, "match": True}, verified.text
            found = http.post(
                f"{b}/v1/identifications",
                data={"case_ref": "FGR/9/2026"},
                files=fingers(101, 102, 4),
                headers=key(Role.INVESTIGATOR),
            )
            assert found.json()["candidates"] == [{"rank": 1, "curp": curp}], found.text

            # the same new person at both desks at the same moment, under two names
            def submit(base: str, given: str) -> httpx.Response:
                return http.post(
                    f"{base}/v1/enrollments",
                    data=person(given, "1985-06-07"),
                    files=fingers(103, 104, 2 if given == "Rosa" else 5),
                    headers=key(Role.REGISTRAR),
                )

            with ThreadPoolExecutor(2) as pool:
                results = list(pool.map(submit, [a, b], ["Rosa", "Rosalía"]))
        outcomes = sorted(r.json()["status"] for r in results)
        assert outcomes in (["issued", "refused"], ["issued", "pending"]), [r.text for r in results]
        issued = next(r.json()["curp"] for r in results if r.json()["status"] == "issued")
        refused = [r.json() for r in results if r.json()["status"] == "refused"]
        assert all(r["duplicate_of"] == issued for r in refused)
        registry = Registry.open(postgres_url)
        try:
            assert registry.count() == 2  # Ana, and Rosa once
        finally:
            registry.close()
    finally:
        for server, _, _ in servers:
            stop(server)
        for x in ray.util.list_named_actors(all_namespaces=True):
            if x["namespace"] == NAMESPACE and x["name"].startswith(DEPLOYMENT + "/"):
                ray.kill(ray.get_actor(x["name"], namespace=NAMESPACE))


def test_several_workers_need_the_shared_gallery(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "padron.cli.main", "serve", "--port", str(free_port()), "--workers", "2"],
        cwd=tmp_path,
        env=server_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "PAD-SERVE-003" in done.stderr and "Traceback" not in done.stderr
