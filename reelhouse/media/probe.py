"""Probe and validate a media file: the metadata row of the ``media`` table, or a specific error.

Validation demuxes every packet (no video decoding) and decodes one video frame plus the first
audio packets, so it costs a small fraction of a full decode.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import av.container
import av.video.stream
import numpy as np

from reelhouse.media._container import (
    first_video_frame,
    iso_bmff_overrun,
    open_input,
    rotation_cw,
    select_video_stream,
    sniff_container,
    stream_origin_s,
)
from reelhouse.media.audio import AudioDecodeTally
from reelhouse.media.content_id import content_id
from reelhouse.media.errors import (
    CorruptMediaError,
    TruncatedMediaError,
    UndecodableAudioError,
)

#: Video packets whose timestamps are examined for variable frame rate.
VFR_SAMPLE_PACKETS = 2000
#: Audio packets decoded per audio stream during validation.
AUDIO_CHECK_PACKETS = 32


@dataclass(frozen=True)
class MediaRecord:
    """What reelhouse knows about one source file (one row of the ``media`` table).

    Attributes:
        video_id: content id (first 32 hex of the SHA-256 of the bytes).
        path: the file's path as given.
        size_bytes: file size.
        container: FFmpeg demuxer name (e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"matroska,webm"``).
        duration_s: video duration in seconds (measured from packets when validated).
        fps: average frame rate in frames per second.
        is_vfr: frame durations vary (measured on up to ``VFR_SAMPLE_PACKETS`` packet timestamps).
        frame_count: number of video frames.
        frame_count_exact: ``frame_count`` was counted (packets or container index), not estimated
            as ``round(duration_s * fps)``.
        width: coded width in pixels.
        height: coded height in pixels.
        rotation: display rotation in degrees clockwise needed to show the picture upright (0/90/180/270).
        sample_aspect_ratio: pixel width / pixel height (1.0 for square pixels).
        display_width: width as displayed (after sample aspect ratio and rotation).
        display_height: height as displayed (after rotation).
        video_codec: FFmpeg codec name of the video stream.
        pix_fmt: pixel format of decoded frames.
        has_audio: at least one audio stream.
        audio_codec: codec of the first audio stream, if any.
        audio_streams: per audio stream ``{index, codec, channels, sample_rate, language}``.
        subtitle_streams: per subtitle stream ``{index, codec, language}``.
    """

    video_id: str
    path: str
    size_bytes: int
    container: str
    duration_s: float
    fps: float
    is_vfr: bool
    frame_count: int
    frame_count_exact: bool
    width: int
    height: int
    rotation: int
    sample_aspect_ratio: float
    display_width: int
    display_height: int
    video_codec: str
    pix_fmt: str
    has_audio: bool
    audio_codec: str | None
    audio_streams: list[dict[str, Any]] = field(default_factory=list)
    subtitle_streams: list[dict[str, Any]] = field(default_factory=list)

    def to_row(self) -> dict[str, Any]:
        """A plain dict of all fields (stream lists deep-copied), ready for a table row."""
        return dataclasses.asdict(self)


@dataclass
class _PacketScan:
    """What one demux pass over the packets observed."""

    video_packets: int = 0
    video_pts: list[int] = field(default_factory=list)
    video_end_s: float = 0.0
    end_s: float = 0.0


def probe(path: str | os.PathLike[str], validate: bool = True) -> MediaRecord:
    """Read a file's metadata and, with ``validate``, check that it is fully usable.

    Always decodes the first video frame (it carries the display rotation). With ``validate`` it
    also demuxes every packet to the end (catching truncation: the data must reach the declared
    duration) and decodes the first ``AUDIO_CHECK_PACKETS`` packets of every audio stream.

    Args:
        path: media file.
        validate: run the checks above; without it only the first packets are read.

    Returns:
        The file's :class:`MediaRecord`.

    Raises:
        FileNotFoundError: the path does not exist.
        EmptyFileError, NotVideoError, TruncatedMediaError, UndecodableAudioError,
        UnsupportedCodecError, NoVideoStreamError, CorruptMediaError: the file is unusable;
            ``err.code`` names why.
    """
    p = Path(path)
    size = p.stat().st_size
    with open_input(p) as container:
        video = select_video_stream(container)
        first = first_video_frame(container, video)
        if validate:
            if sniff_container(p) == "iso-bmff" and (overrun := iso_bmff_overrun(p)):
                raise TruncatedMediaError(overrun, str(p))
            scan = _scan_all(container, video)
            _check_complete(container, scan)
            _check_audio(container)
        else:
            scan = _scan_video_head(container, video)
        record = _record(p, size, container, video, first, scan, validate)
    return record


def _scan_all(container: av.container.InputContainer, video: av.video.stream.VideoStream) -> _PacketScan:
    scan = _PacketScan()
    origin = stream_origin_s(video)
    try:
        for packet in container.demux():
            if packet.pts is None or packet.size == 0:
                continue
            tb = packet.time_base
            end = float((packet.pts + (packet.duration or 0)) * tb)
            if packet.stream.index == video.index:
                scan.video_packets += 1
                if len(scan.video_pts) < VFR_SAMPLE_PACKETS:
                    scan.video_pts.append(packet.pts)
                scan.video_end_s = max(scan.video_end_s, end - origin)
            scan.end_s = max(scan.end_s, end)
    except av.FFmpegError as exc:
        raise CorruptMediaError(f"demuxing failed after {scan.end_s:.3f} s: {exc.strerror}", container.name) from exc
    return scan


def _scan_video_head(container: av.container.InputContainer, video: av.video.stream.VideoStream) -> _PacketScan:
    scan = _PacketScan()
    for packet in container.demux(video):
        if packet.pts is None or packet.size == 0:
            continue
        scan.video_pts.append(packet.pts)
        if len(scan.video_pts) >= VFR_SAMPLE_PACKETS:
            break
    return scan


def _check_complete(container: av.container.InputContainer, scan: _PacketScan) -> None:
    """Raise TruncatedMediaError when packets stop well before the declared duration."""
    if container.duration is None:
        return
    start = (container.start_time or 0) / av.time_base
    declared_end = start + container.duration / av.time_base
    tolerance = max(0.25, 0.02 * (declared_end - start))
    if scan.end_s < declared_end - tolerance:
        raise TruncatedMediaError(
            f"packets end at {scan.end_s - start:.3f} s but the container declares "
            f"{declared_end - start:.3f} s (file cut short?)",
            container.name,
        )


def _check_audio(container: av.container.InputContainer) -> None:
    """Decode the first packets of every audio stream; raise UndecodableAudioError on failure."""
    for stream in container.streams.audio:
        if stream.codec_context is None:
            raise UndecodableAudioError(
                f"audio stream #{stream.index}: codec is unknown to this FFmpeg build, no decoder", container.name
            )
        container.seek(0)
        tally = AudioDecodeTally(stream)
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                tally.decode(packet)
                if tally.packets >= AUDIO_CHECK_PACKETS:
                    break
            tally.decode(None)
        except av.error.DecoderNotFoundError as exc:
            raise UndecodableAudioError(
                f"audio stream #{stream.index}: codec '{stream.codec_context.name}' "
                "has no decoder in this FFmpeg build",
                container.name,
            ) from exc
        tally.finish()


def _is_vfr(pts: list[int]) -> bool:
    """Frame durations vary beyond timestamp rounding (more than 1% of intervals off the median)."""
    if len(pts) < 3:
        return False
    deltas = np.diff(np.unique(np.asarray(pts, dtype=np.int64)))
    if deltas.size < 2:
        return False
    median = float(np.median(deltas))
    tolerance = max(1.5, 0.05 * median)  # in ticks: 1 ms timebases jitter by a tick (41/42 ms at 24 fps)
    off = np.abs(deltas - median) > tolerance
    return bool(off.sum() >= 2 and off.mean() > 0.01)


def _record(
    p: Path,
    size: int,
    container: av.container.InputContainer,
    video: av.video.stream.VideoStream,
    first: av.VideoFrame,
    scan: _PacketScan,
    validated: bool,
) -> MediaRecord:
    tb = video.time_base
    if validated and scan.video_packets:
        duration = scan.video_end_s
    elif video.duration and tb:
        duration = float(video.duration * tb)
    else:
        duration = (container.duration or 0) / av.time_base
    rate = video.average_rate or video.guessed_rate
    fps = float(rate) if rate else (scan.video_packets / duration if duration else 0.0)
    if validated and scan.video_packets:
        frame_count, exact = scan.video_packets, True
    elif video.frames > 0:
        frame_count, exact = video.frames, True
    else:
        frame_count, exact = round(duration * fps), False

    width = video.codec_context.width or first.width
    height = video.codec_context.height or first.height
    sar_frac = video.sample_aspect_ratio
    sar = float(sar_frac) if sar_frac and sar_frac > 0 else 1.0
    rotation = rotation_cw(first)
    display_w, display_h = round(width * sar), height
    if rotation in (90, 270):
        display_w, display_h = display_h, display_w

    audio_streams = [
        {
            "index": s.index,
            "codec": s.codec_context.name if s.codec_context else None,
            "channels": s.codec_context.channels if s.codec_context else None,
            "sample_rate": s.codec_context.sample_rate if s.codec_context else None,
            "language": s.language,
        }
        for s in container.streams.audio
    ]
    subtitle_streams = [
        {"index": s.index, "codec": s.codec_context.name if s.codec_context else None, "language": s.language}
        for s in container.streams.subtitles
    ]
    return MediaRecord(
        video_id=content_id(p),
        path=str(p),
        size_bytes=size,
        container=container.format.name,
        duration_s=duration,
        fps=fps,
        is_vfr=_is_vfr(scan.video_pts),
        frame_count=frame_count,
        frame_count_exact=exact,
        width=width,
        height=height,
        rotation=rotation,
        sample_aspect_ratio=sar,
        display_width=display_w,
        display_height=display_h,
        video_codec=video.codec_context.name,
        pix_fmt=first.format.name,
        has_audio=bool(audio_streams),
        audio_codec=audio_streams[0]["codec"] if audio_streams else None,
        audio_streams=audio_streams,
        subtitle_streams=subtitle_streams,
    )
