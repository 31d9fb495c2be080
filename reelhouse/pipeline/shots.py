"""The shots feature: the canonical segmentation every other shot feature shares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureSlice, FeatureStore
from reelhouse.pipeline.encode import encode_row, local_path
from reelhouse.pipeline.outcome import StageOutcome, TitleNotReady
from reelhouse.pipeline.specs import DEFAULT_DETECTOR, shots_spec


@dataclass(frozen=True)
class ShotRecord:
    """One shot: frames ``[start, end)`` in the analysed file's decoded-frame order, and seconds."""

    index: int
    start: int
    end: int
    start_s: float
    end_s: float
    transition: str
    confidence: float


@dataclass(frozen=True)
class Segmentation:
    """Shots of one file, with the frame rate and frame count they were counted in."""

    fps: float
    frames: int
    shots: list[ShotRecord]
    detector: str


def segment_file(path: Path, detector: str = DEFAULT_DETECTOR) -> Segmentation:
    """Detect shots in a video file in one streaming decode at the detector's analysis size.

    Frame numbers are 0-based in the file's decoded-frame order; seconds come from the frames' own
    timestamps, so variable-frame-rate files get correct times.
    """
    from models.shot_detection import boundaries_to_shots, get_detector
    from reelhouse.media.frames import iter_frames
    from reelhouse.media.probe import probe

    det = get_detector(detector)
    rec = probe(path, validate=False)
    times: list[float] = []

    def frames() -> Iterator[np.ndarray]:
        for frame in iter_frames(path, size=det.analysis_size):
            times.append(frame.t_s)
            yield frame.rgb

    boundaries = det.detect(frames(), rec.fps)
    n = len(times)
    end_time = (times[-1] + 1.0 / rec.fps) if n else 0.0
    t0 = times[0] if n else 0.0
    shots = [
        ShotRecord(
            s.index, s.start, s.end,
            round(times[s.start] - t0, 6),
            round((times[s.end] if s.end < n else end_time) - t0, 6),
            s.transition, float(s.confidence),
        )
        for s in boundaries_to_shots(boundaries, n)
    ]
    return Segmentation(rec.fps, n, shots, f"{det.name}@{det.version}")


def segment_title(settings: Settings, store: FeatureStore, video_id: str, run_id: str,
                  detector: str = DEFAULT_DETECTOR) -> StageOutcome:
    """Segment the title's standardized encode into shots and store them (memoized)."""
    spec = shots_spec(settings, detector)
    slice_ = FeatureSlice(video_id, spec.name, spec.version)
    if store.has_slice("shots", slice_):
        return StageOutcome(video_id, spec.name, spec.version, True, 0)
    enc = encode_row(store, settings, video_id)
    seg = segment_file(local_path(enc["uri"], settings), detector)
    rows = [
        {
            "shot_index": s.index,
            "start_frame": s.start,
            "end_frame": s.end,
            "start_s": s.start_s,
            "end_s": s.end_s,
            "fps": enc["fps"],
            "transition": s.transition,
            "confidence": s.confidence,
            "detector": seg.detector,
        }
        for s in seg.shots
    ]
    write = store.replace_slice("shots", slice_, rows, run_id)
    return StageOutcome(video_id, spec.name, spec.version, False, len(rows), write.snapshot_id)


def shot_rows(store: FeatureStore, settings: Settings, video_id: str, detector: str = DEFAULT_DETECTOR) -> list[dict]:
    """The title's stored shots for the current shots version, ordered by shot index."""
    spec = shots_spec(settings, detector)
    rows = store.read_slice("shots", FeatureSlice(video_id, spec.name, spec.version)).to_pylist()
    return sorted(rows, key=lambda r: r["shot_index"])


def encoded_shots(store: FeatureStore, settings: Settings, video_id: str) -> tuple[dict, list[dict]]:
    """The title's ``encodes`` row and its current shots, what every per-shot job starts from.

    Raises:
        TitleNotReady: if the title has no encode or no shots for the current versions.
    """
    enc = encode_row(store, settings, video_id)
    shots = shot_rows(store, settings, video_id)
    if not shots:
        raise TitleNotReady(f"title {video_id} has no shots for the current shots version")
    return enc, shots
