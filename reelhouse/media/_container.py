"""Opening media with PyAV and turning FFmpeg failures into specific :class:`MediaError` s.

Shared by probe, frame access and the standardized encode, so every entry point classifies a
bad file the same way.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import av
import av.container
import av.video.frame
import av.video.stream

from reelhouse.media.errors import (
    CorruptMediaError,
    EmptyFileError,
    NotVideoError,
    NoVideoStreamError,
    TruncatedMediaError,
    UnsupportedCodecError,
)

#: Demuxers that accept files which are not videos (single images, text rendered as ANSI art).
_NOT_VIDEO_FORMATS = {"image2", "tty"}
_ISO_BMFF_TOP_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp", b"moof"}


def sniff_container(path: Path) -> str | None:
    """Name the container family from the file's first bytes, or ``None`` if unrecognised."""
    with open(path, "rb") as f:
        head = f.read(376)
    if len(head) >= 8 and head[4:8] in _ISO_BMFF_TOP_BOXES:
        return "iso-bmff"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF"):
        return "riff"
    if head.startswith((b"OggS", b"FLV", b"ID3", b"fLaC", b"\x30\x26\xb2\x75", b"\x00\x00\x01\xba")):
        return "other"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "mpeg-ts"
    return None


def iso_bmff_overrun(path: Path) -> str | None:
    """Walk the top-level boxes of an MP4/MOV file; describe the first box that runs past EOF.

    Returns:
        ``None`` when every top-level box fits in the file, else a message naming the box,
        its declared extent and where the file actually ends.
    """
    size = path.stat().st_size
    offset = 0
    with open(path, "rb") as f:
        while offset + 8 <= size:
            f.seek(offset)
            box_size, box_type = struct.unpack(">I4s", f.read(8))
            if box_size == 1:
                if offset + 16 > size:
                    break
                (box_size,) = struct.unpack(">Q", f.read(8))
            elif box_size == 0:  # box extends to end of file by definition
                return None
            if box_size < 8:
                return None  # not a box structure we can reason about; let FFmpeg judge
            if offset + box_size > size:
                name = box_type.decode("latin-1")
                return (
                    f"MP4 box '{name}' at byte {offset} declares {box_size} bytes "
                    f"but the file ends at byte {size} ({size - offset} bytes present)"
                )
            offset += box_size
    return None


def open_input(path: str | os.PathLike[str]) -> av.container.InputContainer:
    """Open a media file for reading, classifying failures.

    Raises:
        FileNotFoundError: the path does not exist.
        EmptyFileError: zero bytes.
        NotVideoError: bytes of no recognised container.
        TruncatedMediaError: an MP4 whose boxes run past the end of the file and cannot be opened.
        CorruptMediaError: a recognised container FFmpeg cannot open.
    """
    p = Path(path)
    if p.stat().st_size == 0:
        raise EmptyFileError("file is empty (0 bytes)", str(p))
    family = sniff_container(p)
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.FFmpegError as exc:
        if family is None:
            raise NotVideoError(f"not a media container FFmpeg recognises ({exc.strerror})", str(p)) from exc
        if family == "iso-bmff" and (overrun := iso_bmff_overrun(p)):
            raise TruncatedMediaError(f"cannot open: {overrun}", str(p)) from exc
        raise CorruptMediaError(f"{family} container cannot be opened: {exc.strerror}", str(p)) from exc
    fmt = container.format.name
    if fmt in _NOT_VIDEO_FORMATS or fmt.endswith("_pipe"):  # jpeg_pipe, png_pipe, ...: a still image
        container.close()
        raise NotVideoError(f"FFmpeg reads this as '{fmt}' (a still image or text), not a video", str(p))
    return container


def select_video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The title's main video stream: the first video stream that is not cover art.

    Raises:
        NoVideoStreamError: there is none.
        UnsupportedCodecError: its codec is unknown to, or has no decoder in, this FFmpeg build.
    """
    path = container.name
    candidates = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not candidates:
        present = ", ".join(f"#{s.index} {s.type}" for s in container.streams) or "no streams"
        raise NoVideoStreamError(f"no video stream (found: {present})", path)
    stream = candidates[0]
    if stream.codec_context is None:
        raise UnsupportedCodecError(
            f"video stream #{stream.index}: codec is unknown to this FFmpeg build, no decoder", path
        )
    return stream


def stream_origin_s(stream: av.stream.Stream) -> float:
    """Presentation time (s) of the stream's first sample; frame times are reported relative to it."""
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def rotation_cw(frame: av.video.frame.VideoFrame) -> int:
    """Display rotation of a decoded frame in degrees clockwise: 0, 90, 180 or 270.

    FFmpeg's display matrix gives a counter-clockwise angle in [-180, 180]; a phone's portrait
    clip reads -90 there, i.e. the picture must be turned 90 degrees clockwise to be upright.
    """
    return int(round(-frame.rotation / 90.0)) % 4 * 90


def enable_threading(stream: av.video.stream.VideoStream) -> None:
    """Use FFmpeg's frame and slice threading (only possible before the decoder opens)."""
    if not stream.codec_context.is_open:
        stream.thread_type = "AUTO"


def decode_video(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> Iterator[tuple[float, float, av.video.frame.VideoFrame]]:
    """Decode ``stream`` in presentation order with threaded decoding.

    Yields:
        ``(t_s, duration_s, frame)``: time relative to the stream origin, frame duration (falls back to
        1/average rate when the container does not say), and the decoded frame.

    Raises:
        UnsupportedCodecError: no decoder for the codec.
        CorruptMediaError: the decoder fails; the message says at which time.
    """
    enable_threading(stream)
    origin = stream_origin_s(stream)
    tb = stream.time_base
    rate = stream.average_rate or stream.guessed_rate
    default_dur = 1.0 / float(rate) if rate else 0.0
    last_t = 0.0
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                if frame.pts is None:
                    t = last_t + default_dur
                else:
                    t = float(frame.pts * tb) - origin
                dur = float(frame.duration * tb) if frame.duration else default_dur
                last_t = t
                yield t, dur, frame
    except av.error.DecoderNotFoundError as exc:
        raise UnsupportedCodecError(
            f"video stream #{stream.index}: codec '{stream.codec_context.name}' has no decoder in this FFmpeg build",
            container.name,
        ) from exc
    except av.FFmpegError as exc:
        raise CorruptMediaError(
            f"video stream #{stream.index} ({stream.codec_context.name}): decoding failed after {last_t:.3f} s: "
            f"{exc.strerror}",
            container.name,
        ) from exc


def first_video_frame(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> av.VideoFrame:
    """Decode the stream's first frame, then rewind the container to the start.

    Raises:
        UnsupportedCodecError: no decoder for the codec.
        CorruptMediaError: no frame decodes.
    """
    frames = decode_video(container, stream)
    first = next(frames, None)
    frames.close()
    if first is None:
        raise CorruptMediaError(
            f"video stream #{stream.index} ({stream.codec_context.name}): no frame decodes", container.name
        )
    container.seek(0)
    return first[2]
