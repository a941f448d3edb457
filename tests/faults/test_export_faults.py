"""Where exports write, and what they write when the store holds hostile text or is damaged:
only regular files (or standard output), whole or not at all, never a crash on a cell."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from solwatch.demo import write_sample
from tests.conftest import Cli

SMALL = Path(__file__).parent.parent / "data" / "small"
AS_OF = ("--as-of", "2026-11-24")
EXPORTS = {
    "cases": ("export", "cases", *AS_OF),
    "ics": ("export", "ics", *AS_OF),
}


@pytest.fixture
def small(cli: Cli) -> Cli:
    cli("import", str(SMALL), *AS_OF)
    return cli


def _special(path: Path, kind: str) -> None:
    if kind == "character-device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # a twin of /dev/null
    else:
        os.mkfifo(path)


@pytest.mark.parametrize("export", sorted(EXPORTS))
@pytest.mark.parametrize(
    ("kind", "described"),
    [("character-device", "a character device"), ("fifo", "a named pipe")],
)
def test_out_never_replaces_a_device_or_a_pipe(
    small: Cli, tmp_path: Path, export: str, kind: str, described: str
) -> None:
    """`--out` naming a device node or a named pipe is refused in one line and the node is
    left as it was (as root, it used to become a regular file)."""
    target = tmp_path / "x"
    _special(target, kind)
    before = target.lstat()
    result = small(*EXPORTS[export], "--out", str(target), code=2)
    assert result.stderr.splitlines() == [
        f"solwatch: --out {target}: {described}, not a regular file; solwatch writes files"
    ]
    after = target.lstat()
    assert (after.st_mode, after.st_ino, after.st_rdev) == (
        before.st_mode,
        before.st_ino,
        before.st_rdev,
    )


@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_out_dash_is_standard_output(small: Cli, tmp_path: Path, export: str) -> None:
    """`--out -` writes to standard output, not to a file named `-`."""
    result = small(*EXPORTS[export], "--out", "-")
    assert result.output.startswith(("\ufeffcase_number,", "case_number,", "BEGIN:VCALENDAR"))
    assert not (tmp_path / "-").exists()


MISSING = [
    pytest.param(("export", "cases", *AS_OF, "--out"), "cases.csv", id="cases"),
    pytest.param(("export", "ics", *AS_OF, "--out"), "limits.ics", id="ics"),
    pytest.param(("export", "cear", "--month", "2026-11", *AS_OF, "--out"), "cear", id="cear"),
]


@pytest.mark.parametrize(("command", "name"), MISSING)
def test_a_missing_folder_is_the_same_one_line_for_every_export(
    small: Cli, tmp_path: Path, command: tuple[str, ...], name: str
) -> None:
    """Every export names a missing folder the same way, in one line, exit 2, and writes
    nothing; the output itself (a file, or cear's folder) is created in a folder that exists."""
    missing = tmp_path / "no-such-folder"
    result = small(*command, str(missing / name), code=2)
    assert result.stderr.splitlines() == [
        f"solwatch: --out {missing / name}: there is no folder {missing}"
    ]
    assert not missing.exists()
    small(*command, str(tmp_path / name))
    assert (tmp_path / name).exists()


# Written into the SQLite file directly, as a store filled before imports refused control
# characters may hold them (PostgreSQL cannot hold a NUL in text at all).
ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def hostile(small: Cli, tmp_path: Path) -> Cli:
    """A store holding control characters in its text, as one filled before imports refused
    them may: an ESC in an importer name, a NUL and a line break in a case number."""
    with sqlite3.connect(tmp_path / "cases.db") as connection:
        connection.execute(
            "UPDATE cases SET importer_name = ? WHERE case_number = 'C-5'", ("Bad\x1bName",)
        )
        connection.execute(
            "UPDATE cases SET case_number = ? WHERE case_number = 'C-4'", ("C-4\x00\nX",)
        )
    return small


def _partials(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(".partial")]


@ON_SQLITE
def test_the_workbooks_never_crash_on_control_characters_in_the_store(
    hostile: Cli, tmp_path: Path
) -> None:
    """`export cear --xlsx` writes every workbook, showing each control character as U+FFFD,
    and leaves no `.partial` (openpyxl used to raise IllegalCharacterError)."""
    out = tmp_path / "cear"
    hostile("export", "cear", "--month", "2026-11", *AS_OF, "--xlsx", "--out", str(out))
    sheet = load_workbook(out / "cear-2026-11-CEE004.xlsx").active
    assert sheet is not None
    names = [row[8] for row in sheet.iter_rows(values_only=True)]
    assert "Bad\ufffdName" in names
    numbers = [
        row[0]
        for row in load_workbook(out / "cear-2026-11-unassigned.xlsx").active.iter_rows(
            values_only=True
        )
    ]  # type: ignore[union-attr]
    assert "C-4\ufffd\nX" in numbers
    assert _partials(tmp_path) == []


@ON_SQLITE
def test_the_monthly_package_goes_out_despite_control_characters(
    hostile: Cli, tmp_path: Path
) -> None:
    """`run-monthly` writes its files and records and sends every Center's mail (a single ESC
    used to block the package for every Center, at every restart)."""
    result = hostile("run-monthly", "--month", "2026-11", *AS_OF)
    assert "failed: 0" in result.output
    with sqlite3.connect(tmp_path / "cases.db") as connection:
        sent = connection.execute("select count(*) from notices where state = 'sent'").fetchone()
    assert sent[0] >= 4
    assert _partials(tmp_path) == []


@ON_SQLITE
def test_csv_exports_keep_the_text_as_stored(hostile: Cli, tmp_path: Path) -> None:
    """`export cases` writes the stored text as it is, quoted where it must be."""
    out = tmp_path / "cases.csv"
    hostile("export", "cases", *AS_OF, "--out", str(out))
    text = out.read_text(encoding="utf-8-sig")
    assert "Bad\x1bName" in text
    assert '"C-4\x00\nX"' in text


def _damaged_store(cli: Cli, tmp_path: Path) -> Path:
    """A store of 3,000 cases with three of its `cases` leaf pages overwritten mid-file."""
    write_sample(tmp_path / "sample", today=date(2026, 11, 24), count=3000)
    cli("import", str(tmp_path / "sample"), *AS_OF)
    db = tmp_path / "cases.db"
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = connection.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            number
            for (number,) in connection.execute(
                "SELECT pageno FROM dbstat WHERE name = 'cases' AND pagetype = 'leaf' "
                "ORDER BY pageno"
            )
        ]
    connection.close()
    with db.open("r+b") as handle:
        for number in pages[len(pages) // 2 : len(pages) // 2 + 3]:
            handle.seek((number - 1) * size + 8)
            handle.write(b"\xff" * 200)
    return db


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # damaged pages of its file
def test_export_cases_from_damaged_pages_is_one_line_and_leaves_no_partial(
    cli: Cli, tmp_path: Path
) -> None:
    """Damaged pages met halfway through `export cases --out` end it in one line, exit 2,
    with neither the file nor a `.partial` left behind."""
    db = _damaged_store(cli, tmp_path)
    out = tmp_path / "out" / "cases.csv"
    out.parent.mkdir()
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "solwatch"),
            "--config",
            str(cli.config),
            "export",
            "cases",
            *AS_OF,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"solwatch: cannot use the SQLite database {db}: the store's file is damaged; "
        f"restore it from a backup (database disk image is malformed)"
    ]
    assert list(out.parent.iterdir()) == []
