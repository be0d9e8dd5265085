"""A deployment on one machine: `repayguard serve` replicas, workers and CLI commands as separate
processes sharing one database and one NATS JetStream stream (each deployment its own stream
and subject prefix, so parallel tests never see each other's messages)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.nats import NATS_URL, Names, delete_stream, free_port, require_nats, wait_until

REPAYGUARD = [str(Path(sys.executable).with_name("repayguard"))]
SECRET = "deployment-test-secret-0123456789abcdef"


@dataclass
class Process:
    """A long-running repayguard process with its output kept in a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


@dataclass
class Replica(Process):
    """A ``repayguard serve`` process and an HTTP client for it."""

    port: int = 0
    http: httpx.Client = field(default_factory=httpx.Client)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, token: str | None = None, **options: Any) -> httpx.Response:
        return self.http.get(self.url + path, headers=_auth(token), **options)

    def post(self, path: str, token: str | None = None, **options: Any) -> httpx.Response:
        return self.http.post(self.url + path, headers=_auth(token), **options)

    def put(self, path: str, token: str | None = None, **options: Any) -> httpx.Response:
        return self.http.put(self.url + path, headers=_auth(token), **options)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.http.close()
        super().stop(sig)


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@dataclass(frozen=True)
class Token:
    token_id: str
    secret: str


class Deployment:
    """Processes sharing one database, one data directory (keys) and one NATS stream."""

    def __init__(self, directory: Path, database_url: str, *, nats_url: str = NATS_URL) -> None:
        self.directory = directory
        self.database_url = database_url
        self.nats_url = nats_url
        names = Names.unique()
        self.stream, self.prefix = names.stream, names.prefix
        self.data_dir = directory / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.processes: list[Process] = []
        self.env = {
            **os.environ,
            "COLUMNS": "200",
            "REPAYGUARD_ENV": "test",
            "REPAYGUARD_DATA_DIR": str(self.data_dir),
            "REPAYGUARD_DATABASE__URL": database_url,
            "REPAYGUARD_SECURITY__SECRET_KEY": SECRET,
            "REPAYGUARD_BUS__URL": nats_url,
            "REPAYGUARD_BUS__STREAM": self.stream,
            "REPAYGUARD_BUS__SUBJECT_PREFIX": self.prefix,
            "REPAYGUARD_BUS__ACK_WAIT_SECONDS": "3",
            "REPAYGUARD_BUS__MAX_VIEW_AGE_SECONDS": "3",
            "REPAYGUARD_SCHEDULER__POLL_SECONDS": "1",
        }

    # -- one-shot commands --------------------------------------------------------------
    def cli(
        self,
        *args: str,
        check: bool = True,
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*REPAYGUARD, *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"repayguard {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done

    def token(self, *who: str) -> Token:
        """``repayguard token create`` (e.g. ``token("--service", "app")``)."""
        printed = self.cli("token", "create", *who).stdout
        token_id = re.search(r"Token (\S+) for", printed)
        secret = re.search(r"(rg_[A-Za-z0-9_\-]+)", printed)
        assert token_id, printed
        assert secret, printed
        return Token(token_id.group(1), secret.group(1))

    def operator(self, username: str, role: str) -> Token:
        self.cli("user", "add", username, "--role", role)
        return self.token("--operator", username)

    # -- long-running processes -----------------------------------------------------------
    def serve(self, name: str, *, env: dict[str, str] | None = None) -> Replica:
        port = free_port()
        log = self.directory / f"{name}.log"
        popen = self._start([*REPAYGUARD, "serve", "--port", str(port)], log, env)
        replica = Replica(name, popen, log, port=port, http=httpx.Client(timeout=10))
        self.processes.append(replica)
        wait_until(lambda: self._answers(replica), seconds=60, what=f"{name} answering /healthz")
        return replica

    def worker(self, name: str, *, env: dict[str, str] | None = None) -> Process:
        log = self.directory / f"{name}.log"
        popen = self._start([*REPAYGUARD, "worker", "--name", name, "--poll", "0.5"], log, env)
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def _start(
        self, argv: list[str], log: Path, env: dict[str, str] | None
    ) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            return subprocess.Popen(
                argv,
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    @staticmethod
    def _answers(replica: Replica) -> bool:
        if replica.popen.poll() is not None:
            pytest.fail(f"{replica.name} exited {replica.popen.returncode}:\n{replica.output()}")
        try:
            return replica.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        delete_stream(self.nats_url, self.stream)


@contextmanager
def deployment(directory: Path, database_url: str) -> Iterator[Deployment]:
    """A deployment whose processes are stopped and whose stream is deleted afterwards."""
    require_nats()
    running = Deployment(directory, database_url)
    try:
        yield running
    finally:
        running.close()
