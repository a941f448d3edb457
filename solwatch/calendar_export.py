"""Limitation dates as an iCalendar file (RFC 5545), for Outlook and Google Calendar.

One all-day event per open case on its limitation date, with reminders, and one on its
file-by day when the limit falls on a weekend or holiday. Pure: assessments in, bytes out.
UIDs are stable per case, so importing a newer file updates the events instead of doubling them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from solwatch.centers import center_label
from solwatch.dates import file_by_date, holiday_name, weekday_name
from solwatch.reports import Assessment, dollars

REMINDERS = (timedelta(days=-30), timedelta(days=-7), timedelta(days=-1))


def _alarm(before: timedelta, text: str) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text)
    alarm.add("trigger", before)
    return alarm


def _event(
    uid: str,
    day: date,
    summary: str,
    description: str,
    stamp: datetime,
    category: str,
    reminders: Iterable[timedelta],
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    event.add("description", description)
    event.add("categories", [category])
    event.add("transp", "TRANSPARENT")
    for before in reminders:
        event.add_component(_alarm(before, summary))
    return event


def build_calendar(assessments: Iterable[Assessment], today: date) -> bytes:
    """The calendar of the open cases' limitation (and file-by) dates, assessed on `today`."""
    calendar = Calendar()
    calendar.add("prodid", "-//solwatch//statute of limitations//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "solwatch limitation dates")
    stamp = datetime(today.year, today.month, today.day, tzinfo=UTC)
    for assessment in assessments:
        record = assessment.record
        limit = assessment.standing.limitation_date
        if not record.is_open or limit is None:
            continue
        importer = record.importer_name or "importer not recorded"
        lines = [
            f"Case {record.case_number}, {importer}; {center_label(record.center)}; port "
            f"{record.port_code or 'not recorded'}.",
            f"Rule {record.rule}: the last day suit may be commenced is {limit.isoformat()}.",
            f"Uncollected: ${dollars(record.uncollected_cents) or '0.00'}.",
            f"How it was derived: solwatch show {record.case_number}",
        ]
        category = record.center or "No Center"
        calendar.add_component(
            _event(
                f"{record.case_number}-limit@solwatch",
                limit,
                f"SOL limit: {record.case_number} ({importer})",
                "\n".join(lines),
                stamp,
                category,
                REMINDERS,
            )
        )
        file_by = file_by_date(limit)
        if file_by != limit:
            why = holiday_name(limit) or weekday_name(limit)
            calendar.add_component(
                _event(
                    f"{record.case_number}-file-by@solwatch",
                    file_by,
                    f"File by: {record.case_number} ({importer})",
                    f"The limit, {limit.isoformat()}, falls on a {why}: file by today.\n"
                    + "\n".join(lines),
                    stamp,
                    category,
                    (timedelta(days=-1),),
                )
            )
    return bytes(calendar.to_ical())
