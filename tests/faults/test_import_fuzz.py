"""`import --dry-run` on anything: arbitrary bytes, and arbitrary CSV built from the real
headers. The outcome is always exit 0 or 2 with FILE:LINE messages, never a traceback, and the
store is left exactly as it was."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solwatch.cli import main
from solwatch.store.extract import COLUMNS, KINDS
from tests.conftest import Cli

SMALL = Path(__file__).parent.parent / "data" / "small"
AS_OF = ("--as-of", "2026-11-24")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Cells that reach every parser's edges: dates, amounts, codes, and the text between.
CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "C-1",
            "C-2",
            "OPEN",
            "CLOSED",
            "penalty",
            "fraud",
            "1592",
            "7",
            "CEE011",
            "2704",
            "2021-02-30",
            "2021-01-05",
            "9999-12-31",
            "01/15/2019",
            "$1,250,000.50",
            "1e309",
            "99999999999999999999999",
            "-5",
            "2",
            "true",
            "E-100",
            "=HYPERLINK()",
            "\x1b",
            "\x00",
            "a\r\nb",
            '"',
        ]
    ),
)


@st.composite
def extracts(draw: st.DrawFn) -> tuple[str, bytes]:
    """An extract file of some kind: its real header's columns in any order and spelling
    (some left out, some unknown or doubled), then rows of any width of arbitrary cells."""
    kind = draw(st.sampled_from(KINDS))
    names = draw(st.permutations(COLUMNS[kind]))
    names = names[: draw(st.integers(min_value=1, max_value=len(names)))]
    names = [
        draw(st.sampled_from([name, name.upper(), name.replace("_", " "), name[:-1]]))
        for name in names
    ]
    names += draw(st.lists(st.sampled_from(["notes", "case_number", "reason", ""]), max_size=2))
    rows = draw(
        st.lists(
            st.lists(CELLS, min_size=max(len(names) - 2, 0), max_size=len(names) + 1),
            max_size=6,
        )
    )
    text = io.StringIO()
    csv.writer(text, lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"]))).writerows(
        [names, *rows]
    )
    encoded = text.getvalue().encode()
    if draw(st.booleans()):
        encoded = b"\xef\xbb\xbf" + encoded
    return kind, encoded


def _snapshot(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        dump = "\n".join(connection.iterdump())
    connection.close()
    return hashlib.sha256(dump.encode()).hexdigest()


def _check(path: Path, code: int, stderr: str) -> None:
    assert code in (0, 2), stderr
    assert "Traceback" not in stderr
    located = re.compile(re.escape(str(path)) + r":\d+: ")
    for line in stderr.splitlines():
        assert located.match(line) or re.fullmatch(
            r"solwatch: nothing was imported \(.*\)", line
        ), line


@pytest.fixture
def store(cli: Cli) -> Cli:
    cli("import", str(SMALL), *AS_OF)
    return cli


def _dry_run(store: Cli, path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["--config", str(store.config), "import", str(path), "--dry-run", *AS_OF]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


# Any bytes, with the fragments extracts are made of mixed in often enough to matter.
BYTES = st.lists(
    st.one_of(
        st.binary(max_size=24),
        st.sampled_from(
            [
                b"\r",
                b"\n",
                b"\r\n",
                b",",
                b'"',
                b"\x00",
                b"\xff",
                b"\xef\xbb\xbf",
                b"case_number",
                b"status",
                b"OPEN",
                b"C-1",
                b"1e309",
                b"2021-02-30",
                b"9999-12-31",
                b"\x1b",
            ]
        ),
    ),
    max_size=40,
).map(b"".join)


@FUZZ
@given(data=BYTES)
def test_arbitrary_bytes_are_refused_or_accepted_never_crash(
    store: Cli, tmp_path: Path, data: bytes
) -> None:
    """Any bytes at all, as a cases file: exit 0 or 2, FILE:LINE messages, store unchanged."""
    db = tmp_path / "cases.db"
    before = _snapshot(db)
    path = tmp_path / "cases.csv"
    path.write_bytes(b"case_number,status,violation_date,assessed_amount\n" + data)
    _check(path, *_dry_run(store, path))
    path.write_bytes(data)
    _check(path, *_dry_run(store, path))
    assert _snapshot(db) == before


@FUZZ
@given(extract=extracts())
def test_arbitrary_csv_from_the_real_headers_never_crashes(
    store: Cli, tmp_path: Path, extract: tuple[str, bytes]
) -> None:
    """Arbitrary rows under the real headers, of every extract kind: exit 0 or 2, FILE:LINE
    messages, store unchanged."""
    db = tmp_path / "cases.db"
    before = _snapshot(db)
    kind, data = extract
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(data)
    _check(path, *_dry_run(store, path))
    assert _snapshot(db) == before


@pytest.mark.integration
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(extract=extracts())
def test_the_installed_command_holds_up_too(
    store: Cli, tmp_path: Path, extract: tuple[str, bytes]
) -> None:
    """A few of the same through the real console script, as a separate process."""
    db = tmp_path / "cases.db"
    before = _snapshot(db)
    kind, data = extract
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(data)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "solwatch"),
            "--config",
            str(store.config),
            "import",
            str(path),
            "--dry-run",
            *AS_OF,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    _check(path, result.returncode, result.stderr)
    assert _snapshot(db) == before
