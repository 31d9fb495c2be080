"""Clips of stored titles: a shot or a time span of a title's standardized encode, and match-cut reels.

Frames are those of the title's standardized encode (constant frame rate), ``[start, end)``; seconds
``[start_s, end_s)`` of it. The files are written by ``reelhouse.media.clip``.
"""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import TitleNotReady
from reelhouse.features.rows import encode_row, shot_rows
from reelhouse.lakehouse import FeatureStore
from reelhouse.media.clip import Segment, seconds_to_frames
from reelhouse.media.location import localize
from reelhouse.search.match_cuts import MatchCut

#: A match-cut reel shows this much of each side of a cut, seconds: the outgoing shot's last and the
#: incoming shot's first (the whole shot when it is shorter).
REEL_SIDE_S = 1.5
#: The frame size of a match-cut reel (its shots are scaled to fit, centred on black).
REEL_SIZE = (640, 360)


class ClipError(ValueError):
    """A clip that cannot be cut: no such shot, a span outside the title, or no standardized encode."""


def _encode(store: FeatureStore, settings: Settings, video_id: str) -> tuple[dict, Segment]:
    try:
        enc = encode_row(store, settings, video_id)
    except TitleNotReady as exc:
        raise ClipError(str(exc)) from None
    path = localize(enc["uri"], settings.home / "cache", settings.catalog_properties)
    return enc, Segment(path, 0, int(enc["frame_count"]), float(enc["fps"]))


def shot_segment(store: FeatureStore, settings: Settings, video_id: str, shot_index: int) -> Segment:
    """The frames of shot ``shot_index`` of the title.

    Raises:
        ClipError: no such shot, or no standardized encode.
    """
    _, whole = _encode(store, settings, video_id)
    shots = {s["shot_index"]: s for s in shot_rows(store, settings, video_id)}
    if shot_index not in shots:
        raise ClipError(f"title {video_id} has no shot {shot_index} (shots 0-{len(shots) - 1})" if shots
                        else f"title {video_id} has no shots yet")
    s = shots[shot_index]
    return Segment(whole.path, int(s["start_frame"]), int(s["end_frame"]), whole.fps)


def span_segment(store: FeatureStore, settings: Settings, video_id: str, start_s: float, end_s: float) -> Segment:
    """The frames covering ``[start_s, end_s)`` seconds of the title (``seconds_to_frames``).

    Raises:
        ClipError: an empty span, one past the title's end, or no standardized encode.
    """
    _, whole = _encode(store, settings, video_id)
    try:
        start, end = seconds_to_frames(start_s, end_s, whole.fps)
    except ValueError as exc:
        raise ClipError(str(exc)) from None
    if end > whole.end_frame:
        raise ClipError(f"[{start_s}, {end_s}) s runs past the title's end ({whole.end_frame / whole.fps:.3f} s)")
    return Segment(whole.path, start, end, whole.fps)


def reel_segments(store: FeatureStore, settings: Settings, pairs: Sequence[MatchCut],
                  side_s: float = REEL_SIDE_S) -> list[Segment]:
    """Each pair as two segments: the outgoing shot's last ``side_s`` seconds, then the incoming shot's first."""
    out = []
    for p in pairs:
        a = shot_segment(store, settings, p.video_id, p.shot_index)
        b = shot_segment(store, settings, p.other_video_id, p.other_shot_index)
        out.append(Segment(a.path, max(a.start_frame, a.end_frame - round(side_s * a.fps)), a.end_frame, a.fps))
        out.append(Segment(b.path, b.start_frame, min(b.end_frame, b.start_frame + round(side_s * b.fps)), b.fps))
    return out
