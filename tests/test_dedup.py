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
