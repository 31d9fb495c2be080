"""Near-duplicate grouping on clustered embeddings with known duplicates."""

from __future__ import annotations

import numpy as np
import pytest

from models.dedup import near_duplicate_groups


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_duplicates_group_under_the_earliest_shot():
    rng = np.random.default_rng(0)
    scenes = unit(rng.normal(size=(4, 64)))
    # shots 0,3,6 show scene 0; 1,5 scene 1; 2 scene 2; 4 scene 3 (each with small noise)
    which = [0, 1, 2, 0, 3, 1, 0]
    emb = unit(scenes[which] + 0.02 * rng.normal(size=(7, 64)))
    group, sim = near_duplicate_groups(emb, threshold=0.95)
    assert group.tolist() == [0, 1, 2, 0, 4, 1, 0]
    assert sim[0] == pytest.approx(1.0) and all(sim[[3, 6]] > 0.95)


def test_threshold_one_keeps_everything_apart_and_validation():
    emb = unit(np.random.default_rng(1).normal(size=(5, 8)))
    assert near_duplicate_groups(emb, 1.0)[0].tolist() == [0, 1, 2, 3, 4]
    assert near_duplicate_groups(np.zeros((0, 8)), 0.9)[0].size == 0
    with pytest.raises(ValueError):
        near_duplicate_groups(emb, 0.0)


def test_blocks_give_the_same_answer():
    rng = np.random.default_rng(2)
    emb = unit(np.repeat(rng.normal(size=(30, 16)), 3, axis=0) + 0.01 * rng.normal(size=(90, 16)))
    assert (near_duplicate_groups(emb, 0.9, block=7)[0] == near_duplicate_groups(emb, 0.9, block=1000)[0]).all()


@pytest.mark.slow
def test_the_dedup_job_groups_each_titles_shots_from_its_spark_submit_entry_point(settings, store, capsys):
    """``spark-submit spark_jobs/dedup.py --titles ...``: the job reads each title's current visual
    embeddings itself, groups near-duplicates under the earliest shot, commits once; a title without
    embeddings is reported and written nowhere; a wrong ``--feature-version`` is refused."""
    from reelhouse.features.specs import dedup_spec, visual_spec
    from reelhouse.lakehouse import FeatureSlice, new_run_id
    from spark_jobs.dedup import main

    store.ensure_tables()
    vis, spec = visual_spec(settings), dedup_spec(settings)
    rng = np.random.default_rng(3)
    scenes = unit(rng.normal(size=(3, 32)))
    which = {"a" * 32: [0, 1, 0, 2], "b" * 32: [2, 2, 1]}  # shot -> scene: a's 0 and 2 repeat; b's 0 and 1
    store.replace_slices("shot_embeddings", {
        FeatureSlice(vid, vis.name, vis.version): [
            {"shot_index": i, "model": "test", "dim": 32, "has_embedding": True,
             "embedding": unit(scenes[s] + 0.01 * rng.normal(size=32)).astype(np.float32).tolist()}
            for i, s in enumerate(scenes_of)]
        for vid, scenes_of in which.items()}, new_run_id())

    assert main(["--titles", ",".join([*which, "c" * 32])]) == 0
    assert "c" * 32 in capsys.readouterr().out  # reported as failed: no visual embeddings
    groups = {vid: [r["group_shot_index"] for r in sorted(store.read_slice("shot_dedup", FeatureSlice(vid, spec.name, spec.version))
                                                          .to_pylist(), key=lambda r: r["shot_index"])] for vid in which}
    assert groups == {"a" * 32: [0, 1, 0, 3], "b" * 32: [0, 0, 2]}
    assert not store.read_slice("shot_dedup", FeatureSlice("c" * 32, spec.name, spec.version)).num_rows
    assert len({r["run_id"] for r in store.read("shot_dedup").to_pylist()}) == 1  # one batch

    with pytest.raises(SystemExit) as refused:
        main(["--titles", "a" * 32, "--feature-version", "0-nope"])
    assert refused.value.code == 2
