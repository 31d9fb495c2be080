"""TrinoEngine with an injected DB-API ``connect`` (no Trino server exists here), and open_engine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from reelhouse.config import Settings, TrinoConfig
from reelhouse.query import ReadOnlyViolation, open_engine
from reelhouse.query.duckdb_engine import DuckDBEngine
from reelhouse.query.trino_engine import TrinoEngine
from tests.test_query_fixtures import catalog  # noqa: F401  (fixtures)

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


class FakeCursor:
    def __init__(self, conn: FakeConnection) -> None:
        self.conn = conn
        self.description: list[tuple] | None = None
        self._rows: list[list[Any]] = []
        self.closed = False

    def execute(self, sql: str, params: Any = None) -> None:
        self.conn.executed.append((sql, params))
        self.description = self.conn.description
        self._rows = list(self.conn.rows)

    def fetchmany(self, size: int) -> list[list[Any]]:
        self.conn.fetch_sizes.append(size)
        out, self._rows = self._rows[:size], self._rows[size:]
        return out

    def close(self) -> None:
        self.closed = True


class FakeConnection:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.executed: list[tuple[str, Any]] = []
        self.fetch_sizes: list[int] = []
        self.closed = False
        self.description = [("video_id", "varchar", None, None, None, None, None),
                            ("n", "bigint", None, None, None, None, None),
                            ("embedding", "array(real)", None, None, None, None, None),
                            ("written_at", "timestamp(6) with time zone", None, None, None, None, None)]
        ts = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
        self.rows = [["a", 3, [1.0, 0.0], ts], ["b", 4, None, ts], ["c", 0, [0.5], None]]

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        self.closed = True


class FakeConnect:
    def __init__(self) -> None:
        self.connections: list[FakeConnection] = []

    def __call__(self, **kwargs: Any) -> FakeConnection:
        conn = FakeConnection(**kwargs)
        self.connections.append(conn)
        return conn


@pytest.fixture
def fake() -> FakeConnect:
    return FakeConnect()


def test_connect_arguments(fake: FakeConnect):
    with TrinoEngine("trino.example", 8443, "analyst", "iceberg", "features", "https", connect=fake) as eng:
        eng.execute("SELECT 1")
    assert fake.connections[0].kwargs == {
        "host": "trino.example", "port": 8443, "user": "analyst", "catalog": "iceberg", "schema": "features",
        "http_scheme": "https",
    }
    assert fake.connections[0].closed


def test_sql_is_sent_unchanged(fake: FakeConnect):
    text = (SQL_DIR / "shots_per_title.sql").read_text()
    with TrinoEngine(connect=fake) as eng:
        eng.execute(text + ";\n")
        eng.execute("SELECT cosine_similarity(a, b) FROM shot_embeddings")
    sent = [sql for sql, _ in fake.connections[0].executed]
    assert sent[0] == text.rstrip()  # only the trailing semicolon goes
    assert sent[1] == "SELECT cosine_similarity(a, b) FROM shot_embeddings"  # Trino dialect, not DuckDB's


def test_parameters_are_bound_as_trino_literals(fake: FakeConnect):
    with TrinoEngine(connect=fake) as eng:
        eng.execute("SELECT * FROM shots WHERE video_id = :v AND start_s >= :t", {"v": "x' OR 1=1 --", "t": 1.5})
    sql, params = fake.connections[0].executed[0]
    assert sql == "SELECT * FROM shots WHERE video_id = 'x'' OR 1=1 --' AND start_s >= CAST(1.5 AS DOUBLE)"
    assert params is None


def test_read_only_gate_runs_before_connecting(fake: FakeConnect):
    eng = TrinoEngine(connect=fake)
    with pytest.raises(ReadOnlyViolation):
        eng.execute("DROP TABLE iceberg.features.shots")
    with pytest.raises(ReadOnlyViolation):
        eng.execute("CALL iceberg.system.expire_snapshots('features', 'shots')")
    assert fake.connections == []


def test_results_become_arrow(fake: FakeConnect):
    with TrinoEngine(connect=fake) as eng:
        table = eng.execute("SELECT video_id, n, embedding, written_at FROM t")
        reader = eng.stream("SELECT video_id, n, embedding, written_at FROM t", batch_rows=2)
        batches = list(reader)
    assert table.schema == pa.schema([("video_id", pa.string()), ("n", pa.int64()),
                                      ("embedding", pa.list_(pa.float32())),
                                      ("written_at", pa.timestamp("us", tz="UTC"))])
    assert table.column("n").to_pylist() == [3, 4, 0]
    assert [b.num_rows for b in batches] == [2, 1]
    assert reader.schema == table.schema


def test_constructor_validates():
    with pytest.raises(ValueError, match="port"):
        TrinoEngine(port=0, connect=FakeConnect())
    with pytest.raises(ValueError, match="http_scheme"):
        TrinoEngine(http_scheme="ftp", connect=FakeConnect())  # type: ignore[arg-type]


def test_open_engine_picks_trino(tmp_path: Path):
    settings = Settings(home=tmp_path, sql_engine="trino", namespace="features",
                        trino=TrinoConfig(host="coordinator", port=8081, user="u", catalog="lake", http_scheme="https"))
    eng = open_engine(settings)
    assert isinstance(eng, TrinoEngine)
    assert eng.connect_kwargs == {"host": "coordinator", "port": 8081, "user": "u", "catalog": "lake",
                                  "schema": "features", "http_scheme": "https"}
    eng.close()


def test_open_engine_picks_duckdb(tmp_path: Path, catalog):
    settings = Settings(home=tmp_path, sql_engine="duckdb")
    with open_engine(settings, catalog) as eng:
        assert isinstance(eng, DuckDBEngine)
        assert eng.execute("SELECT count(*) AS n FROM iceberg.features.shots").column("n")[0].as_py() > 0
    with pytest.raises(ValueError, match="needs the Iceberg catalog"):
        open_engine(settings)


@pytest.mark.parametrize("path", sorted(SQL_DIR.glob("*.sql")), ids=lambda p: p.name)
def test_every_sql_file_goes_to_trino_as_trino_sql(fake: FakeConnect, path: Path):
    """With parameters bound, each analyst query is sent as one Trino statement that parses back as Trino,
    keeping Trino's own functions (cosine_similarity, format), not DuckDB's."""
    import sqlglot

    from reelhouse.query import required_params

    text = path.read_text()
    params = {name: None for name in required_params(text)}
    with TrinoEngine(connect=fake) as eng:
        eng.execute(text, params)
    (sent, bound), = fake.connections[0].executed
    assert bound is None
    tree = sqlglot.parse_one(sent, read="trino")
    assert tree.find(sqlglot.exp.Placeholder) is None  # every :name was bound
    assert "list_cosine_similarity" not in sent.lower() and "printf" not in sent.lower()


def test_cli_engine_trino_reports_an_unreachable_cluster(tmp_path: Path, capsys, monkeypatch):
    """``reelhouse sql --engine trino`` uses the real trino client; with no server it fails clearly (exit 2)."""
    import socket

    from reelhouse import cli

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("REELHOUSE_HOME", str(tmp_path))
    monkeypatch.setenv("REELHOUSE_TRINO__HOST", "127.0.0.1")
    monkeypatch.setenv("REELHOUSE_TRINO__PORT", str(port))
    assert cli.main(["sql", "SELECT 1", "--engine", "trino"]) == 2
    err = capsys.readouterr().err
    assert "reelhouse sql:" in err and str(port) in err
    assert not (tmp_path / "catalog.db").exists()  # the Trino path never opens the local catalog
