"""Calendar arithmetic for limitation dates: anniversaries and business days.

Every function works on `datetime.date`, never on datetimes: a limitation period ends on a
calendar day, whatever the hour or time zone.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta

if TYPE_CHECKING:
    import holidays

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")

# The most days any setting or option may count ahead: a century, far inside the calendar.
MAX_DAYS = 36_500


@lru_cache(maxsize=1 << 16)
def add_years(start: date, years: int) -> date:
    """The same month and day `years` later; 29 February becomes 28 February.

    The anniversary is the last day on which suit is timely: leave out the day of the event and
    count the last day (FRCP 6(a)(1)); twelve months from 8 Dec 1989 ended on 8 Dec 1990
    (Wood-Ivey Systems v. United States, 4 F.3d 961, Fed. Cir. 1993). relativedelta clips
    29 February to the 28th, the earlier day, which is the conservative choice.
    """
    # Cached: a store of a million cases holds only a few thousand distinct dates.
    return start + relativedelta(years=years)


@cache
def _federal_holidays() -> holidays.HolidayBase:
    import holidays  # on first use: the calendar data is more than a quick command needs

    return holidays.country_holidays("US", categories=("public",))


def holiday_name(day: date) -> str | None:
    """The U.S. federal holiday (as observed) falling on `day`, if any."""
    name = _federal_holidays().get(day)
    return str(name) if name else None


def is_business_day(day: date) -> bool:
    """Monday to Friday and not a U.S. federal holiday (5 U.S.C. §6103, as observed)."""
    return day.weekday() < 5 and holiday_name(day) is None


@lru_cache(maxsize=1 << 16)
def file_by_date(limit: date) -> date:
    """The last business day on or before `limit`.

    FRCP 6(a)(1)(C) and Wood-Ivey would roll a last day on a weekend or holiday forward, but no
    §1621 ruling says so: a limitation date is never moved later, and staff are told to file by
    the previous business day instead.
    """
    day = limit
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def parse_date(text: str) -> date:
    """`YYYY-MM-DD` or `MM/DD/YYYY`; anything else raises ValueError with a reason."""
    text = text.strip()
    try:
        if (
            len(text) == 10
            and text[4] == "-"
            and text[7] == "-"
            and text.isascii()
            and _ISO.fullmatch(text)
        ):
            return date.fromisoformat(text)
        match = _US.fullmatch(text)
        if match:
            month, day, year = (int(part) for part in match.groups())
            return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"not a real date: {text!r} ({exc})") from None
    raise ValueError(f"not a date: {text!r} (expected YYYY-MM-DD or MM/DD/YYYY)")


def weekday_name(day: date) -> str:
    return day.strftime("%A")
