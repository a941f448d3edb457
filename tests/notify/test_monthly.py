"""The monthly CEAR package: kept on disk, mailed to each Center once, owed after downtime."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from solwatch.notify.scheduler import owed_month
from solwatch.reports.cear import CenterSummary, chart, months_ahead
from tests.conftest import Cli
from tests.notify.test_mail import SMALL, Inbox, inbox  # noqa: F401  (the SMTP server fixture)

NY = "America/New_York"


def monthly_store(
    tmp_path: Path, port: int, routes: str = "", cear: str = "", database_url: str | None = None
) -> Cli:
    """The small extract in a store (at `database_url`, else a SQLite file) whose mail goes
    to the SMTP server on `port`, its CEAR files under tmp_path/cear, with `routes` (TOML
    tables) and `cear` keys added."""
    cli = Cli(tmp_path, database_url)
    cli.config.write_text(
        cli.config.read_text().split("\n[", 1)[0] + "\n"
        f'[mail]\ntransport = "smtp"\n[mail.smtp]\nhost = "127.0.0.1"\nport = {port}\n'
        f'security = "none"\n[cear]\nfolder = "{tmp_path / "cear"}"\n{cear}'
        '[routing]\nfallback = ["fallback@example.gov"]\n' + routes
    )
    cli("init")
    cli("import", str(SMALL), "--as-of", "2026-11-24")
    return cli


@pytest.mark.integration
def test_each_center_gets_its_package_once(
    tmp_path: Path,
    database_url: str,
    inbox: tuple[Inbox, int],  # noqa: F811
) -> None:
    """Files are kept per month; each Center's message carries its own CSV; reruns are silent."""
    handler, port = inbox
    cli = monthly_store(
        tmp_path,
        port,
        '[routing.centers.CEE007]\nto = ["cee7@example.gov"]\n',
        database_url=database_url,
    )
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
    from solwatch.notify.render import render_monthly, template_env
    from solwatch.reports.stats import ExpiredByVerdict

    split = ExpiredByVerdict(
        likely_lost=1,
        likely_lost_cents=2400_00,
        likely_miscoded=2,
        likely_miscoded_cents=1000_00,
        status_correction_pending=4,
    )
    summary = CenterSummary(open=5, expired=3, expired_uncollected_cents=3400_00, triage=split)
    rendered = render_monthly(
        "cear",
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


FPF_ROUTES = (
    '[routing.ports."2704"]\noffice = "Los Angeles FP&F"\nto = ["fpf-la@example.gov"]\n'
    '[routing.ports."2709"]\noffice = "Los Angeles FP&F"\nto = ["fpf-la@example.gov"]\n'
    '[routing.ports."1001"]\noffice = "New York FP&F"\nto = ["fpf-ny@example.gov"]\n'
    '[routing.ports."3001"]\noffice = "Seattle FP&F"\n'
)


@pytest.mark.integration
def test_each_fpf_office_gets_its_sol_report(
    tmp_path: Path,
    database_url: str,
    inbox: tuple[Inbox, int],  # noqa: F811
) -> None:
    """Every office under [routing.ports] gets its ports' open cases in the CEAR columns, on
    its own file and mail, once; an office without cases still gets its (empty) report, and
    one without a mailbox gets it through the fallback."""
    import csv
    import io
    import json

    handler, port = inbox
    cli = monthly_store(tmp_path, port, FPF_ROUTES, database_url=database_url)
    result = cli("run-monthly", "--as-of", "2026-11-24")
    assert "(with the SOL reports of 3 FP&F offices)" in result.output
    assert "messages recorded: 8; sent: 8; failed: 0" in result.output
    folder = tmp_path / "cear" / "2026-10"
    la = folder / "fpf-2026-10-los-angeles-fp-f.csv"
    rows = list(csv.DictReader(io.StringIO(la.read_text(encoding="utf-8-sig"))))
    cear = (folder / "cear-2026-10-CEE004.csv").read_text(encoding="utf-8-sig")
    assert la.read_text(encoding="utf-8-sig").splitlines()[0] == cear.splitlines()[0]
    assert {row["case_number"] for row in rows} == {"C-1", "C-4", "C-5"}  # C-3 is closed
    assert {row["port_code"] for row in rows} == {"2704", "2709"}
    assert (folder / "fpf-2026-10-los-angeles-fp-f.xlsx").exists()
    seattle = (folder / "fpf-2026-10-seattle-fp-f.csv").read_text(encoding="utf-8-sig")
    assert seattle.splitlines() == [cear.splitlines()[0]]
    [message] = handler.to("fpf-la@example.gov")
    assert message["Subject"] == (
        "Los Angeles FP&F: FP&F monthly SOL report for 2026-10: 3 open, 0 past the limit, "
        "1 due within 90 days"
    )
    attachment, workbook = list(message.iter_attachments())
    assert attachment.get_filename() == la.name
    assert attachment.get_payload(decode=True) == la.read_bytes()
    assert workbook.get_filename() == "fpf-2026-10-los-angeles-fp-f.xlsx"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Ports: 2704, 2709" in text
    [ny] = handler.to("fpf-ny@example.gov")
    assert "1 open" in ny["Subject"]
    fallback = {str(m["Subject"]) for m in handler.to("fallback@example.gov")}
    assert (
        "Seattle FP&F: FP&F monthly SOL report for 2026-10: 0 open, 0 past the limit, 0 due within 90 days"
        in fallback
    )
    again = cli("run-monthly", "--as-of", "2026-11-25")
    assert "messages recorded: 0; sent: 0; failed: 0" in again.output
    assert len(handler.messages) == 8
    audit = json.loads(cli("notices", "--case", "C-5", "--format", "json").output)
    assert ("fpf:Los Angeles FP&F", "fpf-la@example.gov", "monthly") in {
        (n["audience"], n["address"], n["job"]) for n in audit
    }


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        pytest.param({}, [], id="none-configured"),
        pytest.param(
            {"2709": ("LA FP&F", ("la@x.gov",)), "2704": ("LA FP&F", ("la@x.gov", "la2@x.gov"))},
            [("LA FP&F", "la-fp-f", ("2704", "2709"), ("la@x.gov", "la2@x.gov"))],
            id="ports-of-one-office-together",
        ),
        pytest.param(
            {"1001": ("NY FP&F", ()), "1002": ("NY  FP&F", ())},
            [("NY  FP&F", "ny-fp-f", ("1002",), ()), ("NY FP&F", "ny-fp-f-2", ("1001",), ())],
            id="file-keys-stay-unique",
        ),
    ],
)
def test_fpf_offices_are_grouped_from_the_ports(
    ports: dict[str, tuple[str, tuple[str, ...]]], expected: list[tuple[Any, ...]]
) -> None:
    """One report per office name, with all its ports and mailboxes, a unique file key each."""
    from solwatch.reports.cear import fpf_offices

    assert [(o.name, o.key, o.ports, o.to) for o in fpf_offices(ports)] == expected


def test_export_cear_writes_the_fpf_reports_on_request(tmp_path: Path) -> None:
    """export cear --fpf adds each office's file; with --center it is refused."""
    cli = Cli(tmp_path)
    cli("init")
    cli("import", str(SMALL), "--as-of", "2026-11-24")
    output = cli(
        "export",
        "cear",
        "--month",
        "2026-10",
        "--out",
        str(tmp_path / "out"),
        "--fpf",
        "--as-of",
        "2026-11-24",
    ).output
    assert "fpf-2026-10-los-angeles-fp-f.csv (2 rows)" in output  # the Cli's one port, 2704
    assert (
        "cannot be combined with --center"
        in cli("export", "cear", "--month", "2026-10", "--fpf", "--center", "7", code=2).stderr
    )
