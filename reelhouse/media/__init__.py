"""Media access ("Jasper"): content id, probe and validation, the standardized encode, and
frame and audio access.

Conventions: frames are RGB ``uint8`` arrays ``(H, W, 3)``; times are seconds; ranges are
``[start, end)``.
"""

from reelhouse.media.audio import iter_audio, read_audio
from reelhouse.media.content_id import content_id
from reelhouse.media.errors import (
    CorruptMediaError,
    EmptyFileError,
    MediaError,
    NotVideoError,
    NoVideoStreamError,
    TruncatedMediaError,
    UndecodableAudioError,
    UnsupportedCodecError,
)
from reelhouse.media.frames import Frame, frames_at, iter_frames
from reelhouse.media.probe import MediaRecord, probe
from reelhouse.media.standardize import EncodeResult, FrameSink, recipe_version, standardize

__all__ = [
    "CorruptMediaError",
    "EmptyFileError",
    "EncodeResult",
    "Frame",
    "FrameSink",
    "MediaError",
    "MediaRecord",
    "NoVideoStreamError",
    "NotVideoError",
    "TruncatedMediaError",
    "UndecodableAudioError",
    "UnsupportedCodecError",
    "content_id",
    "frames_at",
    "iter_audio",
    "iter_frames",
    "probe",
    "read_audio",
    "recipe_version",
    "standardize",
]
