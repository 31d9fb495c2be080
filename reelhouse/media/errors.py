"""Typed errors for media that cannot be used, each with a stable machine-readable ``code``.

The ``code`` is what the ``media`` table stores in ``error_code`` for a quarantined title;
the message says which stream, which codec and where it broke.
"""

from __future__ import annotations


class MediaError(Exception):
    """Base class: a file that reelhouse cannot use as a title.

    Attributes:
        code: stable identifier of the failure kind (stored as ``error_code``).
        path: the offending file, when known.
    """

    code: str = "media_error"

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class EmptyFileError(MediaError):
    """The file has zero bytes."""

    code = "empty_file"


class NotVideoError(MediaError):
    """The bytes are not a media container FFmpeg recognises (e.g. a text file named ``.mp4``)."""

    code = "not_video"


class TruncatedMediaError(MediaError):
    """The container is recognised but the file ends before the data it declares."""

    code = "truncated"


class UndecodableAudioError(MediaError):
    """The video is usable but an audio stream's packets cannot be decoded."""

    code = "undecodable_audio"


class UnsupportedCodecError(MediaError):
    """The video stream's codec has no decoder in this FFmpeg build (or its codec tag is unknown)."""

    code = "unsupported_codec"


class NoVideoStreamError(MediaError):
    """The container holds no video stream (e.g. an audio-only file)."""

    code = "no_video_stream"


class CorruptMediaError(MediaError):
    """Anything else that makes the file undecodable."""

    code = "corrupt"
