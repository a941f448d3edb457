"""The monthly CEAR package: kept on disk, mailed to each Center once, owed after downtime."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from freezegun import freeze_time

from solwatch.notify.scheduler import owed_month
from solwatch.reports.cear import CenterSummary, chart, months_ahead
from tests.conftest import Cli
from tests.notify.test_mail import SMALL, Inbox, inbox  # noqa: F401  (the SMTP server fixture)

NY = "America/New_York"


@pytest.mark.integration
def test_each_center_gets_its_package_once(
    tmp_path: Path,
    database_url: str,
    inbox: tuple[Inbox, int],  # noqa: F811
) -> None:
    """Files are kept per month; each Center's message carries its own CSV; reruns are silent."""
    handler, port = inbox
    cli = Cli(tmp_path, database_url)
    cli.config.write_text(
        cli.config.read_text().split("\n[", 1)[0] + "\n"
        f'[mail]\ntransport = "smtp"\n[mail.smtp]\nhost = "127.0.0.1"\nport = {port}\n'
        f'security = "none"\n[cear]\nfolder = "{tmp_path / "cear"}"\n'
        '[routing]\nfallback = ["fallback@example.gov"]\n'
        '[routing.centers.CEE007]\nto = ["cee7@example.gov"]\n'
    )
    cli("init")
    cli("import", str(SMALL), "--as-of", "2026-11-24")
    result = cli("run-monthly", "--as-of", "2026-11-24")
    assert "CEAR package for 2026-10 (as of 2026-10-31)" in result.output
    assert "messages recorded: 5; sent: 5; failed: 0" in result.output
    folder = tmp_path / "cear" / "2026-10"
    assert sorted(p.name for p in folder.iterdir()) == [
        "cear-2026-10-CEE001.csv",
        "cear-2026-10-CEE001.xlsx",
        "cear-2026-10-CEE004.csv",
        "cear-2026-10-CEE004.xlsx",
        "cear-2026-10-CEE007.csv",
        "cear-2026-10-CEE007.xlsx",
        "cear-2026-10-summary.csv",
        "cear-2026-10-summary.xlsx",
        "cear-2026-10-unassigned.csv",
        "cear-2026-10-unassigned.xlsx",
    ]
    [message] = handler.to("cee7@example.gov")
    assert message["Subject"] == (
        "CEE007 Electronics: CEAR package for 2026-10: 1 open, 0 past the limit, 0 referrals due"
    )
    attachment, workbook = list(message.iter_attachments())
    assert workbook.get_filename() == "cear-2026-10-CEE007.xlsx"
    assert workbook.get_payload(decode=True) == (folder / "cear-2026-10-CEE007.xlsx").read_bytes()
    assert attachment.get_filename() == "cear-2026-10-CEE007.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_param("charset") == "utf-8"
    kept = (folder / "cear-2026-10-CEE007.csv").read_bytes()
    assert attachment.get_payload(decode=True) == kept
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.count('<td style="white-space:nowrap;padding-right:8px;">') == 12
    assert len(handler.to("fallback@example.gov")) == 1  # the cases with no Center
    again = cli("run-monthly", "--as-of", "2026-11-25")
    assert "messages recorded: 0; sent: 0; failed: 0" in again.output
    assert len(handler.messages) == 5


@pytest.mark.parametrize(
    ("instant", "done", "owed"),
    [
        pytest.param("2026-12-01 10:59:00", set(), None, id="before-the-hour-on-cear-day"),
        pytest.param("2026-12-01 11:00:00", set(), date(2026, 11, 1), id="on-cear-day"),
        pytest.param("2026-12-15 09:00:00", set(), date(2026, 11, 1), id="down-on-cear-day"),
        pytest.param("2026-12-15 09:00:00", {date(2026, 11, 1)}, None, id="already-sent"),
        pytest.param("2027-01-02 12:00:00", set(), date(2026, 12, 1), id="january"),
    ],
)
def test_last_months_package_is_owed_after_downtime(
    instant: str, done: set[date], owed: date | None
) -> None:
    """From cear_day at daily_at, last month's package is owed until one has finished."""
    with freeze_time(instant, tz_offset=0):
        assert owed_month(datetime.now(UTC), "06:00", 1, NY, done) == owed


def test_the_chart_counts_limits_in_each_of_the_next_twelve_months() -> None:
    """Limits in the month of the as-of day, or a year or more ahead, are not charted."""
    assert months_ahead(date(2026, 11, 30))[:2] == ["2026-12", "2027-01"]
    summary = CenterSummary(
        limit_months=Counter({"2026-11": 4, "2026-12": 2, "2027-11": 1, "2027-12": 5})
    )
    counts = dict(chart(summary, date(2026, 11, 30)))
    assert len(counts) == 12
    assert (counts["2026-12"], counts["2027-11"], sum(counts.values())) == (2, 1, 3)


def test_the_monthly_run_fires_on_cear_day_at_the_daily_hour() -> None:
    """cear_day 3 at 06:00 New York: the 3rd of each month, 11:00 UTC in winter, 10:00 in
    summer."""
    from datetime import timedelta

    from solwatch.notify.scheduler import monthly_trigger

    trigger = monthly_trigger(3, "06:00", NY)
    moment = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    fires = []
    for _ in range(3):
        moment = trigger.get_next_fire_time(None, moment)
        fires.append(moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M"))
        moment += timedelta(minutes=1)
    assert fires == ["2026-12-03 11:00", "2027-01-03 11:00", "2027-02-03 11:00"]
    summer = trigger.get_next_fire_time(None, datetime(2027, 6, 4, tzinfo=UTC))
    assert summer.astimezone(UTC).strftime("%Y-%m-%d %H:%M") == "2027-07-03 10:00"


def test_the_message_counts_the_expired_by_verdict_and_the_corrections_pending() -> None:
    """The summary in the mail says how many past the limit are likely lost and how many are
    probably stale statuses, with their dollars, and how many corrections await the source."""
    from solwatch.notify.render import render_cear, template_env
    from solwatch.reports.stats import ExpiredByVerdict

    split = ExpiredByVerdict(
        likely_lost=1,
        likely_lost_cents=2400_00,
        likely_miscoded=2,
        likely_miscoded_cents=1000_00,
        status_correction_pending=4,
    )
    summary = CenterSummary(open=5, expired=3, expired_uncollected_cents=3400_00, triage=split)
    rendered = render_cear(
        {
            "center_name": "CEE007 Electronics",
            "month": "2026-11",
            "as_of": date(2026, 11, 24),
            "summary": summary,
            "chart": chart(summary, date(2026, 11, 24)),
            "chart_max": 1,
            "filename": "cear-2026-11-CEE007.csv",
            "referral_days": 90,
        },
        template_env(),
    )
    assert (
        "Past the limit, still open: 3 ($3,400.00 uncollected)\n"
        "  lost unless counsel finds otherwise: 1 ($2,400.00)\n"
        "  probably a stale status, correct the source record: 2 ($1,000.00)\n"
        "Corrected by staff, still coded open in the source (status-correction-pending): 4\n"
    ) in rendered.text
    assert "the data cannot tell" not in rendered.text
    assert "probably a stale status: correct the source record</td>" in rendered.html
    assert ">2 ($1,000.00)</td>" in rendered.html
