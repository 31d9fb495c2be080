"""Artwork candidates (``models.artwork``): eligibility around transitions, scoring, and picks spread
over scenes without near-duplicates."""

from __future__ import annotations

import numpy as np
import pytest

from models.artwork import ArtworkPolicy, colourfulness, eligible, pick_candidates, scores


def test_frames_near_transitions_or_flagged_are_not_eligible():
    fps, policy = 24.0, ArtworkPolicy()
    # shot [100, 200) starts with a gradual transition; the next shot starts with a cut
    frames = np.array([100, 123, 124, 150, 197, 198])
    ok = eligible(frames, np.full(6, 100), np.full(6, 200), np.ones(6, bool), np.zeros(6, bool), np.ones(6, bool), fps, policy)
    assert ok.tolist() == [False, False, True, True, True, False]  # 24 frames after a gradual start; 2 before a cut
    ends_gradual = eligible(np.array([150, 180]), np.full(2, 100), np.full(2, 200), np.zeros(2, bool), np.ones(2, bool),
                            np.ones(2, bool), fps, policy)
    assert ends_gradual.tolist() == [True, False]  # 19 frames before a gradual boundary
    flagged = eligible(np.array([150]), np.array([100]), np.array([200]), np.zeros(1, bool), np.zeros(1, bool),
                       np.zeros(1, bool), fps, policy)
    assert flagged.tolist() == [False]


def test_scores_rank_sharpness_and_reward_mid_exposure_and_colour():
    s = scores(np.array([0.01, 0.02, 0.03, 9.0]), np.array([118.0, 118.0, 250.0, 118.0]), np.array([80.0, 0.0, 80.0, 80.0]),
               np.array([True, True, True, False]))
    # 0.5 x sharpness rank among the eligible (0, 0.5, 1) + 0.3 x exposure (1, 1, 0: 250 is past white's
    # distance from mid-grey) + 0.2 x colour (1, 0, 1)
    assert s[:3] == pytest.approx([0.5 * 0 + 0.3 + 0.2, 0.5 * 0.5 + 0.3, 0.5 * 1 + 0.2]) and s[3] == -np.inf
    grey = np.full((8, 8, 3), 128, np.uint8)
    vivid = np.zeros((8, 8, 3), np.uint8)
    vivid[::2, :, 0] = 255
    vivid[1::2, :, 2] = 255
    assert colourfulness(grey) == 0.0 and colourfulness(vivid) > 80


def test_picks_spread_over_scenes_one_per_shot_and_skip_near_duplicates():
    score = np.array([0.9, 0.85, 0.8, 0.7, 0.6, 0.5, -np.inf])
    shot = np.array([0, 0, 1, 2, 3, 4, 5])
    scene = np.array([0, 0, 0, 1, 1, 2, 2])
    e = np.eye(5)
    vectors = {0: e[0], 1: e[1], 2: e[2], 3: e[2], 4: e[4], 5: e[3]}  # shot 3 duplicates shot 2
    picked = pick_candidates(score, shot, scene, vectors, k=10)
    # best of each scene first (0.9, 0.7, 0.5), then scene 0's next shot; shot 3 is a near-duplicate of
    # shot 2; then, every shot having its pick, shot 0's other frame
    assert picked == [0, 3, 5, 2, 1]
    assert pick_candidates(score, shot, scene, vectors, k=2) == picked[:2]


def test_a_title_without_a_usable_frame_stores_one_row_saying_so():
    import pyarrow as pa

    from spark_jobs.artwork import NO_CANDIDATES, title_artwork_rows

    shots = pa.Table.from_pylist([{"shot_index": 0, "start_frame": 0, "end_frame": 48, "fps": 24.0, "transition": "cut"}])
    frames = pa.Table.from_pylist([{"shot_index": 0, "frame_index": 24, "t_s": 1.0, "brightness": 3.0, "sharpness": 0.0,
                                    "is_black": True, "is_blurred": True, "is_flash": False, "thumbnail": b""}])
    scenes = pa.Table.from_pylist([{"level": "scene", "group_index": 0, "start_shot": 0, "end_shot": 1}])
    visual = pa.Table.from_pylist([{"shot_index": 0, "embedding": [1.0, 0.0]}])
    rows = title_artwork_rows(shots, frames, visual, scenes, ArtworkPolicy())
    assert rows.equals(NO_CANDIDATES) and rows.column("rank").to_pylist() == [0]
