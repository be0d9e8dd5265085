"""``repayguard worker`` (and the jobs ``serve`` runs) as an operator runs them: real processes
on a real SQLite file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from repayguard.config import Settings
from repayguard.identity import AddOperator, CreateToken, add_operator, create_token
from repayguard.platform.clock import FixedClock

from support.notices import NOTICE_POLICY, failed_debits, inbox, ingest, open_container

REPAYGUARD = str(Path(sys.executable).parent / "repayguard")


def _environment(policy: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAYGUARD_")}
    env["COLUMNS"] = "200"
    env["REPAYGUARD_DECISIONS__POLICY_PATH"] = str(policy)
    return env


def _prepare(tmp_path: Path) -> tuple[Path, Path, datetime]:
    """A data folder where a restriction was announced 20 days ago (its notice period is
    over now) and the policy file that decided it."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(NOTICE_POLICY)
    data = tmp_path / "data"
    decided = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
    settings = Settings(data_dir=data, bus={"relay": "inline"}, decisions={"policy_path": policy})
    with open_container(settings, FixedClock(decided)) as container:
        ingest(container, failed_debits("B1", decided, [5, 4, 3]))
        assert [n.kind for n in inbox(container, "B1")] == ["advance"]
    return data, policy, decided


def test_worker_once_runs_every_due_job_and_says_what_it_did(tmp_path: Path) -> None:
    data, policy, decided = _prepare(tmp_path)
    command = [REPAYGUARD, "worker", "--once", "--data-dir", str(data), "--name", "ops-1"]

    first = subprocess.run(
        command, env=_environment(policy), capture_output=True, text=True, timeout=300
    )
    second = subprocess.run(
        command, env=_environment(policy), capture_output=True, text=True, timeout=300
    )
    settings = Settings(data_dir=data, bus={"relay": "inline"}, decisions={"policy_path": policy})
    with open_container(settings, FixedClock(decided + timedelta(days=20))) as container:
        kinds = [n.kind for n in inbox(container, "B1")]

    assert first.returncode == 0, first.stderr
    assert "Worker ops-1, one pass over: entitlements.activate" in first.stdout
    lines = {line.split()[3]: line for line in first.stdout.splitlines() if "  " in line}
    assert (
        "1 restriction(s) past their notice period now in force" in lines["entitlements.activate"]
    )
    assert " ran " in lines["entitlements.review"]
    assert "no channel besides the inbox is enabled" in lines["notices.deliver"]
    assert "Traceback" not in first.stderr
    assert second.returncode == 0, second.stderr
    again = {
        line.split()[3]: line.split()[2] for line in second.stdout.splitlines() if "  " in line
    }
    assert set(again.values()) == {"not_due"}, "each job waits for its interval"
    assert {"entitlements.activate", "entitlements.review", "notices.deliver"} <= set(again)
    assert kinds == ["advance", "explanation"]


def test_worker_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    data, policy, _ = _prepare(tmp_path)
    process = subprocess.Popen(
        [REPAYGUARD, "worker", "--data-dir", str(data), "--poll", "0.2"],
        env=_environment(policy),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        activated = process.stdout.readline()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert "Ctrl+C stops after the current job" in banner
    assert "entitlements.activate" in activated
    assert process.returncode == 0, err
    assert "Worker stopped." in out
    assert "Traceback" not in err


def test_the_server_runs_the_jobs_and_its_inbox_shows_the_explanation(tmp_path: Path) -> None:
    data, policy, decided = _prepare(tmp_path)
    settings = Settings(data_dir=data, bus={"relay": "inline"}, decisions={"policy_path": policy})
    with open_container(settings, FixedClock(decided)) as container:
        add_operator(AddOperator("agent", "cs_agent"), uow=container.uow())
        token = create_token(CreateToken("operator", "agent"), uow=container.uow()).secret
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _environment(policy) | {"REPAYGUARD_SCHEDULER__POLL_SECONDS": "0.2"}
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [REPAYGUARD, "serve", "--data-dir", str(data), "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    kinds: list[str] = []
    try:
        for _ in range(600):  # wait (at most ~2 minutes) for the server's worker thread
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/v1/borrowers/B1/notices",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=5,
                )
                kinds = [n["kind"] for n in reversed(response.json()["notices"])]
                if len(kinds) == 2:
                    break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()

    assert server.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text()
    assert kinds == ["advance", "explanation"]
