"""A real PostgreSQL server on loopback for the tests, started by the repo's own script.

``infra/scripts/postgres.sh`` installs the Debian package when it is missing, initialises a cluster in
a fresh folder under /tmp, and starts it on a free port of 127.0.0.1; the server is stopped and its
folder deleted when the test session ends.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "infra" / "scripts" / "postgres.sh"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL (``postgresql+psycopg2://reelhouse@127.0.0.1:PORT/reelhouse``) of a running server."""
    folder = Path(tempfile.mkdtemp(prefix="reelhouse-pg-", dir="/tmp"))
    started = subprocess.run(["bash", str(SCRIPT), "start", str(folder), str(_free_port())], capture_output=True,
                             text=True, timeout=900)
    if started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {started.stderr.strip()[-2000:]}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url`` (if missing) and return its URL."""
    import psycopg2

    base, _, _ = url.rpartition("/")
    con = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://", 1))
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        con.close()
    return f"{base}/{name}"


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of ``sql`` on the database of ``url``."""
    import psycopg2

    con = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://", 1))
    try:
        with con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        con.close()
