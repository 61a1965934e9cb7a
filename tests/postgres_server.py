"""PostgreSQL for the tests: a throwaway server of the tests' own (never the machine's), or the one
the caller named.

`make test` starts one on a free port with its data under a temporary folder and removes it at
the end of the session, on failure and Ctrl-C too (pytest tears session fixtures down; should
pytest itself be killed, the server gets SIGINT from the kernel: `die_with_parent`). The binaries
come from Debian's `postgresql` package (scripts/system_packages.sh installs it). PostgreSQL
refuses to run as root, so as root it runs as the package's `postgres` user.

With PG_HOST or PG_PORT set when `make test` starts (scripts/test.sh then exports
PARLEY_TEST_PG=given), that server is used instead: PG_USER (default postgres) must be allowed to
create databases, with PG_PASSWORD when it needs one."""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

from tests.services import die_with_parent, end, free_port

INSTALL_HINT = ("install Debian's PostgreSQL server (apt-get install postgresql, or run "
                "scripts/system_packages.sh), or name an existing server with PG_HOST, PG_PORT, "
                "PG_USER and PG_PASSWORD")


def find_binaries() -> Path:
    """The folder holding initdb and postgres: PATH first, then Debian's /usr/lib/postgresql/N/bin
    (the newest)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                     if Path(p).parent.name.isdigit() else 0)
    for folder in reversed(folders):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "postgres").is_file():
            return Path(folder)
    raise RuntimeError(f"PostgreSQL's initdb and postgres were not found: {INSTALL_HINT}")


class Postgres:
    """A reachable PostgreSQL server and a superuser login on it."""

    def __init__(self, host: str, port: int, user: str = "postgres", password: str = "") -> None:
        self.host, self.port, self.user, self.password = host, port, user, password

    def connect(self, dbname: str = "postgres", **options):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user,
                                password=self.password or None, dbname=dbname, **options)

    def check(self) -> "Postgres":
        try:
            self.connect(connect_timeout=5).close()
        except Exception as error:  # psycopg2.OperationalError: nothing listens, or login refused
            raise RuntimeError(f"PostgreSQL at {self.host}:{self.port} (user {self.user}) is not "
                               f"reachable: {error}") from None
        return self

    def url(self, database: str) -> str:
        login = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql://{login}@{self.host}:{self.port}/{database}"

    def env(self, database: str) -> Dict[str, str]:
        """The PG_* settings of endpoints.scaled.yml for `database` (Rasa creates it through
        PG_LOGIN_DB when it does not exist)."""
        return dict(PG_HOST=self.host, PG_PORT=str(self.port), PG_DB=database, PG_USER=self.user,
                    PG_PASSWORD=self.password, PG_LOGIN_DB="postgres")

    def create_database(self, prefix: str) -> str:
        name = f"{prefix}_{secrets.token_hex(4)}"
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drops a test's own database (open connections too)."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        connection = self.connect(connect_timeout=10)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()


class PostgresServer(Postgres):
    """A throwaway server: initdb into a temporary folder, `postgres` on a free loopback port
    (trust login for `postgres`, no fsync: the data lives as long as the test session)."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1", 0)
        self.folder: Optional[Path] = None
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> "PostgresServer":
        binaries = find_binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="parley-test-postgres-"))
        data, log = self.folder / "data", self.folder / "postgres.log"
        run_as = self._run_as()
        if run_as is not None:  # root: the folder belongs to the postgres user
            os.chown(self.folder, run_as.pw_uid, run_as.pw_gid)
        user = dict(user=run_as.pw_uid, group=run_as.pw_gid, extra_groups=[]) if run_as else {}
        initdb = subprocess.run(
            [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            capture_output=True, text=True, timeout=300, **user)
        if initdb.returncode != 0:
            self.stop()
            raise RuntimeError(f"initdb failed: {initdb.stderr[-2000:]}")
        self.port = free_port()
        with open(log, "ab") as output:
            if run_as is not None:
                os.chown(log, run_as.pw_uid, run_as.pw_gid)
            self.process = subprocess.Popen(
                [str(binaries / "postgres"), "-D", str(data), "-p", str(self.port),
                 "-k", str(self.folder), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=output, stderr=subprocess.STDOUT, preexec_fn=die_with_parent(signal.SIGINT),
                **user)
        deadline = time.monotonic() + 60
        while True:
            try:
                return self.check()
            except RuntimeError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:]
                    self.stop()
                    raise RuntimeError(f"the tests' PostgreSQL did not start:\n{tail}")
                time.sleep(0.2)

    @staticmethod
    def _run_as() -> Optional[pwd.struct_passwd]:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("PostgreSQL refuses to run as root and there is no `postgres` user: "
                               + INSTALL_HINT) from None

    def stop(self) -> None:
        """Fast shutdown (SIGINT: open sessions are ended), then the folder is removed."""
        end(self.process, signal.SIGINT)
        self.process = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def given_or_started() -> Postgres:
    """The server the caller named (PARLEY_TEST_PG=given: PG_HOST, PG_PORT, PG_USER, PG_PASSWORD),
    else a throwaway one. Either way reachable, or a RuntimeError that says what to install or set."""
    if os.environ.get("PARLEY_TEST_PG") == "given":
        return Postgres(os.environ.get("PG_HOST") or "127.0.0.1", int(os.environ.get("PG_PORT") or 5432),
                        os.environ.get("PG_USER") or "postgres", os.environ.get("PG_PASSWORD", "")).check()
    return PostgresServer().start()

