"""Column-wise validation agrees with the per-record pydantic path on every record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from repayguard.core.events import EVENT_SCHEMA, EVENT_TYPES
from repayguard.ingestion.columns import INDEX, ROW_WISE_BELOW, validate_batch
from repayguard.ingestion.validation import EventWindow, validate_records

from support.builders import credit_report, debit_attempt, failing_debits_history, healthy_history
from support.common import NOW

AT_NOW: Final = {"now": NOW, "window": EventWindow(timedelta(minutes=5), timedelta(days=3650))}
"""The service's default window (five minutes ahead of the clock, ten years back) at NOW."""
BY_COLUMN: Final = {**AT_NOW, "row_wise_below": 0}
"""As AT_NOW, and over columns whatever the batch's size."""

_TEXT = st.sampled_from(
    [
        "",
        "B1",
        "L-1",
        "bad id",
        "x" * 65,
        "paid",
        "due",
        "manual",
        "auto_debit",
        "bank_card",
        "failed",
        "Bank",
        "1",
        "true",
        "no",
    ]
)
_NUMBER = st.one_of(
    st.none(),
    st.integers(-5, 2_000),
    st.floats(allow_nan=True),
    st.sampled_from(["12.5", "1e3", "-3", "inf", " 7", "x"]),
    st.booleans(),
)
_VALUES: dict[str, Any] = {
    "event_id": st.one_of(st.none(), st.sampled_from(["e1", "e2", "", "e 3", 5])),
    "type": st.sampled_from([*EVENT_TYPES, "mortgage"]),
    "schema_version": st.sampled_from([None, 1, 2, "1"]),
    "borrower_id": st.one_of(st.none(), _TEXT),
    "loan_id": st.one_of(st.none(), _TEXT),
    "occurred_at": st.sampled_from(
        [
            "2026-01-05T09:00:00Z",
            "2026-01-05T09:00:00.25+08:00",
            "2026-01-05T09:00:00",
            "2026-01-05 09:00:00Z",
            "yesterday",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59Z",
            "2026-03-01T14:00:00Z",  # two hours ahead of NOW
            "2026-03-01T12:02:00+00:00",  # two minutes ahead: within the skew allowed
            "2015-01-01T00:00:00Z",  # older than ten years at NOW
            None,
        ]
    ),
    "kind": st.one_of(
        st.none(),
        st.sampled_from(
            [
                "report",
                "login",
                "inflow",
                "balance",
                "due",
                "paid",
                "auto_debit_attempt",
                "drawdown",
                "value",
                "odd",
            ]
        ),
    ),
    "amount": _NUMBER,
    "balance": _NUMBER,
    "score": _NUMBER,
    "inquiries": _NUMBER,
    "external_debt": _NUMBER,
    "value": _NUMBER,
    "method": st.one_of(st.none(), _TEXT),
    "channel": st.one_of(st.none(), _TEXT),
    "status": st.sampled_from([None, "succeeded", "failed", "maybe"]),
    "early": st.sampled_from([None, True, False, "true", "yes", 1]),
    "series": st.one_of(st.none(), _TEXT),
}
_RECORD = st.fixed_dictionaries({}, optional=_VALUES)


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.drop(INDEX).to_dicts()


@settings(max_examples=300, deadline=None)
@given(st.lists(_RECORD, min_size=1, max_size=12))
def test_column_validation_accepts_and_rejects_exactly_what_pydantic_does(records: list) -> None:
    by_record = validate_records(records, offset=3, **AT_NOW)
    by_column = validate_batch(records, offset=3, **BY_COLUMN)
    assert by_column.rows[INDEX].to_list() == by_record.indices
    expected = pl.DataFrame(by_record.rows, schema=EVENT_SCHEMA, orient="row").to_dicts()
    assert _rows(by_column.rows) == expected
    assert by_column.rejections == by_record.rejections


@settings(max_examples=150, deadline=None)
@given(st.lists(_RECORD, min_size=1, max_size=12))
def test_a_frame_of_text_columns_validates_like_its_records(records: list) -> None:
    """CSV gives every cell as text (or blank): the frame path must agree with the records."""
    text = [{k: None if v is None else str(v) for k, v in r.items()} for r in records]
    names = sorted({k for r in text for k in r})
    frame = pl.DataFrame(
        {n: [r.get(n) for r in text] for n in names}, schema=dict.fromkeys(names, pl.String)
    )
    expected = validate_records(frame.to_dicts(), **AT_NOW)
    got = validate_batch(frame, **AT_NOW)
    assert got.rows[INDEX].to_list() == expected.indices
    assert (
        _rows(got.rows) == pl.DataFrame(expected.rows, schema=EVENT_SCHEMA, orient="row").to_dicts()
    )
    assert got.rejections == expected.rejections


def _histories() -> list[dict[str, Any]]:
    events = healthy_history("B1", NOW) + failing_debits_history("B2", NOW)
    return [*events, credit_report("B3", NOW), debit_attempt("B3", NOW, status="succeeded")]


def test_well_formed_records_are_checked_over_columns_alone() -> None:
    events = _histories()
    checked = validate_batch(events, **BY_COLUMN)
    assert (checked.rows.height, checked.rejections, checked.one_by_one) == (len(events), [], 0)


def test_a_typed_frame_from_a_file_is_checked_over_columns_alone() -> None:
    events = validate_batch(_histories(), **BY_COLUMN).rows.drop(INDEX)
    checked = validate_batch(events, **AT_NOW)
    assert checked.one_by_one == 0
    assert checked.rows.drop(INDEX).equals(events)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_one_changed_field_of_a_valid_record_is_judged_as_pydantic_judges_it(
    data: st.DataObject,
) -> None:
    events = _histories()
    record = dict(data.draw(st.sampled_from(events)))
    name = data.draw(st.sampled_from(sorted(_VALUES)))
    record[name] = data.draw(_VALUES[name])
    batch = [events[0], record]
    by_record = validate_records(batch, **AT_NOW)
    by_column = validate_batch(batch, **BY_COLUMN)
    assert by_column.rows[INDEX].to_list() == by_record.indices
    expected = pl.DataFrame(by_record.rows, schema=EVENT_SCHEMA, orient="row").to_dicts()
    assert _rows(by_column.rows) == expected
    assert by_column.rejections == by_record.rejections


@settings(max_examples=200, deadline=None)
@given(st.lists(_RECORD, min_size=0, max_size=12), st.integers(0, 5))
def test_a_small_batch_validated_row_wise_equals_the_column_path(
    records: list, offset: int
) -> None:
    row_wise = validate_batch(records, offset=offset, **AT_NOW)
    by_column = validate_batch(records, offset=offset, **BY_COLUMN)
    assert row_wise.one_by_one == len(records)
    assert row_wise.rows.schema == by_column.rows.schema
    assert row_wise.rows.to_dicts() == by_column.rows.to_dicts()
    assert row_wise.rejections == by_column.rejections


def test_a_batch_from_the_threshold_up_is_checked_over_columns() -> None:
    events = _histories()
    batch = [dict(events[i % len(events)], event_id=f"e{i}") for i in range(ROW_WISE_BELOW)]
    assert validate_batch(batch, **AT_NOW).one_by_one == 0
    assert validate_batch(batch[:-1], **AT_NOW).one_by_one == len(batch) - 1
