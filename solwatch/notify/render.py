"""Rendering digests from the jinja2 templates (pure: values in, text out)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from solwatch.notify.digests import Digest

# The top-level templates/ of a checkout (editable installs), else the copy a wheel installs
# inside the package.
_CHECKOUT = Path(__file__).resolve().parents[2] / "templates"
TEMPLATES = _CHECKOUT if _CHECKOUT.is_dir() else Path(__file__).resolve().parents[1] / "templates"
SECTION_COLORS = {
    "expired": "#f4c7c3",
    "expired-stale": "#fde3c8",
    "due-soon": "#fce8b2",
    "due-later": "#e8f0fe",
    "data": "#e6e6e6",
    "counsel": "#d9d2e9",
    "prompts": "#d9ead3",
    "fallback": "#f3f3f3",
}


def _dollars(cents: int) -> str:
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole:,}.{part:02d}"


def _days(days: int) -> str:
    if days < 0:
        return f"{-days} day(s) past the limit"
    return f"{days} day(s) left"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def template_env(folder: Path = TEMPLATES) -> Environment:
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(dollars=_dollars, days=_days, oneline=_one_line)
    return env


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Mailing:
    """A rendered message for one audience on one day, before it is recorded: one notice per
    (address, role), carrying the (case number, reason) items; `carried` counts what it holds.
    With `supersede` it carries the news of the audience's older unsent notices."""

    rendered: Rendered
    day: date
    audience: str
    audience_name: str
    addresses: tuple[tuple[str, str], ...]
    id_prefix: str
    attachments: tuple[tuple[str, bytes, str], ...]
    carried: dict[str, int]
    items: tuple[tuple[str, str], ...] = ()
    supersede: bool = False


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def render_digest(digest: Digest, env: Environment) -> Rendered:
    """Subject, plain text and HTML of a digest; HTML is autoescaped, the subject one line."""
    context = {
        "digest": digest,
        "new_count": len(digest.new_reasons),
        "colors": SECTION_COLORS,
    }
    subject = _one_line(env.get_template("digest-subject.txt").render(context))
    context["subject"] = subject
    return Rendered(
        subject,
        env.get_template("digest-body.txt").render(context),
        env.get_template("digest-body.html").render(context),
    )


def build_message(
    rendered: Rendered,
    *,
    sender: str,
    to: str,
    audience: str,
    message_id: str,
    when: datetime,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> bytes:
    """A multipart/alternative message (text, then HTML), serialized for the ledger.

    Header values are set through the email package, which refuses line breaks, so nothing
    from a case can add a header.
    """
    message = EmailMessage(policy=SMTP)
    message["Subject"] = rendered.subject
    message["From"] = Address(addr_spec=sender)
    message["To"] = Address(addr_spec=to)
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id
    message["X-Solwatch-Audience"] = _one_line(audience)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    if attachments:
        message.make_mixed()
        for filename, data, content_type in attachments:
            maintype, subtype = content_type.split("/")
            params = {"charset": "utf-8"} if maintype == "text" else {}
            message.add_attachment(
                data, maintype=maintype, subtype=subtype, filename=filename, params=params
            )
    return message.as_bytes()


def render_cear(context: Mapping[str, Any], env: Environment) -> Rendered:
    """Subject, text and HTML of a Center's monthly CEAR message."""
    subject = _one_line(env.get_template("cear-subject.txt").render(context))
    full = {**context, "subject": subject}
    return Rendered(
        subject,
        env.get_template("cear-body.txt").render(full),
        env.get_template("cear-body.html").render(full),
    )
