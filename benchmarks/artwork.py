"""Artwork candidates: how many are black, blurred, a flash or inside a transition, on the sample library
and on real clips, against evenly spaced frames.

Run: ``python -m benchmarks.artwork`` (the first run materializes the library with ``reelhouse run``
under ``.reelhouse/bench-artwork``: about 5-10 minutes on 2 cores, most of it transnetv2_test's 212 s;
later runs are memoized and take under a minute).

Library: the sample library's three generated titles (``reelhouse.samples.library``: cuts, dissolves,
fades, flashes, with their generator's ground truth) and the real clips packages ship
(``reelhouse.samples.real_clips``): bikes and transnetv2_test (with the hand annotations of their
transitions in ``benchmarks/annotations``), bigbuckbunny, carphone_pristine and dagster_world (single
shots: ``reelhouse.samples.composed_real``'s detectors flag nothing in them).

Every candidate frame (all the stored ones, 12 per title at most) is judged on the frame decoded
again from the title's standardized encode, never on the flags stored with it:
    - *black*: mean luma (BT.601) below 16 of 255;
    - *blurred*: variance of the Laplacian of luma at 96 px height below 1e-4 (the same definitions as
      ``models.visual.frame_quality``, measured again here);
    - *in a transition* or *a flash*: its time falls in a transition's frames ``[start, end)`` of the
      ground truth (a cut: the two frames around it) or in a flash range, in the source's frames.
Baseline: as many frames per title, evenly spaced in time (frame at ``(i + 0.5) / k`` of the title),
the usual thumbnail rule, judged the same way.

Last line: ``{"artwork_bad_sample", "artwork_bad_real", "baseline_bad_sample", "baseline_bad_real",
"candidates_sample", "candidates_real", ...}``; the target is 0 bad candidates on both.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

HOME = Path(".reelhouse") / "bench-artwork"
ANNOTATED = ("bikes", "transnetv2_test")
REAL = ("bikes", "transnetv2_test", "bigbuckbunny", "carphone_pristine", "dagster_world")


def _truth(name: str, sample_truth: dict) -> tuple[float, list[tuple[int, int]]]:
    """``(fps, [start, end) source frames that are no artwork: transitions and flashes)`` of a title."""
    from reelhouse.samples.composed_real import ANNOTATIONS

    if name in sample_truth:
        t = sample_truth[name]
        return t.fps, [(b["start"], b["end"]) for b in t.boundaries] + [tuple(r) for r in t.flash_ranges]
    if name in ANNOTATED:
        notes = json.loads((ANNOTATIONS / f"{name}.json").read_text())
        return float(notes["fps"]), [(b["start"], b["end"]) for b in notes["boundaries"]]
    return 25.0, []


def _judge(frame: np.ndarray, t_s: float, fps: float, bad_ranges: list[tuple[int, int]]) -> list[str]:
    from models.visual.frame_quality import QualityPolicy, sharpness

    policy = QualityPolicy()
    why = []
    luma = frame.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    if float(luma.mean()) < policy.black_luma:
        why.append("black")
    if float(sharpness(frame[None])[0]) < policy.blur_var:
        why.append("blurred")
    source_frame = int(np.floor(t_s * fps + 1e-6))
    if any(a <= source_frame < b for a, b in bad_ranges):
        why.append("in a transition or flash")
    return why


def _frames(path: Path, indices: list[int], fps: float) -> dict[int, np.ndarray]:
    from reelhouse.media.frames import iter_frames

    wanted = set(indices)
    return {f.index: f.rgb for f in iter_frames(path, fps=fps) if f.index in wanted}


def main() -> None:
    from dagster_project.library_run import run_library
    from reelhouse.config import Settings
    from reelhouse.features.rows import encode_row
    from reelhouse.lakehouse import FeatureStore
    from reelhouse.media.location import localize
    from reelhouse.samples.library import build_sample_library
    from reelhouse.samples.real_clips import real_clips
    from reelhouse.search.artwork import MAX_CANDIDATES, read_artwork
    from reelhouse.search.shot_lookup import title_names

    t0 = time.perf_counter()
    landing = HOME / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    sample = {t.name: t.truth for t in build_sample_library(landing)}
    for name, path in real_clips().items():
        if name in REAL and not (landing / f"{name}.mp4").exists():
            shutil.copy(path, landing / f"{name}.mp4")
    settings = Settings(home=HOME.resolve())
    report = run_library(settings, progress=lambda m: print(m, flush=True))
    store = FeatureStore.from_settings(settings)
    names = {v: Path(n).stem for v, n in title_names(store).items()}
    totals = {f"{who}_{what}": 0 for who in ("artwork", "baseline") for what in ("bad_sample", "bad_real")}
    counts = {"candidates_sample": 0, "candidates_real": 0}
    details = []
    for vid in sorted(report.ok, key=lambda v: names[v]):
        name = names[vid]
        group = "sample" if name in sample else "real"
        fps_src, bad_ranges = _truth(name, sample)
        enc = encode_row(store, settings, vid)
        fps, n = float(enc["fps"]), int(enc["frame_count"])
        picks = read_artwork(store, settings, vid, MAX_CANDIDATES) if vid not in report.failed else []
        k = len(picks)
        even = [min(n - 1, int((i + 0.5) / k * n)) for i in range(k)] if k else []
        frames = _frames(localize(enc["uri"]), [c.frame_index for c in picks] + even, fps)
        ours = [(c.frame_index, _judge(frames[c.frame_index], c.time_s, fps_src, bad_ranges)) for c in picks]
        base = [(f, _judge(frames[f], f / fps, fps_src, bad_ranges)) for f in even]
        totals[f"artwork_bad_{group}"] += sum(bool(w) for _, w in ours)
        totals[f"baseline_bad_{group}"] += sum(bool(w) for _, w in base)
        counts[f"candidates_{group}"] += k
        details.append({"title": name, "candidates": k, "bad": [(f, w) for f, w in ours if w],
                        "baseline_bad": [(f, w) for f, w in base if w]})
        print(json.dumps(details[-1]), flush=True)
    print(json.dumps({**totals, **counts, "titles": len(details), "failed_titles": len(report.failed),
                      "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
