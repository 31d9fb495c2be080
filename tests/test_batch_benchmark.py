"""The batch benchmark's pure helpers (``benchmarks/batch.py``): titles, the baseline's in-memory job
chain, commit counting, answer comparison and the last line. No Spark, Dagster or media decoding."""

from __future__ import annotations

from types import SimpleNamespace

import pyarrow as pa
import pytest

from benchmarks import batch
from benchmarks.run import BENCHMARKS, target_rows
from reelhouse.features import FeatureSpec
from reelhouse.lakehouse.plan import SliceInput


def test_titles_are_a_few_seconds_with_several_shots_and_deterministic():
    specs = [batch.clip_spec(i) for i in range(10)]
    assert all(3.0 <= s.duration_s <= 5.1 and 2 <= len(s.shots) <= 6 and s.fps == 24 for s in specs)
    assert [bool(s.subtitles) for s in specs] == [i % 2 == 0 for i in range(10)]
    assert all(c.end_s <= s.duration_s + 1e-9 for s in specs for c in s.subtitles)
    assert {a.sound for a in specs[2].audio} == {"brown"} and {a.sound for a in specs[0].audio} == {"sine"}
    assert batch.clip_spec(3) == batch.clip_spec(3) and batch.clip_spec(3) != batch.clip_spec(4)
    assert batch.title_name(7) == "title_0007" and batch.title_name(batch.WARMUP_INDEX + 1) == "warm_01"


def test_inputs_are_cast_to_the_table_schema_like_an_executor_reads_them():
    inp = SliceInput("shots", "shots", "v1", ("video_id", "shot_index", "start_s", "detector"))
    rows = pa.table({"shot_index": pa.array([0, 1], pa.int64()), "start_s": [0.0, 1.5]})
    out = batch.input_rows(inp, "vid", rows)
    assert out.column_names == ["video_id", "shot_index", "start_s", "detector"]
    assert out.column("video_id").to_pylist() == ["vid", "vid"]
    assert out.schema.field("shot_index").type == pa.int32() and out.column("detector").null_count == 2
    assert batch.input_rows(inp, "vid", None).num_rows == 0


def _job(name, inputs, outputs, compute, required=()):
    return SimpleNamespace(name=name, inputs=inputs, outputs=outputs, compute=compute, required=required)


def test_the_baseline_chains_each_title_through_the_jobs_in_memory():
    a, b = FeatureSpec("standardized_encode", "encodes", "e1", {}), FeatureSpec("shots", "shots", "s1", {})
    seen = {}

    def encode(vid, inputs):
        seen["media"] = inputs["media"].to_pylist()
        return {a.name: pa.table({"uri": ["file:///x.mp4"], "fps": [24.0]})}

    def shots(vid, inputs):
        seen["encode"] = inputs["encode"].to_pylist()
        return {b.name: pa.table({"shot_index": [0, 1], "start_frame": [0, 30], "end_frame": [30, 60]})}

    jobs = [_job("encode", {"media": SliceInput("media", "media", "1", ("source_uri", "status"))}, [a], encode, ("media",)),
            _job("shots", {"encode": SliceInput("encodes", a.name, a.version, ("uri", "fps"))}, [b], shots, ("encode",))]
    ticks = iter(range(100))
    outputs, seconds = batch.run_title_jobs(jobs, "vid", {"source_uri": "file:///s.mp4", "status": "ok"}, "1",
                                            clock=lambda: float(next(ticks)))
    assert seen == {"media": [{"source_uri": "file:///s.mp4", "status": "ok"}], "encode": [{"uri": "file:///x.mp4", "fps": 24.0}]}
    assert set(outputs) == {"standardized_encode", "shots"} and outputs["shots"].num_rows == 2
    assert seconds == {"encode": 1.0, "shots": 1.0}
    stale = [jobs[0], _job("shots", {"encode": SliceInput("encodes", a.name, "OLD", ("uri",))}, [b], shots, ("encode",))]
    with pytest.raises(RuntimeError, match="no standardized_encode@OLD rows"):
        batch.run_title_jobs(stale, "vid", {"source_uri": "u", "status": "ok"}, "1")


def test_a_replace_counts_as_one_commit_and_compactions_apart():
    props = {"reelhouse.run_id": "r2", "reelhouse.slices": "shots@1", "reelhouse.titles": "1"}
    snaps = [
        (1, None, "append", {"reelhouse.run_id": "r1", "reelhouse.slices": "shots@1", "added-data-files": "4"}),
        (2, 1, "overwrite", {**props, "deleted-data-files": "1"}),  # a replace: delete, then append
        (3, 2, "append", {**props, "added-data-files": "1"}),
        (4, 3, "overwrite", {"reelhouse.operation": "compact", "added-data-files": "1"}),
        (5, 4, "append", {"reelhouse.run_id": "r3", "reelhouse.slices": "shots@1", "added-data-files": "1"}),
    ]
    assert batch.count_commits(snaps) == [("write", "r1", "shots@1"), ("write", "r2", "shots@1"), ("compact", None, ""),
                                          ("write", "r3", "shots@1")]


def test_answers_compare_counts_boundaries_flags_and_cosines():
    shots = pa.table({"shot_index": [1, 0], "start_frame": [30, 0], "end_frame": [60, 30]})
    assert batch.compare_rows(shots, shots.sort_by("shot_index")) == []
    moved = pa.table({"shot_index": [0, 1], "start_frame": [0, 31], "end_frame": [31, 60]})
    assert "shot boundaries differ" in batch.compare_rows(shots, moved)[0]
    assert batch.compare_rows(shots, shots.slice(0, 1)) == ["2 rows, baseline 1"]
    assert batch.compare_rows(None, None) == []

    def emb(vectors, flags):
        return pa.table({"shot_index": list(range(len(vectors))), "has_embedding": flags,
                         "embedding": pa.array(vectors, pa.list_(pa.float32()))})

    base = emb([[1.0, 0.0], None, [0.0, 0.0]], [True, False, False])
    assert batch.compare_rows(emb([[0.99999, 0.001], None, [0.0, 0.0]], [True, False, False]), base) == []
    assert any("cosine" in p for p in batch.compare_rows(emb([[0.7, 0.7], None, [0.0, 0.0]], [True, False, False]), base))
    assert "has_embedding differs" in batch.compare_rows(emb([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]], [True, True, False]), base)


def _run(wall, peak, runs=3, commits=1):
    return {"title_wall_s": wall, "wall_s": wall + 5, "catalog_s": 5.0, "compaction_s": 0.5, "driver_peak_rss_mb": peak,
            "jvm_peak_rss_mb": 400.0, "tree_peak_rss_mb": 2000.0, "tree_peak_pss_mb": 1500.0, "dagster_runs": runs,
            "dagster_title_runs": 1, "dagster_runs_failed": 0, "commits_per_table": commits, "commits_per_table_per_job": 1,
            "commits_per_table_with_catalog": commits + 1, "commits": {}, "stage_s": {"shots": 1.0}, "peaks_reset": True,
            "titles_run": 4, "driver_cpu_s": wall / 2, "driver_jvm_cpu_s": 1.0, "machine_busy_core_s": wall * 1.5}


def test_the_last_line_leads_with_the_issue_keys_and_meets_the_targets():
    runs = {4: _run(10.0, 1000.0), 8: _run(16.0, 1050.0)}
    baselines = {4: {"wall_s": 6.0, "stage_s": {"shots": 2.0}}, 8: {"wall_s": 12.0, "stage_s": {"shots": 4.0}}}
    cluster = {1: _run(20.0, 990.0), 2: _run(11.0, 990.0)}
    out = batch.headline(runs, baselines, cluster, batch_size=256)
    assert list(out)[:7] == ["titles", "per_title_overhead_s", "driver_peak_rss_ratio_256_vs_64", "dagster_runs_256",
                             "commits_per_table_256", "speedup_2_workers_vs_1", "titles_per_hour"]
    assert out["titles"] == 8 and out["per_title_overhead_s"] == 0.5 and out["per_title_overhead_s_4"] == 1.0
    assert out["driver_peak_rss_ratio_256_vs_64"] == 1.05 and out["speedup_2_workers_vs_1"] == 1.818
    assert out["titles_per_hour"] == 1800
    assert out["driver_cpu_s_8"] == 8.0 and out["cluster_2_workers_machine_busy_core_s"] == 16.5
    out["answers_match"] = True
    assert [v for _, v in target_rows("batch", out)] == ["met"] * len(BENCHMARKS["batch"])
    bare = batch.headline({8: _run(16.0, 1000.0)}, {}, {}, batch_size=256)
    assert bare["per_title_overhead_s"] is None and bare["speedup_2_workers_vs_1"] is None
    assert bare["driver_peak_rss_ratio_256_vs_64"] is None
