"""Faults injected into real processes of the main job (``benchmarks.faults`` holds the machinery).

A killed run is a real ``kill -9`` of the run's whole session (driver, Spark JVM, PySpark daemon, Python
workers) at a precise point, verified from outside: while a Spark task is computing (Spark's status API
shows it running, its Python worker burns CPU, and it has written nothing), in the middle of a commit
(new table metadata written, catalog not yet pointing at it) and right after a commit, before the run
wrote the stage's other table. The full disk is a small
tmpfs and the read-only warehouse a read-only bind mount, each in a private mount namespace.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from benchmarks import faults
from reelhouse.config import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("fault-library") / "landing"
    faults.build_library(landing, titles=1, seconds=4.0)
    return landing


@pytest.fixture(scope="module")
def reference(library: Path, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("fault-clean") / "home"
    shutil.copytree(library, home / "landing")
    clean = faults.run_main_job(home)
    assert clean.returncode == 0, clean.output[-3000:]
    return faults.snapshot_tables(home)


def test_runs_killed_mid_commit_and_after_a_commit_leave_consistent_tables_and_a_rerun_restores_them(
        library: Path, reference: dict, tmp_path: Path):
    home = tmp_path / "home"
    shutil.copytree(library, home / "landing")
    from reelhouse.lakehouse import FeatureStore

    killed = faults.run_main_job(home, "spark:shots")
    assert killed.killed and killed.reached, (killed.evidence, killed.output[-2000:])
    assert not list((home / "warehouse" / "features" / "shots" / "data").rglob("*.parquet"))
    assert faults.check_state(faults.snapshot_tables(home), reference).problems == []
    killed = faults.run_main_job(home, "precommit:shots:1")
    assert killed.killed and killed.reached, (killed.evidence, killed.output[-2000:])
    # The shot job's file and the new table metadata are on disk, but no snapshot a reader sees has them.
    on_disk = {p.as_uri() for p in (home / "warehouse" / "features" / "shots" / "data").rglob("*.parquet")}
    assert on_disk and not faults._referenced_files(FeatureStore.from_settings(Settings(home=home)), "shots")
    assert faults.check_state(faults.snapshot_tables(home), reference).problems == []
    before = faults.snapshot_tables(home)
    killed = faults.run_main_job(home, "postcommit:shot_embeddings:1")
    assert killed.killed and killed.reached, (killed.evidence, killed.output[-2000:])
    check = faults.check_state(faults.snapshot_tables(home), reference, before)
    assert (check.problems, check.lost) == ([], 0)
    final = faults.run_main_job(home)
    assert final.returncode == 0, final.output[-3000:]
    # The killed runs' Dagster runs were left STARTED holding the spark pool's slot; the next run reaped them.
    assert "was left running by a process that is gone" in final.output
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    failed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    assert len(failed) >= 3
    assert not instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    damage = faults.compare(reference, faults.snapshot_tables(home))
    assert (damage.lost, damage.duplicated, damage.changed) == (0, 0, 0), damage.details


def test_a_full_disk_fails_clearly_loses_nothing_and_a_rerun_after_freeing_space_completes(
        library: Path, reference: dict, tmp_path: Path):
    result = faults.full_disk(tmp_path, library, free_kb=400)
    assert result["first_exit"] == 1, result
    assert result["free_kb"] <= 400
    # The title's one-line summary names the cause (Spark's own log above it may hold the task's traceback).
    summary = [ln for ln in result["first_output"].splitlines() if ln.startswith("  title_00.mp4: ")]
    assert summary and "No space left on device" in summary[0] and "the warehouse refused the write" in summary[0]
    assert result["first_report"]["problems"] == []
    assert result["second_exit"] == 0, result["stderr"]
    assert result["second_report"]["problems"] == []
    assert result["second_report"]["rows"] == {name: rows.num_rows for name, rows in reference.items()}


def test_a_read_only_warehouse_stops_the_run_before_anything_is_written(library: Path, tmp_path: Path):
    result = faults.read_only_warehouse(tmp_path, library)
    assert result["write_refused"]
    assert result["exit"] == 2
    assert "cannot write to the warehouse" in result["output"] and "read-only file system" in result["output"]
    assert "Traceback" not in result["output"]
    assert result["warehouse_files"] == []


def test_a_landing_file_still_being_written_by_another_process_is_requested_only_once_complete(library: Path,
                                                                                              tmp_path: Path):
    result = faults.landing_file_being_written(tmp_path, next(library.glob("*.mp4")))
    assert result.ticks_while_partial > 0
    assert (result.requested_while_partial, result.requested_once_complete) == (False, True)


def test_processes_committing_to_one_table_at_once_all_land(tmp_path: Path):
    result = faults.concurrent_commits(tmp_path, writers=3, commits_each=3)
    assert (result.lost, result.duplicated, result.details) == (0, 0, [])
    assert result.conflicts > 0  # the writers did race
