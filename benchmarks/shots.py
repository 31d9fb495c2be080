"""Shot-detection benchmark: accuracy of every detector on three separately reported groups of
clips, and the default detector's speed against PySceneDetect, all in one run.

Run: ``nice -n 5 .venv/bin/python -m benchmarks.shots`` (``--split tuning`` scores the composed
tuning split instead of the evaluation split; ``--quick``: a smoke run on 2 composed clips of
10-15 s, bikes and bigbuckbunny, and 2 generated titles of 12 s). Run time: about 31,000 frames
(composed evaluation ~21,100, annotated 5,683, generated 4,320) go through every pipeline; the
speed section runs the default detector and PySceneDetect over 4 files of about 3 min (about
28,000 frames) in process and as command lines (about 4 min; building those files the first
time, about 1 min). The two
full-network pipelines (reelhouse transnetv2, the reference) and the hybrid dominate: at the
network's ~6.5 ms/frame on 2 idle CPU cores roughly 3.5 min each, about 20 min in all; on the
shared 2-core machine at load average 5.5 they ran at ~13-30 frames/s (about 2 h in all). The first run also builds the
composed clips (about 3 min once the sources are analysed). ``--quick`` took 7 min at load 5.5.
Peak memory about 1.5 GB (``--quick``: 1.4 GB).

Groups (scored and printed separately, never pooled):

(a) composed-real: real footage joined at known frames by ``reelhouse.samples.composed_real``
    (``build_composed_set``): hard cuts and gradual transitions (dissolve, fade through black,
    fade through white, dip, wipe) with exact spans, plus stretches that are *not* boundaries
    (flash, strobe, pan, zoom, fill); 8 clips of 60-75 s per split at 23.976-60 fps and one
    variable-frame-rate clip, H.264, MPEG-4, VP9 and HEVC, 320x180 to 854x480. The splits are
    cut from different source footage (``TUNING_SOURCES`` / ``EVALUATION_SOURCES``): tuning from
    transnetv2_test, Megamind, Megamind_bugy and tree; evaluation from bikes, bigbuckbunny,
    carphone_pristine, dagster_world, vtest, box and cup. Detector parameters may be chosen on
    the tuning split only; the headline figures are for the evaluation split (the default; the
    output names the split that ran). Clips are built once under ``--composed-dir`` (default
    ``.reelhouse/cache/composed-real``; the first build analyses the sources and needs Debian's
    ``opencv-doc`` package, which ``composed_real`` fetches with ``apt-get download`` once).
(b) hand-annotated real: the real clips installed packages ship (``reelhouse.samples.real_clips``:
    bikes, bigbuckbunny, transnetv2_test) with the cuts marked by eye in
    ``benchmarks/annotations/``. Those labels were drawn up looking at detectors' candidates
    (reelhouse fast, TransNetV2, PySceneDetect), so they are not independent of the detectors;
    transnetv2_test is also a composed-real tuning source, bikes and bigbuckbunny evaluation ones.
(c) generated: ``build_sample_library`` titles (seed ``--seed``, default 2024; detector
    parameters were chosen on seed 11, never on these): cuts, one dissolve and one fade per title, a flash and a fast
    pan that are not boundaries. Their kinds come from ``title_spec``.

Pipelines, on the same clips in the same run: every detector ``models.shot_detection``
registers (fast, hybrid, transnetv2; the shots pipeline's default,
``reelhouse.features.specs.DEFAULT_DETECTOR``, is marked), decoded as
``reelhouse.media.segment.segment_file`` does (``iter_frames`` at the detector's analysis
size, H.264 loop filter skipped); the reference TransNetV2 (the package's ``predict_frames``
on every frame decoded at 48x27 with PyAV, ``predictions_to_scenes`` at threshold 0.5, a
boundary mid-way between one scene's end and the next one's start); PySceneDetect
``ContentDetector`` and ``AdaptiveDetector`` at their defaults (``open_video`` + ``SceneManager``,
OpenCV backend); and decode-only (``iter_frames`` at 64x36, nothing else). All are scored with
the same metric.

Metric (``score_clip``; pinned by ``tests/test_shots_benchmark_metric.py``): predicted boundary
frames are matched one-to-one to the truth, nearest first. A hard cut matches a prediction
within +-2 frames of its frame (the new shot's first frame); a gradual transition matches a
prediction inside its span ``[start, end)`` widened by 2 frames on each side. Matching is by
position only (PySceneDetect and the reference do not label transition types). A fade
(``fade`` / ``fade_white``: out to black or white, then in) may be reported as one boundary or
two (end of the old shot, start of the new one): once a fade is matched, one more unmatched
prediction inside its widened span is neither a match nor a false positive. "all" scores every
transition against every prediction; "hard" scores the cut truth against the predictions no
gradual transition claimed (matched or a fade's second); "gradual" scores the gradual truth
against the predictions no cut claimed; a per-kind row scores that kind's truth against the
predictions no other truth claimed (so every false positive counts against every row). P = R =
1 when there is nothing to predict or find. "false in no-cut" counts unmatched predictions
within 2 frames of a no-cut range, once per kind (and once in the total however many ranges
hold it). Composed-real clips are also scored per nominal frame rate, and variable-frame-rate
files apart.

Speed (files of a few minutes: ``speed_files`` composes 4 clips of 180-200 s from the sources of
the split that ran, seed 1, in the first four formats: H.264 25 fps 640x360, MPEG-4 29.97 fps
480x270, VP9 23.976 fps 480x270, H.264 50 fps 320x180; ``--quick``: the composed clips): the
default detector's pipeline and
PySceneDetect ``detect-content`` each run as their own process per file, alternating which goes
first: ``.venv/bin/reelhouse shots FILE --json`` and ``.venv/bin/scenedetect -i FILE -m 15
detect-content list-scenes -n`` (``-m 15``: the library's default minimum scene length in
frames, so the command line gives the in-process answers; nothing is written). Start-up is the
median wall time of 3 runs (after one warm-up) on a 2-frame clip cut from the first file (same
codec and size): interpreter, imports, probing, building the detector. The hybrid loads the
TransNetV2 weights only when a candidate needs them, so in the per-file runs that load falls
in the throughput part. Throughput = frames / (sum of wall times - files x start-up).
``speed_ratio_vs_pyscenedetect`` = reelhouse fps / PySceneDetect fps. The boundaries both
commands print are checked against the in-process runs of the same detectors. In-process fps
per pipeline are printed too (decode included, model loading not). Timings on a shared machine
are noisy: the load average is printed with them.

Precision (composed-real clips of the split that ran): the default detector once more with its
network forced to float32 and to bfloat16 (and float16 where the device is CUDA); the run above
used ``"auto"``, whose dtype is printed. Reported: files on which every precision gives the same
boundaries (frame and transition type), and the boundaries that differ.

Encode (composed-real clips of the split that ran): each clip is standardized with the pipeline's
default recipe (``reelhouse.config.EncodeRecipe``: 360p, 24 fps CFR, x264) and segmented by
``segment_file`` on the source and on the encode, as the shots pipeline does. The encode's
boundaries are mapped to the source through the frames' timestamps: a boundary's time is its
shot's ``start_s``; source and encode boundaries match one-to-one within 1.5 encode frames
(62.5 ms) or 2 source frames, whichever is longer. Also printed: F1 of the encode's boundaries
against the truth, mapped to encode frames through the source frames' timestamps (an encode
frame ``k`` shows the last source frame at or before ``k / 24`` s), so a join shorter than an
encode frame (a 2-frame dip at 60 fps) can vanish from the encode.

Last line: one JSON object. First ``f1_all_real``, ``f1_gradual_real``, ``f1_hard_real``,
``false_cuts_no_cut_ranges`` (default detector, composed-real split that ran),
``f1_transnetv2_reference_real`` (the reference's F1 over all transitions on the same clips),
``speed_ratio_vs_pyscenedetect`` and ``startup_s`` (reelhouse's start-up, s); then ``split``,
``clips``, ``detector``, per-group and per-pipeline F1s, speed details, ``precision_same_files``
(files with identical boundaries at every precision, e.g. ``"8/8"``), ``encode_agreement_f1``
(encode against source boundaries), ``f1_all_encode_real`` and load averages.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

ANNOTATIONS = Path(__file__).parent / "annotations"
VENV_BIN = Path(sys.executable).parent
CUT_TOLERANCE = 2
GRADUAL_TOLERANCE = 2
#: Fades that go out then in: a detector may report them as one boundary or as two.
FADE_KINDS = frozenset({"fade", "fade_white"})
GRADUAL_KINDS = ("dissolve", "fade", "fade_white", "dip", "wipe")
THREADS = 2
GROUPS = ("composed-real", "annotated-real", "generated")


@dataclass(frozen=True)
class Clip:
    """A benchmark clip and its truth (frame numbers 0-based in decoded-frame order).

    Attributes:
        name: unique across groups.
        path: the video file.
        fps: nominal frame rate (frames/s).
        frames: decoded frame count.
        boundaries: ``{frame, type, start, end}`` (+ ``kind`` where known) per transition.
        flash_ranges, motion_ranges: ``[start, end)`` not-a-boundary ranges (generated clips).
        no_cut_ranges: ``(start, end, kind)`` not-a-boundary ranges; when empty, the flash
            ranges (kind ``flash``) and motion ranges (kind ``pan``) stand in.
        vfr: the file has variable frame durations.
        group: one of ``GROUPS``.
    """

    name: str
    path: Path
    fps: float
    frames: int
    boundaries: list[dict[str, Any]]
    flash_ranges: list[list[int]] = field(default_factory=list)
    motion_ranges: list[list[int]] = field(default_factory=list)
    no_cut_ranges: list[tuple[int, int, str]] = field(default_factory=list)
    vfr: bool = False
    group: str = ""

    @property
    def no_cut(self) -> list[tuple[int, int, str]]:
        """The clip's not-a-boundary ranges ``(start, end, kind)``."""
        if self.no_cut_ranges:
            return list(self.no_cut_ranges)
        return [(a, b, "flash") for a, b in self.flash_ranges] + [(a, b, "pan") for a, b in self.motion_ranges]

    @property
    def rate_label(self) -> str:
        """``"vfr"`` or the nominal rate, e.g. ``"25 fps"``, ``"29.97 fps"``."""
        return "vfr" if self.vfr else f"{round(self.fps, 3):g} fps"


@dataclass
class Result:
    """One pipeline's predictions (boundary frames per clip) and wall seconds per clip."""

    name: str
    predictions: dict[str, list[int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def fps(self, clips: Sequence[Clip]) -> float:
        """Frames per wall second over ``clips``."""
        s = sum(self.seconds[c.name] for c in clips)
        return sum(c.frames for c in clips) / s if s else 0.0


# --- clips -----------------------------------------------------------------------------------


def load_annotation(name: str) -> dict[str, Any]:
    """A committed real-clip annotation: ``{clip, fps, frames, boundaries, notes}``."""
    return json.loads((ANNOTATIONS / f"{name}.json").read_text())


def composed_clips(root: Path, split: str, quick: bool) -> list[Clip]:
    """The composed-real clips of ``split`` (``"tuning"`` or ``"evaluation"``), built (or reused)
    under ``root`` with the source analyses cached in ``root/cache``; ``quick``: 2 clips of 10-15 s."""
    from reelhouse.samples.composed_real import build_composed_set

    kwargs: dict[str, Any] = {"clips": 2, "seconds": (10.0, 15.0)} if quick else {}
    out_dir = root / "quick" if quick else root
    built = build_composed_set(out_dir, split, cache_dir=root / "cache", **kwargs)  # type: ignore[arg-type]
    clips = []
    for c in built:
        t = c.truth
        if t.split != split:
            raise RuntimeError(f"{c.path} belongs to the {t.split} split, not {split}")
        clips.append(
            Clip(
                f"{split}/{c.name}", Path(c.path), float(t.fps), int(t.frame_count), [dict(b) for b in t.boundaries],
                [list(r) for r in t.flash_ranges], [list(r) for r in t.motion_ranges],
                [(int(r["start"]), int(r["end"]), str(r["kind"])) for r in t.no_cut_ranges], bool(t.vfr), "composed-real",
            )
        )
    return clips


def generated_clips(workdir: Path, titles: int, seconds: float, seed: int) -> list[Clip]:
    """``build_sample_library`` titles; each gradual boundary gets its ``kind`` from ``title_spec``."""
    from reelhouse.samples import build_sample_library, title_spec

    clips = []
    for i, title in enumerate(build_sample_library(workdir / f"generated-{seed}-{seconds:g}s", seconds, titles, seed)):
        t = title.truth
        spec = title_spec(i, seconds, seed)
        starts = np.cumsum([0] + [s.frames for s in spec.shots]).tolist()
        kind_at = {starts[k]: shot.transition_in for k, shot in enumerate(spec.shots) if k > 0}
        boundaries = [{**b, "kind": kind_at[b["frame"]]} for b in t.boundaries]
        clips.append(
            Clip(f"gen{seed}/{title.name}", title.path, t.fps, t.frame_count, boundaries, t.flash_ranges,
                 t.motion_ranges, group="generated")
        )
    return clips


def speed_files(root: Path, split: str) -> list[Clip]:
    """Files of a few minutes for the per-process speed section: 4 composed clips of 180-200 s
    of ``split`` (seed 1), built (or reused) under ``root/speed``."""
    from reelhouse.samples.composed_real import build_composed_set

    built = build_composed_set(root / "speed", split, seed=1, clips=4, seconds=(180.0, 200.0), cache_dir=root / "cache")  # type: ignore[arg-type]
    return [Clip(f"speed/{c.name}", Path(c.path), float(c.truth.fps), int(c.truth.frame_count), [], group="composed-real")
            for c in built]


def real_clips_annotated(quick: bool = False) -> list[Clip]:
    """The real clips present here that have a committed annotation (``--quick``: not transnetv2_test)."""
    from reelhouse.samples import real_clips

    clips = []
    for name, path in sorted(real_clips().items()):
        if not (ANNOTATIONS / f"{name}.json").exists() or (quick and name == "transnetv2_test"):
            continue
        a = load_annotation(name)
        clips.append(Clip(name, path, float(a["fps"]), int(a["frames"]), a["boundaries"], group="annotated-real"))
    return clips


# --- metric ----------------------------------------------------------------------------------


def _window(t: Mapping[str, Any]) -> tuple[int, int]:
    """Prediction frames ``[lo, hi)`` that may match truth ``t``."""
    if t["type"] == "cut":
        return t["frame"] - CUT_TOLERANCE, t["frame"] + CUT_TOLERANCE + 1
    return t["start"] - GRADUAL_TOLERANCE, t["end"] + GRADUAL_TOLERANCE


def _matches(truth: Sequence[Mapping[str, Any]], predicted: Sequence[int]) -> list[tuple[int, int]]:
    """One-to-one (truth index, prediction index) pairs, nearest to the truth's frame first."""
    pairs = []
    for i, t in enumerate(truth):
        lo, hi = _window(t)
        pairs += [(abs(f - t["frame"]), i, j) for j, f in enumerate(predicted) if lo <= f < hi]
    return _one_to_one(pairs)


def _one_to_one(pairs: Iterable[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of ``(distance, i, j)`` candidate pairs, nearest first."""
    used_i: set[int] = set()
    used_j: set[int] = set()
    out = []
    for _, i, j in sorted(pairs):
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j))
    return out


def _fade_seconds(
    truth: Sequence[Mapping[str, Any]], predicted: Sequence[int], pairs: Sequence[tuple[int, int]]
) -> dict[int, int]:
    """Prediction index -> truth index of the one extra prediction each matched fade may have.

    For each matched fade (``kind`` in ``FADE_KINDS``), the unmatched prediction nearest its
    frame inside its widened span is a fade's second boundary: not a false positive.
    """
    used = {j for _, j in pairs}
    extra: dict[int, int] = {}
    for i, _ in sorted(pairs):
        t = truth[i]
        if t.get("kind") not in FADE_KINDS:
            continue
        lo, hi = _window(t)
        free = [(abs(f - t["frame"]), j) for j, f in enumerate(predicted) if lo <= f < hi and j not in used and j not in extra]
        if free:
            extra[min(free)[1]] = i
    return extra


@dataclass
class Counts:
    """True positives, predictions and truth counted for one P/R/F1."""

    tp: int = 0
    n_pred: int = 0
    n_true: int = 0

    def add(self, tp: int, n_pred: int, n_true: int) -> None:
        self.tp, self.n_pred, self.n_true = self.tp + tp, self.n_pred + n_pred, self.n_true + n_true

    def merge(self, other: Counts) -> None:
        self.add(other.tp, other.n_pred, other.n_true)

    def prf(self) -> tuple[float, float, float]:
        """Precision, recall, F1 (1.0 when there is nothing to predict / find)."""
        p = self.tp / self.n_pred if self.n_pred else 1.0
        r = self.tp / self.n_true if self.n_true else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class Score:
    """Counts for one clip or a sum of clips.

    Attributes:
        all, hard, gradual: P/R/F1 counts (see the module docstring for what each scores).
        kinds: counts per gradual kind present in the truth.
        no_cut: false boundaries per no-cut kind.
        false_no_cut: false boundaries inside any no-cut range (each prediction once).
        fade_seconds: predictions excused as a fade's second boundary.
    """

    hard: Counts = field(default_factory=Counts)
    all: Counts = field(default_factory=Counts)
    gradual: Counts = field(default_factory=Counts)
    kinds: dict[str, Counts] = field(default_factory=dict)
    no_cut: dict[str, int] = field(default_factory=dict)
    false_no_cut: int = 0
    fade_seconds: int = 0

    @property
    def false_flash_motion(self) -> int:
        """Former name of ``false_no_cut``."""
        return self.false_no_cut

    def merge(self, other: Score) -> None:
        self.hard.merge(other.hard)
        self.all.merge(other.all)
        self.gradual.merge(other.gradual)
        for k, c in other.kinds.items():
            self.kinds.setdefault(k, Counts()).merge(c)
        for k, n in other.no_cut.items():
            self.no_cut[k] = self.no_cut.get(k, 0) + n
        self.false_no_cut += other.false_no_cut
        self.fade_seconds += other.fade_seconds


def score_subset(
    truth: Sequence[Mapping[str, Any]],
    predicted: Sequence[int],
    select: Callable[[Mapping[str, Any]], bool],
    pairs: Sequence[tuple[int, int]] | None = None,
    seconds: Mapping[int, int] | None = None,
) -> Counts:
    """The selected truth against the predictions that no unselected truth claimed.

    ``pairs`` and ``seconds`` are the full matching (``_matches`` / ``_fade_seconds`` over all
    of ``truth``); they are computed when not given.
    """
    if pairs is None:
        pairs = _matches(truth, predicted)
    if seconds is None:
        seconds = _fade_seconds(truth, predicted, pairs)
    claimed = {j for i, j in pairs if not select(truth[i])} | {j for j, i in seconds.items() if not select(truth[i])}
    rest = [f for j, f in enumerate(predicted) if j not in claimed]
    sub = [t for t in truth if select(t)]
    sub_pairs = _matches(sub, rest)
    return Counts(len(sub_pairs), len(rest) - len(_fade_seconds(sub, rest, sub_pairs)), len(sub))


def score_clip(clip: Clip, predicted: Sequence[int], into: Score) -> Score:
    """Score one clip's predictions, add them to ``into`` and return this clip's own score."""
    truth = clip.boundaries
    pairs = _matches(truth, predicted)
    seconds = _fade_seconds(truth, predicted, pairs)
    own = Score(fade_seconds=len(seconds))
    own.all = score_subset(truth, predicted, lambda t: True, pairs, seconds)
    own.hard = score_subset(truth, predicted, lambda t: t["type"] == "cut", pairs, seconds)
    own.gradual = score_subset(truth, predicted, lambda t: t["type"] != "cut", pairs, seconds)
    for kind in sorted({t["kind"] for t in truth if t["type"] != "cut" and "kind" in t}):
        own.kinds[kind] = score_subset(truth, predicted, lambda t, k=kind: t.get("kind") == k, pairs, seconds)
    taken = {j for _, j in pairs} | set(seconds)
    unmatched = [f for j, f in enumerate(predicted) if j not in taken]
    ranges = clip.no_cut
    for kind in sorted({k for _, _, k in ranges}):
        own.no_cut[kind] = sum(
            any(lo - CUT_TOLERANCE <= f < hi + CUT_TOLERANCE for lo, hi, k in ranges if k == kind) for f in unmatched
        )
    own.false_no_cut = sum(any(lo - CUT_TOLERANCE <= f < hi + CUT_TOLERANCE for lo, hi, _ in ranges) for f in unmatched)
    into.merge(own)
    return own


def score_clips(clips: Iterable[Clip], result: Result) -> Score:
    """The summed score of ``result`` over ``clips``."""
    total = Score()
    for clip in clips:
        score_clip(clip, result.predictions[clip.name], total)
    return total


# --- pipelines -------------------------------------------------------------------------------


def _timed(name: str, clips: Sequence[Clip], run_clip: Callable[[Clip], list[int]], repeats: int) -> Result:
    """Run ``run_clip`` over ``clips`` ``repeats`` times; keep the fastest time per clip."""
    result = Result(name)
    for _ in range(repeats):
        for clip in clips:
            t0 = time.perf_counter()
            result.predictions[clip.name] = sorted(run_clip(clip))
            dt = time.perf_counter() - t0
            result.seconds[clip.name] = min(dt, result.seconds.get(clip.name, dt))
    return result


def reelhouse_pipeline(
    detector_name: str, typed: dict[str, list[tuple[int, str]]] | None = None, **params: Any
) -> Callable[[Clip], list[int]]:
    """Probe, then one streaming ``iter_frames`` decode at the detector's analysis size without
    the loop filter, as ``reelhouse.media.segment.segment_file`` does. ``typed``, when given,
    receives each clip's ``(frame, transition)`` pairs under its name."""
    from models.shot_detection import get_detector
    from reelhouse.media.frames import iter_frames
    from reelhouse.media.probe import probe

    def run(clip: Clip) -> list[int]:
        detector = get_detector(detector_name, **params)
        fps = probe(clip.path, validate=False).fps
        frames = (f.rgb for f in iter_frames(clip.path, size=detector.analysis_size, skip_loop_filter=True))
        found = detector.detect(frames, fps)
        if typed is not None:
            typed[clip.name] = [(b.frame, b.transition) for b in found]
        return [b.frame for b in found]

    return run


def pyscenedetect_pipeline(detector: str, backend: str = "opencv") -> Callable[[Clip], list[int]]:
    """PySceneDetect's ``SceneManager`` with one detector at its defaults; boundaries are the
    first frames of scenes 2..n."""
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
    """``iter_frames`` at 64x36 doing nothing with the frames (loop filter on)."""
    from reelhouse.media.frames import iter_frames

    def run(clip: Clip) -> list[int]:
        for _ in iter_frames(clip.path, size=(64, 36)):
            pass
        return []

    return run


# --- speed: each tool as its own process -----------------------------------------------------


def _tiny_clip(src: Path, dst: Path, frames: int = 2) -> Path:
    """The first ``frames`` frames of ``src`` re-encoded with the same codec, size and rate."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        codec = {"h264": "libx264", "hevc": "libx265"}.get(vin.codec_context.name, vin.codec_context.name)
        vout = out.add_stream(codec, rate=Fraction(vin.average_rate or 25).limit_denominator(1001))
        vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        for k, frame in enumerate(inp.decode(vin)):
            if k >= frames:
                break
            frame.pts = None
            for packet in vout.encode(frame.reformat(format="yuv420p")):
                out.mux(packet)
        for packet in vout.encode():
            out.mux(packet)
    return dst


def reelhouse_command(path: Path) -> list[str]:
    """The shots CLI with the default detector, printing shots as JSON (nothing is stored)."""
    return [str(VENV_BIN / "reelhouse"), "shots", str(path), "--json"]


def scenedetect_command(path: Path) -> list[str]:
    """PySceneDetect's CLI: content detector, scene list printed only (``-n``: no file written)."""
    return [str(VENV_BIN / "scenedetect"), "-i", str(path), "-m", "15", "detect-content", "list-scenes", "-n"]


def parse_reelhouse(stdout: str) -> list[int]:
    """Boundary frames (first frames of shots 2..n) from ``reelhouse shots --json``."""
    return [int(s["start"]) for s in json.loads(stdout)["shots"][1:]]


_SCENE_ROW = re.compile(r"^\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|")


def parse_scenedetect(stdout: str) -> list[int]:
    """Boundary frames (0-based) from ``list-scenes``' table, whose start frames are 1-based."""
    starts = [int(m.group(2)) - 1 for m in map(_SCENE_ROW.match, stdout.splitlines()) if m]
    return starts[1:]


def _wall(cmd: Sequence[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, done.stdout


@dataclass
class Speed:
    """One tool's per-process timing over the speed clips."""

    name: str
    startup_s: float = 0.0
    startup_runs: list[float] = field(default_factory=list)
    walls: dict[str, float] = field(default_factory=dict)
    predictions: dict[str, list[int]] = field(default_factory=dict)

    def fps(self, clips: Sequence[Clip]) -> float:
        """Frames / (wall - files x start-up) over ``clips`` (frames/s)."""
        net = sum(self.walls[c.name] for c in clips) - len(clips) * self.startup_s
        return sum(c.frames for c in clips) / net if net > 0 else float("inf")


def speed_section(clips: Sequence[Clip], workdir: Path, repeats: int = 3) -> dict[str, Speed]:
    """Run both command lines on every clip (alternating which goes first) and on a tiny clip."""
    tiny = _tiny_clip(clips[0].path, workdir / "speed-tiny.mp4")
    tools: dict[str, tuple[Callable[[Path], list[str]], Callable[[str], list[int]]]] = {
        "reelhouse": (reelhouse_command, parse_reelhouse),
        "pyscenedetect": (scenedetect_command, parse_scenedetect),
    }
    speeds = {name: Speed(name) for name in tools}
    for name, (command, _) in tools.items():  # warm-up (page cache), then start-up runs
        _wall(command(tiny))
    for _ in range(repeats):
        for name, (command, _) in tools.items():
            speeds[name].startup_runs.append(_wall(command(tiny))[0])
    for s in speeds.values():
        s.startup_s = statistics.median(s.startup_runs)
    for k, clip in enumerate(clips):
        order = list(tools) if k % 2 == 0 else list(reversed(tools))
        for name in order:
            command, parse = tools[name]
            wall, out = _wall(command(clip.path))
            speeds[name].walls[clip.name] = wall
            speeds[name].predictions[clip.name] = parse(out)
    return speeds


def _canonical(frames: Iterable[int], frame_count: int) -> list[int]:
    """Boundaries as the shots tiling keeps them: distinct, inside ``(0, frame_count)``, sorted."""
    return sorted({f for f in frames if 0 < f < frame_count})


# --- report ----------------------------------------------------------------------------------


def _prf(c: Counts) -> str:
    p, r, f = c.prf()
    return f"{p:5.3f} {r:5.3f} {f:5.3f}"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def report_group(group: str, clips: Sequence[Clip], results: Sequence[Result], note: str = "") -> dict[str, Score]:
    """Print one group's tables; return each scored pipeline's summed score."""
    scored = [r for r in results if not r.name.startswith("decode-only")]
    scores = {r.name: score_clips(clips, r) for r in scored}
    n_cut = sum(b["type"] == "cut" for c in clips for b in c.boundaries)
    n_all = sum(len(c.boundaries) for c in clips)
    kinds = [k for k in GRADUAL_KINDS if any(k in s.kinds for s in scores.values())]
    kinds += sorted({k for s in scores.values() for k in s.kinds} - set(kinds))
    no_cut_kinds = sorted({k for c in clips for _, _, k in c.no_cut})
    print(f"\n=== {group}: {len(clips)} clips, {sum(c.frames for c in clips)} frames, {n_all} transitions "
          f"({n_cut} hard cuts, {n_all - n_cut} gradual), "
          f"{sum(len(c.no_cut) for c in clips)} no-cut ranges" + (f" -- {note}" if note else ""))
    header = (f"{'pipeline':<32} {'P_all R_all F1_all':>17} {'P_hrd R_hrd F1_hrd':>17} {'P_grd R_grd F1_grd':>17} "
              f"{'no-cut':>6} {'fade2':>5} {'fps':>6}")
    print(header)
    print("-" * len(header))
    for r in results:
        s = scores.get(r.name)
        acc = (f"{_prf(s.all):>17} {_prf(s.hard):>17} {_prf(s.gradual):>17} {s.false_no_cut:>6d} {s.fade_seconds:>5d}"
               if s else " " * 72)
        print(f"{r.name:<32} {acc} {r.fps(clips):>6.0f}")
    if kinds:
        print(f"\n  per gradual kind: P R F1 (truth count) [{group}]")
        print(f"  {'pipeline':<32} " + " ".join(f"{k:>24}" for k in kinds))
        for name, s in scores.items():
            print(f"  {name:<32} " + " ".join(
                f"{_prf(s.kinds[k]) + f' ({s.kinds[k].n_true})':>24}" if k in s.kinds else f"{'-':>24}" for k in kinds))
    if no_cut_kinds:
        counts = {k: sum(1 for c in clips for *_, kk in c.no_cut if kk == k) for k in no_cut_kinds}
        print(f"\n  false boundaries inside no-cut ranges, per kind (ranges) [{group}]")
        print(f"  {'pipeline':<32} " + " ".join(f"{f'{k} ({counts[k]})':>14}" for k in no_cut_kinds))
        for name, s in scores.items():
            print(f"  {name:<32} " + " ".join(f"{s.no_cut.get(k, 0):>14d}" for k in no_cut_kinds))
    rates = sorted({c.rate_label for c in clips}, key=lambda x: (x == "vfr", float(x.split()[0]) if x != "vfr" else 0))
    if group == "composed-real" and rates:
        print(f"\n  per nominal frame rate: P R F1 over all transitions (clips, transitions) [{group}]")
        subsets = {rate: [c for c in clips if c.rate_label == rate] for rate in rates}
        print(f"  {'pipeline':<32} " + " ".join(
            f"{f'{rate} ({len(cs)}, {sum(len(c.boundaries) for c in cs)})':>20}" for rate, cs in subsets.items()))
        for r in scored:
            print(f"  {r.name:<32} " + " ".join(f"{_prf(score_clips(cs, r).all):>20}" for cs in subsets.values()))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("evaluation", "tuning"), default="evaluation",
                        help="composed-real split to score (parameters may be tuned on 'tuning' only)")
    parser.add_argument("--titles", type=int, default=6, help="generated titles")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each generated title (s)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated set")
    parser.add_argument("--repeats", type=int, default=1, help="passes of each in-process pipeline (fastest kept)")
    parser.add_argument("--device", default="auto", help="torch device for TransNetV2 and the hybrid (in-process runs)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "reelhouse-bench-shots",
                        help="generated titles and the speed section's tiny clip")
    parser.add_argument("--composed-dir", type=Path, default=None,
                        help="composed-real clips and their source cache (default: <settings home>/cache/composed-real)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 composed clips, 2 short generated titles, no transnetv2_test")
    args = parser.parse_args()
    if args.quick:
        args.titles, args.seconds, args.repeats = 2, 12.0, 1
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    import cv2
    import torch

    from models.device import select_device
    from models.shot_detection import available_detectors, detector_class
    from models.shot_detection.transnetv2 import load_transnetv2
    from reelhouse.config import get_settings
    from reelhouse.features.specs import DEFAULT_DETECTOR
    from reelhouse.samples import composed_real

    torch.set_num_threads(THREADS)
    cv2.setNumThreads(THREADS)
    device = select_device(args.device)
    composed_dir = args.composed_dir or get_settings().home / "cache" / "composed-real"

    t0 = time.perf_counter()
    groups: dict[str, list[Clip]] = {
        "composed-real": composed_clips(composed_dir, args.split, args.quick),
        "annotated-real": real_clips_annotated(args.quick),
        "generated": generated_clips(args.workdir, args.titles, args.seconds, args.seed),
    }
    clips = [c for g in groups.values() for c in g]
    print(f"clips ready in {time.perf_counter() - t0:.1f} s")
    for name, g in groups.items():
        print(f"  {name}: " + ", ".join(f"{c.name} ({c.frames}, {c.rate_label})" for c in g))
    print(f"composed-real split: {args.split}; " + _split_sources(composed_real))
    print(f"threads: torch {torch.get_num_threads()}, opencv {cv2.getNumThreads()}; network device: {device}; "
          f"cores: {os.cpu_count()}; load average {_load()}")
    load_transnetv2(device)  # model loading is not part of any in-process pipeline's time

    plan: list[tuple[str, Callable[[Clip], list[int]]]] = [("decode-only (iter_frames 64x36)", decode_only_pipeline())]
    auto_typed: dict[str, list[tuple[int, str]]] = {}  # the default detector's (frame, transition) per clip
    for name in available_detectors():
        params = {"device": str(device)} if "device" in inspect.signature(detector_class(name)).parameters else {}
        label = f"reelhouse {name}" + (" (default)" if name == DEFAULT_DETECTOR else "")
        plan.append((label, reelhouse_pipeline(name, typed=auto_typed if name == DEFAULT_DETECTOR else None, **params)))
    plan += [
        ("transnetv2 reference", transnetv2_reference_pipeline(device)),
        ("pyscenedetect content", pyscenedetect_pipeline("content")),
        ("pyscenedetect adaptive", pyscenedetect_pipeline("adaptive")),
    ]
    results: list[Result] = []
    for name, run_clip in plan:
        t = time.perf_counter()
        results.append(_timed(name, clips, run_clip, args.repeats))
        print(f"  {name}: {results[-1].fps(clips):.0f} fps in process ({time.perf_counter() - t:.1f} s; "
              f"load {_load()})", flush=True)
    by_name = {r.name: r for r in results}
    default = f"reelhouse {DEFAULT_DETECTOR} (default)"

    notes = {
        "composed-real": f"{args.split} split"
                         + (" (tuning: parameters may have been chosen on it)" if args.split == "tuning" else ""),
        "annotated-real": "labels drawn up looking at detectors' candidates (not independent of them); "
                          "transnetv2_test is a composed-real tuning source",
        "generated": f"seed {args.seed}",
    }
    scores = {g: report_group(g, cs, results, notes[g]) for g, cs in groups.items() if cs}

    # speed: each tool as its own process on files of a few minutes
    long_clips = groups["composed-real"] if args.quick else speed_files(composed_dir, args.split)
    if long_clips is not groups["composed-real"]:  # the in-process answers the command lines must give
        for r in results:
            if r.name in (default, "pyscenedetect content"):
                r.predictions.update(_timed(r.name, long_clips, dict(plan)[r.name], 1).predictions)
    print(f"\n=== speed: {len(long_clips)} composed-real {args.split} clips of {min(c.frames / c.fps for c in long_clips):.0f}-"
          f"{max(c.frames / c.fps for c in long_clips):.0f} s, {sum(c.frames for c in long_clips)} frames, "
          f"{sum(c.frames / c.fps for c in long_clips):.0f} s of video; each tool a process per file; load {_load()}")
    speeds = speed_section(long_clips, args.workdir)
    rh, psd = speeds["reelhouse"], speeds["pyscenedetect"]
    for s in (rh, psd):
        print(f"  {s.name:<14} start-up {s.startup_s:.2f} s (runs {', '.join(f'{x:.2f}' for x in s.startup_runs)}), "
              f"wall {sum(s.walls.values()):.1f} s, {s.fps(long_clips):.0f} fps after start-up")
    ratio = rh.fps(long_clips) / psd.fps(long_clips)
    print(f"  speed ratio reelhouse / pyscenedetect: {ratio:.2f}x; load {_load()}")
    agree_rh = [c.name for c in long_clips
                if _canonical(rh.predictions[c.name], c.frames) == _canonical(by_name[default].predictions[c.name], c.frames)]
    agree_psd = [c.name for c in long_clips
                 if psd.predictions[c.name] == by_name["pyscenedetect content"].predictions[c.name]]
    print(f"  check: reelhouse CLI = in-process {DEFAULT_DETECTOR} on {len(agree_rh)}/{len(long_clips)} files; "
          f"scenedetect CLI = in-process content detector on {len(agree_psd)}/{len(long_clips)} files")
    for c in long_clips:
        if c.name not in agree_rh:
            print(f"    {c.name}: reelhouse CLI {_canonical(rh.predictions[c.name], c.frames)} "
                  f"vs in-process {_canonical(by_name[default].predictions[c.name], c.frames)}")
        if c.name not in agree_psd:
            print(f"    {c.name}: scenedetect CLI {psd.predictions[c.name]} vs in-process "
                  f"{by_name['pyscenedetect content'].predictions[c.name]}")

    # precision: the same boundaries in float32 and reduced precision
    t = time.perf_counter()
    composed = groups["composed-real"]
    runs, resolved = precision_section(composed, device, auto_typed)
    same = [c.name for c in composed if len({json.dumps(r[c.name]) for r in runs.values()}) == 1]
    print(f"\n=== precision: default {DEFAULT_DETECTOR} with its network in {', '.join(runs)} "
          f"(\"auto\" ran {resolved} here); {time.perf_counter() - t:.0f} s")
    print(f"  identical boundaries (frame and type) on {len(same)}/{len(composed)} files")
    for c in composed:
        if c.name not in same:
            sets = {n: set(r[c.name]) for n, r in runs.items()}
            common = set.intersection(*sets.values())
            print(f"    {c.name}: " + "; ".join(f"{n} only {sorted(v - common)}" for n, v in sets.items()))

    # encode: the pipeline's detector on the standardized encode against the source
    t = time.perf_counter()
    encodes = encode_section(composed, args.workdir)
    matched = sum(e.matched for e in encodes.values())
    n_src = sum(len(e.source_s) for e in encodes.values())
    n_enc = sum(len(e.encode_s) for e in encodes.values())
    agreement = Counts(matched, n_enc, n_src).prf()
    enc_score = Score()
    for e in encodes.values():
        enc_score.merge(e.truth_score)
    print(f"\n=== encode: {DEFAULT_DETECTOR} on the default standardized encode (360p, 24 fps) against the source, "
          f"boundaries mapped through timestamps; {time.perf_counter() - t:.0f} s")
    print(f"  source boundaries {n_src}, encode boundaries {n_enc}, matched {matched}: "
          f"agreement P {agreement[0]:.3f} R {agreement[1]:.3f} F1 {agreement[2]:.3f}")
    print(f"  against the truth (mapped to encode frames): {_prf(enc_score.all)} all, {_prf(enc_score.hard)} hard, "
          f"{_prf(enc_score.gradual)} gradual; the source: {_prf(scores['composed-real'][default].all)} all")
    for name, e in encodes.items():
        print(f"    {name}: source {len(e.source_s)}, encode {len(e.encode_s)}, matched {e.matched}")

    head = scores["composed-real"][default]
    ref = scores["composed-real"]["transnetv2 reference"]
    out: dict[str, Any] = {
        "f1_all_real": round(head.all.prf()[2], 4),
        "f1_gradual_real": round(head.gradual.prf()[2], 4),
        "f1_hard_real": round(head.hard.prf()[2], 4),
        "false_cuts_no_cut_ranges": head.false_no_cut,
        "f1_transnetv2_reference_real": round(ref.all.prf()[2], 4),
        "speed_ratio_vs_pyscenedetect": round(ratio, 3),
        "startup_s": round(rh.startup_s, 3),
        "split": args.split,
        "clips": len(composed),
        "frames": sum(c.frames for c in composed),
        "detector": DEFAULT_DETECTOR,
        "quick": args.quick,
        "f1_gradual_kinds_real": {k: round(c.prf()[2], 4) for k, c in head.kinds.items()},
        "false_cuts_no_cut_kinds_real": head.no_cut,
        "f1_gradual_transnetv2_reference_real": round(ref.gradual.prf()[2], 4),
        "f1_hard_transnetv2_reference_real": round(ref.hard.prf()[2], 4),
        "false_cuts_no_cut_ranges_transnetv2_reference": ref.false_no_cut,
    }
    out["f1_all_by_group"] = {
        g: {name.replace(" (default)", ""): round(sc.all.prf()[2], 4) for name, sc in s.items()} for g, s in scores.items()
    }
    out["f1_hard_gradual_default_by_group"] = {
        g: [round(s[default].hard.prf()[2], 4), round(s[default].gradual.prf()[2], 4)] for g, s in scores.items()
    }
    out |= {
        "fps_reelhouse": round(rh.fps(long_clips), 1),
        "fps_pyscenedetect": round(psd.fps(long_clips), 1),
        "startup_s_pyscenedetect": round(psd.startup_s, 3),
        "speed_files_s": round(sum(c.frames / c.fps for c in long_clips), 1),
        "cli_agrees_in_process_reelhouse": f"{len(agree_rh)}/{len(long_clips)}",
        "cli_agrees_in_process_pyscenedetect": f"{len(agree_psd)}/{len(long_clips)}",
        "precision_same_files": f"{len(same)}/{len(composed)}",
        "precision_auto_dtype": resolved,
        "encode_agreement_f1": round(agreement[2], 4),
        "f1_all_encode_real": round(enc_score.all.prf()[2], 4),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "run_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(out))


def precision_section(
    clips: Sequence[Clip], device: Any, auto: dict[str, list[tuple[int, str]]]
) -> tuple[dict[str, dict[str, list[tuple[int, str]]]], str]:
    """The default detector's ``(frame, transition)`` per clip at each forced precision over
    ``clips``; ``auto`` (the run at the default precision) stands for the dtype it resolves to,
    whose name is returned too."""
    from models.shot_detection import get_detector
    from reelhouse.features.specs import DEFAULT_DETECTOR

    resolved = get_detector(DEFAULT_DETECTOR, device=str(device)).network_dtype_name
    runs: dict[str, dict[str, list[tuple[int, str]]]] = {}
    for name in ["float32", "bfloat16"] + (["float16"] if device.type == "cuda" else []):
        if name == resolved:
            runs[name] = auto
            continue
        runs[name] = {}
        run = reelhouse_pipeline(DEFAULT_DETECTOR, typed=runs[name], device=str(device), precision=name)
        for clip in clips:
            run(clip)
    return runs, resolved


@dataclass
class EncodeAgreement:
    """Source-vs-encode boundaries of one clip (times in seconds from the first frame)."""

    source_s: list[float]
    encode_s: list[float]
    matched: int
    truth_score: Any  # Score of the encode's boundaries against the mapped truth


def _match_times(a: Sequence[float], b: Sequence[float], tolerance: float) -> int:
    """One-to-one matches of two time lists within ``tolerance`` seconds, nearest first."""
    return len(_one_to_one((abs(x - y), i, j) for i, x in enumerate(a) for j, y in enumerate(b) if abs(x - y) <= tolerance))


def encode_section(clips: Sequence[Clip], workdir: Path) -> dict[str, EncodeAgreement]:
    """Standardize each clip with the default recipe and compare the shots of source and encode."""
    from reelhouse.config import EncodeRecipe
    from reelhouse.media._timeline import CfrResampler
    from reelhouse.media.frames import iter_frames
    from reelhouse.media.segment import segment_file
    from reelhouse.media.standardize import standardize

    recipe = EncodeRecipe()
    out: dict[str, EncodeAgreement] = {}
    for clip in clips:
        encoded = standardize(clip.path, workdir / "encodes" / (clip.name.replace("/", "_") + ".mp4"), recipe)
        source, encode = segment_file(clip.path), segment_file(encoded.path)
        source_s = [s.start_s for s in source.shots[1:]]
        encode_s = [s.start_s for s in encode.shots[1:]]
        tolerance = max(1.5 / recipe.fps, 2.0 / clip.fps)
        times = [f.t_s for f in iter_frames(clip.path, size=(16, 16))]
        t0 = times[0]

        def to_encode(frame: int) -> int:
            t = times[min(frame, len(times) - 1)] - t0
            return min(encoded.frame_count - 1, CfrResampler.first_index_at(t, recipe.fps))

        truth = [
            {**b, "frame": to_encode(b["frame"]), "start": to_encode(b["start"]), "end": max(to_encode(b["end"]), to_encode(b["start"]) + 1)}
            for b in clip.boundaries
        ]
        mapped = Clip(clip.name, encoded.path, recipe.fps, encoded.frame_count, truth,
                      no_cut_ranges=[(to_encode(a), max(to_encode(b), to_encode(a) + 1), k) for a, b, k in clip.no_cut],
                      group=clip.group)
        score = score_clip(mapped, [s.start for s in encode.shots[1:]], Score())
        out[clip.name] = EncodeAgreement(source_s, encode_s, _match_times(source_s, encode_s, tolerance), score)
    return out


def _split_sources(module: Any) -> str:
    """Which source footage each composed split uses, from the module's constants."""
    return f"tuning sources {', '.join(module.TUNING_SOURCES)}; evaluation sources {', '.join(module.EVALUATION_SOURCES)}"


if __name__ == "__main__":
    main()
