"""Artwork candidates: the frames of a title best suited to artwork (numpy in, numpy out).

The candidates are a title's stored representative frames (``models.visual.frame_quality``: already
sampled inside their shots, with brightness and sharpness measured). A frame is *eligible* when it
is not black, blurred or a flash, and is clear of transitions: at least ``gradual_guard_s`` seconds
from a boundary that is a gradual transition (a gradual boundary is stored at its centre, so a
dissolve of up to twice that length lies inside the guard) and ``cut_guard_frames`` frames from a cut.

Eligible frames are scored in ``[0, 1]``: ``sharpness_weight`` times the frame's sharpness rank among
the title's eligible frames (0 the softest, 1 the sharpest), ``exposure_weight`` times how close its
mean luma is to mid-grey (1 at 118, 0 at black or white) and ``colour_weight`` times its colourfulness
(Hasler and Suesstrunk 2003, divided by ``COLOURFUL``, capped at 1).

Picking (:func:`pick_candidates`) is greedy and spreads the picks over the title's scenes: the first
round takes the best frame of each scene, scenes in order of their best frame's score; later rounds do
the same with what is left. A frame is skipped when its shot already has a pick, or when its shot's
visual embedding is at least ``duplicate_cosine`` alike to a picked one's (a near-duplicate). When
every shot has its pick and fewer than ``k`` are picked (a title of a few long takes), the picked
shots' other eligible frames follow, best first. The picks come in that order, so the first ``k`` of
a longer list are the ``k`` picks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Colourfulness (Hasler and Suesstrunk's M) that scores 1: "highly colourful" on their scale.
COLOURFUL = 80.0
#: The mid-grey exposure is measured from (mean luma, 0-255): 18% grey in sRGB.
MID_GREY = 118.0


@dataclass(frozen=True)
class ArtworkPolicy:
    """How artwork candidates are chosen (the artwork feature's version parameters)."""

    candidates: int = 12
    gradual_guard_s: float = 1.0
    cut_guard_frames: int = 2
    duplicate_cosine: float = 0.9
    sharpness_weight: float = 0.5
    exposure_weight: float = 0.3
    colour_weight: float = 0.2


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk's colourfulness M of an RGB ``uint8`` image ``(H, W, 3)``: 0 for grey, about
    33 "moderately", 59 "quite", 82 "highly" colourful."""
    x = np.asarray(rgb, dtype=np.float64)
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def eligible(frame_index: np.ndarray, shot_start: np.ndarray, shot_end: np.ndarray, starts_gradual: np.ndarray,
             ends_gradual: np.ndarray, usable: np.ndarray, fps: float, policy: ArtworkPolicy = ArtworkPolicy()) -> np.ndarray:
    """Which frames may be artwork (module docstring).

    Args:
        frame_index: ``(m,)`` each frame's number in the encode.
        shot_start, shot_end: ``(m,)`` its shot's ``[start, end)`` frames.
        starts_gradual: ``(m,)`` its shot begins with a gradual transition.
        ends_gradual: ``(m,)`` the next shot begins with one.
        usable: ``(m,)`` not black, blurred or a flash.
        fps: frames per second of the encode.
    """
    f = np.asarray(frame_index, dtype=np.int64)
    gradual = int(np.ceil(policy.gradual_guard_s * fps))
    head = np.where(starts_gradual, gradual, policy.cut_guard_frames)
    tail = np.where(ends_gradual, gradual, policy.cut_guard_frames)
    return (np.asarray(usable, bool) & (f - np.asarray(shot_start) >= head) & (np.asarray(shot_end) - 1 - f >= tail))


def scores(sharpness: np.ndarray, brightness: np.ndarray, colour: np.ndarray, ok: np.ndarray,
           policy: ArtworkPolicy = ArtworkPolicy()) -> np.ndarray:
    """Each frame's score in ``[0, 1]`` (module docstring); ``-inf`` where not ``ok``."""
    ok = np.asarray(ok, bool)
    out = np.full(len(ok), -np.inf)
    if not ok.any():
        return out
    sharp = np.asarray(sharpness, dtype=np.float64)[ok]
    rank = np.argsort(np.argsort(sharp, kind="stable"), kind="stable") / max(1, len(sharp) - 1)
    exposure = np.clip(1.0 - np.abs(np.asarray(brightness, dtype=np.float64)[ok] - MID_GREY) / MID_GREY, 0.0, 1.0)
    colour_score = np.clip(np.asarray(colour, dtype=np.float64)[ok] / COLOURFUL, 0.0, 1.0)
    out[ok] = (policy.sharpness_weight * rank + policy.exposure_weight * exposure + policy.colour_weight * colour_score)
    return out


def pick_candidates(score: np.ndarray, shot: np.ndarray, scene: np.ndarray, shot_vectors: dict[int, np.ndarray],
                    k: int, duplicate_cosine: float = ArtworkPolicy().duplicate_cosine) -> list[int]:
    """Up to ``k`` frames (indices into the arrays), in pick order (module docstring).

    Args:
        score: ``(m,)`` frame scores; ``-inf`` never picked.
        shot, scene: ``(m,)`` each frame's shot and scene numbers.
        shot_vectors: shot number -> its unit visual embedding (a shot without one is never a duplicate).
    """
    order = [int(i) for i in np.argsort(-np.asarray(score), kind="stable") if np.isfinite(score[i])]
    picked: list[int] = []
    picked_shots: set[int] = set()
    while len(picked) < k:
        best_of_scene: dict[int, int] = {}
        for i in order:
            if i in picked or int(shot[i]) in picked_shots:
                continue
            best_of_scene.setdefault(int(scene[i]), i)
        if not best_of_scene:
            break
        for i in sorted(best_of_scene.values(), key=lambda i: -score[i]):
            if len(picked) == k:
                break
            v = shot_vectors.get(int(shot[i]))
            if v is not None and any(float(v @ shot_vectors[s]) >= duplicate_cosine for s in picked_shots
                                     if s in shot_vectors):
                order.remove(i)
                continue
            picked.append(i)
            picked_shots.add(int(shot[i]))
    # Every shot has its pick: a title of few shots (one long take) gets its shots' other frames too.
    picked += [i for i in order if i not in picked][:max(0, k - len(picked))]
    return picked
