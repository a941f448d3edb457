"""The mail templates: packaged with solwatch, any of them overridden by `[mail] templates_dir`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from solwatch.config import ConfigError, parse_settings
from solwatch.notify.digests import Audience, Digest
from solwatch.notify.render import (
    TEMPLATE_NAMES,
    TemplateProblem,
    render_digest,
    template_env,
)
from tests.conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "data" / "small"
DIGEST = Digest(
    Audience("center", "CEE007", "CEE007 Electronics", ("cee7@example.gov",)),
    date(2026, 11, 24),
    sections=(),
    cc=(),
    new_reasons=(("C-1", "blank-sol"),),
    case_count=1,
)


def test_every_template_is_packaged_from_the_top_level_folder() -> None:
    """The packaged templates are the files of templates/, one for each message part."""
    env = template_env()
    for name in TEMPLATE_NAMES:
        source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        assert source == (ROOT / "templates" / name).read_text(encoding="utf-8")


def test_an_override_replaces_one_template_and_the_rest_stay(tmp_path: Path) -> None:
    """A subject of the agency's own; the bodies still come from the packaged templates."""
    (tmp_path / "digest-subject.txt").write_text("[SOL] {{ digest.audience.name }}\n")
    rendered = render_digest(DIGEST, template_env(tmp_path))
    assert rendered.subject == "[SOL] CEE007 Electronics"
    assert rendered.text == render_digest(DIGEST, template_env()).text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "{{ digest.audience.name ", "digest-subject.txt: line 1: unexpected end", id="syntax"
        ),
        pytest.param(
            "{{ nobody }}", "digest-subject.txt: 'nobody' is undefined", id="unknown-name"
        ),
    ],
)
def test_a_broken_override_names_its_file(tmp_path: Path, text: str, message: str) -> None:
    """A template that does not compile or names a missing value is reported by file."""
    (tmp_path / "digest-subject.txt").write_text(text)
    with pytest.raises(TemplateProblem, match=message):
        render_digest(DIGEST, template_env(tmp_path))


def test_templates_dir_must_be_a_folder(tmp_path: Path) -> None:
    """A templates_dir that does not exist stops the program naming the key."""
    with pytest.raises(ConfigError, match=r"mail\.templates_dir: .*not a folder"):
        parse_settings({"mail": {"templates_dir": str(tmp_path / "missing")}})


def test_run_daily_stops_on_a_broken_override_before_recording(tmp_path: Path) -> None:
    """A broken template exits 2 naming it, and no notice is recorded."""
    cli = Cli(tmp_path)
    overrides = tmp_path / "mine"
    overrides.mkdir()
    (overrides / "digest-body.html").write_text("{% if %}")
    cli.config.write_text(
        cli.config.read_text()
        + f'[mail]\noutbox_dir = "{tmp_path / "outbox"}"\ntemplates_dir = "{overrides}"\n'
    )
    cli("init")
    cli("import", str(SMALL), "--as-of", "2026-11-24")
    result = cli("run-daily", "--as-of", "2026-11-24", code=2)
    assert "digest-body.html: line 1:" in result.stderr
    assert not (tmp_path / "outbox").exists()
    (overrides / "digest-body.html").unlink()
    again = cli("run-daily", "--as-of", "2026-11-24").output
    assert "already recorded" not in again
    assert "failed: 0" in again
    assert list((tmp_path / "outbox").glob("*.eml"))
