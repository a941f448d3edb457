"""Sending: the only mail I/O. A `Mailer` delivers one serialized message to one address."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Protocol

import aiosmtplib

from solwatch.config import MailSettings
from solwatch.reports.exports import OutputError, write_bytes_file


class MailError(Exception):
    """A message that was not delivered; the text says why (and goes into the ledger)."""


class TransportFailure(MailError):
    """The way out itself failed, not one message: the server refused the connection, timed
    out, hung up or refused the login, or the outbox folder cannot be written. Every other
    message of the run would fail the same way, so the run stops trying."""


class Mailer(Protocol):
    def send(self, message: bytes, *, sender: str, recipient: str, name: str) -> None:
        """Deliver `message` to `recipient`, or raise MailError."""


class FileMailer:
    """Writes each message as an .eml file: the embedded default and the demo."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: bytes, *, sender: str, recipient: str, name: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9@._-]+", "_", f"{name}-{recipient}")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_bytes_file(self.folder / f"{safe}.eml", message)
        except (OSError, OutputError) as error:  # a full or read-only outbox: not delivered
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise TransportFailure(f"cannot write to the outbox {self.folder}: {reason}") from None


class SmtpMailer:
    """Sends through an SMTP server with aiosmtplib, with a timeout on every send."""

    def __init__(self, settings: MailSettings) -> None:
        self.smtp = settings.smtp
        self.password = settings.smtp.password()

    def send(self, message: bytes, *, sender: str, recipient: str, name: str) -> None:
        asyncio.run(self._send(message, sender, recipient))

    async def _send(self, message: bytes, sender: str, recipient: str) -> None:
        smtp = self.smtp
        where = f"{smtp.host}:{smtp.port}"
        try:
            refused, _ = await aiosmtplib.send(
                message,
                sender=sender,
                recipients=[recipient],
                hostname=smtp.host,
                port=smtp.port,
                use_tls=smtp.security == "tls",
                start_tls=smtp.security == "starttls",
                username=smtp.username,
                password=self.password,
                timeout=smtp.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            raise MailError(
                "refused: "
                + "; ".join(f"{refusal.code} {refusal.message}" for refusal in error.recipients)
            ) from None
        except aiosmtplib.SMTPAuthenticationError as error:
            raise TransportFailure(
                self._masked(f"{where} refused the login: {error.code} {error.message}")
            ) from None
        except aiosmtplib.SMTPResponseException as error:
            # 421: the server is closing the connection; it will not take the next one either.
            failure = TransportFailure if error.code == 421 else MailError
            raise failure(self._masked(f"{type(error).__name__}: {error}")) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            # Connecting, timing out, a dropped connection, TLS: the server, not the message.
            raise TransportFailure(self._masked(f"cannot reach {where}: {error}")) from None
        if refused:
            raise MailError(
                "refused: "
                + "; ".join(
                    f"{address}: {code} {text}" for address, (code, text) in refused.items()
                )
            )

    def _masked(self, text: str) -> str:
        """A server may echo what it was sent; the password never goes into the ledger."""
        return text.replace(self.password, "***") if self.password else text


def make_mailer(settings: MailSettings) -> Mailer:
    if settings.transport == "smtp":
        return SmtpMailer(settings)
    return FileMailer(settings.outbox_dir)
