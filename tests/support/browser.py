"""A real browser on the console: repayguard served by uvicorn on a loopback port in a thread,
and Debian's Chromium driven by Playwright (browsers are never downloaded: the test fails, with
what to install, when Chromium is missing — it does not skip)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from repayguard.api.app import create_server
from repayguard.bootstrap import Container

CHROMIUM = os.environ.get("REPAYGUARD_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "a long and private passphrase"


@contextmanager
def served(container: Container) -> Iterator[str]:
    """The container's API and console on ``http://127.0.0.1:<free port>`` until the block
    ends (the server's shutdown closes the container, as ``repayguard serve`` does)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_server(container), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the console server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium) "
            "or point REPAYGUARD_CHROMIUM at one"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/console/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def console_errors(note: ConsoleMessage) -> list[str]:
    """The errors a console message reports (a refused script or style under the console's
    Content-Security-Policy among them); the browser's own request for a favicon a page does
    not declare (a simulation's offline report) is not one."""
    if note.type != "error":
        return []
    if note.location.get("url", "").endswith("/favicon.ico"):
        return []
    return [note.text]
