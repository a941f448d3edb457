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

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    select_autoescape,
)

from solwatch.notify.digests import Digest

# The templates installed with solwatch: the package solwatch.templates, which is the
# top-level templates/ folder of the source (mapped in pyproject.toml), in a wheel as in an
# editable checkout.
PACKAGED = "solwatch.templates"
TEMPLATE_NAMES = (
    *(
        f"{message}-{part}"
        for message in ("digest", "cear", "fpf")
        for part in ("subject.txt", "body.txt", "body.html")
    ),
    # Included by both monthly bodies:
    "monthly-counts.txt",
    "monthly-counts.html",
    "monthly-chart.txt",
    "monthly-chart.html",
)
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


class TemplateProblem(Exception):
    """A template that cannot be compiled or rendered; the text names the file and line."""


def template_env(folder: Path | None = None) -> Environment:
    """The mail templates: those in `folder` (`[mail] templates_dir`) first, the packaged
    ones for the rest. Every message template is compiled here, so a broken override stops the
    job before it records anything."""
    packaged = PackageLoader(PACKAGED, ".")
    loader: BaseLoader = (
        packaged if folder is None else ChoiceLoader([FileSystemLoader(folder), packaged])
    )
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(dollars=_dollars, days=_days, oneline=_one_line)
    for name in TEMPLATE_NAMES:
        try:
            env.get_template(name)
        except TemplateSyntaxError as error:
            raise TemplateProblem(
                f"{error.filename or name}: line {error.lineno}: {error.message}"
            ) from None
    return env


def _render(env: Environment, name: str, context: Mapping[str, Any]) -> str:
    """One template rendered; a failure (an override naming a value that does not exist)
    names the template's file."""
    template = env.get_template(name)
    try:
        return template.render(context)
    except TemplateError as error:
        raise TemplateProblem(f"{template.filename or name}: {error}") from None


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Mailing:
    """A rendered message of a job (`daily`, `monthly`) for one audience on one day, before it
    is recorded: one notice per (address, role), carrying the (case number, reason) items that
    are news, and listing others; `carried` counts what it holds. With `supersede` it carries
    the news of the audience's older unsent notices."""

    rendered: Rendered
    job: str
    day: date
    audience: str
    audience_name: str
    addresses: tuple[tuple[str, str], ...]
    id_prefix: str
    attachments: tuple[tuple[str, bytes, str], ...]
    carried: dict[str, int]
    items: tuple[tuple[str, str], ...] = ()
    listed: tuple[tuple[str, str], ...] = ()
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
    return _render_three(env, "digest", context)


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


def render_monthly(message: str, context: Mapping[str, Any], env: Environment) -> Rendered:
    """Subject, text and HTML of a monthly message: a Center's CEAR package (`cear`) or an
    FP&F office's SOL report (`fpf`)."""
    return _render_three(env, message, context)


def _render_three(env: Environment, message: str, context: Mapping[str, Any]) -> Rendered:
    """A message's subject (one line), then its text and HTML bodies, which may show it."""
    subject = _one_line(_render(env, f"{message}-subject.txt", context))
    full = {**context, "subject": subject}
    return Rendered(
        subject,
        _render(env, f"{message}-body.txt", full),
        _render(env, f"{message}-body.html", full),
    )
