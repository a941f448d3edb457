"""Limitation dates as an iCalendar file (RFC 5545), for Outlook and Google Calendar.

One all-day event per open case on its limitation date, with reminders, and one on its
file-by day when the limit falls on a weekend or holiday. Pure: assessments in, bytes out.
UIDs are stable per case, so importing a newer file updates the events instead of doubling them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from solwatch.core.assessment import Assessment
from solwatch.core.centers import center_label
from solwatch.core.dates import file_by_date, holiday_name, weekday_name
from solwatch.core.money import dollars

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


@dataclass(frozen=True)
class Deadline:
    """What a calendar event says about one case's limit."""

    case_number: str
    importer_name: str | None
    center: str | None
    port_code: str | None
    rule: str | None
    limit: date
    uncollected_cents: int | None


def deadline_of(assessment: Assessment) -> Deadline | None:
    """The open case's limit as a Deadline, or None if it has none."""
    record = assessment.record
    limit = assessment.standing.limitation_date
    if not record.is_open or limit is None:
        return None
    return Deadline(
        record.case_number,
        record.importer_name,
        record.center,
        record.port_code,
        record.rule,
        limit,
        record.uncollected_cents,
    )


def build_calendar(deadlines: Iterable[Deadline], today: date) -> bytes:
    """The calendar of the cases' limitation (and file-by) dates, stamped with `today`."""
    calendar = Calendar()
    calendar.add("prodid", "-//solwatch//statute of limitations//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "solwatch limitation dates")
    stamp = datetime(today.year, today.month, today.day, tzinfo=UTC)
    for deadline in deadlines:
        limit = deadline.limit
        importer = deadline.importer_name or "importer not recorded"
        lines = [
            f"Case {deadline.case_number}, {importer}; {center_label(deadline.center)}; port "
            f"{deadline.port_code or 'not recorded'}.",
            f"Rule {deadline.rule}: the last day suit may be commenced is {limit.isoformat()}.",
            f"Uncollected: ${dollars(deadline.uncollected_cents) or '0.00'}.",
            f"How it was derived: solwatch show {deadline.case_number}",
        ]
        category = deadline.center or "No Center"
        calendar.add_component(
            _event(
                f"{deadline.case_number}-limit@solwatch",
                limit,
                f"SOL limit: {deadline.case_number} ({importer})",
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
                    f"{deadline.case_number}-file-by@solwatch",
                    file_by,
                    f"File by: {deadline.case_number} ({importer})",
                    f"The limit, {limit.isoformat()}, falls on a {why}: file by today.\n"
                    + "\n".join(lines),
                    stamp,
                    category,
                    (timedelta(days=-1),),
                )
            )
    return bytes(calendar.to_ical())


def calendar_of(assessments: Iterable[Assessment], today: date) -> bytes:
    """The calendar of the open cases among `assessments`."""
    return build_calendar(filter(None, map(deadline_of, assessments)), today)
