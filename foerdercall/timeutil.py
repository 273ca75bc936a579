"""Time: stored in UTC, shown and entered in Europe/Berlin, exact to the minute.

Everything that asks "what time is it" goes through :func:`now`, so tests and the
worker's sweep can move the world without sleeping.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Callable
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC

_clock: Callable[[], dt.datetime] | None = None


def now() -> dt.datetime:
    """The current moment, timezone-aware UTC (injectable with :func:`set_clock`)."""
    if _clock is not None:
        return _clock().astimezone(UTC)
    return dt.datetime.now(UTC)


def set_clock(clock: Callable[[], dt.datetime] | None) -> None:
    global _clock
    _clock = clock


def get_clock() -> Callable[[], dt.datetime] | None:
    """The clock set with :func:`set_clock` (None: the real one)."""
    return _clock


class InvalidLocalTime(ValueError):
    pass


def berlin_to_utc(local: dt.datetime) -> dt.datetime:
    """A naive wall-clock time in Leipzig to UTC; refuses times that do not exist or are ambiguous."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    a = local.replace(tzinfo=BERLIN, fold=0)
    b = local.replace(tzinfo=BERLIN, fold=1)
    ua, ub = a.astimezone(UTC), b.astimezone(UTC)
    if ua.astimezone(BERLIN).replace(tzinfo=None) != local:
        raise InvalidLocalTime("nonexistent")  # skipped by the spring clock change
    if ua != ub:
        raise InvalidLocalTime("ambiguous")  # repeated by the autumn clock change
    return ua


def to_berlin(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(BERLIN)


def minute_end(deadline: dt.datetime) -> dt.datetime:
    """A deadline "23:59" holds through 23:59:59.999999: the first moment after it."""
    return deadline.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)


def add_months(value: dt.datetime, months: int) -> dt.datetime:
    local = to_berlin(value)
    month0 = local.month - 1 + months
    year, month = local.year + month0 // 12, month0 % 12 + 1

    day = min(local.day, calendar.monthrange(year, month)[1])
    return berlin_to_utc_lenient(local.replace(tzinfo=None, year=year, month=month, day=day))


def berlin_to_utc_lenient(local: dt.datetime) -> dt.datetime:
    """Like berlin_to_utc but for computed dates: takes the later reading when a time is skipped/ambiguous."""
    try:
        return berlin_to_utc(local)
    except InvalidLocalTime:
        return local.replace(tzinfo=BERLIN, fold=1).astimezone(UTC)


def end_of_day_berlin(day: dt.date) -> dt.datetime:
    """23:59 of a Leipzig calendar day, in UTC (the deadline minute of a period that ends that day)."""
    return berlin_to_utc(dt.datetime.combine(day, dt.time(23, 59)))


# --- periods set in days (§ 187 ff. BGB, § 31 VwVfG) ---------------------------------------------------------

HOLIDAY_REGION = {"country": "DE", "subdiv": "SN"}  # Leipzig: the public holidays of Saxony


@functools.cache
def _holidays_of(year: int) -> frozenset[dt.date]:
    """The public holidays in Saxony (Buß- und Bettag, Reformationstag, ...) from the `holidays` calendar."""
    return frozenset(
        holidays.country_holidays(HOLIDAY_REGION["country"], subdiv=HOLIDAY_REGION["subdiv"], years=year)
    )


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _holidays_of(day.year)


def next_working_day(day: dt.date) -> dt.date:
    """The day itself if it is a working day, else the next one (not Saturday, Sunday or holiday in Saxony)."""
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def period_end(start: dt.datetime, days: int) -> dt.datetime:
    """End of a period of `days` days that starts at `start`, as the deadline minute (23:59 Leipzig) in UTC.

    The day of `start` is not counted (§ 187 (1) BGB); a period that would end on a Saturday, Sunday or
    public holiday in Saxony ends on the next working day (§ 193 BGB, § 31 (3) VwVfG).
    """
    return end_of_day_berlin(next_working_day(to_berlin(start).date() + dt.timedelta(days=days)))


def days_before(moment: dt.datetime, days: int) -> dt.datetime:
    """The same wall-clock time in Leipzig `days` calendar days earlier (in UTC); negative: later."""
    local = to_berlin(moment).replace(tzinfo=None) - dt.timedelta(days=days)
    return berlin_to_utc_lenient(local)


def days_after(moment: dt.datetime, days: int) -> dt.datetime:
    return days_before(moment, -days)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (portable to SQLite), always returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)
