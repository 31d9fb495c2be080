"""Shared, lazily generated media for the media and samples tests (written once per test session)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache, lru_cache
from pathlib import Path

from reelhouse.config import EncodeRecipe
from reelhouse.media import standardize
from reelhouse.samples import (
    AudioSegment,
    ClipSpec,
    Cue,
    GroundTruth,
    Look,
    Shot,
    Variant,
    generate_clip,
    make_audio_only,
    make_mkv,
    make_not_video,
    make_odd_aspect,
    make_rotated,
    make_truncated,
    make_undecodable_audio,
    make_unsupported_codec,
    make_vfr,
    make_zero_byte,
)


@lru_cache(maxsize=1)
def media_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="reelhouse-media-tests-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


#: A clip exercising every generator feature: cut, dissolve, fade, flash, fast pan, tones, subtitles.
TRUTH_SPEC = ClipSpec(
    width=192,
    height=108,
    fps=24.0,
    shots=(
        Shot(look=Look(hue=0.0, layout="blobs", seed=1), frames=36, flashes=(12,)),
        Shot(look=Look(hue=0.33, layout="stripes", seed=2), frames=30),
        Shot(
            look=Look(hue=0.6, layout="blocks", seed=3),
            frames=42,
            transition_in="dissolve",
            transition_frames=10,
            pan=(14, 26),
        ),
        Shot(look=Look(hue=0.8, layout="horizon", seed=4), frames=36, transition_in="fade", transition_frames=12),
    ),
    audio=(
        AudioSegment(start_s=0.0, end_s=2.0, freq_hz=440.0),
        AudioSegment(start_s=3.0, end_s=5.5, freq_hz=1000.0),
    ),
    subtitles=(Cue(start_s=0.5, end_s=2.0, text="Hello there."), Cue(start_s=3.0, end_s=4.25, text="Second line")),
)


@lru_cache(maxsize=1)
def truth_clip() -> tuple[Path, GroundTruth]:
    """The TRUTH_SPEC clip as MP4 and its ground truth."""
    path = media_dir() / "truth.mp4"
    return path, generate_clip(TRUTH_SPEC, path)


@cache
def variant(name: str) -> Variant:
    """One odd or bad input by name (see ``VALID`` and ``BAD``)."""
    d = media_dir()
    makers = {
        "rotated": lambda: make_rotated(d / "rotated.mp4", 90),
        "unrotated": lambda: make_rotated(d / "unrotated.mp4", 0),
        "odd_aspect": lambda: make_odd_aspect(d / "odd_aspect.mp4", (4, 3)),
        "vfr": lambda: make_vfr(d / "vfr.mp4"),
        "mkv": lambda: make_mkv(d / "clip.mkv"),
        "zero_byte": lambda: make_zero_byte(d / "zero.mp4"),
        "truncated_moov_at_end": lambda: make_truncated(variant("unrotated").path, d / "cut_end.mp4", 0.6),
        "truncated_moov_at_start": lambda: make_truncated(standardized_clip(), d / "cut_start.mp4", 0.6),
        "truncated_mkv": lambda: make_truncated(variant("mkv").path, d / "cut.mkv", 0.6),
        "not_video": lambda: make_not_video(d / "notes.mp4"),
        "undecodable_audio": lambda: make_undecodable_audio(d / "bad_audio.mkv"),
        "unsupported_codec": lambda: make_unsupported_codec(d / "unknown_codec.mp4"),
        "audio_only": lambda: make_audio_only(d / "audio_only.mp4"),
    }
    return makers[name]()


@lru_cache(maxsize=1)
def standardized_clip() -> Path:
    """The truth clip standardized at 144 p (its MP4 has the moov atom at the start: faststart)."""
    path = media_dir() / "truth.std.mp4"
    standardize(truth_clip()[0], path, EncodeRecipe(height=144))
    return path


VALID = ["rotated", "odd_aspect", "vfr", "mkv"]
BAD = {
    "zero_byte": "empty_file",
    "truncated_moov_at_end": "truncated",
    "truncated_moov_at_start": "truncated",
    "truncated_mkv": "truncated",
    "not_video": "not_video",
    "undecodable_audio": "undecodable_audio",
    "unsupported_codec": "unsupported_codec",
    "audio_only": "no_video_stream",
}
