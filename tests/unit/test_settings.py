"""Settings: defaults that work for a trial, and refusal of development secrets in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from repayguard.config import Settings


def test_the_default_database_is_a_sqlite_file_in_the_data_directory() -> None:
    settings = Settings(data_dir=Path("/tmp/rg"))
    assert settings.database_url == "sqlite:////tmp/rg/repayguard.db"


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="development default"):
        Settings(env="production")


def test_production_accepts_a_real_secret() -> None:
    settings = Settings(env="production", security={"secret_key": "x" * 40})
    assert settings.env == "production"


def test_settings_come_from_the_environment_with_nested_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPAYGUARD_DATABASE__URL", "postgresql://u@127.0.0.1/db")
    monkeypatch.setenv("REPAYGUARD_DECISIONS__HISTORY_DAYS", "90")
    settings = Settings()
    assert settings.database_url == "postgresql://u@127.0.0.1/db"
    assert settings.decisions.history_days == 90


def test_the_in_process_bus_is_the_default_and_a_nats_url_selects_the_shared_bus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().bus.kind == "memory"
    assert Settings().bus.url is None
    monkeypatch.setenv("REPAYGUARD_BUS__URL", "nats://127.0.0.1:4222")
    monkeypatch.setenv("REPAYGUARD_BUS__SUBJECT_PREFIX", "acme.")
    settings = Settings()
    assert settings.bus.kind == "nats"
    assert settings.bus.subject_prefix == "acme."
    assert settings.bus.stream == "REPAYGUARD"


@pytest.mark.parametrize(
    ("bus", "refusal"),
    [
        ({"url": "http://127.0.0.1:4222"}, "nats://host:port or tls://host:port"),
        ({"url": "nats://a:4222,redis://b:6379"}, "nats://host:port"),
        ({"kind": "nats"}, "REPAYGUARD_BUS__URL is not set"),
        ({"kind": "memory", "url": "nats://127.0.0.1:4222"}, "drop one of them"),
        ({"stream": "REPAY.GUARD"}, "JetStream stream name"),
        ({"subject_prefix": "acme"}, "ending with a dot"),
        ({"subject_prefix": "ac me."}, "ending with a dot"),
        ({"ack_wait_seconds": 0}, "greater than 0"),
    ],
)
def test_bus_settings_that_cannot_work_are_refused_at_start(
    bus: dict[str, object], refusal: str
) -> None:
    with pytest.raises(ValidationError, match=refusal):
        Settings(bus=bus)


def test_a_cluster_of_nats_servers_and_tls_are_accepted() -> None:
    settings = Settings(bus={"url": "tls://n1.example:4222, tls://n2.example:4222"})
    assert settings.bus.kind == "nats"
