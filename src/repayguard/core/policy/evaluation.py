"""How often the policy wants borrowers re-decided: a cadence per risk tier and a whole-book run.

The optional ``evaluation`` section of a policy document::

    evaluation:
      tiers: {T5: daily, T4: weekly}   # riskiest borrowers change fastest
      default: monthly                 # every other tier; absent: no cadence for them
      whole_book: {every: daily, at: "02:00", zone: Asia/Shanghai}

A cadence is one of ``hourly`` (1 hour), ``daily`` (1 day), ``weekly`` (7 days) or
``monthly`` (30 days): fixed lengths, so "due" is plain arithmetic on the last decision time.
A borrower is due when at least its tier's cadence has passed since its last decision
(:func:`is_due`, :func:`cutoff`). The whole-book run re-decides everyone once per period:
its periods start at ``at`` (local time in ``zone``, default UTC) every day, every Monday
(weekly) or on the 1st (monthly), and a borrower is due for it when last decided before the
current period started (:func:`period_start`). Pure: the caller passes the time.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

Cadence = Literal["hourly", "daily", "weekly", "monthly"]
"""How often a tier is re-decided: hourly = 1 h, daily = 1 day, weekly = 7 days, monthly = 30
days after the borrower's last decision."""
BookCadence = Literal["daily", "weekly", "monthly"]
"""How often the whole book is re-decided: each day, each week (from Monday), each month (from
the 1st), after the run's time of day."""

CADENCES: Final[dict[str, timedelta]] = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
    "monthly": timedelta(days=30),
}
_TIER = re.compile(r"^T[1-9]$")
_AT = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WholeBook(_Strict):
    """Re-decide every borrower once per period, after ``at`` (HH:MM, local time in ``zone``)."""

    every: BookCadence = Field(
        description="daily: every day; weekly: every Monday; monthly: every 1st of the month"
    )
    at: Annotated[str, WithJsonSchema({"type": "string", "pattern": _AT.pattern})] = Field(
        default="00:00", description="time of day the period starts, HH:MM (24-hour clock)"
    )
    zone: str = Field(
        default="UTC", description="IANA time zone of 'at', e.g. Asia/Shanghai (default UTC)"
    )

    @field_validator("at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        if not _AT.match(value):
            raise ValueError(f'{value!r} is not a time of day: write HH:MM, e.g. "02:00"')
        return value

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @property
    def time_of_day(self) -> time:
        hours, minutes = self.at.split(":")
        return time(int(hours), int(minutes))


class Evaluation(_Strict):
    """How often borrowers are re-decided, per tier, plus an optional whole-book run."""

    tiers: Annotated[
        dict[str, Cadence],
        WithJsonSchema(
            {
                "type": "object",
                "propertyNames": {"pattern": _TIER.pattern},
                "additionalProperties": {"enum": list(CADENCES), "type": "string"},
            }
        ),
    ] = Field(default_factory=dict, description="tier -> cadence (hourly, daily, weekly, monthly)")
    default: Cadence | None = Field(
        default=None, description="cadence of every tier not listed; none: those are not re-decided"
    )
    whole_book: WholeBook | None = Field(
        default=None, description="a run re-deciding every borrower once per period"
    )

    @field_validator("tiers")
    @classmethod
    def _tier_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for label in value:
            if not _TIER.match(label):
                raise ValueError(f"unknown tier {label!r}: tiers are named T1 to T9")
        return value

    def cadence_of(self, tier: int) -> str | None:
        """The cadence name of tier ``tier`` (1 = T1), or None when it has none."""
        return self.tiers.get(f"T{tier}", self.default)


def cutoff(cadence: str, now: datetime) -> datetime:
    """Borrowers last decided at or before this moment are due under ``cadence``."""
    return now - CADENCES[cadence]


def is_due(evaluation: Evaluation, *, tier: int, last_decided: datetime, now: datetime) -> bool:
    """Whether a borrower in ``tier`` last decided at ``last_decided`` is due at ``now``: its
    tier has a cadence and at least that long has passed."""
    cadence = evaluation.cadence_of(tier)
    return cadence is not None and now - last_decided >= CADENCES[cadence]


def period_start(whole_book: WholeBook, now: datetime) -> datetime:
    """The start (UTC) of the whole-book period ``now`` falls in: the latest day (Monday for
    weekly, 1st for monthly) at ``at`` in ``zone`` that is not after ``now``."""
    zone = ZoneInfo(whole_book.zone)
    local = now.astimezone(zone)
    day = local.date()
    for _ in range(3):  # this period, or the previous one when today's start is still ahead
        start = _at(_first_day(whole_book.every, day), whole_book, zone)
        if start <= now:
            return start
        day = _first_day(whole_book.every, day) - timedelta(days=1)
    raise AssertionError("unreachable: a period starts within the last three")


def _first_day(every: str, day: date) -> date:
    if every == "weekly":
        return day - timedelta(days=day.weekday())
    if every == "monthly":
        return day.replace(day=1)
    return day


def _at(day: date, whole_book: WholeBook, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, whole_book.time_of_day, tzinfo=zone).astimezone(UTC)
