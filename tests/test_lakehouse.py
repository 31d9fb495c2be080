"""The feature store's write semantics on a real SQLite Iceberg catalog."""

from __future__ import annotations

import multiprocessing as mp

import pyarrow as pa
import pytest

from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id

VID_A = "a" * 32
VID_B = "b" * 32


def shot_rows(n: int, offset: int = 0) -> list[dict]:
    return [
        dict(shot_index=i, start_frame=10 * i + offset, end_frame=10 * i + 10 + offset, start_s=i / 2.4,
             end_s=(i + 1) / 2.4, fps=24.0, transition="cut", confidence=1.0, detector="test@1")
        for i in range(n)
    ]


def test_replace_slice_is_idempotent(store: FeatureStore):
    sl = FeatureSlice(VID_A, "shots", "1-aaaa")
    store.replace_slice("shots", sl, shot_rows(3), new_run_id())
    store.replace_slice("shots", sl, shot_rows(3), new_run_id())
    rows = store.read("shots")
    assert rows.num_rows == 3
    assert sorted(rows.column("shot_index").to_pylist()) == [0, 1, 2]


def test_replace_touches_only_its_slice(store: FeatureStore):
    a1 = FeatureSlice(VID_A, "shots", "1-aaaa")
    a2 = FeatureSlice(VID_A, "shots", "2-bbbb")
    b1 = FeatureSlice(VID_B, "shots", "1-aaaa")
    store.replace_slice("shots", a1, shot_rows(3), new_run_id())
    store.replace_slice("shots", b1, shot_rows(4), new_run_id())
    store.replace_slice("shots", a2, shot_rows(5), new_run_id())
    store.replace_slice("shots", a1, shot_rows(2), new_run_id())
    assert store.read_slice("shots", a1).num_rows == 2
    assert store.read_slice("shots", a2).num_rows == 5  # the other version stays readable
    assert store.read_slice("shots", b1).num_rows == 4  # the other title is untouched
    assert store.present_video_ids("shots", "shots", "1-aaaa") == {VID_A, VID_B}
    assert store.has_slice("shots", a2) and not store.has_slice("shots", FeatureSlice(VID_B, "shots", "2-bbbb"))


def test_every_row_carries_audit_columns(store: FeatureStore):
    run = new_run_id()
    store.replace_slice("shots", FeatureSlice(VID_A, "shots", "1-aaaa"), shot_rows(2), run)
    rows = store.read("shots").to_pylist()
    assert {r["run_id"] for r in rows} == {run}
    assert all(r["video_id"] == VID_A and r["feature"] == "shots" and r["feature_version"] == "1-aaaa" for r in rows)
    assert all(r["written_at"] is not None and r["written_at"].tzinfo is not None for r in rows)


def test_time_travel_reads_the_previous_run(store: FeatureStore):
    sl = FeatureSlice(VID_A, "shots", "1-aaaa")
    first = store.replace_slice("shots", sl, shot_rows(3), new_run_id())
    store.replace_slice("shots", sl, shot_rows(7), new_run_id())
    assert store.read("shots").num_rows == 7
    assert store.read("shots", snapshot_id=first.snapshot_id).num_rows == 3


def test_uncommitted_files_are_invisible(store: FeatureStore):
    """A writer that dies after writing Parquet but before committing leaves no visible rows."""
    writer = store.file_writer("shots", new_run_id())
    writer.write(FeatureSlice(VID_A, "shots", "1-aaaa"), pa.Table.from_pylist(shot_rows(3)))
    assert store.read("shots").num_rows == 0


def test_commit_refuses_a_file_of_another_slice(store: FeatureStore):
    run = new_run_id()
    writer = store.file_writer("shots", run)
    path = writer.write(FeatureSlice(VID_A, "shots", "1-aaaa"), pa.Table.from_pylist(shot_rows(3)))
    with pytest.raises(ValueError, match="not uniformly"):
        store.commit_files("shots", {FeatureSlice(VID_B, "shots", "1-aaaa"): [path]}, run)
    assert store.read("shots").num_rows == 0


def test_required_values_are_enforced_on_write(store: FeatureStore):
    bad = shot_rows(2)
    bad[1]["start_frame"] = None
    with pytest.raises(ValueError, match="start_frame"):
        store.replace_slice("shots", FeatureSlice(VID_A, "shots", "1-aaaa"), bad, new_run_id())


def test_rows_of_another_title_are_rejected(store: FeatureStore):
    rows = [dict(r, video_id=VID_B) for r in shot_rows(2)]
    with pytest.raises(ValueError, match="video_id"):
        store.replace_slice("shots", FeatureSlice(VID_A, "shots", "1-aaaa"), rows, new_run_id())


def _concurrent_writer(home: str, video_id: str, n: int, barrier) -> None:
    from reelhouse.config import Settings

    fs = FeatureStore.from_settings(Settings(home=home))
    barrier.wait()
    for k in range(n):
        fs.replace_slice("shots", FeatureSlice(video_id, "shots", f"1-{k:04d}"), shot_rows(2), new_run_id())


def test_two_processes_committing_at_once_both_land(store: FeatureStore, settings):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_concurrent_writer, args=(str(settings.home), vid, 4, barrier)) for vid in (VID_A, VID_B)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    rows = store.read("shots")
    assert rows.num_rows == 2 * 4 * 2
    keys = set(zip(rows.column("video_id").to_pylist(), rows.column("feature_version").to_pylist(), rows.column("shot_index").to_pylist()))
    assert len(keys) == rows.num_rows  # no duplicates


def test_a_table_created_by_older_code_gains_the_new_optional_columns(settings):
    """Tables evolve with the code: a column added to a table definition is added to the stored table."""
    from pyiceberg.schema import Schema

    from reelhouse.lakehouse import FeatureStore
    from reelhouse.lakehouse.schemas import table_def

    tdef = table_def("match_cuts")
    added = ["csls", "percentile"]  # the last columns the definition gained (match-cut algorithm version 2)
    assert tdef.schema.column_names[-len(added):] == added
    old = Schema(*[f for f in tdef.schema.fields if f.name not in added])
    store = FeatureStore.from_settings(settings)
    store.catalog.create_namespace(store.namespace)
    store.catalog.create_table(store.identifier("match_cuts"), schema=old, partition_spec=tdef.partition_spec)
    assert not set(added) & set(store.catalog.load_table(store.identifier("match_cuts")).schema().column_names)

    store.ensure_tables(["match_cuts"])
    evolved = store.catalog.load_table(store.identifier("match_cuts")).schema()
    assert evolved.column_names == tdef.schema.column_names
    # A row as the older code wrote it (no values for the new columns), and one with them.
    store.replace_slice("match_cuts", FeatureSlice("v" * 32, "match_cuts_colour", "1-x"),
                        [{"flavor": "colour", "shot_index": 0, "other_video_id": "w" * 32, "other_shot_index": 3,
                          "score": 0.9, "rank": 1, "source_snapshot_id": 42}], "run")
    store.replace_slice("match_cuts", FeatureSlice("w" * 32, "match_cuts_colour", "2-x"),
                        [{"flavor": "colour", "shot_index": 0, "other_video_id": "v" * 32, "other_shot_index": 0,
                          "score": 0.9, "rank": 1, "source_snapshot_id": 43, "csls": 0.4, "percentile": 99.5}], "run2")
    rows = sorted(store.read("match_cuts").to_pylist(), key=lambda r: r["source_snapshot_id"])
    assert [(r["source_snapshot_id"], r["csls"], r["percentile"]) for r in rows] == [(42, None, None), (43, 0.4, 99.5)]
