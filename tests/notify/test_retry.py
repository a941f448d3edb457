"""A run started by hand: it retries every undelivered notice at once, names what is still
undelivered with the next automatic attempt, and exits 3 while any notice of its day is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from solwatch.notify.ledger import SENDING, SENT
from solwatch.notify.mailer import SmtpMailer
from tests.conftest import Cli
from tests.notify.test_mail import (  # noqa: F401  (the store fixture)
    TODAY,
    CrashAfterSend,
    Inbox,
    configure,
    daily,
    deliveries,
    free_port,
    notices,
    store,
)
from tests.notify.test_monthly import monthly_store

pytestmark = pytest.mark.integration
AS_OF = ("--as-of", TODAY.isoformat())


class Server:
    """A real SMTP server on a fixed port of 127.0.0.1 that can be taken down and brought
    back."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def up(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server() -> Iterator[Server]:
    smtp = Server()
    smtp.up()
    yield smtp
    smtp.down()


def test_a_manual_run_retries_at_once_once_the_server_is_back(store: Cli, server: Server) -> None:  # noqa: F811
    """Server down: exit 3, every notice named with its next automatic attempt. Server back:
    the next run-daily, a minute later, sends all ten at once and exits 0; a third sends
    nothing and exits 0."""
    configure(store, server.port)
    server.down()
    failed = store("run-daily", *AS_OF, code=3).output
    assert "sent: 0; failed: 1" in failed
    assert "still undelivered (2026-11-24): 10" in failed
    owed = [line for line in failed.splitlines() if "next automatic attempt" in line]
    assert len(owed) == 10
    assert any(
        "CEE-Pharmaceuticals@cbp.dhs.gov (CEE001): failed, 1 attempt: cannot reach" in line
        for line in owed
    )
    assert sum("pending, not tried after the transport failure;" in line for line in owed) == 9
    assert all(line.rstrip().endswith(("EST", "EDT")) for line in owed)
    server.up()
    retried = store("run-daily", *AS_OF).output
    assert "notices recorded: 0; sent: 10; failed: 0" in retried
    assert "still undelivered" not in retried
    assert sorted(deliveries(server.inbox).values()) == [1] * 10
    again = store("run-daily", *AS_OF).output
    assert "sent: 0; failed: 0" in again
    assert len(server.inbox.messages) == 10


def test_a_notice_left_sending_keeps_the_exit_code_at_3(store: Cli, server: Server) -> None:  # noqa: F811
    """A notice a crashed run left `sending` is named as undelivered and the run exits 3, until
    its claim goes stale and a run sends it."""
    settings = configure(store, server.port)
    with pytest.raises(SystemExit):
        daily(settings, lambda: datetime.now(UTC), CrashAfterSend(SmtpMailer(settings.mail)))  # type: ignore[arg-type]
    result = store("run-daily", *AS_OF, code=3).output
    assert "sent: 9; failed: 0" in result
    assert "still undelivered (2026-11-24): 1" in result
    assert "claimed by a run that has not finished (it may have stopped mid-send)" in result
    assert sorted(notices(settings).values()) == [SENDING] + [SENT] * 9


def test_run_monthly_retries_at_once_and_exits_3_while_owed(
    tmp_path: Path,
    database_url: str,
    server: Server,
) -> None:
    """The monthly package follows the same rule: down, exit 3 naming the five messages;
    back, the next run-monthly sends them at once."""
    cli = monthly_store(tmp_path, server.port, cear="xlsx = false\n", database_url=database_url)
    server.down()
    failed = cli("run-monthly", *AS_OF, code=3).output
    assert "still undelivered (2026-10): 5" in failed
    server.up()
    sent = cli("run-monthly", *AS_OF).output
    assert "messages recorded: 0; sent: 5; failed: 0" in sent
    assert len(server.inbox.messages) == 5


def test_an_outbox_that_cannot_be_written_stops_the_run_with_exit_3(
    tmp_path: Path, database_url: str
) -> None:
    """A file where the outbox folder should be: one failure, the rest left for the next
    attempt, exit 3, no traceback; with the folder back, the next run sends them all."""
    cli = Cli(tmp_path, database_url)
    outbox = tmp_path / "outbox"
    outbox.write_text("not a folder")
    cli.config.write_text(cli.config.read_text() + f'[mail]\noutbox_dir = "{outbox}"\n')
    cli("init")
    cli("import", str(Path(__file__).parent.parent / "data" / "small"), *AS_OF)
    failed = cli("run-daily", *AS_OF, code=3).output
    assert f"cannot write to the outbox {outbox}" in failed
    assert "5 other notices not tried, left for the next attempt" in failed
    assert "still undelivered (2026-11-24): 6" in failed
    outbox.unlink()
    assert "sent: 6; failed: 0" in cli("run-daily", *AS_OF).output
    assert len(list(outbox.glob("*.eml"))) == 6
