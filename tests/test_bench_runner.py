"""`make bench`'s runner: reads each benchmark's last-line JSON and checks the issue's targets on it."""

from __future__ import annotations

from benchmarks.run import BENCHMARKS, last_json, render, target_rows


def test_last_line_json_only() -> None:
    assert last_json('progress\n{"a": 1}\n\n') == {"a": 1}
    assert last_json('{"a": 1}\nthen a line of prose') is None
    assert last_json("[1, 2]") is None and last_json("") is None


def test_targets_are_checked_against_the_figures() -> None:
    good = {"dim": 1280, "vectors": 1_000_000, "recall_at_10": 0.97, "p99_ms": 8.0}
    assert [v for _, v in target_rows("ann", good)] == ["met"] * 4
    slow = {**good, "p99_ms": 12.5}
    assert [v for _, v in target_rows("ann", slow)] == ["met", "met", "met", "MISSED"]
    assert [v for _, v in target_rows("ann", {"dim": 1280})][1:] == ["no figure"] * 3
    assert [v for _, v in target_rows("ann", None)] == ["MISSED"] * 4
    mediafm = {"probe_acc_contextual": 0.6, "probe_acc_moving_average": 0.6, "probe_acc_concat": 0.5,
               "recall10_contextual": 0.4, "recall10_moving_average": 0.5, "recall10_concat": 0.1}
    assert [v for _, v in target_rows("mediafm", mediafm)] == ["met", "met", "MISSED", "met"]


def test_results_render_every_benchmark_and_its_verdicts() -> None:
    entry = {"command": "python -m benchmarks.sql", "exit_code": 0, "wall_s": 12.0, "date": "2026-12-04T17:00:00+00:00",
             "load_before": [1.0, 1, 1], "load_after": [2.0, 2, 2], "json": {"max_warm_s": 0.5, "max_cold_s": 2.5,
                                                                             "answers_equal": True},
             "machine": {"cores": 2, "cpu": "x", "memory_gib": 24, "gpu": "none", "python": "3.11", "os": "Linux"}}
    text = render({"sql": entry})
    assert "| `sql` | 2026-12-04 17:00 | 12 | 0 | 2/5 met |" in text  # no Trino figures: its two missed
    assert "| `max_cold_s` < 2 | MISSED |" in text and '"answers_equal": true' in text
    assert set(BENCHMARKS) >= {"ann", "match_cuts", "sql", "mediafm", "faults"}
