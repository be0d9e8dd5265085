"""``repayguard serve`` at the edges of a lender's network: behind a TLS-terminating proxy
(``--proxy-headers``: ``X-Forwarded-Proto: https`` makes the console's session cookie
``Secure`` and the access log names the real client) and over TLS itself (``--ssl-certfile`` /
``--ssl-keyfile`` with a self-signed certificate made for the test), with JSON log lines from
uvicorn and repayguard alike."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from repayguard.bootstrap import bootstrap
from repayguard.identity import AddOperator, SetPassword, add_operator, set_password

from support.channels import self_signed
from support.common import make_settings
from support.nats import free_port, wait_until

REPAYGUARD = str(Path(sys.executable).with_name("repayguard"))
SECRET = "serve-edges-test-secret-0123456789abcdef"
PASSWORD = "a long and private passphrase"
PROXY_CLIENT = "203.0.113.9"


@pytest.fixture
def store(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite store with an operator who has a password; the environment to serve
    it with JSON logs."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    settings = make_settings(url, tmp_path, auth="required")
    with bootstrap(settings, migrate=True) as container:
        add_operator(AddOperator("olga", "admin"), uow=container.uow())
        set_password(SetPassword("olga", PASSWORD), uow=container.uow())
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("REPAYGUARD_")},
        "REPAYGUARD_ENV": "test",
        "REPAYGUARD_DATA_DIR": str(tmp_path),
        "REPAYGUARD_DATABASE__URL": url,
        "REPAYGUARD_SECURITY__SECRET_KEY": SECRET,
        "REPAYGUARD_LOG_FORMAT": "json",
    }


@contextmanager
def serving(
    env: dict[str, str], log: Path, *options: str, verify: ssl.SSLContext | None = None
) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [REPAYGUARD, "serve", "--port", str(port), *options],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"{'https' if verify is not None else 'http'}://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"serve exited {process.returncode}:\n{log.read_text()}")
        try:
            answer = httpx.get(f"{base}/livez", verify=verify or True, timeout=2)
            return answer.status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, seconds=90, what="serve answering /livez")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _log_in(http: httpx.Client, base: str, headers: dict[str, str]) -> httpx.Response:
    return http.post(
        f"{base}/console/login",
        data={"username": "olga", "password": PASSWORD, "next": "/console/"},
        headers=headers,
        follow_redirects=False,
    )


def _json_lines(log: Path) -> list[dict[str, Any]]:
    lines = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def _access(log: Path, request_id: str) -> dict[str, Any]:
    found = [
        line
        for line in _json_lines(log)
        if line.get("event") == "http.request" and line.get("request_id") == request_id
    ]
    assert len(found) == 1, log.read_text()
    return found[0]


@pytest.mark.slow
def test_behind_a_tls_proxy_the_cookie_is_secure_and_the_client_is_the_real_one(
    store: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "proxied.log"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": PROXY_CLIENT}
    with serving(store, log, "--proxy-headers") as base, httpx.Client() as http:
        direct = _log_in(http, base, {"X-Request-ID": "direct"})
        proxied = _log_in(http, base, {**forwarded, "X-Request-ID": "proxied"})

    assert (direct.status_code, proxied.status_code) == (303, 303), proxied.text
    assert "secure" not in direct.headers["set-cookie"].lower()
    assert "; secure" in proxied.headers["set-cookie"].lower()
    assert proxied.headers["x-request-id"] == "proxied"
    assert _access(log, "proxied")["client"] == PROXY_CLIENT
    assert _access(log, "direct")["client"] == "127.0.0.1"
    assert _access(log, "proxied")["path"] == "/console/login"
    lines = _json_lines(log)
    assert any(line.get("logger", "").startswith("uvicorn") for line in lines), (
        "uvicorn's own lines come out as JSON too"
    )
    assert PASSWORD not in log.read_text()


@pytest.mark.slow
def test_without_proxy_headers_forwarded_ones_are_ignored(
    store: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "plain.log"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": PROXY_CLIENT}
    with serving(store, log) as base, httpx.Client() as http:
        answered = _log_in(http, base, {**forwarded, "X-Request-ID": "spoofed"})

    assert answered.status_code == 303
    assert "secure" not in answered.headers["set-cookie"].lower()
    assert _access(log, "spoofed")["client"] == "127.0.0.1"


@pytest.mark.slow
def test_serve_speaks_tls_with_the_given_certificate(store: dict[str, str], tmp_path: Path) -> None:
    tls = self_signed(tmp_path)
    log = tmp_path / "tls.log"
    options = ("--ssl-certfile", str(tls.cert_file), "--ssl-keyfile", str(tls.key_file))
    with (
        serving(store, log, *options, verify=tls.client) as base,
        httpx.Client(verify=tls.client) as http,
    ):
        assert base.startswith("https://")
        ready = http.get(f"{base}/readyz")
        logged_in = _log_in(http, base, {})
        with pytest.raises(httpx.TransportError):
            httpx.get(base.replace("https://", "http://") + "/livez", timeout=5)

    assert ready.status_code == 200, ready.text
    assert "; secure" in logged_in.headers["set-cookie"].lower()
    assert "https://127.0.0.1" in log.read_text(), "serve says where it listens"


def test_a_certificate_without_its_key_is_refused_with_what_to_pass(
    store: dict[str, str], tmp_path: Path
) -> None:
    tls = self_signed(tmp_path)
    done = subprocess.run(
        [REPAYGUARD, "serve", "--ssl-certfile", str(tls.cert_file)],
        env=store,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "TLS needs both a certificate and its private key" in done.stderr
    assert "--ssl-keyfile" in done.stderr
