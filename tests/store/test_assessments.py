"""The at-risk query (index pre-filter, streamed merge) agrees with a brute-force pass."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlmodel import Session

from solwatch.core.alerts import AlertKind, Thresholds
from solwatch.core.assessment import urgency
from solwatch.store.assessments import DEFAULT_AT_RISK, assess_cases, iter_at_risk
from tests.conftest import BACKENDS, Cli, fresh_database_url, opened


@pytest.fixture(scope="module", params=BACKENDS)
def demo_db(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The demo's sample data, loaded once per backend for the module."""
    folder = tmp_path_factory.mktemp("demo")
    for url in fresh_database_url(request.param, folder, request):
        cli = Cli(folder, url)
        cli("demo", "--dir", str(folder / "sample"), "--cases", "600", "--as-of", "2026-11-24")
        yield url


@pytest.mark.parametrize(
    "today", [date(2026, 11, 24), date(2027, 6, 1), date(2028, 3, 15), date(2031, 1, 1)]
)
@pytest.mark.parametrize(
    ("kinds", "within"),
    [
        pytest.param(None, 365, id="default"),
        pytest.param(frozenset({AlertKind.DUE}), 90, id="due-90"),
        pytest.param(frozenset({AlertKind.REQUEST_WAIVER}), 0, id="request-waiver"),
        pytest.param(frozenset({AlertKind.CEAR_REFERRAL}), 365, id="cear"),
        pytest.param(
            frozenset({AlertKind.FALLBACK_DUE, AlertKind.FALLBACK_EXPIRED}), 365, id="fallback"
        ),
    ],
)
def test_at_risk_matches_a_full_scan(
    demo_db: str, today: date, kinds: frozenset[AlertKind] | None, within: int
) -> None:
    """Same cases, same order, as assessing every case and sorting by urgency."""
    thresholds = Thresholds()
    wanted = kinds or DEFAULT_AT_RISK
    with opened(demo_db) as engine, Session(engine) as session:
        fast = [
            a.record.case_number
            for a in iter_at_risk(today, thresholds, session=session, within=within, kinds=kinds)
        ]
        everything = list(assess_cases(today, thresholds, session=session))

    def qualifies(alerts: set[AlertKind], days: int | None, fallback: int | None) -> bool:
        if AlertKind.DUE in alerts and (days is None or days > within):
            alerts = alerts - {AlertKind.DUE}
        if AlertKind.FALLBACK_DUE in alerts and (fallback is None or fallback > within):
            alerts = alerts - {AlertKind.FALLBACK_DUE}
        return bool(alerts & wanted)

    slow = [
        a.record.case_number
        for a in sorted(everything, key=urgency)
        if qualifies(
            set(a.alerts),
            a.standing.days_remaining,
            a.fallback.days_remaining if a.fallback else None,
        )
    ]
    assert fast == slow
    assert len(fast) > 5
