"""Batches of titles: Dagster runs over consecutive partitions, and the input plan the batch runner ships."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dagster_project.batches import RANGE_END, RANGE_START, TitleBatch, title_batches
from reelhouse.lakehouse import FeatureSlice, new_run_id
from reelhouse.lakehouse.plan import SliceInput, plan_batch, read_title_input


def test_batches_are_consecutive_partitions_needing_the_same_assets_and_at_most_the_size():
    order = ["a", "b", "c", "d", "e", "f", "g"]
    todo = {"a": ["x"], "b": ["x"], "c": ["x"], "e": ["x"], "f": ["x", "y"], "g": ["x", "y"], "zz": ["x"]}
    batches = title_batches(order, todo, size=2)
    assert batches == [TitleBatch(("a", "b"), ("x",)), TitleBatch(("c",), ("x",)),  # cut at the size
                       TitleBatch(("e",), ("x",)),  # d is current: the range stops there
                       TitleBatch(("f", "g"), ("x", "y"))]  # other assets: another run; zz is no partition
    assert batches[0].run_target() == (None, {RANGE_START: "a", RANGE_END: "b"})
    assert batches[1].run_target() == ("c", {})
    assert len(title_batches([f"t{i:03d}" for i in range(256)], {f"t{i:03d}": ["x"] for i in range(256)}, 64)) == 4
    with pytest.raises(ValueError):
        title_batches(order, todo, 0)


def _shots(n: int, offset: int = 0) -> pa.Table:
    return pa.Table.from_pylist([{"shot_index": i, "start_frame": 10 * i + offset, "end_frame": 10 * i + 10 + offset,
                                  "start_s": i * 1.0, "end_s": i + 1.0, "fps": 10.0, "transition": "cut",
                                  "confidence": 1.0, "detector": "t"} for i in range(n)])


def test_the_plan_ships_file_paths_and_executors_read_exactly_their_titles_rows(store):
    ids = [f"{c}{c}" + "0" * 30 for c in "abcd"]
    store.replace_slices("shots", {FeatureSlice(v, "shots", "1-x"): _shots(3 + i, offset=i) for i, v in enumerate(ids[:3])},
                         new_run_id())
    store.replace_slice("shots", FeatureSlice(ids[0], "shots", "2-y"), _shots(9), new_run_id())  # another version
    store.compact_all(min_files=1)  # merged files: several titles per file, bounds then pick the titles
    inp = SliceInput("shots", "shots", "1-x", ("shot_index", "start_frame"))
    plan = plan_batch(store, {"shots": inp}, ids)
    assert plan.missing() == {ids[3]: ["shots"]}  # no rows at all: not ready
    assert plan.snapshot_ids["shots"] == store.table("shots").current_snapshot().snapshot_id
    assert "thumbnail" not in plan.title_files_json(ids[0]) and plan.title_files_json(ids[0]).startswith('{"shots": [')
    for i, v in enumerate(ids[:3]):
        rows = read_title_input(inp, v, plan.files[v]["shots"], plan.io_properties)
        assert rows.column_names == ["shot_index", "start_frame"]
        assert sorted(rows.column("start_frame").to_pylist()) == [10 * k + i for k in range(3 + i)]
