"""`padron serve` as a real process: it starts on an empty data folder and answers over TCP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import padron
from padron.cli.main import main

#: how long the server may take to start before the test gives up
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a server on an empty data folder, running this checkout's padron."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    src = str(Path(padron.__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PADRON_")}
    env.update(PADRON_DATA_DIR=str(data_dir), PYTHONPATH=os.pathsep.join([src, env.get("PYTHONPATH", "")]))
    return env


def test_padron_serve_answers_with_problems(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "padron.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=server_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (
                "the server did not answer: " + (tmp_path / "server.log").read_text()
            )
            time.sleep(0.1)
        response = httpx.get(f"{base}/v1/persons/X", timeout=5)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "PAD-API-007"
        assert response.headers["www-authenticate"].startswith("Bearer")
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    # SIGTERM stops it cleanly: the lifespan closed the registry (uvicorn then re-raises the signal)
    assert server.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (tmp_path / "server.log").read_text()


def test_padron_serve_on_a_busy_port_is_a_coded_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "padron.cli.main", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=server_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, done.stderr
    assert "error PAD-SERVE-002" in done.stderr
    assert "Traceback" not in done.stderr


def test_padron_serve_in_production_with_sqlite_is_a_coded_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PADRON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PADRON_ENVIRONMENT", "production")
    monkeypatch.setenv("PADRON_VAULT_KEY", "a2V5")
    monkeypatch.delenv("PADRON_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--port", "1"])
    assert stopped.value.code == 1
    assert "PAD-SERVE-001" in capsys.readouterr().err
