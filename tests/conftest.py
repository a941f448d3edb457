"""Shared fixtures: the store on each backend (a real SQLite file, a real PostgreSQL database)
in a temporary folder, and the CLI's entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from solwatch.cli import main
from solwatch.store.cases import make_engine
from tests.postgres_server import ExternalServer, PostgresServer, create_database, drop_database

AS_OF = date(2026, 11, 24)
BACKENDS = ("sqlite", "postgresql")
# The installed command, for tests that run solwatch as its own process.
SOLWATCH = str(Path(sys.executable).parent / "solwatch")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own folder, with no ambient configuration."""
    monkeypatch.chdir(tmp_path)
    for name in ("SOLWATCH_CONFIG", "SOLWATCH_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | ExternalServer]:
    """One PostgreSQL server for the whole run: the embedded one, or SOLWATCH_TEST_POSTGRES_URL."""
    external = os.environ.get("SOLWATCH_TEST_POSTGRES_URL")
    server = ExternalServer(external) if external else PostgresServer()
    yield server
    server.cleanup()


def fresh_database_url(backend: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty store on `backend`: a SQLite file in `folder`, or a PostgreSQL database
    created for this test and dropped after it."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'cases.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"solwatch_{uuid.uuid4().hex[:16]}"
    create_database(server, name)
    yield server.url(name)
    drop_database(server, name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store a test runs on; every test that touches the store runs on both."""
    name: str = request.param
    return name


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty store on the test's backend."""
    yield from fresh_database_url(backend, tmp_path, request)


def plain(value: Any) -> Any:
    """A stored value as both stores compare: dates as ISO text, booleans as 0/1."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


@contextmanager
def opened(url: str) -> Iterator[Engine]:
    """An engine on the store at `url`, disposed after use (no connection is left open)."""
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


class Cli:
    """Runs `solwatch` commands against one store."""

    def __init__(self, folder: Path, url: str | None = None) -> None:
        self.folder = folder
        self.url = url or f"sqlite:///{folder / 'cases.db'}"
        self.config = folder / "solwatch.toml"
        self.config.write_text(
            f'[database]\nurl = "{self.url}"\n'
            '[routing.ports."2704"]\noffice = "Los Angeles FP&F"\n'
            'to = ["fpf-la@example.gov"]\n'
        )

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(
            main, ["--config", str(self.config), *args], catch_exceptions=False
        )
        assert result.exit_code == code, (result.output, result.stderr)
        return result

    def start(self, *args: str) -> subprocess.Popen[str]:
        """The installed command on this store, as a process of its own, its output piped."""
        return subprocess.Popen(
            [SOLWATCH, "--config", str(self.config), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of a query on the store, values made comparable across backends."""
        with opened(self.url) as engine, engine.connect() as connection:
            return [tuple(map(plain, row)) for row in connection.execute(text(sql))]


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    runner = Cli(tmp_path, database_url)
    runner("init")
    return runner


def write(path: Path, text: str) -> Path:
    """Write a CSV fixture, dedenting it and dropping the leading newline."""
    import textwrap

    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the PostgreSQL store use a real server: mark them so `-m` can pick them."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgresql":
            item.add_marker(pytest.mark.integration)


if os.environ.get("CI"):
    from hypothesis import settings

    settings.register_profile("ci", deadline=None)
    settings.load_profile("ci")
