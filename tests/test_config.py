"""Configuration: the example file, defaults, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from solwatch.config import ConfigError, load_settings, parse_settings
from solwatch.core.facts import Status

ROOT = Path(__file__).resolve().parent.parent


def test_it_loads_the_example_configuration() -> None:
    """config.example.toml is valid and its values arrive typed."""
    settings = load_settings(ROOT / "config.example.toml", environ={})
    assert settings.routing.ports["2704"].office == "Los Angeles FP&F"
    assert settings.import_.status_map["REF-OCC"] is Status.REFERRED
    assert settings.mail.sender == "solwatch@localhost"
    assert settings.routing.centers["CEE001"].to == (
        "CEE-Pharmaceuticals@cbp.dhs.gov",
        "CEE-Chemicals@cbp.dhs.gov",
    )


def test_the_example_documents_every_key() -> None:
    """Every settings key appears in config.example.toml."""
    text = (ROOT / "config.example.toml").read_text()
    settings = parse_settings({})
    sections = {
        "database": settings.database,
        "mail": settings.mail,
        "mail.smtp": settings.mail.smtp,
        "schedule": settings.schedule,
        "alerts": settings.alerts,
        "routing": settings.routing,
    }
    for section, model in sections.items():
        assert f"[{section}]" in text
        for name, info in type(model).model_fields.items():
            key = info.alias or name
            if key in ("smtp", "centers", "ports"):
                continue
            assert f"{key} =" in text or f"# {key} =" in text, f"{section}.{key}"
    for table in (
        "[routing.centers.",
        "[routing.ports.",
        "[import.status_map]",
        "[import.columns]",
    ):
        assert table in text


def test_it_needs_no_file_at_all() -> None:
    """With no file, the embedded defaults apply: SQLite and mail to a folder."""
    settings = load_settings(None, environ={})
    assert settings.database.url == "sqlite:///solwatch.db"
    assert settings.mail.transport == "file"
    assert settings.alerts.ladder == (730, 365, 180, 90, 60, 30, 14, 7, 1)


def test_the_environment_overrides_the_database() -> None:
    """$SOLWATCH_DATABASE_URL wins over the file."""
    settings = load_settings(None, environ={"SOLWATCH_DATABASE_URL": "sqlite:///other.db"})
    assert settings.database.url == "sqlite:///other.db"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        pytest.param("[database]\nurll = 'x'\n", "database.urll: unknown key", id="unknown-key"),
        pytest.param("[alerts]\nladder = [30, -1]\n", "alerts.ladder", id="negative-rung"),
        pytest.param(
            "[alerts]\ncear_referral_days = 'ninety'\n",
            "alerts.cear_referral_days",
            id="not-a-number",
        ),
        pytest.param("[mail]\ntransport = 'pigeon'\n", "mail.transport", id="bad-transport"),
        pytest.param("[mail.smtp]\nsecurity = 'ssl'\n", "mail.smtp.security", id="bad-security"),
        pytest.param(
            "[schedule]\ntimezone = 'Mars/Olympus'\n", "schedule.timezone", id="bad-time-zone"
        ),
        pytest.param("[schedule]\ndaily_at = '25:00'\n", "schedule.daily_at", id="bad-time"),
        pytest.param("[routing]\nfallback = []\n", "routing.fallback", id="nobody-to-fall-back-to"),
        pytest.param(
            "[routing.centers.CEE011]\nto = ['a@b.gov']\n", "routing.centers", id="unknown-center"
        ),
        pytest.param("[routing.ports.\"27\"]\noffice = 'x'\n", "routing.ports", id="short-port"),
        pytest.param(
            "[routing]\nescalation = ['not-an-address']\n", "routing.escalation", id="bad-address"
        ),
        pytest.param(
            "[import.status_map]\nACTIVE = 'RUNNING'\n", "import.status_map.ACTIVE", id="bad-status"
        ),
        pytest.param(
            "[import.columns]\n'Case Nbr' = 'case_id'\n", "import.columns", id="unknown-column"
        ),
        pytest.param("[database\n", "not valid TOML", id="bad-toml"),
    ],
)
def test_it_stops_on_a_bad_value_naming_the_key(tmp_path: Path, toml: str, message: str) -> None:
    """A bad file is refused with the file and the key in the message."""
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(path, environ={})
    assert str(path) in str(caught.value)


def test_the_password_comes_only_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """password_env names a variable; a missing variable is an error naming it."""
    settings = parse_settings({"mail": {"smtp": {"password_env": "SW_TEST_PASSWORD"}}})
    monkeypatch.delenv("SW_TEST_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="SW_TEST_PASSWORD"):
        settings.mail.smtp.password()
    monkeypatch.setenv("SW_TEST_PASSWORD", "s3cret")
    assert settings.mail.smtp.password() == "s3cret"
