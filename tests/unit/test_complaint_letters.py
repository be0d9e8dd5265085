"""Complaint letters and settings: both languages and outcomes, a lender's own template, a broken
template or an escalation window past the deadline refused at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from repayguard.complaints import LetterWriter
from repayguard.complaints.models import ComplaintRow
from repayguard.config import Settings
from repayguard.errors import ConfigurationInvalid

FILED = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)


def case(status: str = "open") -> ComplaintRow:
    return ComplaintRow(
        complaint_id="c0ffee",
        borrower_id="B1",
        decision_id="d1",
        contested=["early_repayment", "manual_channels"],
        status=status,
        filed_at=FILED,
        due_at=FILED + timedelta(days=15),
    )


def writer(templates_dir: Path | None = None) -> LetterWriter:
    return LetterWriter(
        zone=ZoneInfo("Asia/Shanghai"), default_locale="zh-CN", templates_dir=templates_dir
    )


def test_received_letters_name_the_case_what_is_contested_and_the_deadline() -> None:
    en = writer().render("received", case(), locale="en", decided_at=FILED - timedelta(days=2))
    zh = writer().render("received", case(), locale="zh-CN", decided_at=FILED - timedelta(days=2))

    assert en.subject == "We received your complaint"
    assert "- Early repayment\n- Channels for repaying by hand" in en.body
    assert "by 16 March 2026, 12:00 (UTC+08:00) at the latest" in en.body
    assert "27 February 2026" in en.body, "the decision's date"
    assert "c0ffee" in en.body
    assert zh.subject == "我们已收到您的投诉"
    assert "- 提前还款\n- 手动还款渠道" in zh.body
    assert "2026年3月16日 12:00（UTC+08:00）" in zh.body


@pytest.mark.parametrize(
    ("status", "locale", "subject"),
    [
        ("upheld", "en", "Your complaint was reviewed: the decision stands"),
        ("reversed", "en", "We agree with your complaint: the decision is changed"),
        ("upheld", "zh-CN", "您的投诉已复核：维持原决定"),
        ("reversed", "zh-CN", "我们认同您的投诉：原决定已更改"),
    ],
)
def test_resolved_letters_say_the_outcome(status: str, locale: str, subject: str) -> None:
    letter = writer().render("resolved", case(status), locale=locale, decided_at=FILED)

    assert letter.subject == subject
    assert "{{" not in letter.body
    assert letter.body.endswith("\n")


def test_a_lenders_template_replaces_the_shipped_one_and_a_broken_one_stops_start_up(
    tmp_path: Path,
) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "received.txt.j2").write_text(
        '{% set subject = "Case " ~ case ~ " received" %}Thank you. Answer by {{ due }}.'
    )
    own = writer(tmp_path)
    own.check_templates()

    letter = own.render("received", case(), locale="en", decided_at=FILED)

    assert letter.subject == "Case c0ffee received"
    assert letter.body == "Thank you. Answer by 16 March 2026, 12:00 (UTC+08:00).\n"
    (tmp_path / "en" / "resolved.txt.j2").write_text("{% if outcome %}unclosed")
    with pytest.raises(ConfigurationInvalid, match=r"resolved.txt.j2 line 1"):
        writer(tmp_path).check_templates()


def test_the_escalation_window_must_end_before_the_deadline() -> None:
    assert Settings().complaints.sla_days == 15
    with pytest.raises(ValidationError, match="escalate_before_days must be less than"):
        Settings(complaints={"sla_days": 3, "escalate_before_days": 3})  # type: ignore[arg-type]
