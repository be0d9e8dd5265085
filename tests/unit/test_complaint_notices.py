"""What a borrower is told about a complaint, rendered by the notices composer: both languages
and outcomes, only the facts given (no free text), a lender's own template, a broken template
refused at start-up; and the complaint settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from repayguard.config import Settings
from repayguard.core.policy import CompiledPolicy
from repayguard.notices import NoticeComposer, NoticeKind
from repayguard.notices.errors import NoticesMisconfigured

FILED = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)


def facts(outcome: str = "open") -> dict[str, Any]:
    return {
        "case": "c0ffee",
        "decided": FILED - timedelta(days=2),
        "due": FILED + timedelta(days=15),
        "contested": ["early_repayment", "manual_channels"],
        "outcome": outcome,
    }


def no_policy() -> CompiledPolicy:
    raise AssertionError("a complaint notice does not consult the policy")


def composer(templates_dir: Path | None = None) -> NoticeComposer:
    return NoticeComposer(
        policy=no_policy, zone=ZoneInfo("Asia/Shanghai"), templates_dir=templates_dir
    )


def test_received_notices_name_the_case_what_is_contested_and_the_deadline() -> None:
    en = composer().render_occasion(NoticeKind.COMPLAINT_RECEIVED, "en", facts())
    zh = composer().render_occasion(NoticeKind.COMPLAINT_RECEIVED, "zh-CN", facts())

    assert en.subject == "We received your complaint"
    assert "- Early repayment\n- Channels for repaying by hand" in en.body
    assert "by 16 March 2026, 12:00 (UTC+08:00) at the latest" in en.body
    assert "27 February 2026" in en.body, "the decision's date"
    assert "c0ffee" in en.body
    assert en.reasons == ()
    assert zh.subject == "我们已收到您的投诉"
    assert "- 提前还款\n- 手动还款渠道" in zh.body
    assert "2026年3月16日 12:00（UTC+08:00）" in zh.body


@pytest.mark.parametrize(
    ("outcome", "locale", "subject", "next_step"),
    [
        (
            "upheld",
            "en",
            "Your complaint was reviewed: the decision stands",
            "you can file a new complaint",
        ),
        (
            "reversed",
            "en",
            "We agree with your complaint: the decision is changed",
            "You will receive a separate notice with your repayment methods",
        ),
        ("upheld", "zh-CN", "您的投诉已复核：维持原决定", "您可以再次投诉"),
        ("reversed", "zh-CN", "我们认同您的投诉：原决定已更改", "我们会另行通知您当前的还款方式"),
    ],
)
def test_resolved_notices_say_the_outcome_and_what_happens_next(
    outcome: str, locale: str, subject: str, next_step: str
) -> None:
    notice = composer().render_occasion(NoticeKind.COMPLAINT_RESOLVED, locale, facts(outcome))

    assert notice.subject == subject
    assert next_step in notice.body
    assert "{{" not in notice.body
    assert notice.body.endswith("\n")


def test_a_complaint_notice_states_only_the_facts_it_was_given() -> None:
    given = {**facts(), "statement": "canary-5d1e: my card was replaced"}

    notice = composer().render_occasion(NoticeKind.COMPLAINT_RECEIVED, "en", given)

    assert "canary-5d1e" not in notice.subject + notice.body


def test_change_kinds_and_unknown_locales_are_not_rendered_as_occasions() -> None:
    with pytest.raises(ValueError, match="planned from changes of methods"):
        composer().render_occasion(NoticeKind.ADVANCE, "en", facts())
    with pytest.raises(ValueError, match="no notice templates for locale 'fr'"):
        composer().render_occasion(NoticeKind.COMPLAINT_RECEIVED, "fr", facts())


def test_a_lenders_template_replaces_the_shipped_one_and_a_broken_one_stops_start_up(
    tmp_path: Path,
) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "complaint_received.txt.j2").write_text(
        '{% set subject = "Case " ~ case ~ " received" %}Thank you. Answer by {{ due | moment }}.'
    )
    own = composer(tmp_path)
    own.check_templates()

    notice = own.render_occasion(NoticeKind.COMPLAINT_RECEIVED, "en", facts())

    assert notice.subject == "Case c0ffee received"
    assert notice.body == "Thank you. Answer by 16 March 2026, 12:00 (UTC+08:00).\n"
    (tmp_path / "en" / "complaint_resolved.txt.j2").write_text("{% if outcome %}unclosed")
    with pytest.raises(NoticesMisconfigured, match=r"complaint_resolved.txt.j2 line 1"):
        composer(tmp_path).check_templates()


def test_the_escalation_window_must_end_before_the_deadline() -> None:
    assert Settings().complaints.sla_days == 15
    with pytest.raises(ValidationError, match="escalate_before_days must be less than"):
        Settings(complaints={"sla_days": 3, "escalate_before_days": 3})  # type: ignore[arg-type]
