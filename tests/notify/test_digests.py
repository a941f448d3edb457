"""Digest planning (pure): rungs crossed, repeats, routing, escalation and acknowledgements."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from solwatch.core.alerts import AlertKind, Thresholds
from solwatch.core.assessment import Assessment, CaseRecord, assess
from solwatch.notify.digests import (
    Digest,
    Policy,
    Routing,
    audiences_for,
    plan_digests,
    rung_crossed,
)

TODAY = date(2026, 11, 24)
ROUTING = Routing(
    centers={"CEE007": ("cee7@example.gov",)},
    ports={"2704": ("Los Angeles FP&F", ("fpf-la@example.gov",))},
    fallback=("fallback@example.gov",),
    escalation=("boss@example.gov",),
)
POLICY = Policy()
BASE = CaseRecord(
    case_number="C-1",
    case_type="penalty",
    statute="1592",
    culpability="negligence",
    status="OPEN",
    is_open=True,
    center="CEE007",
    port_code="2704",
    importer_name="Acme",
    importer_number="1",
    violation_date=None,
    discovery_date=None,
    initiated_date=None,
    last_action_date=TODAY,
    sol_date=None,
    assessed_cents=100_00,
    collected_cents=0,
    rule="1621-violation",
    limitation_date=None,
    last_limitation_date=None,
    fallback_date=None,
    last_fallback_date=None,
    missing_field=None,
    flags=frozenset(),
    entries_total=0,
    entries_loss_cents=0,
    waivers_total=0,
)


def case(days: int, number: str = "C-1", **fields: object) -> Assessment:
    """A case whose limit is `days` from TODAY and whose recorded SOL date matches it."""
    limit = TODAY + timedelta(days=days)
    values: dict[str, object] = {
        "case_number": number,
        "limitation_date": limit,
        "last_limitation_date": limit,
        "sol_date": limit,
        **fields,
    }
    record = replace(BASE, **values)  # type: ignore[arg-type]
    return assess(record, TODAY, Thresholds())


def plan(
    *cases: Assessment,
    sent: dict[tuple[str, str, str], date] | None = None,
    muted: dict[str, frozenset[AlertKind]] | None = None,
) -> dict[str, list[str]]:
    digests = plan_digests(
        cases, today=TODAY, routing=ROUTING, policy=POLICY, sent=sent or {}, muted=muted or {}
    )
    return {d.audience.key: sorted(f"{n} {r}" for n, r in d.new_reasons) for d in digests}


def center_digest(*cases: Assessment) -> Digest:
    """The Center's digest of `cases`, with nothing sent or muted before."""
    digests = plan_digests(cases, today=TODAY, routing=ROUTING, policy=POLICY, sent={}, muted={})
    return next(d for d in digests if d.audience.key == "CEE007")


@pytest.mark.parametrize(
    ("days", "rung"),
    [
        pytest.param(731, None, id="day-before-top-rung"),
        pytest.param(730, 730, id="on-top-rung"),
        pytest.param(91, 180, id="day-before-90"),
        pytest.param(90, 90, id="on-90"),
        pytest.param(89, 90, id="day-after-90"),
        pytest.param(1, 1, id="last-day-rung"),
        pytest.param(0, 1, id="limit-day"),
    ],
)
def test_it_names_the_rung_crossed(days: int, rung: int | None) -> None:
    """The rung reported is the lowest one the days remaining have reached."""
    assert rung_crossed(days, POLICY.ladder) == rung


def test_a_newly_crossed_rung_is_news() -> None:
    """90 days left after the 180 rung and the prompts were sent: the 90 rung is new."""
    sent = {
        (key, "C-1", r): TODAY - timedelta(days=90)
        for key in ("CEE007", "Los Angeles FP&F")
        for r in ("due:180", "request-waiver", "prepenalty-short-window")
    }
    assert plan(case(90), sent=sent)["CEE007"] == ["C-1 due:90"]


def test_a_rung_already_sent_is_not_news() -> None:
    """89 days left and the 90 rung went out yesterday: nothing new, no digest."""
    sent = {
        (key, "C-1", r): TODAY - timedelta(days=1)
        for key in ("CEE007", "Los Angeles FP&F")
        for r in ("due:90", "request-waiver", "prepenalty-short-window")
    }
    assert plan(case(89), sent=sent) == {}


def test_a_skipped_day_loses_no_rung() -> None:
    """The job did not run on the day 90 was reached; two days later the rung is still news."""
    sent = {
        (key, "C-1", r): TODAY - timedelta(days=3)
        for key in ("CEE007", "Los Angeles FP&F")
        for r in ("due:180", "request-waiver", "prepenalty-short-window")
    }
    assert plan(case(88), sent=sent)["CEE007"] == ["C-1 due:90"]


@pytest.mark.parametrize(
    ("last", "news"),
    [(6, False), (7, True), (8, True)],
    ids=["six-days-ago", "seven-days-ago", "eight-days-ago"],
)
def test_expired_cases_come_back_every_week(last: int, news: bool) -> None:
    """An expired open case is repeated once repeat_expired_days have passed."""
    sent = {
        (key, "C-1", "expired"): TODAY - timedelta(days=last)
        for key in ("CEE007", "Los Angeles FP&F")
    }
    assert ("CEE007" in plan(case(-40), sent=sent)) is news


@pytest.mark.parametrize(
    ("days", "daily"),
    [(31, False), (30, True), (0, True)],
    ids=["31-days-left", "30-days-left", "limit-day"],
)
def test_the_last_thirty_days_repeat_daily(days: int, daily: bool) -> None:
    """Inside the last 30 days a case is news every day, even with its rung already sent."""
    reasons = ("due:30", "due:60", "due:1", "request-waiver", "prepenalty-short-window")
    sent = {
        (key, "C-1", r): TODAY - timedelta(days=1)
        for key in ("CEE007", "Los Angeles FP&F")
        for r in reasons
    }
    assert ("CEE007" in plan(case(days), sent=sent)) is daily


def test_a_case_reaches_its_center_and_its_office() -> None:
    """Both the Center's and the port's FP&F office's digests carry the case."""
    assert set(plan(case(10))) == {"CEE007", "Los Angeles FP&F"}


@pytest.mark.parametrize(
    ("center", "port", "expected"),
    [
        pytest.param(None, "2704", {"Los Angeles FP&F", "fallback"}, id="no-center"),
        pytest.param("PNDING", "2704", {"Los Angeles FP&F", "fallback"}, id="pending-center"),
        pytest.param("CEE007", "9999", {"CEE007", "fallback"}, id="unmapped-port"),
        pytest.param(None, None, {"fallback"}, id="nothing-known"),
        pytest.param("CEE003", None, {"fallback"}, id="center-without-mailbox"),
    ],
)
def test_unrouted_cases_reach_the_fallback(
    center: str | None, port: str | None, expected: set[str]
) -> None:
    """A missing or unknown Center or office never drops a case: the fallback gets it."""
    assert {a.key for a in audiences_for(center, port, ROUTING)} == expected


@pytest.mark.parametrize(
    ("days", "copied"), [(-1, True), (30, True), (31, False)], ids=["expired", "30-days", "31-days"]
)
def test_escalation_is_copied_on_urgent_digests(days: int, copied: bool) -> None:
    """Escalation addresses are copied for expired cases and the last escalate_within_days."""
    digests = plan_digests(
        [case(days)], today=TODAY, routing=ROUTING, policy=POLICY, sent={}, muted={}
    )
    assert all((d.cc == ("boss@example.gov",)) is copied for d in digests)


def test_an_acknowledged_alert_is_quiet() -> None:
    """Muting `due` and the prompts of a case leaves nothing new for it."""
    muted = {
        "C-1": frozenset(
            {AlertKind.DUE, AlertKind.REQUEST_WAIVER, AlertKind.PREPENALTY_SHORT_WINDOW}
        )
    }
    assert plan(case(10), muted=muted) == {}
    assert plan(case(10, sol_date=None), muted=muted)["CEE007"] == ["C-1 blank-sol"]


def test_sections_hold_cases_most_urgent_first() -> None:
    """Expired, then due soon, then due later; a case moves section as its days run out."""
    center = center_digest(case(-5, "A"), case(3, "B"), case(29, "C"), case(45, "D"))
    assert [(s.key, [line.case_number for line in s.lines]) for s in center.sections] == [
        ("expired", ["A"]),
        ("due-soon", ["B", "C"]),
        ("due-later", ["D"]),
    ]
    assert center.sections[0].lines[0].todo.startswith("Limit has run")
    assert center.sections[1].lines[0].todo.startswith("Refer for suit now: file by 2026-11-27")


def test_expired_cases_split_by_their_triage_verdict() -> None:
    """Likely lost and unknown cases are "lost unless counsel finds otherwise", with counsel's
    todo; likely mis-coded ones come next as "probably a stale status", saying why and how to
    correct it; both are escalated and repeated like any expired case."""
    center = center_digest(
        case(-30, "LOST", triage="likely-lost", triage_reason="no suit filed"),
        case(-20, "STALE", triage="likely-miscoded", triage_reason="settled recorded 2025-01-02"),
        case(-10, "UNSURE", triage="unknown", triage_reason="no events on file"),
        case(5, "DUE"),
    )
    sections = {s.key: s for s in center.sections}
    assert [(s.key, s.title, [line.case_number for line in s.lines]) for s in center.sections][
        :2
    ] == [
        (
            "expired",
            "Past the limit, still open: lost unless counsel finds otherwise",
            ["LOST", "UNSURE"],
        ),
        (
            "expired-stale",
            "Past the limit, probably a stale status: correct the source record",
            ["STALE"],
        ),
    ]
    assert sections["expired"].lines[0].todo.startswith("Limit has run while the case is open")
    assert "no event or amount on file" in sections["expired"].lines[1].todo
    assert sections["expired-stale"].lines[0].todo == (
        "Probably a stale status (settled recorded 2025-01-02): correct the status in SEACATS "
        "and record it with `solwatch resolve STALE`"
    )
    assert center.cc == ("boss@example.gov",)
    week = {("CEE007", "STALE", "expired"): TODAY - timedelta(days=7)}
    assert (
        "STALE expired" in plan(case(-20, "STALE", triage="likely-miscoded"), sent=week)["CEE007"]
    )


def test_a_corrected_case_asks_for_the_source_record_to_be_fixed() -> None:
    """A case staff resolved while the extract still codes it open is data to fix, not
    expired: its line says which status to enter."""
    center = center_digest(
        case(-40, "FIXED", resolved_status="CLOSED", resolved_date=date(2026, 10, 1))
    )
    [section] = center.sections
    assert (section.key, [line.case_number for line in section.lines]) == ("data", ["FIXED"])
    assert section.lines[0].todo == (
        "Correct the status in SEACATS to CLOSED: recorded as CLOSED on 2026-10-01, the extract "
        "still codes it OPEN"
    )
    assert center.cc == ()


def test_a_long_section_shows_its_first_lines_and_full_totals() -> None:
    """A section keeps LINES_PER_SECTION lines but counts and sums every case."""
    from solwatch.notify.digests import LINES_PER_SECTION
    from solwatch.notify.render import render_digest, template_env

    cases = [case(-1 - n, f"X-{n:04d}") for n in range(LINES_PER_SECTION + 50)]
    center = center_digest(*cases)
    [expired] = center.sections
    assert (expired.count, len(expired.lines)) == (LINES_PER_SECTION + 50, LINES_PER_SECTION)
    assert expired.uncollected_cents == (LINES_PER_SECTION + 50) * 100_00
    text = render_digest(center, template_env()).text
    assert "... and 50 more: run `solwatch at-risk` for the full list." in text
    assert center.case_count == LINES_PER_SECTION + 50


@pytest.mark.parametrize(
    ("days", "case_type", "statute", "raised"),
    [
        pytest.param(364, "penalty", "1592", True, id="1592-penalty-364-days"),
        pytest.param(365, "penalty", "1592", False, id="1592-penalty-365-days"),
        pytest.param(364, "penalty", "1593a", True, id="1593a-penalty-364-days"),
        pytest.param(0, "penalty", "1593a", True, id="1593a-penalty-limit-day"),
        pytest.param(364, "penalty", "1595a", False, id="1595a-penalty-has-no-prepenalty-notice"),
        pytest.param(364, "penalty", "1641", False, id="1641-penalty-has-no-prepenalty-notice"),
        pytest.param(364, "forfeiture", "1595a", False, id="forfeiture-never"),
        pytest.param(364, "forfeiture", "1592", False, id="forfeiture-under-1592-never"),
        pytest.param(364, "liquidated_damages", "1623", False, id="liquidated-damages-never"),
        pytest.param(364, "penalty", None, False, id="blank-statute-never"),
    ],
)
def test_the_short_prepenalty_window_is_for_1592_and_1593a_penalties(
    days: int, case_type: str, statute: str | None, raised: bool
) -> None:
    """19 CFR 162.77a and 162.78 govern §1592 and §1593a penalties only, inside a year."""
    found = case(days, case_type=case_type, statute=statute)
    assert (AlertKind.PREPENALTY_SHORT_WINDOW in found.alerts) is raised
    assert AlertKind.REQUEST_WAIVER in found.alerts


def test_the_short_prepenalty_window_says_seven_days_at_least_and_headquarters() -> None:
    """The prompt: not less than 7 days, telephone where possible, only Headquarters extends."""
    digests = plan_digests(
        [case(200)], today=TODAY, routing=ROUTING, policy=POLICY, sent={}, muted={}
    )
    [line] = digests[0].sections[0].lines
    assert (
        "The 30-day prepenalty response may be shortened to a reasonable period of not less "
        "than 7 days (telephone the person where possible); only Headquarters may extend it"
    ) in line.todo
    assert "no extensions" not in line.todo


def fraud(days: int, fallback_days: int, number: str = "F-1", **fields: object) -> Assessment:
    """A fraud case `days` from its limit whose negligence alternative is `fallback_days` off."""
    fallback = TODAY + timedelta(days=fallback_days)
    return case(
        days,
        number,
        culpability="fraud",
        rule="1621-fraud",
        fallback_date=fallback,
        last_fallback_date=fallback,
        **fields,
    )


def test_the_fallback_has_its_own_quieter_section_after_the_cases_own() -> None:
    """A fraud case due in 20 days with its alternative 5 days past: its own line first, then
    the fallback line in the last section; the case counts once; only its own alerts escalate."""
    center = center_digest(fraud(20, -5), fraud(1000, 100, "F-2"))
    assert [(s.key, [line.case_number for line in s.lines]) for s in center.sections] == [
        ("due-soon", ["F-1"]),
        ("fallback", ["F-1", "F-2"]),
    ]
    assert center.case_count == 2
    first, second = center.sections[1].lines
    assert (first.rule, first.days_remaining, first.alerts) == (
        "1621-violation (fallback)",
        -5,
        (AlertKind.FALLBACK_EXPIRED,),
    )
    assert first.todo.startswith("If fraud is not proven: the negligence alternative's limit ran")
    assert second.todo.startswith("If fraud may not be proven, refer the negligence alternative")
    assert sorted(r for n, r in center.new_reasons if n == "F-2") == ["fallback-due:180"]
    only_fallback = plan_digests(
        [fraud(1000, -1, "F-3")], today=TODAY, routing=ROUTING, policy=POLICY, sent={}, muted={}
    )
    assert only_fallback
    assert all(d.cc == () for d in only_fallback)


@pytest.mark.parametrize(
    ("fallback_days", "sent_reason", "news"),
    [
        pytest.param(90, "fallback-due:180", True, id="fallback-rung-newly-crossed"),
        pytest.param(89, "fallback-due:90", False, id="fallback-rung-already-sent"),
        pytest.param(10, "fallback-due:14", False, id="fallback-not-repeated-daily"),
        pytest.param(-1, "fallback-due:1", True, id="fallback-expiry-is-news"),
        pytest.param(-30, "fallback-expired", False, id="fallback-expiry-not-repeated-weekly"),
    ],
)
def test_the_fallback_follows_the_ladder_once(
    fallback_days: int, sent_reason: str, news: bool
) -> None:
    """fallback-due counts per rung like due; neither it nor fallback-expired repeats."""
    sent = {
        (key, "F-1", sent_reason): TODAY - timedelta(days=8)
        for key in ("CEE007", "Los Angeles FP&F")
    }
    assert ("CEE007" in plan(fraud(1000, fallback_days), sent=sent)) is news


def test_waiver_flags_raised_only_on_the_fallback_are_reported_with_it() -> None:
    """A waiver late for the negligence alternative alone goes to counsel in the fallback's
    section, not as the case's own late-waiver; muting late-waiver quiets it."""
    late = fraud(1000, 1000, fallback_flags=frozenset({"late-waiver"}))
    assert AlertKind.LATE_WAIVER not in late.alerts
    center = center_digest(late)
    [section] = center.sections
    assert section.key == "fallback"
    assert section.lines[0].todo == (
        "Counsel: a waiver came after the negligence alternative's limit had run"
    )
    assert center.new_reasons == (("F-1", "fallback-late-waiver"),)
    assert plan(late, muted={"F-1": frozenset({AlertKind.LATE_WAIVER})}) == {}


def test_an_acknowledged_fallback_alert_is_quiet() -> None:
    """Muting fallback-expired leaves the case's own alerts alone."""
    muted = {"F-1": frozenset({AlertKind.FALLBACK_EXPIRED})}
    assert plan(fraud(1000, -3), muted=muted) == {}
    assert plan(fraud(1000, -3, sol_date=None), muted=muted)["CEE007"] == ["F-1 blank-sol"]


def test_the_fallback_is_not_a_calendar_deadline() -> None:
    """The digest's calendar holds the case's own limit only, once."""
    from solwatch.notify.daily import _calendar_attachment

    digests = plan_digests(
        [fraud(20, 10)], today=TODAY, routing=ROUTING, policy=POLICY, sent={}, muted={}
    )
    [(name, data, _)] = _calendar_attachment(digests[0])
    assert name == f"deadlines-{TODAY.isoformat()}.ics"
    assert data.count(b"BEGIN:VEVENT") == data.count(b"UID:F-1-limit@solwatch") == 1
    assert b"DTSTART;VALUE=DATE:20261214" in data  # the fraud limit, not the fallback's


def test_a_corrected_case_is_not_a_calendar_deadline() -> None:
    """A case staff resolved, its limit 20 days ahead, puts no event in the calendar."""
    from solwatch.notify.daily import _calendar_attachment

    corrected = case(20, "FIXED", resolved_status="SUIT_FILED", resolved_date=TODAY)
    digests = plan_digests(
        [corrected, case(27, "LIVE")],
        today=TODAY,
        routing=ROUTING,
        policy=POLICY,
        sent={},
        muted={},
    )
    [(_, data, _)] = _calendar_attachment(digests[0])
    assert data.count(b"BEGIN:VEVENT") == data.count(b"UID:LIVE-limit@solwatch") == 1
    assert b"FIXED" not in data
