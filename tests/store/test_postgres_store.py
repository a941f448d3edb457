"""PostgreSQL as the store: URLs as operators write them, faults said in one line, the same
order as SQLite, streamed results, and no expected conflict logged as a server error."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlmodel import Session

from solwatch.store.cases import iter_records
from tests.conftest import AS_OF, SOLWATCH, Cli, fresh_database_url, opened
from tests.notify.test_mail import Inbox, inbox  # noqa: F401  (the SMTP server)
from tests.postgres_server import PASSWORD, PostgresServer, create_database, drop_database

SMALL = Path(__file__).parent.parent / "data" / "small"
pytestmark = pytest.mark.integration


@pytest.fixture
def server(postgres_server: object) -> PostgresServer:
    if not isinstance(postgres_server, PostgresServer):
        pytest.skip("needs the embedded server (its socket, port and log)")
    return postgres_server


@pytest.fixture
def pg_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty PostgreSQL store."""
    yield from fresh_database_url("postgresql", tmp_path, request)


def _database(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?")[0]


def test_a_socket_url_works_for_every_command(tmp_path: Path, server: PostgresServer) -> None:
    """`?host=%2F...` (a percent-encoded socket folder) reaches the server for every command."""
    name = "socket_store"
    create_database(server, name)
    try:
        cli = Cli(tmp_path, server.socket_url(name))
        assert "%2F" in cli.url
        assert "Database ready" in cli("init").output
        cli("import", str(SMALL), "--as-of", "2026-11-24")
        assert json.loads(cli("show", "C-1", "--as-of", "2026-11-24", "--format", "json").output)
        cases = json.loads(cli("at-risk", "--as-of", "2026-11-24", "--format", "json").output)
        assert [case["case_number"] for case in cases][:1] == ["C-4"]
        assert json.loads(cli("stats", "--as-of", "2026-11-24", "--format", "json").output)
        assert cli("export", "cases", "--as-of", "2026-11-24").output.count("\n") == 6
        assert "failed: 0" in cli("run-daily", "--as-of", "2026-11-24").output
    finally:
        drop_database(server, name)


def test_the_password_is_never_printed(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password with `%`, `@`, `:` and `/`, given in $SOLWATCH_DATABASE_URL, opens the store and
    is masked wherever the URL is shown."""
    monkeypatch.setenv("SOLWATCH_DATABASE_URL", pg_url)
    assert quote(PASSWORD, safe="") in pg_url
    cli = Cli(tmp_path, "sqlite:///ignored.db")
    output = cli("init").output + cli("demo", "--dir", str(tmp_path / "sample")).output
    assert "postgres:***@127.0.0.1" in output
    assert PASSWORD not in output
    assert quote(PASSWORD, safe="") not in output
    assert not (tmp_path / "ignored.db").exists()


def _fault_url(kind: str, server: PostgresServer, free_port: int) -> str:
    if kind == "server-down":
        return f"postgresql://postgres:{quote(PASSWORD, safe='')}@127.0.0.1:{free_port}/solwatch"
    if kind == "wrong-password":
        return server.url("postgres", password="not%40the:password")
    return server.url("no_such_store")


FAULTS = ["server-down", "wrong-password", "unknown-database"]
COMMANDS = [
    ("init",),
    ("import", str(SMALL)),
    ("show", "C-1"),
    ("at-risk",),
    ("stats", "--format", "json"),
    ("export", "cases"),
    ("export", "cear", "--month", "2026-10"),
    ("run-daily",),
    ("run-monthly",),
    ("acks",),
    ("recompute",),
    ("serve",),
]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(
    "command", COMMANDS, ids=lambda c: "-".join(c[:2]).removesuffix("-" + str(SMALL))
)
def test_a_store_that_cannot_be_reached_is_one_clear_line(
    tmp_path: Path, server: PostgresServer, fault: str, command: tuple[str, ...]
) -> None:
    """Server down, wrong password, unknown database: one line naming host and database, never
    the password, exit 2."""
    from tests.notify.test_mail import free_port

    url = _fault_url(fault, server, free_port())
    result = Cli(tmp_path, url)(*command, code=2)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    [line] = lines
    database = "no_such_store" if fault == "unknown-database" else _database(url)
    assert line.startswith(
        tuple(
            f"solwatch: cannot {doing} the postgresql database '{database}' on 127.0.0.1:"
            for doing in ("open", "use")
        )
    )
    assert {
        "server-down": "Connection refused",
        "wrong-password": 'password authentication failed for user "postgres"',
        "unknown-database": 'database "no_such_store" does not exist',
    }[fault] in line
    for secret in ("not%40the", "not@the", PASSWORD):
        assert secret not in line


def test_a_fault_prints_no_traceback_from_the_installed_command(
    tmp_path: Path, server: PostgresServer
) -> None:
    """The real program, not only the test runner, ends with the one line and exit 2."""
    cli = Cli(tmp_path, server.url("postgres", password="wrong"))
    done = subprocess.run(
        [SOLWATCH, "--config", str(cli.config), "import", str(SMALL)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr


def test_a_store_that_fails_mid_command_names_no_data(
    tmp_path: Path, pg_url: str, server: PostgresServer
) -> None:
    """A write the server refuses halfway through an import ends it with one line: the
    driver's reason, no SQL and none of the rows (importer names) it was writing."""
    cli = Cli(tmp_path, pg_url)
    cli("init")
    with opened(pg_url) as engine, engine.connect() as connection:
        connection.execute(
            text(f"ALTER DATABASE {_database(pg_url)} SET default_transaction_read_only = on")
        )
        connection.commit()
    result = cli("import", str(SMALL), "--as-of", "2026-11-24", code=2)
    [line] = result.stderr.splitlines()
    assert "read-only transaction" in line
    for data in ("Acme", "12-3456789", "INSERT INTO", "parameters"):
        assert data not in result.output + result.stderr


TIED = ["a-2", "B-1", "C-10", "c-3", "C1", "Ç-1", "b-1"]


def test_ties_sort_by_case_number_byte_by_byte_on_every_store(cli: Cli, tmp_path: Path) -> None:
    """Cases with the same limitation date list in one order on SQLite and on PostgreSQL,
    whatever the server's collation: the case numbers' bytes."""
    path = tmp_path / "cases.csv"
    path.write_text(
        "case_number,statute,culpability,status,violation_date,sol_date\n"
        + "".join(f"{n},1592,negligence,OPEN,2021-03-04,2026-03-04\n" for n in TIED),
        encoding="utf-8",
    )
    cli("import", str(path), "--as-of", "2026-11-24")
    listed = json.loads(cli("at-risk", "--as-of", "2026-11-24", "--format", "json").output)
    expected = sorted(TIED, key=lambda n: n.encode())
    assert [case["case_number"] for case in listed] == expected


def test_the_order_by_names_a_binary_collation_on_postgresql() -> None:
    """The SQL itself asks PostgreSQL for byte order, so no server locale can change it."""
    from sqlalchemy.dialects import postgresql

    from solwatch.store.cases import Case
    from solwatch.store.connection import binary_order

    compiled = str(
        binary_order(Case.case_number, "postgresql").compile(dialect=postgresql.dialect())
    )
    assert compiled.endswith('COLLATE "C"')


def test_records_stream_through_a_server_side_cursor(cli: Cli, backend: str) -> None:
    """Reading every case holds one batch in memory: on PostgreSQL the rows come through a
    server-side cursor, open while the batches arrive."""
    cli("import", str(SMALL), "--as-of", "2026-11-24")
    with opened(cli.url) as engine, Session(engine) as session:
        batches = iter_records(session=session, batch=2)
        first = next(batches)
        open_cursors = (
            session.connection().execute(text("SELECT count(*) FROM pg_cursors")).scalar()
            if backend == "postgresql"
            else None
        )
        rest = [record for batch in batches for record in batch]
    assert (len(first), len(rest)) == (2, 3)
    if backend == "postgresql":
        assert open_cursors == 1


def test_a_same_day_rerun_logs_no_server_error(
    tmp_path: Path, pg_url: str, server: PostgresServer
) -> None:
    """Notices already recorded are skipped with ON CONFLICT DO NOTHING: the rerun leaves no
    "duplicate key" ERROR in the PostgreSQL log."""
    cli = Cli(tmp_path, pg_url)
    cli("init")
    cli("import", str(SMALL), "--as-of", "2026-11-24")
    cli("run-daily", "--as-of", "2026-11-24")
    again = cli("run-daily", "--as-of", "2026-11-24")
    assert "already recorded today" in again.output
    errors = [line for line in server.log_lines(_database(pg_url)) if "ERROR" in line]
    assert errors == []


def _both_stores(tmp_path: Path, pg_url: str) -> Iterator[Cli]:
    """An initialized SQLite store, then the PostgreSQL one at `pg_url`, each in its folder."""
    for name, url in (("sqlite", f"sqlite:///{tmp_path / 'sqlite.db'}"), ("postgresql", pg_url)):
        folder = tmp_path / name
        folder.mkdir()
        cli = Cli(folder, url)
        cli("init")
        yield cli


def test_both_stores_export_the_same_bytes(tmp_path: Path, pg_url: str) -> None:
    """The same extract imported into SQLite and into PostgreSQL gives byte-identical
    `export cases`, `stats --format json` and at-risk CSV."""
    from solwatch.demo import write_sample

    extract = tmp_path / "extract"
    write_sample(extract, today=AS_OF, count=400)
    with (extract / "cases.csv").open("a", encoding="utf-8") as cases:
        cases.writelines(
            f"{n},penalty,1592,negligence,OPEN,7,2704,Tie Co,1,2021-03-04,,,,,,,\n" for n in TIED
        )
    outputs = []
    for cli in _both_stores(tmp_path, pg_url):
        cli("import", str(extract), "--as-of", AS_OF.isoformat())
        outputs.append(
            [
                cli("export", "cases", "--as-of", AS_OF.isoformat()).stdout_bytes,
                cli("stats", "--as-of", AS_OF.isoformat(), "--format", "json").stdout_bytes,
                cli("at-risk", "--as-of", AS_OF.isoformat(), "--format", "csv").stdout_bytes,
            ]
        )
    on_sqlite, on_postgresql = outputs
    assert on_sqlite[0].count(b"\n") == 400 + len(TIED) + 1
    assert on_sqlite == on_postgresql


def _renumbered(source: Path, numbers: Path, target: Path) -> Path:
    """`source`'s extract with its case numbers replaced, row for row, by those of the extract
    in `numbers`: the same cases, with different values and rows."""
    import csv

    def cases(folder: Path) -> list[str]:
        with (folder / "cases.csv").open(encoding="utf-8", newline="") as handle:
            return [row["case_number"] for row in csv.DictReader(handle)]

    mapping = dict(zip(cases(source), cases(numbers), strict=True))
    target.mkdir()
    for path in source.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            header, *rows = list(csv.reader(handle))
        with (target / path.name).open("w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(header)
            out.writerows([mapping[row[0]], *row[1:]] for row in rows)
    return target


def _edited(source: Path, target: Path) -> Path:
    """`source`'s extract with changed values in its child rows: every entry's loss, every
    waiver revoked on its signing day, every tolling period's reason."""
    import csv

    edits = {
        "entries.csv": lambda row: {
            **row,
            "loss_amount": f"{float(row['loss_amount'] or 0) + 1:.2f}",
        },
        "waivers.csv": lambda row: {**row, "revoked_date": row["signed_date"]},
        "tolling.csv": lambda row: {**row, "reason": f"{row['reason']} (reviewed)"},
    }
    target.mkdir()
    for path in source.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            rows = [edits.get(path.name, dict)(row) for row in reader]
            header = list(reader.fieldnames or [])
        with (target / path.name).open("w", encoding="utf-8", newline="") as handle:
            out = csv.DictWriter(handle, header)
            out.writeheader()
            out.writerows(rows)
    return target


TABLES = {
    "cases": "select * from cases order by id",
    "entries": "select * from entries order by id",
    "waivers": "select * from waivers order by id",
    "tolling": "select * from tolling order by id",
    "events": "select * from events order by id",
    "history": "select case_id, field, old_value, new_value, import_id, source from history order by id",
}


def test_a_bulk_import_on_postgresql_stores_what_sqlite_stores(
    tmp_path: Path, pg_url: str, server: PostgresServer
) -> None:
    """An extract, then a changed one over the same cases, leave the same rows and the same
    history, in the same order, in both stores; PostgreSQL loads them with COPY."""
    from solwatch.demo import write_sample

    write_sample(tmp_path / "first", today=AS_OF, count=300, seed=1)
    write_sample(tmp_path / "other", today=AS_OF, count=300, seed=2)
    second = _renumbered(tmp_path / "other", tmp_path / "first", tmp_path / "second")
    third = _edited(second, tmp_path / "third")
    with opened(pg_url) as engine, engine.connect() as connection:
        connection.execute(text(f"ALTER DATABASE {_database(pg_url)} SET log_statement = 'all'"))
        connection.commit()
    stores = []
    for cli in _both_stores(tmp_path, pg_url):
        reports = [
            cli("import", str(extract), "--as-of", AS_OF.isoformat()).output
            for extract in (tmp_path / "first", second, third)
        ]
        stores.append((reports, {table: cli.rows(sql) for table, sql in TABLES.items()}))
    (sqlite_reports, on_sqlite), (pg_reports, on_postgresql) = stores
    assert pg_reports == sqlite_reports
    assert ": 300 rows: 0 new, 300 changed" in sqlite_reports[1]
    for name in ("entries.csv", "waivers.csv", "tolling.csv"):
        count = len((third / name).read_text(encoding="utf-8").splitlines()) - 1
        assert count > 0, name
        assert f"{name}: {count} rows: 0 new, {count} changed" in sqlite_reports[2]
    for table in TABLES:
        assert on_postgresql[table] == on_sqlite[table], table
    assert len(on_sqlite["history"]) > 300
    copied = [
        line for line in server.log_lines(_database(pg_url)) if "COPY solwatch_stage_" in line
    ]
    assert {line.split("COPY solwatch_stage_", 1)[1].split("_")[0] for line in copied} >= {
        "cases",
        "entries",
        "waivers",
    }


def test_a_connection_killed_mid_import_is_one_line_and_nothing_imported(
    tmp_path: Path, pg_url: str
) -> None:
    """The server ends the import's connection while it holds the import lock (as a restart
    would): one line, exit 2, no traceback, no row of data, and nothing imported."""
    from solwatch.demo import write_sample

    write_sample(tmp_path / "extract", today=AS_OF, count=3000)
    cli = Cli(tmp_path, pg_url)
    cli("init")
    run = cli.start("import", str(tmp_path / "extract"), "--as-of", AS_OF.isoformat())
    killed = False
    with opened(pg_url) as engine, engine.connect() as connection:
        while run.poll() is None and not killed:
            killed = bool(
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                ).scalar()
            )
            connection.rollback()
    output, errors = run.communicate(timeout=120)
    assert killed, "the import finished before it could be interrupted"
    assert run.returncode == 2, errors
    [line] = errors.splitlines()
    assert line.startswith("solwatch: cannot use the postgresql database")
    assert "terminating connection" in line or "server closed the connection" in line, line
    sample = (tmp_path / "extract" / "cases.csv").read_text().splitlines()[1].split(",")
    for data in (sample[0], sample[7], "INSERT INTO", "COPY"):
        assert data not in output + errors
    assert cli.rows("select count(*) from cases") == [(0,)]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("postgresql://u:secret@host:notaport/db", "not a database URL", id="bad-port"),
        pytest.param(
            "nosuchdb://u:secret@host/db", "unknown kind of database", id="unknown-scheme"
        ),
        pytest.param(
            "mysql+nodriver://u:secret@host/db",
            "unknown kind of database",
            id="unknown-driver",
        ),
    ],
)
def test_a_malformed_url_is_one_line_without_its_password(
    tmp_path: Path, url: str, message: str
) -> None:
    """A URL that cannot be read stops every command with one line that hides its password."""
    result = Cli(tmp_path, url)("at-risk", code=2)
    [line] = result.stderr.splitlines()
    assert message in line
    assert "secret" not in line


PRIVILEGES = """
CREATE ROLE {owner} LOGIN PASSWORD 'owner:pw@1%';
CREATE ROLE {runtime} LOGIN PASSWORD 'run:pw@2%';
CREATE DATABASE {database} OWNER {owner} TEMPLATE template0;
GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {runtime};
"""
SCHEMA_PRIVILEGES = """
GRANT USAGE ON SCHEMA public TO {runtime};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO {runtime};
"""


def test_the_documented_minimum_privileges_are_enough(
    tmp_path: Path,
    server: PostgresServer,
    inbox: tuple[Inbox, int],  # noqa: F811
) -> None:
    """As the README's "Running in production" sets them up: the owner role runs `init`; the
    runtime role, with no right to change the schema, imports, reports, mails and serves."""
    import psycopg

    from tests.notify.test_mail import configure

    handler, port = inbox
    suffix = tmp_path.name[-8:].replace("-", "_").lower()
    names = {
        "owner": f"owner_{suffix}",
        "runtime": f"runtime_{suffix}",
        "database": f"prod_{suffix}",
    }
    with server.admin() as admin:
        for statement in PRIVILEGES.format(**names).split(";\n"):
            if statement.strip():
                admin.execute(statement)
    with psycopg.connect(server.url(names["database"]), autocommit=True) as connection:
        for statement in SCHEMA_PRIVILEGES.format(**names).split(";\n"):
            if statement.strip():
                connection.execute(statement)

    def url(role: str, password: str) -> str:
        return f"postgresql://{role}:{quote(password, safe='')}@127.0.0.1:{server.port}/{names['database']}"

    owner = Cli(tmp_path, url(names["owner"], "owner:pw@1%"))
    owner("init")
    (tmp_path / "runtime").mkdir()
    runtime = Cli(tmp_path / "runtime", url(names["runtime"], "run:pw@2%"))
    configure(runtime, port)
    runtime("import", str(SMALL), "--as-of", "2026-11-24")
    runtime("import", str(SMALL), "--as-of", "2026-11-24")
    assert json.loads(runtime("stats", "--as-of", "2026-11-24", "--format", "json").output)
    runtime("export", "cases", "--as-of", "2026-11-24")
    assert "failed: 0" in runtime("run-daily", "--as-of", "2026-11-24").output
    runtime(
        "ack",
        "C-1",
        "--kind",
        "due",
        "--until",
        "2026-12-01",
        "--reason",
        "checked",
        "--as-of",
        "2026-11-24",
    )
    runtime("recompute")
    assert handler.messages
    assert "Database ready" in runtime("init").output  # up to date: nothing to change
    with (
        psycopg.connect(url(names["runtime"], "run:pw@2%")) as connection,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        connection.execute("CREATE TABLE not_allowed (id integer)")
    try:
        with server.admin() as admin:
            admin.execute(f"DROP DATABASE {names['database']} WITH (FORCE)")
            admin.execute(f"DROP ROLE {names['owner']}")
            admin.execute(f"DROP ROLE {names['runtime']}")
    except psycopg.Error:
        pass
