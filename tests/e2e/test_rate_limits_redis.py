"""Rate limits kept in the real Redis: two app instances sharing it share each token's budget;
a Redis that goes away leaves authorize answering, unlimited, with a warning and a metric."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import structlog
from fastapi.testclient import TestClient

from repayguard.api.app import create_server
from repayguard.bootstrap import Container, bootstrap
from repayguard.config import RateLimitSettings
from repayguard.identity import CreateToken, create_token
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import healthy_history
from support.common import NOW, make_settings

REDIS = "redis://127.0.0.1:6379/0"
AUTHORIZE = {"borrower_id": "B-1", "method": "auto_debit"}


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module", autouse=True)
def redis_up() -> None:
    if not _answers(REDIS):
        pytest.fail(
            "Redis does not answer at 127.0.0.1:6379 and these tests need it: start it with "
            "'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\"' "
            "(.ci/run does)"
        )


@contextmanager
def _container(tmp_path: Path, limits: RateLimitSettings) -> Iterator[tuple[Container, str]]:
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required")
    settings = settings.model_copy(update={"rate_limit": limits})
    with bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        ingest_events(
            IngestEvents(healthy_history("B-1", NOW), source="test"),
            uow=container.uow(),
            setup=container.ingest,
        )
        secret = create_token(CreateToken("service", "app"), uow=container.uow()).secret
        yield container, f"Bearer {secret}"


@pytest.mark.parametrize(("storage", "shared"), [(REDIS, True), ("memory://", False)])
def test_two_instances_share_a_token_budget_through_redis_and_not_in_memory(
    tmp_path: Path, storage: str, shared: bool
) -> None:
    limits = RateLimitSettings(storage_uri=storage, authorize="4/hour", api="4/hour")
    with _container(tmp_path, limits) as (container, bearer):
        one, two = (TestClient(create_server(container)) for _ in range(2))
        auth = {"Authorization": bearer}
        for _ in range(2):
            assert one.post("/v1/authorize", json=AUTHORIZE, headers=auth).status_code == 200
        remaining = [
            two.post("/v1/authorize", json=AUTHORIZE, headers=auth).headers.get(
                "ratelimit-remaining"
            )
            for _ in range(2)
        ]
        third = two.post("/v1/authorize", json=AUTHORIZE, headers=auth)
        if shared:  # the second instance counts on from the first's two calls
            assert remaining == ["1", "0"]
            assert third.status_code == 429
            assert third.headers["retry-after"] == "3600"
            assert third.json()["code"] == "rate_limited"
        else:
            assert remaining == ["3", "2"]
            assert third.status_code == 200


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis server of this test's own, on a free port, that the test may stop."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            if _answers(url):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the test's own redis-server on port {port} did not start")
        yield url, server
    finally:
        server.kill()
        server.wait(timeout=10)


def test_a_redis_outage_leaves_authorize_answering_unlimited_with_a_warning_and_a_metric(
    tmp_path: Path, own_redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, redis_server = own_redis
    limits = RateLimitSettings(storage_uri=url, authorize="2/hour", api="2/hour")
    with _container(tmp_path, limits) as (container, bearer):
        server = create_server(container)
        client, auth = TestClient(server), {"Authorization": bearer}
        before = client.post("/v1/authorize", json=AUTHORIZE, headers=auth)
        assert before.status_code == 200
        assert before.headers["ratelimit-remaining"] == "1"

        redis_server.kill()
        redis_server.wait(timeout=10)
        with structlog.testing.capture_logs() as logs:
            during = [client.post("/v1/authorize", json=AUTHORIZE, headers=auth) for _ in range(3)]
            page = client.get("/v1/borrowers/B-1/repayment-methods", headers=auth)
        assert [r.status_code for r in during] == [200, 200, 200]  # past the budget of 2
        assert all("ratelimit-limit" not in r.headers for r in during)
        assert server.answered == 3  # still answered by the fast path
        assert page.status_code == 200
        warnings = [e for e in logs if e["event"] == "rate_limit.storage_unavailable"]
        assert len(warnings) == 1  # then the storage is left alone for storage_retry_seconds
        assert warnings[0]["storage"] == url
        assert "REPAYGUARD_RATE_LIMIT__STORAGE_URI" in (warnings[0]["hint"])
        errors = container.telemetry.registry.get_sample_value(
            "repayguard_rate_limit_storage_errors_total"
        )
        assert errors == 1
