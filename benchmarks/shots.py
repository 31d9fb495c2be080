"""Shot-detection benchmark: accuracy and throughput of every detector on the same clips, same run.

Run: ``python -m benchmarks.shots`` (about 5 minutes on 2 CPU cores; ``--quick`` for a smoke run).

Clips:
- a generated evaluation set (``build_sample_library``, seed ``--seed``, default 2024) with exact
  ground truth: hard cuts, a dissolve and a fade per title, plus flashes and fast pans that are
  not boundaries. Detector parameters were chosen on other seeds (11), never on these.
- the real clips that installed packages ship (``reelhouse.samples.real_clips``), with cut
  annotations made by eye and committed in ``benchmarks/annotations/`` (videos are not committed).

Metric: predicted boundaries are matched one-to-one to the truth, nearest first. A hard cut
matches within +-2 frames of its frame; a gradual transition matches a prediction inside its
span widened by 2 frames on each side. Matching is by position only (PySceneDetect and the
reference TransNetV2 pipeline do not label transition types). "hard" scores the cut truth
against the predictions left after matching the gradual truth; "all" scores every transition.
"false cuts in flash/motion" counts unmatched predictions inside a flash or camera-motion range.

Throughput: frames / wall seconds, decoding included, each detector through its own natural
pipeline: reelhouse detectors decode with ``iter_frames`` at their analysis size, skipping the
H.264 loop filter (``skip_loop_filter``: about 15% faster decoding, the same per-clip F1 for
the fast and hybrid detectors; ``reelhouse.pipeline.shots.segment_file`` is meant to decode the
same way); PySceneDetect uses ``open_video`` + ``SceneManager`` (OpenCV backend, and PyAV); the
reference TransNetV2 is the package's ``predict_frames`` on every frame decoded at 48x27 with
PyAV (its ``predict_video`` needs an ffmpeg binary); decode-only is ``iter_frames`` at 64x36
(loop filter on) doing nothing. Cheap pipelines take the best of ``--repeats`` passes; the
network pipelines and PySceneDetect's PyAV backend run once. Timings on a shared machine are
noisy: compare ratios within one run.

The last line printed is one JSON object; its headline figures are for the default detector of
the shots pipeline (``reelhouse.pipeline.specs.DEFAULT_DETECTOR``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ANNOTATIONS = Path(__file__).parent / "annotations"
CUT_TOLERANCE = 2
GRADUAL_TOLERANCE = 2
THREADS = 2


@dataclass(frozen=True)
class Clip:
    """A benchmark clip and its truth (frame numbers in decoded-frame order)."""

    name: str
    path: Path
    fps: float
    frames: int
    boundaries: list[dict[str, Any]]
    flash_ranges: list[list[int]] = field(default_factory=list)
    motion_ranges: list[list[int]] = field(default_factory=list)


@dataclass
class Result:
    """One pipeline's predictions (boundary frames per clip) and timing."""

    name: str
    predictions: dict[str, list[int]] = field(default_factory=dict)
    seconds: float = 0.0
    frames: int = 0
    note: str = ""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


# --- clips -----------------------------------------------------------------------------------


def load_annotation(name: str) -> dict[str, Any]:
    """A committed real-clip annotation: ``{clip, fps, frames, boundaries, notes}``."""
    return json.loads((ANNOTATIONS / f"{name}.json").read_text())


def generated_clips(workdir: Path, titles: int, seconds: float, seed: int) -> list[Clip]:
    from reelhouse.samples import build_sample_library

    clips = []
    for title in build_sample_library(workdir / f"generated-{seed}-{seconds:g}s", seconds, titles, seed):
        t = title.truth
        clips.append(
            Clip(f"gen{seed}/{title.name}", title.path, t.fps, t.frame_count, t.boundaries, t.flash_ranges, t.motion_ranges)
        )
    return clips


def real_clips_annotated() -> list[Clip]:
    from reelhouse.samples import real_clips

    clips = []
    for name, path in sorted(real_clips().items()):
        if not (ANNOTATIONS / f"{name}.json").exists():
            continue
        a = load_annotation(name)
        clips.append(Clip(name, path, float(a["fps"]), int(a["frames"]), a["boundaries"]))
    return clips


# --- metric ----------------------------------------------------------------------------------


def _matches(truth: Sequence[dict[str, Any]], predicted: Sequence[int]) -> list[tuple[int, int]]:
    """One-to-one (truth index, prediction index) pairs, nearest first."""
    pairs = []
    for i, t in enumerate(truth):
        for j, f in enumerate(predicted):
            if t["type"] == "cut":
                ok = abs(f - t["frame"]) <= CUT_TOLERANCE
            else:
                ok = t["start"] - GRADUAL_TOLERANCE <= f < t["end"] + GRADUAL_TOLERANCE
            if ok:
                pairs.append((abs(f - t["frame"]), i, j))
    used_t: set[int] = set()
    used_p: set[int] = set()
    out = []
    for _, i, j in sorted(pairs):
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
            out.append((i, j))
    return out


@dataclass
class Counts:
    tp: int = 0
    n_pred: int = 0
    n_true: int = 0

    def add(self, tp: int, n_pred: int, n_true: int) -> None:
        self.tp, self.n_pred, self.n_true = self.tp + tp, self.n_pred + n_pred, self.n_true + n_true

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / self.n_pred if self.n_pred else 1.0
        r = self.tp / self.n_true if self.n_true else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class Score:
    hard: Counts = field(default_factory=Counts)
    all: Counts = field(default_factory=Counts)
    false_flash_motion: int = 0


def score_clip(clip: Clip, predicted: Sequence[int], into: Score) -> Score:
    """Add one clip's counts to ``into`` and return this clip's own score."""
    own = Score()
    matched = _matches(clip.boundaries, predicted)
    own.all.add(len(matched), len(predicted), len(clip.boundaries))
    # Hard cuts: the cut truth against the predictions that no gradual transition claimed.
    gradual_claimed = {j for i, j in matched if clip.boundaries[i]["type"] != "cut"}
    rest = [f for j, f in enumerate(predicted) if j not in gradual_claimed]
    cuts = [b for b in clip.boundaries if b["type"] == "cut"]
    own.hard.add(len(_matches(cuts, rest)), len(rest), len(cuts))
    unmatched = [f for j, f in enumerate(predicted) if j not in {j for _, j in matched}]
    ranges = clip.flash_ranges + clip.motion_ranges
    own.false_flash_motion = sum(
        any(lo - CUT_TOLERANCE <= f < hi + CUT_TOLERANCE for lo, hi in ranges) for f in unmatched
    )
    into.hard.add(own.hard.tp, own.hard.n_pred, own.hard.n_true)
    into.all.add(own.all.tp, own.all.n_pred, own.all.n_true)
    into.false_flash_motion += own.false_flash_motion
    return own


# --- pipelines -------------------------------------------------------------------------------


def _timed(name: str, clips: Sequence[Clip], run_clip: Callable[[Clip], list[int]], repeats: int, note: str = "") -> Result:
    best: Result | None = None
    for _ in range(repeats):
        result = Result(name, note=note)
        for clip in clips:
            t0 = time.perf_counter()
            result.predictions[clip.name] = sorted(run_clip(clip))
            result.seconds += time.perf_counter() - t0
            result.frames += clip.frames
        if best is None or result.seconds < best.seconds:
            best = result
    assert best is not None
    return best


def reelhouse_pipeline(detector_name: str, **params: Any) -> Callable[[Clip], list[int]]:
    """Probe, then one streaming ``iter_frames`` decode at the detector's analysis size without
    the loop filter (as ``reelhouse.pipeline.shots.segment_file`` is meant to)."""
    from models.shot_detection import get_detector
    from reelhouse.media.frames import iter_frames
    from reelhouse.media.probe import probe

    def run(clip: Clip) -> list[int]:
        detector = get_detector(detector_name, **params)
        fps = probe(clip.path, validate=False).fps
        frames = (f.rgb for f in iter_frames(clip.path, size=detector.analysis_size, skip_loop_filter=True))
        return [b.frame for b in detector.detect(frames, fps)]

    return run


def pyscenedetect_pipeline(detector: str, backend: str) -> Callable[[Clip], list[int]]:
    from scenedetect import AdaptiveDetector, ContentDetector, SceneManager, open_video

    make = {"content": ContentDetector, "adaptive": AdaptiveDetector}[detector]

    def run(clip: Clip) -> list[int]:
        video = open_video(str(clip.path), backend=backend)
        manager = SceneManager()
        manager.add_detector(make())
        manager.detect_scenes(video)
        return [start.frame_num for start, _ in manager.get_scene_list()[1:]]

    return run


def _decode_48x27(path: Path) -> np.ndarray:
    """Every frame at 48x27 RGB, scaled like ``ffmpeg -s 48x27`` (bicubic) in the reference."""
    import av
    from av.video.reformatter import VideoReformatter

    scaler = VideoReformatter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return np.stack(
            [
                scaler.reformat(f, width=48, height=27, format="rgb24", interpolation="BICUBIC").to_ndarray()
                for f in container.decode(stream)
            ]
        )


def transnetv2_reference_pipeline(device: Any) -> Callable[[Clip], list[int]]:
    """The package's own ``predict_frames`` + ``predictions_to_scenes`` (threshold 0.5).

    A boundary is placed mid-way between a scene's end and the next scene's start: the new
    shot's first frame for a cut, the transition's centre for a gradual one.
    """
    import torch

    from models.shot_detection.transnetv2 import load_transnetv2

    def run(clip: Clip) -> list[int]:
        model = load_transnetv2(device)
        frames = torch.from_numpy(_decode_48x27(clip.path))
        single, _ = model.predict_frames(frames, quiet=True)
        scenes = model.predictions_to_scenes(single.cpu().numpy(), threshold=0.5)
        return [int((prev[1] + 1 + nxt[0]) // 2) for prev, nxt in zip(scenes, scenes[1:])]

    return run


def decode_only_pipeline() -> Callable[[Clip], list[int]]:
    from reelhouse.media.frames import iter_frames

    def run(clip: Clip) -> list[int]:
        for _ in iter_frames(clip.path, size=(64, 36)):
            pass
        return []

    return run


def decode_reused_scaler_pipeline() -> Callable[[Clip], list[int]]:
    """PyAV decode to 64x36 RGB with one scaler reused across frames (what ``iter_frames``
    would cost if it did not build a new swscale context per frame)."""
    import av
    from av.video.reformatter import VideoReformatter

    def run(clip: Clip) -> list[int]:
        scaler = VideoReformatter()
        with av.open(str(clip.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                scaler.reformat(frame, width=64, height=36, format="rgb24").to_ndarray()
        return []

    return run


# --- report ----------------------------------------------------------------------------------


def _fmt(p: float, r: float, f: float) -> str:
    return f"{p:6.3f} {r:6.3f} {f:6.3f}"


def report(clips: Sequence[Clip], results: Sequence[Result]) -> dict[str, Score]:
    scores: dict[str, Score] = {}
    per_clip: dict[str, dict[str, float]] = {}
    for result in results:
        if result.name.startswith("decode-only"):
            continue
        total = Score()
        per_clip[result.name] = {}
        for clip in clips:
            own = score_clip(clip, result.predictions[clip.name], total)
            per_clip[result.name][clip.name] = own.all.prf()[2]
        scores[result.name] = total
    n_hard = sum(b["type"] == "cut" for c in clips for b in c.boundaries)
    n_all = sum(len(c.boundaries) for c in clips)
    print(
        f"\n{len(clips)} clips, {sum(c.frames for c in clips)} frames, {n_all} transitions ({n_hard} hard cuts), "
        f"{sum(len(c.flash_ranges) for c in clips)} flash and {sum(len(c.motion_ranges) for c in clips)} motion ranges"
    )
    header = f"{'pipeline':<36} {'P_hard':>6} {'R_hard':>6} {'F1_hard':>6} {'P_all':>6} {'R_all':>6} {'F1_all':>6} {'flash/motion':>12} {'frames':>7} {'sec':>7} {'fps':>7}"
    print(header)
    print("-" * len(header))
    for result in results:
        s = scores.get(result.name)
        acc = (
            f"{_fmt(*s.hard.prf())} {_fmt(*s.all.prf())} {s.false_flash_motion:>12d}"
            if s
            else f"{'':>20} {'':>20} {'':>12}"
        )
        print(f"{result.name:<36} {acc} {result.frames:>7d} {result.seconds:>7.2f} {result.fps:>7.0f}")
    print("\nF1 (all transitions) per clip")
    names = [c.name for c in clips]
    short = [n.split("/")[-1][:15] for n in names]
    print(f"{'pipeline':<36} " + " ".join(f"{s:>15}" for s in short))
    for name, row in per_clip.items():
        print(f"{name:<36} " + " ".join(f"{row[n]:>15.3f}" for n in names))
    notes = [r for r in results if r.note]
    if notes:
        print()
        for r in notes:
            print(f"{r.name}: {r.note}")
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--titles", type=int, default=6, help="generated titles")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each generated title (s)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated evaluation set")
    parser.add_argument("--repeats", type=int, default=2, help="passes of each cheap pipeline (best is kept)")
    parser.add_argument("--device", default="auto", help="torch device for TransNetV2 and the hybrid")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "reelhouse-bench-shots")
    parser.add_argument("--quick", action="store_true", help="2 short titles, real clips but test.mp4, 1 pass")
    parser.add_argument("--ablation", action="store_true", help="also run the hybrid verifying every candidate")
    args = parser.parse_args()
    if args.quick:
        args.titles, args.seconds, args.repeats = 2, 12.0, 1

    import cv2
    import torch

    from models.device import select_device
    from models.shot_detection.transnetv2 import load_transnetv2
    from reelhouse.pipeline.specs import DEFAULT_DETECTOR

    torch.set_num_threads(THREADS)
    cv2.setNumThreads(THREADS)
    device = select_device(args.device)

    t0 = time.perf_counter()
    clips = generated_clips(args.workdir, args.titles, args.seconds, args.seed) + real_clips_annotated()
    if args.quick:
        clips = [c for c in clips if c.name != "transnetv2_test"]
    print(f"clips ready in {time.perf_counter() - t0:.1f} s: " + ", ".join(f"{c.name} ({c.frames})" for c in clips))
    print(f"threads: torch {torch.get_num_threads()}, opencv {cv2.getNumThreads()}; network device: {device}; cores: {os.cpu_count()}")
    load_transnetv2(device)  # model loading is not part of any pipeline's time

    from scenedetect.backends import AVAILABLE_BACKENDS

    cheap, once = args.repeats, 1
    plan: list[tuple[str, Callable[[Clip], list[int]], int, str]] = [
        ("decode-only (iter_frames 64x36)", decode_only_pipeline(), cheap, ""),
        ("decode-only (PyAV, reused scaler)", decode_reused_scaler_pipeline(), cheap,
         "not a detector: iter_frames' decode cost if its converter reused one swscale context"),
        ("reelhouse fast", reelhouse_pipeline("fast"), cheap, ""),
        ("reelhouse hybrid", reelhouse_pipeline("hybrid", device=str(device)), once, ""),
        ("reelhouse transnetv2", reelhouse_pipeline("transnetv2", device=str(device)), once, ""),
        ("transnetv2 reference (predict_frames)", transnetv2_reference_pipeline(device), once, ""),
        ("pyscenedetect content (opencv)", pyscenedetect_pipeline("content", "opencv"), cheap, ""),
        ("pyscenedetect adaptive (opencv)", pyscenedetect_pipeline("adaptive", "opencv"), cheap, ""),
    ]
    if "pyav" in AVAILABLE_BACKENDS:
        plan += [
            ("pyscenedetect content (pyav)", pyscenedetect_pipeline("content", "pyav"), once, ""),
            ("pyscenedetect adaptive (pyav)", pyscenedetect_pipeline("adaptive", "pyav"), once, ""),
        ]
    if args.ablation:
        plan.append(
            ("reelhouse hybrid (verify all)", reelhouse_pipeline("hybrid", device=str(device), accept_score=1.0), once,
             "ablation: every candidate goes through TransNetV2")
        )
    results = []
    for name, run_clip, repeats, note in plan:
        t = time.perf_counter()
        results.append(_timed(name, clips, run_clip, repeats, note))
        print(f"  {name}: {results[-1].fps:.0f} fps ({time.perf_counter() - t:.1f} s)", flush=True)

    scores = report(clips, results)
    by_name = {r.name: r for r in results}
    default = f"reelhouse {DEFAULT_DETECTOR}"
    psd = by_name["pyscenedetect content (opencv)"]
    ref = scores["transnetv2 reference (predict_frames)"]
    print("\nratios (fps / fps)")
    for name in ("reelhouse fast", "reelhouse hybrid", "reelhouse transnetv2", "decode-only (iter_frames 64x36)"):
        print(f"  {name} vs pyscenedetect content (opencv): {by_name[name].fps / psd.fps:.2f}x")
    decode = by_name["decode-only (iter_frames 64x36)"]
    for name in ("reelhouse fast", "reelhouse hybrid"):
        print(f"  {name} vs decode-only (iter_frames 64x36): {by_name[name].fps / decode.fps:.2f}x")
    print(f"  reelhouse hybrid vs reelhouse transnetv2: {by_name['reelhouse hybrid'].fps / by_name['reelhouse transnetv2'].fps:.2f}x")
    print(f"default detector: {DEFAULT_DETECTOR}")

    head = scores[default]
    hybrid = scores["reelhouse hybrid"]
    print(
        json.dumps(
            {
                "f1_hard": round(head.hard.prf()[2], 4),
                "f1_all": round(head.all.prf()[2], 4),
                "fps": round(by_name[default].fps, 1),
                "fps_ratio_vs_pyscenedetect_content": round(by_name[default].fps / psd.fps, 3),
                "f1_transnetv2_reference": round(ref.all.prf()[2], 4),
                "detector": DEFAULT_DETECTOR,
                "false_cuts_flash_motion": head.false_flash_motion,
                "f1_hard_hybrid": round(hybrid.hard.prf()[2], 4),
                "f1_all_hybrid": round(hybrid.all.prf()[2], 4),
                "fps_hybrid": round(by_name["reelhouse hybrid"].fps, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
