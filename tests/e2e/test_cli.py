"""The CLI as a person runs it: real processes, real files, real SQLite, a real server."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from support.builders import due, failing_debits_history
from support.common import NOW

REPAYGUARD = str(Path(sys.executable).parent / "repayguard")


def run(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAYGUARD_")}
    env["COLUMNS"] = "160"
    return subprocess.run(
        [REPAYGUARD, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_demo_without_serving_prints_the_summary_and_exits_0(tmp_path: Path) -> None:
    result = run("demo", "--no-serve", "--borrowers", "2000", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Decisions as of" in result.stdout
    assert "T1" in result.stdout
    assert "2,000 borrowers decided" in result.stdout
    assert "Traceback" not in result.stderr
    # The commands it suggests carry the demo's token, one unbroken line each.
    assert "  TOKEN=$(cat .repayguard/demo/demo-token.txt)\n" in result.stdout
    suggested = [line for line in result.stdout.splitlines() if line.startswith("  curl ")]
    assert len(suggested) == 2
    assert all('-H "Authorization: Bearer $TOKEN"' in line for line in suggested)
    assert (tmp_path / ".repayguard" / "demo" / "demo-token.txt").read_text().startswith("rg_")
    assert "Console: http://127.0.0.1:8000/console — log in as demo-admin" in result.stdout


def test_the_demo_shows_each_of_the_three_controls_applied(tmp_path: Path) -> None:
    """The shipped policy applies every control the product exists for: the summary counts
    borrowers with auto-debit disabled, auto-debit mandatory, early repayment restricted and the
    manual flow forced (on the free channels, after repeated failed auto-debits)."""
    result = run("demo", "--no-serve", "--borrowers", "2000", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    tiers = [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in result.stdout.splitlines()
        if re.match(r"│\s+T\d ", line)
    ]
    assert len(tiers) == 5
    counts = [sum(int(row[column].replace(",", "")) for row in tiers) for column in (3, 4, 5, 6)]
    assert min(counts) > 0, counts
    disabled, forced = counts[0], counts[3]
    assert forced == disabled  # the failed-debit row does both at once
    assert re.search(r"manual forced\s+failed-debits", result.stdout)


@pytest.mark.slow
def test_demo_serves_an_api_that_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAYGUARD_")}
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [REPAYGUARD, "demo", "--borrowers", "300", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        health = None
        for _ in range(240):
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
                time.sleep(0.5)
        assert health is not None
        assert health.status_code == 200
        with sqlite3.connect(tmp_path / ".repayguard" / "demo" / "repayguard.db") as db:
            (held,) = db.execute(
                "SELECT count(*) FROM approval_requests WHERE kind = 'decision' "
                "AND state = 'pending'"
            ).fetchone()
        # Every borrower is in the view except those whose first decision is a tightening
        # waiting for approval: until it is approved they have the policy's default terms.
        assert health.json()["borrowers_in_view"] + held == 300
        base = f"http://127.0.0.1:{port}"
        refused = httpx.post(
            f"{base}/v1/authorize", json={"borrower_id": "B0000001", "method": "manual"}
        )
        assert refused.status_code == 401, "the API needs a token by default"
        demo = tmp_path / ".repayguard" / "demo"
        token = (demo / "demo-token.txt").read_text().strip()
        auth = {"Authorization": f"Bearer {token}"}
        answer = httpx.post(
            f"{base}/v1/authorize",
            json={"borrower_id": "B0000001", "method": "manual"},
            headers=auth,
        )
        assert answer.status_code == 200
        assert answer.json()["allowed"] is True

        # The console, with the operator the demo made.
        password = (demo / "demo-console-password.txt").read_text().strip()
        with httpx.Client(base_url=base) as browser:
            login = {"username": "demo-admin", "password": password, "next": "/console/"}
            landed = browser.post("/console/login", data=login, follow_redirects=True)
            assert landed.status_code == 200
            assert "Repayment methods by risk tier" in landed.text

        # Online path through the real server: events in, the background relay hands them to
        # the online decision, the view follows the committed entitlement.
        events = failing_debits_history("B-LIVE", datetime.now(UTC))
        posted = httpx.post(f"{base}/v1/events", json={"events": events}, headers=auth, timeout=30)
        assert posted.json()["accepted"] == len(events)
        state = None
        for _ in range(120):
            methods = httpx.get(f"{base}/v1/borrowers/B-LIVE/repayment-methods", headers=auth)
            if methods.status_code == 200:
                state = methods.json()["methods"]["auto_debit"]
                break
            time.sleep(0.25)
        assert state == "disabled"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_ingest_reports_counts_and_quarantines_the_bad_line(tmp_path: Path) -> None:
    events = failing_debits_history("B-CLI", NOW)
    lines = [json.dumps(e) for e in events]
    lines.insert(2, "{not json")
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(lines) + "\n")

    first = run("ingest", str(source), "--no-decide", cwd=tmp_path)

    assert first.returncode == 1, first.stderr  # a record was rejected: findings
    assert f"{len(events):,}" in first.stdout
    assert "line 3 is not valid JSON" in first.stdout
    assert "quarantined" in first.stdout
    again = run("ingest", str(source), "--no-decide", "--json", "--allow-partial", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    outcome = json.loads(again.stdout)
    assert (outcome["accepted"], outcome["duplicates"], outcome["rejected"]) == (
        0,
        len(events),
        1,
    )
    assert outcome["rejections"][0]["index"] == 2
    assert outcome["rejections"][0]["errors"][0]["field"] == "(line)"


def test_ingest_reads_csv_and_decides_the_affected_borrowers(tmp_path: Path) -> None:
    header = "event_id,type,borrower_id,loan_id,occurred_at,kind,amount"
    record = due("B-CSV", NOW)
    line = ",".join(
        str(record.get(k, ""))
        for k in ("event_id", "type", "borrower_id", "loan_id", "occurred_at", "kind", "amount")
    )
    source = tmp_path / "events.csv"
    source.write_text(f"{header}\n{line}\n")

    result = run("ingest", str(source), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Decisions for affected borrowers" in result.stdout


def test_decide_runs_shows_what_ran_and_why(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in failing_debits_history("B-RUN", NOW)))
    assert run("ingest", str(source), cwd=tmp_path).returncode == 0  # decided: events
    decided = run("decide", "--all", "--as-of", f"{NOW:%Y-%m-%d}", cwd=tmp_path)  # cli
    assert decided.returncode == 0, decided.stderr

    listed = run("decide", "runs", "--json", cwd=tmp_path)
    table = run("decide", "runs", "--limit", "1", cwd=tmp_path)

    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)["runs"]
    assert [(r["trigger"], r["mode"], r["borrowers"]) for r in runs] == [
        ("cli", "batch", 1),
        ("events", "online", 1),
    ]
    assert runs[0]["as_of"] == f"{NOW:%Y-%m-%d}T00:00:00+00:00"
    assert runs[0]["policy_version"] == "1"
    assert table.returncode == 0, table.stderr
    assert "trigger" in table.stdout
    assert runs[0]["run_id"][:8] in table.stdout  # the table shows the short id
    assert runs[1]["run_id"][:8] not in table.stdout


def test_user_mistakes_get_a_message_and_a_next_step_not_a_traceback(tmp_path: Path) -> None:
    missing = run("ingest", str(tmp_path / "nope.csv"), cwd=tmp_path)
    unsure = run("decide", cwd=tmp_path)

    assert missing.returncode == 3
    assert "no such file or folder" in missing.stderr
    assert unsure.returncode == 2  # a usage mistake: the usage line and what to add
    assert "say which borrowers to decide: --all, or --borrower ID" in unsure.stderr
    assert "Traceback" not in missing.stderr + unsure.stderr


@pytest.mark.slow
def test_decide_on_spark_records_a_spark_run_and_prints_the_summary(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in failing_debits_history("B-SPK", NOW)))
    assert run("ingest", str(source), cwd=tmp_path).returncode == 0
    decided = run(
        "decide", "--all", "--engine", "spark", "--partitions", "2",
        "--as-of", f"{NOW:%Y-%m-%d}", cwd=tmp_path, timeout=900,
    )  # fmt: skip

    assert decided.returncode == 0, decided.stderr
    assert "1 borrowers decided in" in decided.stdout
    assert "Decided with:" in decided.stdout
    runs = json.loads(run("decide", "runs", "--json", cwd=tmp_path).stdout)["runs"]
    assert (runs[0]["trigger"], runs[0]["mode"], runs[0]["borrowers"]) == ("spark", "batch", 1)


def test_decide_refuses_spark_options_it_would_ignore(tmp_path: Path) -> None:
    named = run("decide", "--borrower", "B1", "--engine", "spark", cwd=tmp_path)
    polars = run("decide", "--all", "--partitions", "4", cwd=tmp_path)
    nobody = run("decide", cwd=tmp_path)

    # Usage mistakes (exit 2, with the usage line), not refusals by the domain (3).
    assert named.returncode == 2
    assert "Spark decides the whole book only" in named.stdout + named.stderr
    assert polars.returncode == 2
    assert "belong to the Spark engine" in polars.stdout + polars.stderr
    assert nobody.returncode == 2
    assert "say which borrowers to decide" in nobody.stdout + nobody.stderr
