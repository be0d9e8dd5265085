"""Event validation: precise per-field errors, flat and nested payloads, CSV-style blanks."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from repayguard.ingestion.validation import EventWindow, FieldError, MalformedLine, validate_records

from support.common import NOW

AT_NOW: Final = {"now": NOW, "window": EventWindow(timedelta(minutes=5), timedelta(days=3650))}

BASE = {
    "event_id": "e1",
    "type": "repayment",
    "borrower_id": "B1",
    "loan_id": "B1-L1",
    "occurred_at": "2026-01-05T09:00:00Z",
    "kind": "paid",
    "amount": 100,
    "method": "manual",
    "channel": "bank_card",
}


def test_a_flat_record_and_a_nested_payload_give_the_same_row() -> None:
    nested = {k: BASE[k] for k in ("event_id", "type", "borrower_id", "loan_id", "occurred_at")}
    nested["payload"] = {k: BASE[k] for k in ("kind", "amount", "method", "channel")}
    flat, wrapped = validate_records([BASE, nested], **AT_NOW).rows
    assert flat == wrapped


def test_blank_cells_of_a_csv_row_mean_absent_fields() -> None:
    record = {k: str(v) for k, v in BASE.items()} | {"score": "", "series": None}
    batch = validate_records([record], **AT_NOW)
    assert batch.rejections == []
    assert batch.rows[0]["amount"] == 100.0


def test_a_timestamp_without_a_zone_is_refused_with_the_fix() -> None:
    batch = validate_records([BASE | {"occurred_at": "2026-01-05T09:00:00"}], **AT_NOW)
    (error,) = batch.rejections[0].errors
    assert error.field == "occurred_at"
    assert "needs a time zone" in error.reason


def test_a_timestamp_outside_the_calendar_in_utc_is_refused_not_raised() -> None:
    early, late = "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"
    batch = validate_records(
        [BASE | {"occurred_at": early}, BASE | {"occurred_at": late}], **AT_NOW
    )
    assert batch.rows == []
    for rejection in batch.rejections:
        (error,) = rejection.errors
        assert error.field == "occurred_at"
        assert "out of range" in error.reason


def test_a_manual_payment_without_channel_names_the_rule() -> None:
    batch = validate_records([BASE | {"channel": None}], **AT_NOW)
    assert batch.rejections[0].errors[0].reason == "a manual payment needs its channel"


def test_a_payment_through_any_channel_a_policy_can_declare_is_accepted() -> None:
    """Channels are the lender's data (sepa_transfer under the EU example, ach_transfer under
    the US one): a payment's channel is any name a policy could declare, no longer than the
    stored column."""
    names = ("sepa_transfer", "ach_transfer", "money_order", "app_balance")
    batch = validate_records(
        [BASE | {"event_id": f"e{i}", "channel": c} for i, c in enumerate(names)], **AT_NOW
    )
    assert batch.rejections == []
    assert [row["channel"] for row in batch.rows] == list(names)
    refused = validate_records(
        [BASE | {"channel": "Bank Card"}, BASE | {"channel": "x" * 17}], **AT_NOW
    )
    assert [r.errors[0].field for r in refused.rejections] == ["channel", "channel"]


def test_an_unknown_type_lists_the_known_ones() -> None:
    batch = validate_records([BASE | {"type": "gossip"}], **AT_NOW)
    (error,) = batch.rejections[0].errors
    assert error.field == "type"
    assert "credit_report" in error.reason


def test_indices_count_from_the_offset_for_files() -> None:
    batch = validate_records(
        [MalformedLine(12, "line 12 is not valid JSON"), BASE], offset=10_000, **AT_NOW
    )
    assert batch.rejections[0].index == 10_000
    assert batch.indices == [10_001]


def test_an_event_far_in_the_future_is_refused_with_how_far_and_the_limit() -> None:
    batch = validate_records([BASE | {"occurred_at": "9999-12-31T23:59:59Z"}], **AT_NOW)
    assert batch.rows == []
    (error,) = batch.rejections[0].errors
    assert error == FieldError(
        "occurred_at",
        "occurred_at is 7,973 years in the future; events may be at most 5 minutes ahead "
        "of the server clock",
    )


def test_two_hours_ahead_is_refused_and_two_minutes_ahead_is_clock_skew() -> None:
    ahead = [NOW + timedelta(hours=2), NOW + timedelta(minutes=2)]
    batch = validate_records(
        [BASE | {"event_id": f"e{i}", "occurred_at": t.isoformat()} for i, t in enumerate(ahead)],
        **AT_NOW,
    )
    assert batch.indices == [1]
    (error,) = batch.rejections[0].errors
    assert (batch.rejections[0].index, error.reason.split(";")[0]) == (
        0,
        "occurred_at is 2 hours in the future",
    )


def test_an_event_older_than_the_window_is_refused() -> None:
    old = (NOW - timedelta(days=4000)).isoformat()
    batch = validate_records([BASE | {"occurred_at": old}], **AT_NOW)
    (error,) = batch.rejections[0].errors
    assert error.reason == (
        "occurred_at is 10 years in the past; events may be at most 3,650 days old"
    )


def test_an_element_that_is_not_an_object_is_one_rejection_with_the_value_kept() -> None:
    batch = validate_records(["x", None, 7, [], BASE], **AT_NOW)
    assert batch.indices == [4]
    assert [(r.index, r.errors[0].reason, r.raw) for r in batch.rejections] == [
        (0, "a record is a JSON object of event fields; got a string", "x"),
        (1, "a record is a JSON object of event fields; got null", None),
        (2, "a record is a JSON object of event fields; got a number", 7),
        (3, "a record is a JSON object of event fields; got an array", []),
    ]
