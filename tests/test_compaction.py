"""Small-file compaction and the partition layout, on a real SQLite Iceberg catalog (and DuckDB reading it)."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.transforms import IdentityTransform

from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id
from reelhouse.lakehouse.schemas import table_def
from reelhouse.lakehouse.slices import IN_LIST_LIMIT
from tests.test_lakehouse import shot_rows


def vid(i: int, prefix: str = "") -> str:
    """A content id like the real ones (hex), optionally forced into one partition by ``prefix``."""
    return (prefix + hashlib.sha256(str(i).encode()).hexdigest())[:32]


def all_rows(store: FeatureStore, name: str = "shots") -> list[tuple]:
    rows = store.read(name).to_pylist()
    return sorted(tuple(sorted(r.items())) for r in rows)


def data_files(store: FeatureStore, name: str = "shots") -> list:
    return [t.file for t in store.table(name).scan().plan_files()]


def write_titles(store: FeatureStore, ids: list[str], version: str = "1-aaaa", n: int = 3) -> None:
    store.replace_slices("shots", {FeatureSlice(v, "shots", version): pa.Table.from_pylist(shot_rows(n)) for v in ids},
                         new_run_id())


def test_compaction_merges_each_partition_and_keeps_every_row(store: FeatureStore):
    same_partition = [vid(i, "ab") for i in range(6)]
    others = [vid(i) for i in range(100, 104)]
    for chunk in (same_partition[:3], same_partition[3:], others):
        write_titles(store, chunk)
    before = all_rows(store)
    files_before = data_files(store)
    assert len(files_before) == 10  # one file per slice

    result = store.compact("shots")

    assert all_rows(store) == before  # same rows, same audit columns
    after = data_files(store)
    partitions = {tuple(f.partition) for f in files_before}
    assert len(after) == len(partitions) < len(files_before)
    assert result.files_removed - result.files_added == len(files_before) - len(after)
    again = store.compact("shots")
    assert (again.partitions, again.files_removed) == (0, 0)  # already compact: nothing to do


def test_replacing_a_title_in_a_compacted_file_rewrites_only_its_rows(store: FeatureStore):
    ids = [vid(i, "cd") for i in range(4)]
    write_titles(store, ids[:2])
    write_titles(store, ids[2:])
    store.compact("shots")
    assert len(data_files(store)) == 1
    others = [r for r in all_rows(store) if dict(r)["video_id"] != ids[0]]

    store.replace_slice("shots", FeatureSlice(ids[0], "shots", "1-aaaa"), shot_rows(5, offset=7), new_run_id())

    mine = store.read_slice("shots", FeatureSlice(ids[0], "shots", "1-aaaa")).to_pylist()
    assert sorted(r["start_frame"] for r in mine) == [7, 17, 27, 37, 47]
    assert [r for r in all_rows(store) if dict(r)["video_id"] != ids[0]] == others


def test_a_writer_that_lands_during_compaction_is_not_undone(store: FeatureStore):
    """Compaction removes exactly the files it read; a slice replaced meanwhile makes it retry, so the
    writer's new rows survive."""
    ids = [vid(i, "ef") for i in range(3)]
    for v in ids:
        write_titles(store, [v])

    class RacingStore(FeatureStore):
        raced = False

        def file_writer(self, name, run_id):
            writer = super().file_writer(name, run_id)
            outer = self

            class Racing(type(writer)):
                def write_compacted(self, rows):
                    if not outer.raced:  # a pipeline run commits while compaction is writing
                        outer.raced = True
                        FeatureStore(outer.catalog, outer.namespace).replace_slice(
                            "shots", FeatureSlice(ids[0], "shots", "1-aaaa"), shot_rows(2, offset=1000), new_run_id())
                    return super().write_compacted(rows)

            return Racing(**writer.__dict__)

    racing = RacingStore(store.catalog, store.namespace)
    racing.compact("shots")

    assert racing.raced
    mine = store.read_slice("shots", FeatureSlice(ids[0], "shots", "1-aaaa")).to_pylist()
    assert sorted(r["start_frame"] for r in mine) == [1000, 1010]
    assert store.read("shots").num_rows == 2 + 3 + 3
    assert len(data_files(store)) == 1


def test_a_large_batch_replaces_whole_files_without_rewriting_them(store: FeatureStore):
    """More slices than one IN list holds: the delete still drops whole files (nothing read back and rewritten)."""
    ids = [vid(i) for i in range(IN_LIST_LIMIT + 50)]
    write_titles(store, ids, n=2)
    write_titles(store, ids, n=3)
    table = store.table("shots")
    summaries = [s.summary for s in table.snapshots()]
    delete = next(s for s in reversed(summaries) if "deleted-data-files" in s.additional_properties)
    assert int(delete["deleted-data-files"]) == len(ids)
    assert "added-data-files" not in delete.additional_properties  # whole files dropped, none rewritten
    assert store.read("shots").num_rows == 3 * len(ids)


def test_a_table_with_the_old_per_title_partitioning_is_migrated(store: FeatureStore, settings):
    """Tables created by older code (identity(video_id)) move to the prefix partitioning; compaction moves
    their files, and every engine reads the same rows throughout."""
    from reelhouse.query.duckdb_engine import DuckDBEngine

    tdef = table_def("shots")
    old_spec = PartitionSpec(
        PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="feature"),
        PartitionField(source_id=1, field_id=1001, transform=IdentityTransform(), name="video_id"),
    )
    legacy = FeatureStore(store.catalog, "legacy")
    legacy.catalog.create_namespace("legacy")
    legacy.catalog.create_table(legacy.identifier("shots"), schema=tdef.schema, partition_spec=old_spec)
    legacy._ensured.add("shots")  # written as the old code did, before any evolution
    ids = [vid(i, "0a") for i in range(3)]
    write_titles(legacy, ids)
    before = all_rows(legacy)

    migrated = FeatureStore(store.catalog, "legacy")
    migrated.ensure_tables(["shots"])
    table = migrated.table("shots")
    assert [str(f.transform) for f in table.spec().fields] == ["identity", "truncate[2]"]
    write_titles(migrated, [vid(9, "0a")])  # a new file under the new spec
    assert len({f.spec_id for f in data_files(migrated)}) == 2

    migrated.compact("shots")
    files = data_files(migrated)
    assert {f.spec_id for f in files} == {table.spec().spec_id} and len(files) == 1
    assert [r for r in all_rows(migrated) if dict(r)["video_id"] in ids] == before
    with DuckDBEngine(store.catalog, namespaces=["legacy"]) as engine:
        assert engine.execute("SELECT count(*) AS n FROM legacy.shots").column("n").to_pylist() == [12]


@pytest.mark.parametrize("min_files", [0, -1])
def test_compaction_rejects_a_nonsense_threshold(store: FeatureStore, min_files: int):
    with pytest.raises(ValueError, match="min_files"):
        store.compact("shots", min_files=min_files)


def test_compaction_does_not_move_the_data_snapshot(store: FeatureStore):
    """Indexes and stored match cuts are keyed by the data snapshot; compaction must not make them stale."""
    ids = [vid(i, "9f") for i in range(3)]
    for v in ids:
        write_titles(store, [v])
    data_snapshot = store.snapshot_id("shots")
    store.compact("shots")
    assert store.table("shots").current_snapshot().snapshot_id != data_snapshot
    assert store.snapshot_id("shots") == data_snapshot
    assert sorted(map(str, store.read("shots", snapshot_id=data_snapshot).to_pylist())) == sorted(
        map(str, store.read("shots").to_pylist()))
    write_titles(store, [vid(50, "9f")])
    assert store.snapshot_id("shots") == store.table("shots").current_snapshot().snapshot_id


def test_reelhouse_compact_command(store: FeatureStore, settings, capsys, monkeypatch):
    import json

    from reelhouse import cli

    for i in range(3):
        write_titles(store, [vid(i, "77")])
    monkeypatch.setenv("REELHOUSE_HOME", str(settings.home))
    assert cli.main(["compact", "--json"]) == 0
    report = {r["table"]: r for r in json.loads(capsys.readouterr().out)}
    assert report["shots"]["files_removed"] == 3 and report["shots"]["files_added"] == 1
    assert cli.main(["compact"]) == 0
    assert "shots: already compact" in capsys.readouterr().out


def test_compact_tables_job_runs_in_dagster(store: FeatureStore, settings):
    from dagster_project.definitions import defs
    from dagster_project.maintenance import compact_tables
    from dagster_project.resources import resources_for

    for i in range(2):
        write_titles(store, [vid(i, "55")])
    result = compact_tables.execute_in_process(resources=resources_for(settings))
    assert result.success and result.output_for_node("compact_feature_tables") == 2
    assert len(data_files(store)) == 1
    assert defs.get_schedule_def("nightly_compaction").cron_schedule == "0 3 * * *"
