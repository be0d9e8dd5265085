"""Two `serve` replicas, workers and the CLI as separate processes on PostgreSQL and NATS: what
one process commits, every other one answers with, within a second or two."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from repayguard import resources

from support.common import fresh_database
from support.deployment import Deployment, Replica, deployment
from support.nats import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROPAGATION_SECONDS = 2.0


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Deployment]:
    """An upgraded PostgreSQL database (the shipped policy published as version 1) and its
    NATS stream; processes are started by each test."""
    with fresh_database("postgres", tmp_path) as url, deployment(tmp_path, url) as built:
        built.cli("db", "upgrade")
        yield built


def _policy_version(replica: Replica) -> str:
    return str(replica.get("/healthz").json()["policy"]["version"])


def _draft_without_bank_transfer() -> str:
    """The shipped policy with bank transfer dropped from the default terms' channels."""
    shipped = resources.read_text("policies/cn-default.yaml")
    old = (
        "manual_channels: [app_balance, bank_card, counter, bank_transfer]\n"
        "    reasons: [DEFAULT_TERMS]"
    )
    assert old in shipped
    text = shipped.replace(old, old.replace(", bank_transfer]", "]"))
    return "\n".join(line for line in text.splitlines() if not line.startswith("version:"))


def _bank_transfer_allowed(replica: Replica, token: str) -> bool:
    answer = replica.post(
        "/v1/authorize",
        token,
        json={"borrower_id": "B-NEVER-DECIDED", "method": "manual", "channel": "bank_transfer"},
    )
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["allowed"])


def test_a_policy_approved_on_one_replica_decides_on_both_within_two_seconds(
    running: Deployment,
) -> None:
    analyst = running.operator("ana", "analyst")
    approver = running.operator("ben", "approver")
    app = running.token("--service", "lender-app")
    a, b = running.serve("replica-a"), running.serve("replica-b")
    assert _policy_version(a) == _policy_version(b) == "1"
    assert _bank_transfer_allowed(a, app.secret)
    assert _bank_transfer_allowed(b, app.secret)

    draft = a.post(
        "/v1/policies/drafts", analyst.secret, json={"source": _draft_without_bank_transfer()}
    )
    assert draft.status_code == 201, draft.text
    asked = a.post(
        f"/v1/policies/drafts/{draft.json()['draft_id']}/publish",
        analyst.secret,
        json={"reason": "bank transfer costs borrowers a fee"},
    )
    assert asked.status_code == 202, asked.text
    approved = b.post(
        f"/v1/approvals/{asked.json()['request_id']}/approve",
        approver.secret,
        json={"comment": "fee-free channels only by default"},
    )
    assert approved.status_code == 200, approved.text

    for replica in (a, b):
        wait_until(
            lambda r=replica: _policy_version(r) == "2",
            seconds=PROPAGATION_SECONDS,
            what=f"{replica.name} to decide with version 2",
        )
        assert not _bank_transfer_allowed(replica, app.secret)


def test_a_token_revoked_from_the_cli_is_refused_by_both_replicas(running: Deployment) -> None:
    app = running.token("--service", "lender-app")
    replicas = [running.serve("replica-a"), running.serve("replica-b")]
    for replica in replicas:  # both have the token cached
        assert _bank_transfer_allowed(replica, app.secret)

    running.cli("token", "revoke", app.token_id)

    for replica in replicas:
        wait_until(
            lambda r=replica: (
                r.post(
                    "/v1/authorize", app.secret, json={"borrower_id": "B1", "method": "manual"}
                ).status_code
                == 401
            ),
            seconds=PROPAGATION_SECONDS,
            what=f"{replica.name} to refuse the revoked token",
        )


def test_after_keys_rotate_both_replicas_read_profiles_old_and_new(running: Deployment) -> None:
    admin = running.operator("ada", "admin")
    a, b = running.serve("replica-a"), running.serve("replica-b")
    profile = {"name": "Li Wei", "phone": "+8613800138000", "locale": "zh-CN"}
    assert a.put("/v1/borrowers/B-OLD/profile", admin.secret, json=profile).status_code == 200

    running.cli("keys", "rotate")

    assert a.put("/v1/borrowers/B-NEW/profile", admin.secret, json=profile).status_code == 200
    for replica in (a, b):
        for borrower in ("B-OLD", "B-NEW"):
            read = replica.get(f"/v1/borrowers/{borrower}/profile?reveal=true", admin.secret)
            assert read.status_code == 200, f"{replica.name} {borrower}: {read.text}"
            assert read.json()["name"] == "Li Wei"


def test_a_policy_file_override_is_refused_in_production(running: Deployment) -> None:
    draft = running.directory / "unpublished.yaml"
    draft.write_text(_draft_without_bank_transfer(), encoding="utf-8")

    refused = running.cli(
        "decide",
        "--all",
        check=False,
        env={"REPAYGUARD_ENV": "production", "REPAYGUARD_DECISIONS__POLICY_PATH": str(draft)},
    )

    assert refused.returncode == 3
    assert "POLICY_PATH" in refused.stderr + refused.stdout


def test_three_workers_one_killed_midway_end_as_one_sequential_run(
    running: Deployment, tmp_path: Path
) -> None:
    events = _portfolio_events(tmp_path / "portfolio")
    # Every event lands first, so each online decision reads the same history in both runs
    # (decisions read history as it stands when their message is handled).
    running.cli("ingest", str(events), "--no-decide", "--batch-size", "200")
    batches = _ingested_batches(running)
    workers = [running.worker(f"worker-{n}") for n in range(3)]

    # The online consumer re-decides each batch's borrowers (batches waiting together in one
    # run); kill a worker while they work.
    wait_until(lambda: _online_runs(running) > 0, seconds=60, what="the first online decisions")
    workers[0].stop(signal.SIGKILL)
    wait_until(
        lambda: _batches_decided(running) >= batches,
        seconds=240,
        what="every ingested batch to be decided",
    )
    assert _batches_decided(running) == batches, "no batch was handled twice"
    assert _online_runs(running) <= batches, "no batch was decided twice"

    # The same files through one worker, nothing killed: the same end state.
    with (
        fresh_database("postgres", tmp_path / "single") as url,
        deployment(tmp_path / "single", url) as single,
    ):
        single.cli("db", "upgrade")
        single.cli("ingest", str(events), "--no-decide", "--batch-size", "200")
        single.worker("only-worker")
        wait_until(
            lambda: _batches_decided(single) >= batches,
            seconds=240,
            what="the single worker to decide every batch",
        )
        assert _entitlements(single) == _entitlements(running)


def _portfolio_events(out: Path) -> Path:
    """Five months of a small portfolio, ending before today (decisions are as of now)."""
    from repayguard.simulation import PortfolioSpec, generate_portfolio

    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    spec = PortfolioSpec(borrowers=300, months=5, seed=11, start=start - timedelta(days=160))
    generate_portfolio(spec, out)
    return out


def _sql(deployed: Deployment, query: str) -> list[tuple[object, ...]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(deployed.database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def _online_runs(deployed: Deployment) -> int:
    return int(_sql(deployed, "SELECT count(*) FROM decision_runs WHERE mode = 'online'")[0][0])


def _batches_decided(deployed: Deployment) -> int:
    """Ingested batches the online consumer has handled (each exactly once)."""
    query = "SELECT count(*) FROM processed_messages WHERE consumer = 'decisions.online'"
    return int(_sql(deployed, query)[0][0])


def _ingested_batches(deployed: Deployment) -> int:
    query = "SELECT count(*) FROM outbox WHERE name = 'repayguard.events.ingested'"
    return int(_sql(deployed, query)[0][0])


def _entitlements(deployed: Deployment) -> list[tuple[object, ...]]:
    return _sql(
        deployed,
        "SELECT borrower_id, auto_debit, early_repayment, manual, rule_id, tier "
        "FROM entitlements "
        "ORDER BY borrower_id",
    )
