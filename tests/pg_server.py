"""A throwaway PostgreSQL server for tests: Debian's PostgreSQL binaries, `initdb` in a new temporary folder, the
server on a free loopback port, stopped and removed at the end. As root the server runs as the `postgres` user
(PostgreSQL refuses to run as root). Without the binaries the tests that need it skip, unless
CHATREC_REQUIRE_POSTGRES=1 (CI), where they fail."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

_databases = itertools.count(1)


def bindir() -> Path | None:
    """The folder of PostgreSQL's server binaries (initdb, pg_ctl), newest version first."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """A running server; yields the URL of its `postgres` database (user `chatrec`, no password, loopback)."""
    where = bindir()
    if where is None:
        if os.environ.get("CHATREC_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL's binaries are not installed (apt-get install postgresql)")
        pytest.skip("PostgreSQL's binaries are not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="chatrec-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    try:
        subprocess.run(
            [
                *as_user,
                str(where / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "chatrec",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [*as_user, str(where / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o", options, "start"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://chatrec@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(where / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """A new empty database on the server; its URL."""
    import psycopg

    name = f"chatrec_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
