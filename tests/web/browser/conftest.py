"""The console in a real browser: Debian's headless Chromium driven by Playwright for Python
(never ``playwright install``: the browser is the system's ``chromium``), against padron served
by uvicorn on 127.0.0.1 in a thread of the test process.

Without a ``chromium`` on the PATH the browser tests skip, saying so; with
PADRON_REQUIRE_BROWSER=1 (as ``make test`` sets, after installing chromium) they fail instead.
Screenshots go to ``test-artifacts/`` at the repository's root.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: the axe-core rule sets the pages must pass (WCAG 2.1 A and AA)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "no chromium on the PATH: `make test` installs Debian's chromium and chromium-driver"
        if os.environ.get("PADRON_REQUIRE_BROWSER") == "1":
            pytest.fail("PADRON_REQUIRE_BROWSER=1 but " + message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """padron served by uvicorn in a thread of this process."""

    app: FastAPI
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def serve(app: FastAPI, *, ready_path: str = "/health", timeout: float = 120.0) -> Server:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + ready_path, timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise AssertionError(f"the server at {url} did not become ready on {ready_path}")
        time.sleep(0.1)
    return Server(app, url, server, thread)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def screenshot(page: Any, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def check_accessibility(page: Any) -> None:
    """axe-core (WCAG 2.1 A/AA rules, shipped in the axe-playwright-python wheel and injected by
    the test, not by the page) finds no violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    violations = results.response["violations"]
    assert not violations, f"{page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
    )


def log_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/console/login")
    page.get_by_label("Clave de API").fill(token)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{base}/console")
