"""Every analyst query in sql/ parses as Trino and gives the values computed here in Python."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from reelhouse.query import check_read_only, required_params
from reelhouse.query.duckdb_engine import DuckDBEngine
from tests.test_query_synthetic import sample_params, synthetic, synthetic_engine, tables  # noqa: F401  (fixtures)
from tests.test_query_fixtures import (  # noqa: F401  (fixtures)
    LATEST_VERSION,
    MEDIA,
    VID_A,
    VID_B,
    catalog,
    engine,
    shot_lengths,
)

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
SQL_FILES = sorted(SQL_DIR.glob("*.sql"))


def _documented_params(text: str) -> list[str]:
    header = "\n".join(
        line for line in text.splitlines() if line.startswith("--")
    )
    section = header.split("Parameters", 1)[1].split("Output columns", 1)[0]
    return re.findall(r":(\w+)", section)


def test_sql_folder_is_not_empty():
    assert {p.stem for p in SQL_FILES} >= {
        "shots_per_title", "shot_length_distribution", "feature_coverage", "top_match_cuts", "shots_in_time_range",
        "near_duplicate_groups", "subtitle_search", "similar_shots",
    }


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.name)
def test_sql_file_is_documented_read_only_trino(path: Path):
    text = path.read_text()
    assert text.startswith("--"), "each query opens with a comment block"
    for section in ("Purpose", "Parameters", "Output columns"):
        assert f"-- {section}" in text, f"{path.name} lacks a {section} section"
    assert check_read_only(text).kind == "query"
    assert sorted(_documented_params(text)) == sorted(required_params(text))


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.name)
def test_sql_file_runs_embedded_with_documented_columns(path: Path, synthetic_engine: DuckDBEngine, sample_params):
    """Each file runs on a catalog written by the real feature store, with rows in every documented column."""
    text = path.read_text()
    params = {name: None for name in required_params(text)} | sample_params.get(path.stem, {})
    result = synthetic_engine.execute(text, params)
    section = text.split("-- Output columns", 1)[1]
    documented = re.findall(r"^--\s{2,}(\w+)\s+\w+", section, flags=re.M)
    assert result.column_names == documented
    assert result.num_rows > 0


def test_shots_per_title_matches_python(engine: DuckDBEngine):
    rows = engine.execute((SQL_DIR / "shots_per_title.sql").read_text()).to_pylist()
    assert [r["video_id"] for r in rows] == [VID_A, VID_B]  # VID_C has media but no shots
    for row in rows:
        vid = row["video_id"]
        lengths = sorted(shot_lengths(vid, LATEST_VERSION[vid]))
        assert row["feature_version"] == LATEST_VERSION[vid]
        assert row["source_uri"] == MEDIA[vid]["source_uri"]
        assert row["duration_s"] == MEDIA[vid]["duration_s"]
        assert row["shot_count"] == len(lengths)
        assert math.isclose(row["shots_total_s"], sum(lengths))
        assert math.isclose(row["mean_shot_s"], sum(lengths) / len(lengths))
        assert row["min_shot_s"] == pytest.approx(lengths[0])
        assert row["max_shot_s"] == pytest.approx(lengths[-1])
        # The exact median: the mean of the two middle lengths (one and the same for an odd count).
        low, high = lengths[(len(lengths) - 1) // 2], lengths[len(lengths) // 2]
        assert row["median_shot_s"] == pytest.approx((low + high) / 2, rel=1e-12)


def _expected_histogram(video_ids: list[str]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for vid in video_ids:
        for length in shot_lengths(vid, LATEST_VERSION[vid]):
            bucket = 31 if length >= 30 else max(int(length // 1) + 1, 1)
            counts[bucket] = counts.get(bucket, 0) + 1
    return counts


@pytest.mark.parametrize(
    ("video_id", "titles"),
    [pytest.param(None, [VID_A, VID_B], id="all-titles"), pytest.param(VID_B, [VID_B], id="one-title")],
)
def test_shot_length_distribution_matches_python(engine: DuckDBEngine, video_id, titles):
    rows = engine.execute((SQL_DIR / "shot_length_distribution.sql").read_text(), {"video_id": video_id}).to_pylist()
    expected = _expected_histogram(titles)
    assert {r["bucket"]: r["shot_count"] for r in rows} == expected
    assert [r["bucket"] for r in rows] == sorted(expected)
    total = sum(expected.values())
    for r in rows:
        assert r["bucket_start_s"] == r["bucket"] - 1
        assert r["bucket_end_s"] == (None if r["bucket"] == 31 else float(r["bucket"]))
        assert r["share"] == pytest.approx(r["shot_count"] / total)


def test_shot_length_distribution_unknown_title_is_empty(engine: DuckDBEngine):
    text = (SQL_DIR / "shot_length_distribution.sql").read_text()
    assert engine.execute(text, {"video_id": "f" * 32}).num_rows == 0


def test_parameters_documented_as_null_for_something_are_optional_on_the_command_line(store, monkeypatch, capsys):
    """A new user runs every sql/ file by name: parameters documented "NULL for ..." may be left out,
    the others are asked for by name."""
    from reelhouse.cli import main
    from reelhouse.query import nullable_params

    assert nullable_params((SQL_DIR / "top_match_cuts.sql").read_text()) == ["flavor", "video_id", "min_score", "top_n"]
    assert nullable_params((SQL_DIR / "shots_in_time_range.sql").read_text()) == []
    for path in SQL_FILES:
        text = path.read_text()
        needed = [p for p in required_params(text) if p not in nullable_params(text)]
        code = main(["sql", path.stem, "--format", "json"])
        out, err = capsys.readouterr()
        if needed:
            assert code == 2 and all(f":{p}" in err for p in needed), (path.name, err)
        else:
            assert code == 0 and out.startswith("["), (path.name, err)
