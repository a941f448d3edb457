"""Calendar arithmetic: anniversaries, business days and date parsing."""

from __future__ import annotations

from datetime import date

import pytest

from solwatch.core.dates import add_years, file_by_date, is_business_day, parse_date


@pytest.mark.parametrize(
    ("start", "years", "expected"),
    [
        pytest.param(date(2021, 3, 4), 5, date(2026, 3, 4), id="plain-anniversary"),
        pytest.param(date(2020, 2, 29), 5, date(2025, 2, 28), id="leap-day-anniversary"),
        pytest.param(date(2020, 2, 29), 4, date(2024, 2, 29), id="leap-day-to-leap-year"),
        pytest.param(date(2019, 12, 31), 6, date(2025, 12, 31), id="year-end"),
        pytest.param(date(2027, 2, 28), -3, date(2024, 2, 28), id="backwards"),
    ],
)
def test_it_adds_years_on_the_calendar(start: date, years: int, expected: date) -> None:
    """N years after D is the same month and day, 29 February falling back to the 28th."""
    assert add_years(start, years) == expected


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        pytest.param(date(2026, 11, 24), date(2026, 11, 24), id="tuesday-stays"),
        pytest.param(date(2027, 11, 14), date(2027, 11, 12), id="sunday-to-friday"),
        pytest.param(date(2027, 11, 13), date(2027, 11, 12), id="saturday-to-friday"),
        pytest.param(date(2026, 7, 3), date(2026, 7, 2), id="observed-independence-day"),
        pytest.param(date(2026, 11, 26), date(2026, 11, 25), id="thanksgiving"),
        pytest.param(date(2027, 1, 18), date(2027, 1, 15), id="mlk-monday-after-weekend"),
        pytest.param(date(2026, 12, 25), date(2026, 12, 24), id="christmas"),
    ],
)
def test_it_files_by_the_previous_business_day(limit: date, expected: date) -> None:
    """A limit on a weekend or federal holiday is never moved later: file the day before."""
    assert file_by_date(limit) == expected
    assert is_business_day(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2024-02-29", date(2024, 2, 29), id="iso"),
        pytest.param("02/29/2024", date(2024, 2, 29), id="us"),
        pytest.param("3/4/2021", date(2021, 3, 4), id="us-short"),
        pytest.param(" 2021-03-04 ", date(2021, 3, 4), id="spaces"),
    ],
)
def test_it_parses_both_date_formats(text: str, expected: date) -> None:
    """YYYY-MM-DD and MM/DD/YYYY are both accepted."""
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("2023-02-29", "not a real date", id="no-leap-day"),
        pytest.param("13/01/2021", "not a real date", id="month-13"),
        pytest.param("04.03.2021", "not a date", id="dots"),
        pytest.param("March 4, 2021", "not a date", id="words"),
        pytest.param("21-03-04", "not a date", id="two-digit-year"),
    ],
)
def test_it_rejects_dates_it_cannot_read(text: str, reason: str) -> None:
    """Anything but the two formats is an error that says why."""
    with pytest.raises(ValueError, match=reason):
        parse_date(text)
