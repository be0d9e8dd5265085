"""Notice and scheduler settings: usable defaults, clear refusals, read from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from repayguard.config import Settings


def test_the_defaults_need_no_configuration() -> None:
    settings = Settings()

    assert settings.notices.channels == []
    assert settings.notices.default_locale == "zh-CN"
    assert settings.scheduler.lease_seconds > settings.scheduler.poll_seconds


def test_a_webhook_without_its_url_or_secret_is_refused_with_what_to_set() -> None:
    with pytest.raises(ValidationError, match="REPAYGUARD_NOTICES__WEBHOOK_URL"):
        Settings(notices={"channels": ["webhook"], "webhook_secret": "s" * 32})
    with pytest.raises(ValidationError, match="REPAYGUARD_NOTICES__WEBHOOK_SECRET"):
        Settings(notices={"channels": ["webhook"], "webhook_url": "https://lender.example/hook"})


def test_an_unknown_time_zone_and_a_cap_below_the_base_are_refused() -> None:
    with pytest.raises(ValidationError, match="not a known time zone"):
        Settings(notices={"timezone": "Mars/Olympus_Mons"})
    with pytest.raises(ValidationError, match="backoff_cap_seconds"):
        Settings(notices={"backoff_base_seconds": 600, "backoff_cap_seconds": 60})


def test_channels_and_intervals_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPAYGUARD_NOTICES__CHANNELS", '["webhook"]')
    monkeypatch.setenv("REPAYGUARD_NOTICES__WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("REPAYGUARD_NOTICES__WEBHOOK_SECRET", "x" * 20)
    monkeypatch.setenv("REPAYGUARD_SCHEDULER__REVIEW_EVERY_SECONDS", "60")

    settings = Settings()

    assert settings.notices.channels == ["webhook"]
    assert settings.notices.webhook_secret is not None
    assert settings.notices.webhook_secret.get_secret_value() == "x" * 20
    assert settings.scheduler.review_every_seconds == 60
