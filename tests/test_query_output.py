"""Result formats: parse each back and compare with the rows that went in."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pyarrow as pa
import pytest

from reelhouse.query import write_result
from reelhouse.query.duckdb_engine import DuckDBEngine
from tests.test_query_fixtures import VID_B, shared_catalog, shared_engine, shared_root  # noqa: F401  (fixtures)

TS = dt.datetime(2024, 5, 1, 12, 0, 1, 500000, tzinfo=dt.timezone.utc)
RESULT = pa.table({
    "video_id": ["a", "b,\"quoted\"", None],
    "shot_index": pa.array([0, 1, None], pa.int32()),
    "score": [0.5, float("nan"), None],
    "embedding": pa.array([[1.0, 0.0], None, [float("nan")]], pa.list_(pa.float32())),
    "written_at": pa.array([TS, TS, None], pa.timestamp("us", tz="UTC")),
    "ok": [True, False, None],
    "note": ["line\nbreak", "", "ünïcode"],
})


def _render(result, fmt: str) -> str:
    out = io.StringIO()
    write_result(result, fmt, out)
    return out.getvalue()


def test_json_is_an_array_of_objects():
    rows = json.loads(_render(RESULT, "json"))
    assert rows[0] == {"video_id": "a", "shot_index": 0, "score": 0.5, "embedding": [1.0, 0.0],
                       "written_at": "2024-05-01T12:00:01.500000+00:00", "ok": True, "note": "line\nbreak"}
    assert rows[1]["score"] is None  # NaN -> null
    assert rows[1]["embedding"] is None
    assert rows[2] == {"video_id": None, "shot_index": None, "score": None, "embedding": [None],
                       "written_at": None, "ok": None, "note": "ünïcode"}
    assert dt.datetime.fromisoformat(rows[0]["written_at"]) == TS


def test_csv_is_rfc4180():
    text = _render(RESULT, "csv")
    assert text.startswith("video_id,shot_index,score,embedding,written_at,ok,note\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == RESULT.column_names
    assert rows[1] == ["a", "0", "0.5", "[1.0, 0.0]", "2024-05-01T12:00:01.500000+00:00", "true", "line\nbreak"]
    assert rows[2][0] == 'b,"quoted"'
    assert rows[2][2] == "NaN"
    assert rows[3][:3] == ["", "", ""]  # NULL -> empty field
    assert json.loads(rows[3][3]) == [None]
    assert len(rows) == 4


def test_table_is_aligned_text():
    text = _render(RESULT.select(["video_id", "shot_index", "ok"]), "table")
    lines = text.splitlines()
    header = lines[0].split()
    assert header == ["video_id", "shot_index", "ok"]
    assert lines[-1] == "(3 rows)"
    body = [line for line in lines[2:-1]]
    assert body[0].split() == ["a", "0", "true"]
    assert body[2].split() == ["NULL", "NULL", "NULL"]
    # Integers are right-aligned: the digits end where the header ends.
    col_end = lines[0].index("shot_index") + len("shot_index")
    assert body[0][col_end - 1] == "0"


def test_empty_results_keep_their_header():
    empty = RESULT.slice(0, 0)
    assert json.loads(_render(empty, "json")) == []
    assert _render(empty, "csv") == "video_id,shot_index,score,embedding,written_at,ok,note\r\n"
    assert _render(empty, "table").splitlines()[-1] == "(0 rows)"


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        write_result(RESULT, "xml", io.StringIO())  # type: ignore[arg-type]


class _OneShot:
    """An iterator of batches that fails if consumed twice (so writing must stream it once)."""

    def __init__(self, batches):
        self._batches = iter(batches)
        self.schema = batches[0].schema

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_streamed_batches_equal_materialized_table(fmt: str):
    batches = RESULT.to_batches(max_chunksize=1)
    assert len(batches) == 3
    assert _render(_OneShot(batches), fmt) == _render(RESULT, fmt)


def test_engine_stream_to_json_and_csv(shared_engine: DuckDBEngine):
    sql = "SELECT shot_index, start_s, end_s, written_at FROM shots WHERE video_id = :v ORDER BY shot_index"
    expected = shared_engine.execute(sql, {"v": VID_B}).to_pylist()
    rows = json.loads(_render(shared_engine.stream(sql, {"v": VID_B}, batch_rows=1), "json"))
    assert [r["shot_index"] for r in rows] == [r["shot_index"] for r in expected]
    assert [r["end_s"] for r in rows] == [r["end_s"] for r in expected]
    assert all(dt.datetime.fromisoformat(r["written_at"]) == e["written_at"] for r, e in zip(rows, expected))
    csv_rows = list(csv.DictReader(io.StringIO(_render(shared_engine.stream(sql, {"v": VID_B}, batch_rows=2), "csv"), newline="")))
    assert [float(r["start_s"]) for r in csv_rows] == [r["start_s"] for r in expected]
