"""ZEN's date functions over Unix timestamps: date, time, duration, year, startOf, ...

Dates are UTC seconds; ``date("2024-01-31")``, ``date("2024-01-31 10:00:00")`` and RFC 3339
text (``2024-01-31T10:00:00.250+02:00``) parse, ``"now"`` is the caller's clock. The engine's
quirks are kept: ``endOf(x, "year")`` keeps the day of the month ``x`` has as its last day
(from February it gives 28 December), ``time("22")`` does not parse, a leap second ``:60``
counts as ``:59``. Years outside 1-9999 are refused.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Final, NamedTuple

from repayguard.rules.zen import numbers
from repayguard.rules.zen.errors import ZenEvaluationError, ZenUnsupported
from repayguard.rules.zen.values import Value

_EPOCH: Final = datetime(1970, 1, 1)
_N: Final = r"\s*(\d{1,2})"
_YEAR: Final = r"\s*([+-]?\d{1,9})"
_DATE_TIME: Final = re.compile(rf"{_YEAR}-{_N}-{_N} +{_N}:{_N}:{_N}")
_DATE: Final = re.compile(rf"{_YEAR}-{_N}-{_N}")
_RFC3339: Final = re.compile(
    r"([+-]?\d{4,9})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_TIME_HMS: Final = re.compile(rf"{_N}:{_N}:{_N}")
_TIME_HM: Final = re.compile(rf"{_N}:{_N}")
_UNITS: Final[dict[str, str]] = {
    **dict.fromkeys(("s", "second", "seconds"), "second"),
    **dict.fromkeys(("m", "minute", "minutes"), "minute"),
    **dict.fromkeys(("h", "hour", "hours"), "hour"),
    **dict.fromkeys(("d", "day", "days"), "day"),
    **dict.fromkeys(("w", "week", "weeks"), "week"),
    **dict.fromkeys(("M", "month", "months"), "month"),
    **dict.fromkeys(("y", "year", "years"), "year"),
}
_DURATION_UNITS: Final[dict[str, Decimal]] = {
    **dict.fromkeys(("nanos", "nsec", "ns"), Decimal("1e-9")),
    **dict.fromkeys(("usec", "us", "µs"), Decimal("1e-6")),
    **dict.fromkeys(("millis", "msec", "ms"), Decimal("1e-3")),
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), Decimal(1)),
    **dict.fromkeys(("minutes", "minute", "mins", "min", "m"), Decimal(60)),
    **dict.fromkeys(("hours", "hour", "hrs", "hr", "h"), Decimal(3600)),
    **dict.fromkeys(("days", "day", "d"), Decimal(86400)),
    **dict.fromkeys(("weeks", "week", "w"), Decimal(604800)),
    **dict.fromkeys(("months", "month", "M"), Decimal(2_630_016)),
    **dict.fromkeys(("years", "year", "y"), Decimal(31_557_600)),
}
_MONTHS: Final = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()  # noqa: SIM905
_WEEKDAYS: Final = "Mon Tue Wed Thu Fri Sat Sun".split()  # noqa: SIM905


class Moment(NamedTuple):
    """A UTC date-time with the parts Python's datetime lacks: nanoseconds, a leap second."""

    at: datetime
    nanos: int = 0
    leap: bool = False


def _fail(message: str) -> ZenEvaluationError:
    return ZenEvaluationError(message)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _year(text: str) -> int:
    year = int(text)
    if not 1 <= year <= 9999:
        raise ZenUnsupported(f"the year {year}", "only years 1-9999 are supported")
    return year


def _moment(year: int, fields: tuple[str, ...], fraction: str | None, offset: timedelta) -> Moment:
    month, day, hour, minute, second = (int(f) for f in fields)
    leap = second == 60
    nanos = int((fraction or "0")[:9].ljust(9, "0"))
    try:
        local = datetime(year, month, day, hour, minute, 59 if leap else second)
    except ValueError:
        raise _fail("Failed to parse date time") from None
    return Moment(_naive(local.replace(tzinfo=timezone(offset))), nanos, leap)


def parse_moment(text: str, now: datetime) -> Moment:
    """A date-time from text, as the engine parses it."""
    if text == "now":
        clock = _naive(now)
        return Moment(clock.replace(microsecond=0), clock.microsecond * 1000)
    m = _DATE_TIME.fullmatch(text)
    if m:
        return _moment(_year(m.group(1)), m.group(2, 3, 4, 5, 6), None, timedelta(0))
    m = _DATE.fullmatch(text)
    if m:
        return _moment(
            _year(m.group(1)), (m.group(2), m.group(3), "0", "0", "0"), None, timedelta(0)
        )
    m = _RFC3339.fullmatch(text)
    if m:
        offset = timedelta(0)
        if m.group(9):
            offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
            offset = -offset if m.group(9) == "-" else offset
        if offset >= timedelta(days=1):
            raise _fail("Failed to parse date time")
        return _moment(_year(m.group(1)), m.group(2, 3, 4, 5, 6), m.group(7), offset)
    raise _fail("Failed to parse date time")


def timestamp(moment: datetime) -> int:
    """Whole seconds since the epoch (the engine drops fractions)."""
    delta = moment - _EPOCH
    return delta.days * 86400 + delta.seconds


def from_value(value: Value, now: datetime) -> Moment:
    """A date-time from a timestamp number or date text (year, dayOfWeek, startOf, ...)."""
    if isinstance(value, Decimal):
        seconds = numbers.to_i64(value)
        if seconds is None:
            raise _fail("Failed to convert value to date time")
        try:
            return Moment(_EPOCH + timedelta(seconds=seconds))
        except OverflowError:
            raise ZenUnsupported(
                f"the timestamp {seconds}", "only years 1-9999 are supported"
            ) from None
    if isinstance(value, str):
        try:
            return parse_moment(value, now)
        except ZenEvaluationError:
            raise _fail("Failed to convert value to date time") from None
    raise _fail("Failed to convert value to date time")


def date_function(value: Value, now: datetime) -> Decimal:
    """``date(x)``: the Unix timestamp of date text, or a number truncated to whole seconds."""
    if isinstance(value, str):
        return Decimal(timestamp(parse_moment(value, now).at))
    if isinstance(value, Decimal):
        seconds = numbers.to_i64(value)
        if seconds is None:
            raise _fail("Number overflow")
        return Decimal(seconds)
    raise _fail("Unsupported type for date function")


def time_function(value: Value, now: datetime) -> Decimal:
    """``time(x)``: seconds since midnight of a time of day (``"22:00"``, ``"22:00:30"``)."""
    if isinstance(value, Decimal):
        seconds = numbers.to_unsigned(value, 32)
        if seconds is None:
            raise _fail("Number overflow")
        return Decimal(seconds)
    if not isinstance(value, str):
        raise _fail("Unsupported type for time function")
    clock = _parse_time(value, now)
    return Decimal(clock.hour * 3600 + clock.minute * 60 + clock.second)


def _parse_time(text: str, now: datetime) -> time:
    if text == "now":
        return _naive(now).time()
    m = _DATE_TIME.fullmatch(text)
    if m:
        return _clock(m.group(4), m.group(5), m.group(6))
    m = _TIME_HMS.fullmatch(text)
    if m:
        return _clock(m.group(1), m.group(2), m.group(3))
    m = _TIME_HM.fullmatch(text)
    if m:
        return _clock(m.group(1), m.group(2), "0")
    if _RFC3339.fullmatch(text):
        return parse_moment(text, now).at.time()
    raise _fail("Failed to parse date time")


def _clock(hour: str, minute: str, second: str) -> time:
    seconds = int(second)
    try:
        return time(int(hour), int(minute), 59 if seconds == 60 else seconds)
    except ValueError:
        raise _fail("Failed to parse date time") from None


def duration_function(value: Value) -> Decimal:
    """``duration(x)``: whole seconds of ``"1h 30m"``, ``"2 days"``, ``"1.5h"``; numbers as
    they are. Digits may be split by spaces (``"1 2h"`` is 12 hours), as the engine reads it."""
    if isinstance(value, Decimal):
        seconds = numbers.to_unsigned(value, 64)
        if seconds is None:
            raise _fail("Number overflow")
        return Decimal(seconds)
    if not isinstance(value, str):
        raise _fail("Unsupported type for duration function")
    if value == "0":
        return Decimal(0)
    return Decimal(int(_Duration(value).total()))


class _Duration:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def fail(self) -> ZenEvaluationError:
        return _fail(f"invalid duration {self.text!r}")

    def first_digit(self) -> int | None:
        while self.i < len(self.text):
            c = self.text[self.i]
            self.i += 1
            if c.isascii() and c.isdigit():
                return int(c)
            if not c.isspace():
                raise self.fail()
        return None

    def total(self) -> Decimal:
        n = self.first_digit()
        if n is None:
            raise _fail("value was empty")
        total = Decimal(0)
        while True:
            fraction = ""
            while self.i < len(self.text):
                c = self.text[self.i]
                if c.isascii() and c.isdigit():
                    n = n * 10 + int(c)
                    if n >= 1 << 64:
                        raise _fail("number is too large")
                elif c == "." and not fraction:
                    start = self.i + 1
                    end = start
                    while (
                        end < len(self.text)
                        and self.text[end].isascii()
                        and self.text[end].isdigit()
                    ):
                        end += 1
                    if end == start:
                        raise self.fail()
                    fraction = self.text[start:end]
                    self.i = end
                    continue
                elif c.isspace():
                    pass
                elif (c.isascii() and c.isalpha()) or c == "µ":
                    break
                else:
                    raise self.fail()
                self.i += 1
            start = self.i
            while self.i < len(self.text) and (
                self.text[self.i].isalpha() or self.text[self.i] == "µ"
            ):
                self.i += 1
            unit = _DURATION_UNITS.get(self.text[start : self.i])
            if unit is None:
                raise self.fail()
            total += (Decimal(n) + (Decimal(f"0.{fraction}") if fraction else 0)) * unit
            following = self.first_digit()
            if following is None:
                return total
            n = following


def part(name: str, value: Value, now: datetime) -> Value:
    """year, dayOfWeek (1 = Monday), dayOfMonth, dayOfYear, weekOfYear (ISO), monthOfYear,
    monthString (``Jan``), weekdayString (``Mon``) and dateString of a date."""
    moment = from_value(value, now)
    at = moment.at
    if name == "year":
        return Decimal(at.year)
    if name == "dayOfWeek":
        return Decimal(at.isoweekday())
    if name == "dayOfMonth":
        return Decimal(at.day)
    if name == "dayOfYear":
        return Decimal(at.timetuple().tm_yday)
    if name == "weekOfYear":
        return Decimal(at.isocalendar().week)
    if name == "monthOfYear":
        return Decimal(at.month)
    if name == "monthString":
        return _MONTHS[at.month - 1]
    if name == "weekdayString":
        return _WEEKDAYS[at.weekday()]
    second = 60 if moment.leap else at.second
    text = f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d}:{second:02d}"
    nanos = moment.nanos
    if nanos:  # chrono prints 3, 6 or 9 digits
        digits = 3 if nanos % 1_000_000 == 0 else 6 if nanos % 1000 == 0 else 9
        text += "." + f"{nanos:09d}"[:digits]
    return text


def start_or_end_of(value: Value, unit_name: Value, now: datetime, *, end: bool) -> Decimal:
    """``startOf(x, unit)`` / ``endOf(x, unit)`` for s, m, h, d, w, M, y (and long names)."""
    moment = from_value(value, now).at
    if not isinstance(unit_name, str):
        raise _fail("Argument on 1 is not a string")
    unit = _UNITS.get(unit_name)
    if unit is None:
        raise _fail("Invalid date unit")
    result = _end_of(moment, unit) if end else _start_of(moment, unit)
    return Decimal(timestamp(result))


def _start_of(moment: datetime, unit: str) -> datetime:
    if unit == "second":
        return moment
    moment = moment.replace(second=0)
    if unit == "minute":
        return moment
    moment = moment.replace(minute=0)
    if unit == "hour":
        return moment
    moment = moment.replace(hour=0)
    if unit == "day":
        return moment
    if unit == "week":
        return moment - timedelta(days=moment.weekday())
    moment = moment.replace(day=1)
    return moment if unit == "month" else moment.replace(month=1)


def _end_of(moment: datetime, unit: str) -> datetime:
    if unit == "second":
        return moment
    moment = moment.replace(second=59)
    if unit == "minute":
        return moment
    moment = moment.replace(minute=59)
    if unit == "hour":
        return moment
    moment = moment.replace(hour=23)
    if unit == "day":
        return moment
    if unit == "week":
        return moment + timedelta(days=6 - moment.weekday())
    moment = moment.replace(day=calendar.monthrange(moment.year, moment.month)[1])
    return moment if unit == "month" else moment.replace(month=12)
