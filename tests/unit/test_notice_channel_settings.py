"""Settings of the SMS and e-mail channels — refused at start-up with the variable to set —
and the pure rules those channels apply: phone numbers in E.164, SMS texts cut at a word
boundary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from repayguard import notices
from repayguard.config import NoticeSettings, Settings
from repayguard.notices import ChannelError, e164, sms_text

SMS = {
    "channels": ["sms"],
    "sms_gateway_url": "https://sms.lender.example/v1/messages",
    "sms_api_key": "gateway-key-for-tests",
}
EMAIL = {
    "channels": ["email"],
    "smtp_host": "smtp.lender.example",
    "smtp_from": "Lender Notices <notices@lender.example>",
}


def notices_of(**fields: Any) -> NoticeSettings:
    return Settings(notices=fields).notices


@pytest.mark.parametrize(
    ("fields", "variable"),
    [
        ({"channels": ["sms"]}, "REPAYGUARD_NOTICES__SMS_GATEWAY_URL"),
        ({**SMS, "sms_gateway_url": None}, "REPAYGUARD_NOTICES__SMS_GATEWAY_URL"),
        ({**SMS, "sms_api_key": None}, "REPAYGUARD_NOTICES__SMS_API_KEY"),
        ({**SMS, "sms_api_key": "  "}, "REPAYGUARD_NOTICES__SMS_API_KEY"),
        ({**SMS, "sms_gateway_url": "ftp://sms.lender.example"}, "SMS_GATEWAY_URL"),
        ({"channels": ["email"]}, "REPAYGUARD_NOTICES__SMTP_HOST"),
        ({**EMAIL, "smtp_from": None}, "REPAYGUARD_NOTICES__SMTP_FROM"),
        ({**EMAIL, "smtp_from": "Notices"}, "REPAYGUARD_NOTICES__SMTP_FROM"),
        ({**EMAIL, "smtp_security": "none"}, "REPAYGUARD_NOTICES__SMTP_SECURITY=none"),
        ({**EMAIL, "smtp_username": "notices"}, "REPAYGUARD_NOTICES__SMTP_PASSWORD"),
        ({**EMAIL, "smtp_password": "secret"}, "REPAYGUARD_NOTICES__SMTP_USERNAME"),
    ],
)
def test_an_enabled_channel_without_what_it_needs_is_refused_naming_the_variable(
    fields: dict[str, Any], variable: str
) -> None:
    with pytest.raises(ValidationError, match=variable):
        notices_of(**fields)


def test_the_api_key_and_phone_numbers_never_go_over_plain_http_to_another_host() -> None:
    with pytest.raises(ValidationError, match="https, or http to a loopback host"):
        notices_of(**{**SMS, "sms_gateway_url": "http://sms.lender.example/v1"})

    local = notices_of(**{**SMS, "sms_gateway_url": "http://127.0.0.1:8080/v1"})

    assert local.sms_gateway_url == "http://127.0.0.1:8080/v1"


def test_a_plain_smtp_connection_is_allowed_to_a_loopback_host_only() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        assert notices_of(**{**EMAIL, "smtp_host": host, "smtp_security": "none"}).smtp_host == host


def test_the_e_mail_defaults_are_submission_with_starttls() -> None:
    config = notices_of(**EMAIL)

    assert (config.smtp_port, config.smtp_security) == (587, "starttls")
    assert (config.smtp_username, config.smtp_password) == (None, None)
    assert config.sms_max_chars == 500


def test_channel_settings_that_are_not_enabled_are_not_required() -> None:
    assert notices_of(channels=[]).sms_gateway_url is None
    assert notices_of(
        channels=["webhook"], webhook_url="https://x.example/h", webhook_secret="s" * 16
    )


def test_both_channels_come_from_the_environment_with_secrets_kept_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment = {
        "CHANNELS": '["sms", "email"]',
        "SMS_GATEWAY_URL": "https://sms.lender.example/v1/messages",
        "SMS_API_KEY": "key-from-the-environment",
        "SMS_SENDER": "LENDER",
        "SMS_DEFAULT_COUNTRY_CODE": "86",
        "SMTP_HOST": "smtp.lender.example",
        "SMTP_PORT": "465",
        "SMTP_SECURITY": "ssl",
        "SMTP_USERNAME": "notices",
        "SMTP_PASSWORD": "password-from-the-environment",
        "SMTP_FROM": "notices@lender.example",
    }
    for name, value in environment.items():
        monkeypatch.setenv(f"REPAYGUARD_NOTICES__{name}", value)

    config = Settings().notices

    assert config.channels == ["sms", "email"]
    assert (config.smtp_port, config.smtp_security, config.sms_sender) == (465, "ssl", "LENDER")
    assert config.sms_api_key is not None
    assert config.sms_api_key.get_secret_value() == "key-from-the-environment"
    assert config.smtp_password is not None
    assert "password-from-the-environment" not in repr(config)
    assert "key-from-the-environment" not in repr(config)


def test_a_delivery_claim_outlasts_a_batch_of_the_slowest_channel() -> None:
    assert notices_of().slowest_attempt_seconds() == 5.0  # the webhook's, for adapters
    both = notices_of(
        **{**SMS, **EMAIL, "channels": ["sms", "email"]},
        sms_timeout_seconds=20,
        smtp_timeout_seconds=30,
    )
    assert both.slowest_attempt_seconds() == 30.0
    assert (
        notices_of(**SMS, sms_timeout_seconds=20, smtp_timeout_seconds=45).slowest_attempt_seconds()
        == 20.0
    )


def test_an_installed_adapter_called_sms_needs_no_gateway_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "acme_sms-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-sms\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{notices.ENTRY_POINT_GROUP}]\nsms = acme_sms:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert notices_of(channels=["sms"]).channels == ["sms"]
    with pytest.raises(ValidationError, match="REPAYGUARD_NOTICES__SMS_API_KEY"):
        notices_of(channels=["sms"], sms_gateway_url="https://sms.lender.example/v1")


# -- E.164 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "country", "expected"),
    [
        ("+86 139-1234-5678", None, "+8613912345678"),
        ("13912345678", "86", "+8613912345678"),
        ("0086 139 1234 5678", None, "+8613912345678"),
        ("07700 900123", "44", "+447700900123"),
        ("+1 (415) 555-0100", "86", "+14155550100"),
        # Italy keeps its leading 0 after the country code; the UK drops its trunk 0.
        ("06 1234 5678", "39", "+390612345678"),
        ("020 7946 0018", "44", "+442079460018"),
        ("0039 06 1234 5678", "86", "+390612345678"),
    ],
)
def test_numbers_on_file_become_e164(number: str, country: str | None, expected: str) -> None:
    assert e164(number, default_country_code=country) == expected


@pytest.mark.parametrize(
    ("number", "country", "problem"),
    [
        ("13912345678", None, "no country code"),
        ("+86 12", None, "not a valid phone number"),
        ("+0123456789", None, "not a valid phone number"),
        ("+8613912345678999999", None, "not a valid phone number"),
        ("06 1", "39", "not a valid phone number"),
        ("call me", "86", "not a valid phone number"),
    ],
)
def test_a_number_that_cannot_be_made_e164_fails_for_good_without_showing_it(
    number: str, country: str | None, problem: str
) -> None:
    with pytest.raises(ChannelError, match=problem) as refused:
        e164(number, default_country_code=country)

    assert refused.value.permanent is True
    assert number not in str(refused.value)


# -- SMS texts -----------------------------------------------------------------------------------


def test_a_text_that_fits_is_the_subject_then_the_body() -> None:
    assert sms_text("Subject", "Body line 1\nline 2\n", limit=500) == "Subject\nBody line 1\nline 2"


def test_a_long_english_text_is_cut_between_words() -> None:
    text = sms_text("Early repayment restricted", "because debits failed " * 20, limit=70)

    assert text == "Early repayment restricted\nbecause debits failed because debits…"


def test_a_long_chinese_text_is_cut_between_characters_up_to_the_limit() -> None:
    text = sms_text("提前还款将受到限制", "原因：近期多次自动扣款失败。" * 20, limit=70)

    assert len(text) == 70
    assert text.startswith("提前还款将受到限制\n原因：近期多次自动扣款失败。原因")
    assert text.endswith("…")


def test_a_subject_longer_than_the_limit_is_cut_too() -> None:
    text = sms_text("word " * 40, "body", limit=72)

    assert text == ("word " * 14).rstrip() + "…"


def test_one_endless_word_is_cut_hard() -> None:
    assert sms_text("x" * 200, "", limit=80) == "x" * 79 + "…"


@given(
    subject=st.text(min_size=1, max_size=120),
    body=st.text(max_size=2_000),
    limit=st.integers(min_value=70, max_value=600),
)
def test_an_sms_is_never_longer_than_the_limit_and_cut_ones_say_so(
    subject: str, body: str, limit: int
) -> None:
    text = sms_text(subject, body, limit=limit)
    whole = "\n".join(p for p in (subject.strip(), body.strip()) if p)

    assert len(text) <= limit
    if len(whole) <= limit:
        assert text == whole
    else:
        assert text.endswith("…")
        assert whole.startswith(text.removesuffix("…"))


def test_a_default_country_code_no_country_has_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="999 is no country's calling code"):
        notices_of(sms_default_country_code="999")
    assert notices_of(sms_default_country_code="39").sms_default_country_code == "39"
