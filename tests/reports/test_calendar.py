"""`solwatch export ics`: limitation dates in people's calendars, parsed back."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from tests.conftest import Cli

SMALL = Path(__file__).parent.parent / "data" / "small"


@pytest.fixture
def small(cli: Cli) -> Cli:
    cli("import", str(SMALL), "--as-of", "2026-11-24")
    return cli


def events(small: Cli, tmp_path: Path, *options: str) -> dict[str, object]:
    out = tmp_path / "limits.ics"
    small("export", "ics", "--as-of", "2026-11-24", "--out", str(out), *options)
    calendar = Calendar.from_ical(out.read_bytes())
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def test_each_open_case_gets_an_all_day_event_with_reminders(small: Cli, tmp_path: Path) -> None:
    """C-1's limit (a Saturday) and its Friday file-by day; C-2's limit; nothing past or closed."""
    found = events(small, tmp_path, "--within", "1000")
    assert sorted(found) == ["C-1-file-by@solwatch", "C-1-limit@solwatch", "C-2-limit@solwatch"]
    limit = found["C-1-limit@solwatch"]
    assert limit["dtstart"].dt == date(2028, 3, 4)  # type: ignore[index]
    assert limit["dtend"].dt == date(2028, 3, 5)  # type: ignore[index]
    assert str(limit["summary"]) == "SOL limit: C-1 (Acme Imports)"  # type: ignore[index]
    assert "solwatch show C-1" in str(limit["description"])  # type: ignore[index]
    triggers = [alarm["trigger"].dt for alarm in limit.walk("VALARM")]  # type: ignore[attr-defined]
    assert triggers == [timedelta(days=-30), timedelta(days=-7), timedelta(days=-1)]
    assert found["C-1-file-by@solwatch"]["dtstart"].dt == date(2028, 3, 3)  # type: ignore[index]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param(("--within", "219"), [], id="day-before-c2"),
        pytest.param(("--within", "220"), ["C-2-limit@solwatch"], id="c2-on-the-day"),
        pytest.param(("--within", "1000", "--center", "1"), ["C-2-limit@solwatch"], id="center"),
    ],
)
def test_within_and_center_narrow_the_calendar(
    small: Cli, tmp_path: Path, options: tuple[str, ...], expected: list[str]
) -> None:
    """--within bounds the days ahead (inclusive); --center keeps one Center."""
    assert sorted(events(small, tmp_path, *options)) == expected


def test_the_same_day_exports_the_same_bytes(small: Cli, tmp_path: Path) -> None:
    """Stable UIDs and a stamp taken from the as-of day: re-importing updates, never doubles."""
    first, second = tmp_path / "a.ics", tmp_path / "b.ics"
    for out in (first, second):
        small("export", "ics", "--as-of", "2026-11-24", "--within", "1000", "--out", str(out))
    assert first.read_bytes() == second.read_bytes()
