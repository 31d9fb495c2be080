"""The shots job: its per-title rows without Spark, and the job itself on Spark local[2]."""

from __future__ import annotations

import pytest

from models.shot_detection import FastShotDetector
from reelhouse.lakehouse import FeatureSlice, new_run_id
from spark_jobs.shots import shots_job, title_shot_rows
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


def _store_encode(store, settings, video_id: str, uri: str) -> None:
    from reelhouse.features.specs import encode_spec

    spec = encode_spec(settings)
    store.replace_slice("encodes", FeatureSlice(video_id, spec.name, spec.version), [{
        "uri": uri, "width": 408, "height": 240, "fps": 24.0, "frame_count": 1, "duration_s": 1.0, "has_audio": False,
        "size_bytes": 1, "recipe_json": "{}"}], new_run_id())


@pytest.mark.slow
def test_job_on_spark_local_commits_every_title_once_and_reports_a_bad_one(store, settings) -> None:
    from spark_jobs.batch import run_batch
    from spark_jobs.session import get_spark

    good, bad, absent = "a" * 32, "b" * 32, "c" * 32
    _store_encode(store, settings, good, standardized_clip().as_uri())
    _store_encode(store, settings, bad, (settings.home / "no_such_encode.mp4").as_uri())
    job = shots_job(settings, "fast")
    result = run_batch(get_spark("local[2]"), store, job, [good, bad, absent], new_run_id())
    # the good title is committed in one commit; the bad one and the one without an encode are reported
    assert [s.video_id for s in result.writes["shots"].slices] == [good]
    assert set(result.failed) == {bad, absent} and "TitleNotReady" in result.failed[absent]
    spec = job.outputs[0]
    rows = store.read_slice("shots", FeatureSlice(good, spec.name, spec.version)).to_pylist()
    expected = title_shot_rows(str(standardized_clip()), 24.0, "fast").to_pylist()
    assert sorted(r["start_frame"] for r in rows) == [r["start_frame"] for r in expected]
    assert store.read_slice("shots", FeatureSlice(bad, spec.name, spec.version)).num_rows == 0


def test_titles_run_side_by_side_one_math_thread_per_task(settings) -> None:
    from spark_jobs.session import BASE_CONF, get_spark

    assert "spark.task.cpus" not in BASE_CONF  # one task per core: a batch's titles run in parallel
    assert BASE_CONF["spark.executorEnv.OMP_NUM_THREADS"] == BASE_CONF["spark.executorEnv.MKL_NUM_THREADS"] == "1"
    spark = get_spark(settings.spark_master, settings.spark_conf)
    assert spark.sparkContext.getConf().get("spark.task.cpus", "1") == "1"


def test_workers_fork_from_the_preloading_daemon() -> None:
    from spark_jobs.session import BASE_CONF
    from spark_jobs.worker_daemon import preload

    assert BASE_CONF["spark.python.daemon.module"] == "spark_jobs.worker_daemon"
    assert BASE_CONF["spark.python.worker.reuse"] == "false"
    assert preload(("json", "no_such_module_for_reelhouse")) == ["no_such_module_for_reelhouse"]
