"""The standardized encode: one versioned recipe (fixed height, constant frame rate, yuv420p H.264,
mono AAC) that every downstream feature reads instead of the raw file."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np

from reelhouse.config import EncodeRecipe
from reelhouse.media._container import (
    enable_threading,
    first_video_frame,
    open_input,
    rotation_cw,
    select_video_stream,
    stream_origin_s,
)
from reelhouse.media._geometry import coded_target, display_size, fixed_height_size, upright
from reelhouse.media._timeline import CfrResampler
from reelhouse.media.audio import AudioDecodeTally, select_audio_stream
from reelhouse.media.errors import CorruptMediaError

#: ``sink(index, t_s, rgb)``: output frame index, its time in seconds (index / fps) and the
#: read-only RGB uint8 ``(H, W, 3)`` picture exactly as encoded.
FrameSink = Callable[[int, float, np.ndarray], None]


@dataclass(frozen=True)
class EncodeResult:
    """The standardized encode that was written.

    Attributes:
        path: the output file.
        width, height: output size in pixels (square pixels, upright).
        fps: constant frame rate (frames per second).
        frame_count: number of video frames written.
        duration_s: ``frame_count / fps``.
        has_audio: a mono AAC track was written.
        audio_rate: its sample rate in Hz (``None`` without audio).
        size_bytes: output file size.
        recipe_version: :func:`recipe_version` of the recipe used.
    """

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int
    duration_s: float
    has_audio: bool
    audio_rate: int | None
    size_bytes: int
    recipe_version: str


def recipe_version(recipe: EncodeRecipe) -> str:
    """``"{recipe.version}-{first 8 hex of sha256(canonical JSON of the other parameters)}"``."""
    params = recipe.model_dump(exclude={"version"})
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return f"{recipe.version}-{hashlib.sha256(canonical.encode()).hexdigest()[:8]}"


def standardize(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    recipe: EncodeRecipe,
    frame_sinks: Sequence[FrameSink] = (),
) -> EncodeResult:
    """Encode ``src`` to ``dst`` (MP4) following ``recipe``, in one decode pass.

    Video is turned upright (display rotation), stretched to square pixels (sample aspect ratio),
    scaled to ``recipe.height`` (or kept at its own even height when shorter and ``recipe.upscale``
    is off) with an even width that keeps the display aspect, and resampled to
    a constant ``recipe.fps`` by timestamps: output frame ``k`` shows the latest source frame with
    presentation time ``<= k / fps``, so variable-frame-rate sources keep their duration (within one
    output frame). The main audio track is downmixed to mono, resampled to ``recipe.audio_rate`` and
    encoded as AAC; its samples are written back to back from the first decoded one (gaps in
    the source's audio timestamps are not reproduced). Each output frame is also handed to every
    sink in ``frame_sinks``.

    The file is written under a temporary name in ``dst``'s folder (``.{name}.{random}.partial``,
    removed on any error) and renamed atomically, so ``dst`` is either absent or complete; only a
    killed process can leave a ``.partial`` file behind. Memory does not grow with the title's length.

    Args:
        src: source media file.
        dst: output path (``.mp4``).
        recipe: the encode recipe.
        frame_sinks: callables receiving ``(index, t_s, rgb)`` for every output frame.

    Returns:
        The :class:`EncodeResult`.

    Raises:
        MediaError: the source is unusable (e.g. ``UndecodableAudioError`` for a broken audio track).
    """
    dst_path = Path(dst)
    dst_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst_path.with_name(f".{dst_path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        result = _encode(Path(src), tmp, recipe, frame_sinks)
        os.replace(tmp, dst_path)
    finally:
        tmp.unlink(missing_ok=True)
    return dataclasses.replace(result, path=dst_path)


def _encode(src: Path, tmp: Path, recipe: EncodeRecipe, sinks: Sequence[FrameSink]) -> EncodeResult:
    fps = Fraction(recipe.fps).limit_denominator(1001)
    with open_input(src) as inp:
        video = select_video_stream(inp)
        audio = select_audio_stream(inp)
        # Geometry comes from the first decoded frame (it carries the display matrix).
        first = first_video_frame(inp, video)
        rotation = rotation_cw(first)
        sar = float(video.sample_aspect_ratio) if video.sample_aspect_ratio else 1.0
        display_w, display_h = display_size(first.width, first.height, sar, rotation)
        height = recipe.height if recipe.upscale else min(recipe.height, max(2, display_h // 2 * 2))
        out_w, out_h = fixed_height_size(display_w, display_h, height)
        scale_w, scale_h = coded_target(out_w, out_h, rotation)

        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            vout = out.add_stream(
                recipe.video_codec, rate=fps, options={"crf": str(recipe.crf), "preset": recipe.preset}
            )
            vout.width, vout.height, vout.pix_fmt = out_w, out_h, recipe.pix_fmt
            aout = None
            if audio is not None:
                aout = out.add_stream(recipe.audio_codec, rate=recipe.audio_rate, layout="mono")
                resampler = av.AudioResampler(
                    format=aout.codec_context.format.name, layout="mono", rate=recipe.audio_rate
                )
                tally = AudioDecodeTally(audio)

            timeline: CfrResampler[av.VideoFrame] = CfrResampler(float(fps))
            origin = stream_origin_s(video)
            tb = video.time_base
            default_dur = 1.0 / float(video.average_rate or video.guessed_rate or fps)
            enable_threading(video)
            count = 0
            cache: tuple[av.VideoFrame | None, np.ndarray | None] = (None, None)

            # Without sinks or rotation, scale and convert straight to the output pixel format in
            # swscale: no RGB round trip through numpy (about twice as fast).
            direct = not sinks and rotation == 0

            def write(k: int, t: float, frame: av.VideoFrame) -> None:
                nonlocal count, cache
                if direct:
                    vf = frame.reformat(width=out_w, height=out_h, format=recipe.pix_fmt, interpolation="AREA")
                    vf.time_base = 1 / fps  # the source frame's time base would mis-scale pts = k
                else:
                    if cache[0] is not frame:  # a source frame repeated on the grid is converted once
                        rgb = upright(frame.to_ndarray(width=scale_w, height=scale_h, format="rgb24"), rotation)
                        rgb.flags.writeable = False
                        cache = (frame, rgb)
                    rgb = cache[1]
                    for sink in sinks:
                        sink(k, t, rgb)
                    vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                vf.pts = k
                out.mux(vout.encode(vf))
                count += 1

            streams = [video] + ([audio] if audio is not None else [])
            try:
                # demux() ends with an empty packet per stream, which flushes its decoder.
                for packet in inp.demux(streams):
                    if packet.stream.index == video.index:
                        for frame in packet.decode():
                            if frame.pts is None:  # cannot be placed on the timeline
                                continue
                            dur = float(frame.duration * tb) if frame.duration else default_dur
                            for k, tk, f in timeline.push(float(frame.pts * tb) - origin, dur, frame):
                                write(k, tk, f)
                    elif aout is not None:
                        for af in tally.decode(packet):
                            out.mux(_encode_audio(aout, resampler.resample(af)))
            except av.FFmpegError as exc:
                raise CorruptMediaError(
                    f"video stream #{video.index} ({video.codec_context.name}): decoding failed "
                    f"near {count / float(fps):.3f} s: {exc.strerror}",
                    str(src),
                ) from exc
            for k, tk, f in timeline.finish():
                write(k, tk, f)
            out.mux(vout.encode(None))
            if aout is not None:
                tally.finish()
                out.mux(_encode_audio(aout, resampler.resample(None)))
                out.mux(aout.encode(None))
    return EncodeResult(
        path=tmp,
        width=out_w,
        height=out_h,
        fps=float(fps),
        frame_count=count,
        duration_s=count / float(fps),
        has_audio=aout is not None,
        audio_rate=recipe.audio_rate if aout is not None else None,
        size_bytes=tmp.stat().st_size,
        recipe_version=recipe_version(recipe),
    )


def _encode_audio(stream: av.audio.stream.AudioStream, frames: list[av.AudioFrame]) -> list[av.Packet]:
    packets: list[av.Packet] = []
    for frame in frames:
        frame.pts = None  # let the encoder's sample counter stamp contiguous timestamps
        packets.extend(stream.encode(frame))
    return packets
