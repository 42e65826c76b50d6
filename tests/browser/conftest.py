"""A live Voices server and Debian's Chromium driven by Playwright, for browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Voices on a free local port, on its own SQLite database with the demo data."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    folder = tmp_path_factory.mktemp("live")
    env = dict(os.environ, VOICES_DATABASE_URL=f"sqlite:///{folder}/voices.db",
               VOICES_DATA_DIR=str(folder / "data"), VOICES_SECRET_KEY="browser-tests-secret",
               # one browser signs in as the same demo accounts many times a minute
               VOICES_LOGIN_RATE_PER_MINUTE="1000", VOICES_PUBLIC_RATE_PER_MINUTE="1000",
               VOICES_JOINS_PER_ADDRESS_PER_MINUTE="1000")
    voices = [sys.executable, "-m", "voices"]
    subprocess.run(voices + ["db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(voices + ["demo"] + os.environ.get("VOICES_BROWSER_DEMO", "").split(),
                   env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(voices + ["serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # the server compiles its pages before it listens
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        server.kill()
        raise RuntimeError("the server did not start: " + server.stderr.read().decode()[-2000:])
    yield base
    server.terminate()
    server.wait(timeout=10)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, bypass_csp=False)
    page = context.new_page()
    yield page
    context.close()
