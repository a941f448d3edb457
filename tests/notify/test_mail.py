"""The daily job against a real SMTP server (aiosmtpd on 127.0.0.1), including failures."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlmodel import Session, select

from solwatch.config import Settings, load_settings
from solwatch.notify.jobs import run_daily
from solwatch.notify.ledger import FAILED, PENDING, SENDING, SENT, Notice
from solwatch.notify.mailer import SmtpMailer
from tests.conftest import Cli, opened

pytestmark = pytest.mark.integration

SMALL = Path(__file__).parent.parent / "data" / "small"
TODAY = date(2026, 11, 24)
START = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
# Imports refuse control characters now; a store filled before they did may still hold one.
HOSTILE = "<script>alert(1)</script> Evil & Co\r\nBcc: victim@example.com"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """An aiosmtpd handler that keeps what it receives and can refuse chosen recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.messages if address in rcpt]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def configure(cli: Cli, port: int, timeout: float = 5) -> Settings:
    cli.config.write_text(
        cli.config.read_text().split("\n[", 1)[0]
        + "\n"
        + f'[mail]\ntransport = "smtp"\nfrom = "solwatch@example.gov"\n'
        f'[mail.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f"timeout_seconds = {timeout}\n"
        '[routing]\nfallback = ["fallback@example.gov"]\nescalation = ["boss@example.gov"]\n'
        '[routing.centers.CEE007]\nto = ["cee7@example.gov"]\n'
        '[routing.ports."2704"]\noffice = "Los Angeles FP&F"\nto = ["fpf-la@example.gov"]\n'
    )
    return load_settings(cli.config, environ={})


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> Cli:
    cli = Cli(tmp_path, database_url)
    cli("init")
    extract = tmp_path / "extract"
    extract.mkdir()
    for source in SMALL.iterdir():
        (extract / source.name).write_bytes(source.read_bytes())
    with (extract / "cases.csv").open("a") as cases:
        cases.write(
            "C-6,penalty,1592,negligence,OPEN,7,2704,hostile,44-4,2021-11-30,,,"
            "2026-11-01,2026-11-30,10,\n"
        )
    cli("import", str(extract), "--as-of", TODAY.isoformat())
    with opened(cli.url) as engine, engine.begin() as connection:
        connection.execute(
            text("UPDATE cases SET importer_name = :name WHERE case_number = 'C-6'"),
            {"name": HOSTILE},
        )
    return cli


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def daily(settings: Settings, clock: Clock, mailer: Any = None) -> Any:
    with opened(settings.database.url) as engine:
        return run_daily(
            engine, settings, TODAY, mailer=mailer or SmtpMailer(settings.mail), now=clock
        )


def notices(settings: Settings) -> dict[tuple[str, str], str]:
    """(audience, address) -> state of today's notices."""
    with opened(settings.database.url) as engine, Session(engine) as session:
        return {(n.audience, n.address): n.state for n in session.exec(select(Notice))}


def deliveries(handler: Inbox) -> Counter[tuple[str, str]]:
    """How many times each (audience, address) received a digest."""
    return Counter(
        (str(message["X-Solwatch-Audience"]), address)
        for rcpt, message in handler.messages
        for address in rcpt
    )


def test_digests_reach_every_center_and_office(store: Cli, inbox: tuple[Inbox, int]) -> None:
    """Each audience gets one multipart digest; escalation is copied; a rerun sends nothing."""
    handler, port = inbox
    configure(store, port)
    result = store("run-daily", "--as-of", TODAY.isoformat())
    assert "sent: 10; failed: 0" in result.output
    fallback = "Cases without a Center or FP&F office mailbox"
    cee001 = "CEE001 Pharmaceuticals, Health & Chemicals"
    cee004 = "CEE004 Apparel, Footwear & Textiles"
    assert deliveries(handler) == Counter(
        {
            ("CEE007 Electronics", "cee7@example.gov"): 1,
            ("CEE007 Electronics", "boss@example.gov"): 1,
            ("Los Angeles FP&F", "fpf-la@example.gov"): 1,
            ("Los Angeles FP&F", "boss@example.gov"): 1,
            (cee001, "CEE-Pharmaceuticals@cbp.dhs.gov"): 1,
            (cee001, "CEE-Chemicals@cbp.dhs.gov"): 1,
            (cee004, "CEE-Apparel@cbp.dhs.gov"): 1,
            (cee004, "boss@example.gov"): 1,
            (fallback, "fallback@example.gov"): 1,
            (fallback, "boss@example.gov"): 1,
        }
    )
    [apparel] = handler.to("CEE-Apparel@cbp.dhs.gov")
    assert apparel["Subject"] == (
        "CEE004 Apparel, Footwear & Textiles: 1 expired, 0 due within 30 days (2026-11-24)"
    )
    assert [part.get_content_type() for part in apparel.iter_parts()] == ["text/plain", "text/html"]
    assert "C-5" in apparel.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    with opened(store.url) as engine, Session(engine) as session:
        carried = {n.audience: json.loads(n.carried) for n in session.exec(select(Notice))}
    assert carried["CEE004"] == {"expired": 1}
    assert carried["Los Angeles FP&F"] == {"due-soon": 1, "due-later": 1, "data": 1}
    again = store("run-daily", "--as-of", TODAY.isoformat())
    assert "notices recorded: 0; sent: 0; failed: 0" in again.output
    assert len(handler.messages) == 10


def test_hostile_importer_names_are_escaped(store: Cli, inbox: tuple[Inbox, int]) -> None:
    """Markup in a name is escaped in HTML and a line break cannot add a header."""
    handler, port = inbox
    configure(store, port)
    store("run-daily", "--as-of", TODAY.isoformat())
    [digest] = handler.to("cee7@example.gov")
    assert "C-6" in digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Evil &amp; Co" in html
    assert "<script>" not in html
    assert digest["Bcc"] is None
    assert all("victim" not in rcpt for rcpt, _ in handler.messages for rcpt in rcpt)
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<script>alert(1)</script> Evil & Co Bcc: victim@example.com" in text


def test_a_server_that_is_down_fails_then_retries(store: Cli, inbox: tuple[Inbox, int]) -> None:
    """Nothing is lost: the first refused connection stops the run, every notice waits for
    the same backoff, and the automatic retry after it sends them all."""
    handler, port = inbox
    down = configure(store, free_port())
    clock = Clock(START)
    report = daily(down, clock)
    assert (report.sent, len(report.failed), report.delivery.deferred) == (0, 1, 9)
    assert "cannot reach 127.0.0.1" in report.failed[0]
    assert report.delivery.stopped is not None
    assert sorted(notices(down).values()) == [FAILED] + [PENDING] * 9
    assert {owed.next_attempt for owed in report.delivery.owed} == {START + timedelta(minutes=5)}
    up = configure(store, port)
    clock.now = START + timedelta(minutes=1)
    assert daily(up, clock).sent == 0  # not yet due for retry
    clock.now = START + timedelta(minutes=6)
    assert daily(up, clock).sent == 10
    assert set(notices(up).values()) == {SENT}
    assert len(handler.messages) == 10


def test_the_cli_exits_3_when_a_send_fails(store: Cli) -> None:
    """run-daily reports a failed send in its exit code, and the notices it did not try."""
    configure(store, free_port())
    result = store("run-daily", "--as-of", TODAY.isoformat(), code=3)
    assert "sent: 0; failed: 1" in result.output
    assert "stopped sending after a transport failure: 9 other notices not tried" in result.output
    assert "still undelivered (2026-11-24): 10" in result.output


def test_a_refused_recipient_fails_alone(store: Cli, inbox: tuple[Inbox, int]) -> None:
    """One refused mailbox is a failed notice; the other addresses get theirs once."""
    handler, port = inbox
    handler.refuse.add("CEE-Chemicals@cbp.dhs.gov")
    settings = configure(store, port)
    report = daily(settings, Clock(START))
    assert report.sent == 9
    assert report.failed == [
        "CEE-Chemicals@cbp.dhs.gov (CEE001): refused: 550 5.1.1 mailbox unavailable"
    ]
    assert notices(settings)[("CEE001", "CEE-Chemicals@cbp.dhs.gov")] == FAILED
    assert len(handler.to("CEE-Pharmaceuticals@cbp.dhs.gov")) == 1


@contextmanager
def hanging_listener() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], held
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_a_hanging_server_costs_one_timeout_not_one_per_notice(store: Cli) -> None:
    """A server that accepts and never answers fails the first notice within the timeout;
    the run stops there and leaves the other nine for the retry, saying so."""
    with hanging_listener() as (port, held):
        settings = configure(store, port, timeout=0.5)
        started = time.monotonic()
        report = daily(settings, Clock(START), SmtpMailer(settings.mail))
        elapsed = time.monotonic() - started
        assert len(held) == 1  # one connection, not ten
    assert (report.sent, len(report.failed), report.delivery.deferred) == (0, 1, 9)
    assert "Timed out" in report.failed[0]
    assert elapsed < 0.5 + 3
    assert "9 other notices not tried, left for the next attempt" in report.summary()
    with opened(settings.database.url) as engine, Session(engine) as session:
        untried = [n for n in session.exec(select(Notice)) if n.state == PENDING]
    assert len(untried) == 9
    assert all(n.attempts == 0 and n.last_error.startswith("not tried: ") for n in untried)  # type: ignore[union-attr]


class CrashAfterSend:
    """Delivers the first message, then dies before solwatch can record it."""

    def __init__(self, inner: SmtpMailer) -> None:
        self.inner = inner
        self.crashed = False

    def send(self, message: bytes, *, sender: str, recipient: str, name: str) -> None:
        self.inner.send(message, sender=sender, recipient=recipient, name=name)
        if not self.crashed:
            self.crashed = True
            raise SystemExit("killed between send and record")


def test_a_crash_after_sending_repeats_at_most_one_digest(
    store: Cli, inbox: tuple[Inbox, int]
) -> None:
    """The digest in flight is sent again by a later run; none is lost, one at worst repeats."""
    handler, port = inbox
    settings = configure(store, port)
    clock = Clock(START)
    with pytest.raises(SystemExit):
        daily(settings, clock, CrashAfterSend(SmtpMailer(settings.mail)))
    assert list(notices(settings).values()).count(SENDING) == 1
    clock.now = START + timedelta(minutes=1)
    assert daily(settings, clock).sent == 9  # the claimed one is not yet stale
    clock.now = START + timedelta(minutes=20)
    assert daily(settings, clock).sent == 1
    assert sorted(deliveries(handler).values()) == [1] * 9 + [2]
    assert set(notices(settings).values()) == {SENT}


def test_two_runs_at_once_send_each_digest_once(store: Cli, inbox: tuple[Inbox, int]) -> None:
    """Concurrent run-daily processes share the work; no address gets a digest twice."""
    handler, port = inbox
    settings = configure(store, port)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            daily(settings, Clock(START))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(deliveries(handler).values()) == [1] * 10
    assert set(notices(settings).values()) == {SENT}


def test_two_run_daily_processes_at_once_send_each_digest_once(
    cli: Cli, inbox: tuple[Inbox, int]
) -> None:
    """Two `run-daily` processes started together deliver every digest exactly once: the
    claims hold under each store's isolation, across processes; neither reports another's
    claim as anything but in flight."""
    handler, port = inbox
    cli("import", str(SMALL), "--as-of", "2026-11-24")
    configure(cli, port)
    runs = [cli.start("run-daily", "--as-of", "2026-11-24") for _ in range(2)]
    outcomes = [(*run.communicate(timeout=120), run.returncode) for run in runs]
    # The run that finishes first may see notices the other has claimed and not yet sent:
    # it says so and exits 3 (mail of the day is still owed at that moment); the last exits 0.
    assert 0 in [code for _, _, code in outcomes], outcomes
    for output, errors, code in outcomes:
        assert code in (0, 3), errors
        owed = [line for line in output.splitlines() if "next automatic attempt" in line]
        assert (code == 3) == bool(owed), output
        assert all("claimed by a run that has not finished" in line for line in owed), output
    assert "sent: 0; failed: 0" in cli("run-daily", "--as-of", "2026-11-24").output
    deliveries = Counter(
        (str(message["X-Solwatch-Audience"]), address)
        for rcpt, message in handler.messages
        for address in rcpt
    )
    assert cli.rows("select count(*) from notices") == [(8,)]
    assert len(deliveries) == 8
    assert set(deliveries.values()) == {1}
    assert cli.rows("select distinct state from notices") == [("sent",)]


def test_the_demo_data_reaches_every_center_and_office(
    tmp_path: Path, database_url: str, inbox: tuple[Inbox, int]
) -> None:
    """On the demo extract every Center and every configured FP&F office gets its digest."""
    from solwatch.core.centers import CENTERS, center_label
    from solwatch.demo import PORTS

    handler, port = inbox
    cli = Cli(tmp_path, database_url)
    offices = {code: f"FP&F {code}" for code in PORTS}
    database = f'[database]\nurl = "{database_url}"\n'
    routes = "".join(
        f'[routing.ports."{code}"]\noffice = "{name}"\nto = ["fpf{code}@example.gov"]\n'
        for code, name in offices.items()
    )
    cli.config.write_text(database + f'[mail]\noutbox_dir = "{tmp_path / "outbox"}"\n' + routes)
    cli("demo", "--dir", str(tmp_path / "sample"), "--as-of", TODAY.isoformat())
    cli.config.write_text(
        database + f'[mail]\ntransport = "smtp"\n[mail.smtp]\n'
        f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\n' + routes
    )
    # The demo sent its digests to the outbox; a week later (expired cases repeat weekly)
    # every audience has news again, and it goes through the SMTP server.
    result = cli("run-daily", "--as-of", (TODAY + timedelta(days=7)).isoformat())
    assert "failed: 0" in result.output
    audiences = {str(message["X-Solwatch-Audience"]) for _, message in handler.messages}
    assert {center_label(code) for code in CENTERS} <= audiences
    assert set(offices.values()) <= audiences


def test_digests_carry_the_next_90_days_as_a_calendar(store: Cli, inbox: tuple[Inbox, int]) -> None:
    """A digest with limits in the next 90 days attaches them as .ics; others attach nothing."""
    from icalendar import Calendar

    handler, port = inbox
    configure(store, port)
    store("run-daily", "--as-of", TODAY.isoformat())
    [digest] = handler.to("cee7@example.gov")
    [attachment] = list(digest.iter_attachments())
    assert attachment.get_filename() == "deadlines-2026-11-24.ics"
    assert attachment.get_content_type() == "text/calendar"
    calendar = Calendar.from_ical(attachment.get_payload(decode=True))
    events = {str(e["uid"]): e["dtstart"].dt for e in calendar.walk("VEVENT")}
    assert events == {"C-6-limit@solwatch": date(2026, 11, 30)}
    [pharma] = handler.to("CEE-Pharmaceuticals@cbp.dhs.gov")
    assert list(pharma.iter_attachments()) == []
