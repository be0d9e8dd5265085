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
