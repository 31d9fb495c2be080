"""The shots benchmark's matching rules, on hand-made truth and predictions (no video decoded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.shots import Clip, Counts, Score, parse_scenedetect, score_clip, score_subset


def _cut(frame: int) -> dict[str, Any]:
    return {"frame": frame, "type": "cut", "start": frame - 1, "end": frame + 1, "kind": "cut"}


def _gradual(start: int, end: int, kind: str) -> dict[str, Any]:
    return {"frame": (start + end) // 2, "type": "gradual", "kind": kind, "start": start, "end": end}


def _clip(truth: list[dict[str, Any]], **kw: Any) -> Clip:
    return Clip("c", Path("c.mp4"), 25.0, 400, truth, **kw)


def _t(c: Counts) -> tuple[int, int, int]:
    return c.tp, c.n_pred, c.n_true


def test_cut_tolerance_is_two_frames() -> None:
    clip = _clip([_cut(100)])
    assert _t(score_clip(clip, [102], Score()).all) == (1, 1, 1)
    assert _t(score_clip(clip, [98], Score()).all) == (1, 1, 1)
    assert _t(score_clip(clip, [103], Score()).all) == (0, 1, 1)
    assert _t(score_clip(clip, [97], Score()).all) == (0, 1, 1)


def test_gradual_matches_inside_its_span_widened_by_two() -> None:
    clip = _clip([_gradual(100, 112, "dissolve")])  # matches predictions in [98, 114)
    assert _t(score_clip(clip, [98], Score()).all) == (1, 1, 1)
    assert _t(score_clip(clip, [113], Score()).all) == (1, 1, 1)
    assert _t(score_clip(clip, [97], Score()).all) == (0, 1, 1)
    assert _t(score_clip(clip, [114], Score()).all) == (0, 1, 1)


def test_matching_is_one_to_one_nearest_first() -> None:
    # Two cuts 3 frames apart and one prediction between them, nearer the second: it goes to the
    # second, and the first cut is missed. A duplicate prediction is a false positive.
    clip = _clip([_cut(100), _cut(103)])
    own = score_clip(clip, [102], Score())
    assert _t(own.all) == (1, 1, 2)
    own = score_clip(clip, [100, 101, 103], Score())
    assert _t(own.all) == (2, 3, 2)


def test_fade_may_be_reported_as_two_boundaries() -> None:
    for kind in ("fade", "fade_white"):
        clip = _clip([_gradual(100, 116, kind)])
        own = score_clip(clip, [101, 115], Score())  # end of the old shot, start of the new one
        assert _t(own.all) == (1, 1, 1)
        assert _t(own.gradual) == (1, 1, 1)
        assert _t(own.kinds[kind]) == (1, 1, 1)
        assert own.fade_seconds == 1
        # Only one extra is excused: a third prediction in the span is a false positive.
        own = score_clip(clip, [101, 108, 115], Score())
        assert _t(own.all) == (1, 2, 1)
        # An extra outside the widened span [98, 118) is a false positive.
        own = score_clip(clip, [108, 118], Score())
        assert _t(own.all) == (1, 2, 1)


def test_dissolve_does_not_excuse_a_second_boundary() -> None:
    for kind in ("dissolve", "dip", "wipe"):
        clip = _clip([_gradual(100, 116, kind)])
        assert _t(score_clip(clip, [101, 115], Score()).all) == (1, 2, 1)


def test_fade_second_boundary_is_not_a_hard_cut_false_positive() -> None:
    clip = _clip([_cut(50), _gradual(100, 116, "fade")])
    own = score_clip(clip, [50, 101, 115], Score())
    assert _t(own.hard) == (1, 1, 1)  # 101 and 115 belong to the fade
    assert _t(own.gradual) == (1, 1, 1)  # 50 belongs to the cut; 115 is the fade's second
    assert _t(own.all) == (1 + 1, 2, 2)


def test_hard_and_gradual_mirror_each_other() -> None:
    truth = [_cut(10), _gradual(44, 56, "dissolve")]
    clip = Clip("c", Path("c.mp4"), 25.0, 100, truth, flash_ranges=[[70, 72]])
    own = score_clip(clip, [9, 11, 43, 71], Score())
    assert _t(own.all) == (2, 4, 2)  # 11 is a duplicate, 71 a flash
    # hard: the cut truth against [9, 11, 71] (43 claimed by the dissolve)
    assert _t(own.hard) == (1, 3, 1)
    # gradual: the dissolve against [11, 43, 71] (9 claimed by the cut)
    assert _t(own.gradual) == (1, 3, 1)
    assert _t(own.kinds["dissolve"]) == (1, 3, 1)
    assert own.false_no_cut == own.false_flash_motion == 1
    assert own.no_cut == {"flash": 1}


def test_per_kind_rows_score_against_predictions_other_truth_left() -> None:
    truth = [_gradual(20, 30, "dissolve"), _gradual(60, 70, "wipe"), _gradual(100, 110, "dip")]
    clip = _clip(truth)
    own = score_clip(clip, [25, 65, 200], Score())  # the dip is missed, 200 is a false positive
    assert _t(own.kinds["dissolve"]) == (1, 2, 1)
    assert _t(own.kinds["wipe"]) == (1, 2, 1)
    assert _t(own.kinds["dip"]) == (0, 1, 1)
    assert _t(own.gradual) == (2, 3, 3)
    assert own.gradual.prf()[2] == score_subset(truth, [25, 65, 200], lambda t: t["type"] != "cut").prf()[2]


def test_no_cut_ranges_count_false_boundaries_per_kind_once() -> None:
    ranges = [(100, 104, "flash"), (102, 140, "pan"), (300, 330, "zoom")]
    clip = _clip([_cut(200)], no_cut_ranges=ranges)
    own = score_clip(clip, [103, 141, 200, 250, 329], Score())
    # 103 is in the flash and the pan, 141 within 2 frames of the pan, 329 in the zoom; 200 matches.
    assert own.no_cut == {"flash": 1, "pan": 2, "zoom": 1}
    assert own.false_no_cut == 3
    assert _t(own.all) == (1, 5, 1)


def test_scores_add_up_and_empty_is_perfect() -> None:
    total = Score()
    score_clip(_clip([_cut(10)]), [10], total)
    score_clip(_clip([_gradual(50, 60, "fade")]), [], total)
    assert _t(total.all) == (1, 1, 2)
    assert _t(total.kinds["fade"]) == (0, 0, 1)
    assert Counts().prf() == (1.0, 1.0, 1.0)


def test_parse_scenedetect_table_is_one_based() -> None:
    out = """[PySceneDetect] Scene List:
 | Scene # | Start Frame |  Start Time  |  End Frame  |   End Time   |
-----------------------------------------------------------------------
 |      1  |           1 | 00:00:00.000 |          30 | 00:00:01.200 |
 |      2  |          31 | 00:00:01.200 |          76 | 00:00:03.040 |
 |      3  |          77 | 00:00:03.040 |         250 | 00:00:10.000 |
"""
    assert parse_scenedetect(out) == [30, 76]
