"""Where a case stands on a day, and the alerts it raises, at every boundary day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from solwatch.core.alerts import AlertKind, Standing, Thresholds, classify, stand

LIMIT = date(2027, 6, 30)
TH = Thresholds()


def alerts_on(
    today: date,
    *,
    sol: date | None = LIMIT,
    missing: str | None = None,
    idle: int | None = 0,
    flags: frozenset[str] = frozenset(),
    is_open: bool = True,
    resolved: bool = False,
) -> set[AlertKind]:
    standing = (
        stand([(LIMIT, 0)], today, per_entry=False) if missing is None else Standing(None, None)
    )
    return set(
        classify(
            is_open=is_open,
            standing=standing,
            missing=missing,
            recorded_sol=sol,
            flags=flags,
            days_idle=idle,
            thresholds=TH,
            prepenalty=True,
            resolved=resolved,
        )
    )


def days_before(days: int) -> date:
    return LIMIT - timedelta(days=days)


@pytest.mark.parametrize(
    ("today", "kind", "raised"),
    [
        pytest.param(days_before(1), AlertKind.EXPIRED, False, id="expired-day-before-limit"),
        pytest.param(days_before(0), AlertKind.EXPIRED, False, id="expired-on-limit-day"),
        pytest.param(days_before(-1), AlertKind.EXPIRED, True, id="expired-day-after-limit"),
        pytest.param(days_before(0), AlertKind.DUE, True, id="due-on-limit-day"),
        pytest.param(days_before(-1), AlertKind.DUE, False, id="not-due-once-expired"),
        pytest.param(days_before(731), AlertKind.DUE, False, id="due-day-before-top-rung"),
        pytest.param(days_before(730), AlertKind.DUE, True, id="due-on-top-rung"),
        pytest.param(days_before(729), AlertKind.DUE, True, id="due-day-after-top-rung"),
        pytest.param(
            days_before(730), AlertKind.REQUEST_WAIVER, False, id="request-waiver-at-730-days"
        ),
        pytest.param(
            days_before(729), AlertKind.REQUEST_WAIVER, True, id="request-waiver-at-729-days"
        ),
        pytest.param(
            days_before(0), AlertKind.REQUEST_WAIVER, True, id="request-waiver-on-limit-day"
        ),
        pytest.param(
            days_before(-1), AlertKind.REQUEST_WAIVER, False, id="no-waiver-request-once-expired"
        ),
        pytest.param(
            days_before(365), AlertKind.PREPENALTY_SHORT_WINDOW, False, id="prepenalty-at-365-days"
        ),
        pytest.param(
            days_before(364), AlertKind.PREPENALTY_SHORT_WINDOW, True, id="prepenalty-at-364-days"
        ),
        pytest.param(
            days_before(-1),
            AlertKind.PREPENALTY_SHORT_WINDOW,
            False,
            id="no-prepenalty-prompt-once-expired",
        ),
    ],
)
def test_it_raises_clock_alerts_at_the_boundaries(
    today: date, kind: AlertKind, raised: bool
) -> None:
    """The limit day itself is timely; each prompt starts when fewer days than its threshold
    remain."""
    assert (kind in alerts_on(today)) is raised


@pytest.mark.parametrize(
    ("idle", "raised"),
    [
        pytest.param(89, False, id="cear-89-days-idle"),
        pytest.param(90, True, id="cear-90-days-idle"),
        pytest.param(91, True, id="cear-91-days-idle"),
        pytest.param(None, True, id="cear-no-action-ever"),
    ],
)
def test_it_proposes_cear_referral_after_ninety_idle_days(idle: int | None, raised: bool) -> None:
    """Open cases without recorded action for 90 days or more are referral candidates."""
    assert (AlertKind.CEAR_REFERRAL in alerts_on(days_before(400), idle=idle)) is raised


@pytest.mark.parametrize(
    ("sol", "expected"),
    [
        pytest.param(None, AlertKind.BLANK_SOL, id="blank-sol"),
        pytest.param(
            LIMIT + timedelta(days=1), AlertKind.SOL_LATER_THAN_LAW, id="recorded-one-day-later"
        ),
        pytest.param(
            LIMIT - timedelta(days=1), AlertKind.SOL_EARLIER_THAN_LAW, id="recorded-one-day-earlier"
        ),
    ],
)
def test_it_compares_the_recorded_sol_date(sol: date | None, expected: AlertKind) -> None:
    """The SEACATS SOL field is checked against the law's date."""
    found = alerts_on(days_before(400), sol=sol)
    sol_kinds = {AlertKind.BLANK_SOL, AlertKind.SOL_LATER_THAN_LAW, AlertKind.SOL_EARLIER_THAN_LAW}
    assert found & sol_kinds == {expected}


def test_it_raises_nothing_for_a_matching_recorded_date() -> None:
    """A correct recorded date far from the limit raises no alert at all."""
    assert alerts_on(days_before(1000)) == set()


def test_it_reports_uncomputable_cases() -> None:
    """A case with no computable date is still reported, never skipped."""
    assert alerts_on(days_before(10), missing="discovery_date") == {AlertKind.UNCOMPUTABLE}


def test_it_passes_on_counsel_flags() -> None:
    """Late and revoked waivers reach counsel as alerts."""
    found = alerts_on(days_before(1000), flags=frozenset({"late-waiver", "revoked-waiver"}))
    assert found == {AlertKind.LATE_WAIVER, AlertKind.REVOKED_WAIVER}


def test_it_ignores_cases_that_are_not_open() -> None:
    """Suit filed or closed: nothing to watch."""
    assert alerts_on(days_before(-100), is_open=False) == set()


@pytest.mark.parametrize("days", [-100, 10, 1000], ids=["expired", "due", "far"])
def test_a_case_staff_corrected_only_awaits_the_source_record(days: int) -> None:
    """Coded open, found closed or in suit: status-correction-pending alone, expired or not;
    once the extract says so too, nothing."""
    found = alerts_on(days_before(days), sol=None, idle=None, resolved=True)
    assert found == {AlertKind.STATUS_CORRECTION_PENDING}
    assert alerts_on(days_before(days), is_open=False, resolved=True) == set()


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(date(2026, 1, 1), Standing(date(2026, 3, 1), 59, 0, 0), id="no-entry-expired"),
        pytest.param(
            date(2026, 3, 1), Standing(date(2026, 3, 1), 0, 0, 0), id="first-entry-limit-day"
        ),
        pytest.param(
            date(2026, 3, 2), Standing(date(2026, 9, 1), 183, 1, 100), id="per-entry-partial-expiry"
        ),
        pytest.param(
            date(2027, 3, 2),
            Standing(date(2027, 3, 1), -1, 3, 1100),
            id="all-entries-expired-takes-latest",
        ),
    ],
)
def test_it_stands_on_the_earliest_live_entry(today: date, expected: Standing) -> None:
    """The case's date is the earliest clock still running, or the latest once all ran."""
    clocks = [(date(2026, 3, 1), 100), (date(2026, 9, 1), 200), (date(2027, 3, 1), 800)]
    assert stand(clocks, today, per_entry=True) == expected


def with_fallback(fallback_days: int, *, is_open: bool = True) -> tuple[AlertKind, ...]:
    """The alerts of a case far from its own limit whose fallback is `fallback_days` off."""
    today = days_before(1000)
    return classify(
        is_open=is_open,
        standing=stand([(LIMIT, 0)], today, per_entry=False),
        missing=None,
        recorded_sol=LIMIT,
        flags=frozenset(),
        days_idle=0,
        thresholds=TH,
        fallback=stand([(today + timedelta(days=fallback_days), 0)], today, per_entry=False),
    )


@pytest.mark.parametrize(
    ("fallback_days", "expected"),
    [
        pytest.param(731, set(), id="fallback-day-before-top-rung"),
        pytest.param(730, {AlertKind.FALLBACK_DUE}, id="fallback-due-on-top-rung"),
        pytest.param(0, {AlertKind.FALLBACK_DUE}, id="fallback-due-on-its-limit-day"),
        pytest.param(-1, {AlertKind.FALLBACK_EXPIRED}, id="fallback-expired-day-after"),
        pytest.param(-400, {AlertKind.FALLBACK_EXPIRED}, id="fallback-long-expired"),
    ],
)
def test_the_negligence_fallback_raises_its_own_alerts(
    fallback_days: int, expected: set[AlertKind]
) -> None:
    """A fraud case's fallback follows the ladder and the expiry day of the case's own clock,
    as its own alerts, whatever the fraud date says."""
    found = with_fallback(fallback_days)
    assert set(found) == expected
    assert list(found) == sorted(found, key=list(AlertKind).index)


def test_a_closed_fraud_case_raises_no_fallback_alert() -> None:
    """Suit filed or closed: the fallback is not watched either."""
    assert with_fallback(-5, is_open=False) == ()
