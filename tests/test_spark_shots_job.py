"""The shots job: its per-title rows without Spark, and the job itself on Spark local[2]."""

from __future__ import annotations

import pytest

from models.shot_detection import FastShotDetector
from reelhouse.lakehouse import FeatureSlice, new_run_id
from spark_jobs.session import local_cores, machine_conf
from spark_jobs.shots import EncodedTitle, run_shots, title_shot_rows
from tests.media_fixtures import standardized_clip, truth_clip


def _truth_starts() -> list[int]:
    _, truth = truth_clip()
    return [start for start, _ in truth.shots]


def test_title_rows_tile_the_encode_and_match_the_truth_without_spark() -> None:
    rows = title_shot_rows(str(standardized_clip()), 24.0, "fast").to_pylist()
    assert [r["shot_index"] for r in rows] == list(range(len(rows)))
    assert rows[0]["start_frame"] == 0 and rows[0]["start_s"] == 0.0
    for a, b in zip(rows, rows[1:]):
        assert a["end_frame"] == b["start_frame"] and a["end_s"] == pytest.approx(b["start_s"])
    starts = [r["start_frame"] for r in rows]
    assert len(starts) == len(_truth_starts())
    assert all(abs(s - t) <= 2 for s, t in zip(starts, _truth_starts()))
    assert {r["detector"] for r in rows} == {f"fast@{FastShotDetector.version}"} and {r["fps"] for r in rows} == {24.0}


@pytest.mark.slow
def test_job_on_spark_local_commits_every_title_once(store) -> None:
    from spark_jobs.session import get_spark

    uri = standardized_clip().as_uri()
    titles = [EncodedTitle("a" * 32, uri, 24.0), EncodedTitle("b" * 32, uri, 24.0)]
    result = run_shots(get_spark("local[2]"), store, titles, "shots_test", "1-test", "fast", new_run_id())
    assert len(result.slices) == 2 and result.snapshot_id is not None  # one commit for both titles
    for t in titles:
        rows = store.read_slice("shots", FeatureSlice(t.video_id, "shots_test", "1-test")).to_pylist()
        assert sorted(r["start_frame"] for r in rows) == [r["start_frame"] for r in title_shot_rows(str(standardized_clip()), 24.0, "fast").to_pylist()]


def test_one_machine_runs_one_python_task_with_every_core() -> None:
    assert local_cores("local[3]") == 3 and local_cores("local") == 1 and local_cores("spark://head:7077") is None
    assert machine_conf("local[3]") == {
        "spark.task.cpus": "3", "spark.executorEnv.OMP_NUM_THREADS": "3", "spark.executorEnv.MKL_NUM_THREADS": "3",
    }
    assert "spark.task.cpus" not in machine_conf("spark://head:7077")
    assert machine_conf("spark://head:7077")["spark.executorEnv.OMP_NUM_THREADS"] == "1"


def test_workers_fork_from_the_preloading_daemon() -> None:
    from spark_jobs.session import BASE_CONF
    from spark_jobs.worker_daemon import preload

    assert BASE_CONF["spark.python.daemon.module"] == "spark_jobs.worker_daemon"
    assert BASE_CONF["spark.python.worker.reuse"] == "false"
    assert preload(("json", "no_such_module_for_reelhouse")) == ["no_such_module_for_reelhouse"]
