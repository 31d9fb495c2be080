"""Odd but valid inputs (rotated, anamorphic, variable frame rate, Matroska) and bad inputs
(empty, truncated, not a video, undecodable audio, unsupported codec, audio only), each with the
truth a reader must recover."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from reelhouse.samples.generator import AudioSegment, ClipSpec, Look, Shot, generate_clip


@dataclass(frozen=True)
class Variant:
    """A written test file and what probing it must report.

    Attributes:
        path: the file.
        error_code: the ``MediaError.code`` probing must raise, or ``None`` for a valid file.
        duration_s: true video duration in seconds (valid files).
        width, height: coded frame size (valid files).
        rotation: display rotation, degrees clockwise.
        sample_aspect_ratio: pixel width / pixel height.
        is_vfr: frame durations vary.
    """

    path: Path
    error_code: str | None = None
    duration_s: float = 0.0
    width: int = 0
    height: int = 0
    rotation: int = 0
    sample_aspect_ratio: float = 1.0
    is_vfr: bool = False


def _spec(frames: int = 48, width: int = 192, height: int = 108, with_audio: bool = True) -> ClipSpec:
    """Two shots (a cut half-way) and a 440 Hz tone: small, fast, and clearly oriented (horizon layout)."""
    half = frames // 2
    return ClipSpec(
        width=width,
        height=height,
        fps=24.0,
        shots=(
            Shot(look=Look(hue=0.08, layout="horizon", seed=11), frames=half),
            Shot(look=Look(hue=0.55, layout="blocks", seed=12), frames=frames - half),
        ),
        audio=(AudioSegment(start_s=0.0, end_s=frames / 24.0, freq_hz=440.0),) if with_audio else (),
        with_audio=with_audio,
    )


def make_rotated(out: str | os.PathLike[str], rotation: int = 90) -> Variant:
    """A landscape-coded clip tagged with a display rotation (display matrix, as phones write it)."""
    spec = _spec()
    generate_clip(spec, out, rotation=rotation)
    return Variant(Path(out), duration_s=spec.duration_s, width=spec.width, height=spec.height, rotation=rotation)


def make_odd_aspect(out: str | os.PathLike[str], sar: tuple[int, int] = (4, 3)) -> Variant:
    """Non-square pixels: coded 144x108 with SAR 4:3 displays as 192x108 (anamorphic)."""
    spec = _spec(width=144)
    generate_clip(spec, out, sample_aspect_ratio=Fraction(*sar))
    return Variant(
        Path(out), duration_s=spec.duration_s, width=spec.width, height=spec.height, sample_aspect_ratio=sar[0] / sar[1]
    )


def make_vfr(out: str | os.PathLike[str]) -> Variant:
    """Variable frame rate: 2 s at 30 fps then 2 s at 12 fps (84 frames, true duration 4.0 s)."""
    times = [i / 30 for i in range(60)] + [2.0 + i / 12 for i in range(24)]
    spec = _spec(frames=len(times), with_audio=False)
    generate_clip(spec, out, frame_times_s=times)
    return Variant(Path(out), duration_s=4.0, width=spec.width, height=spec.height, is_vfr=True)


def make_mkv(out: str | os.PathLike[str]) -> Variant:
    """The standard two-shot clip in a Matroska container (``out`` should end in ``.mkv``)."""
    spec = _spec()
    generate_clip(spec, out)
    return Variant(Path(out), duration_s=spec.duration_s, width=spec.width, height=spec.height)


def make_zero_byte(out: str | os.PathLike[str]) -> Variant:
    """An empty file."""
    Path(out).write_bytes(b"")
    return Variant(Path(out), error_code="empty_file")


def make_truncated(src: str | os.PathLike[str], out: str | os.PathLike[str], fraction: float = 0.6) -> Variant:
    """The first ``fraction`` of ``src``'s bytes (a download or copy cut short)."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    data = Path(src).read_bytes()
    Path(out).write_bytes(data[: int(len(data) * fraction)])
    return Variant(Path(out), error_code="truncated")


def make_not_video(out: str | os.PathLike[str]) -> Variant:
    """A text file with a video extension."""
    Path(out).write_text("This is a shopping list, not a video.\n- eggs\n- film stock\n" * 20, encoding="utf-8")
    return Variant(Path(out), error_code="not_video")


def make_undecodable_audio(out: str | os.PathLike[str]) -> Variant:
    """Valid H.264 video plus an AC-3 audio stream whose packets are random bytes (Matroska).

    Every packet fails the AC-3 frame-sync check, the way a damaged AC-3 track does. Matroska is
    required: the MP4 muxer silently drops an AC-3 stream it cannot parse.
    """
    dst = Path(out)
    if dst.suffix.lower() != ".mkv":
        raise ValueError(f"undecodable-audio sample must be written as .mkv, got {dst.name}")
    spec = _spec(with_audio=False)
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        video_only = Path(tmp) / "video.mkv"
        generate_clip(spec, video_only)
        staged = Path(tmp) / dst.name
        with av.open(str(video_only)) as src, av.open(str(staged), "w", format="matroska") as sink:
            vin = src.streams.video[0]
            vout = sink.add_stream_from_template(vin)
            aout = sink.add_stream("ac3", rate=48000, layout="stereo")
            frame_s, t_audio = 1536 / 48000, 0.0
            for packet in src.demux(vin):
                if packet.dts is None:
                    continue
                packet.stream = vout
                sink.mux(packet)
                while t_audio <= float(packet.pts * vin.time_base):
                    garbage = av.Packet(rng.integers(0, 256, 768, dtype=np.uint8).tobytes())
                    garbage.stream, garbage.time_base = aout, Fraction(1, 48000)
                    garbage.pts = garbage.dts = round(t_audio * 48000)
                    garbage.duration = 1536
                    sink.mux(garbage)
                    t_audio += frame_s
        shutil.move(staged, dst)
    return Variant(
        dst, error_code="undecodable_audio", duration_s=spec.duration_s, width=spec.width, height=spec.height
    )


def make_unsupported_codec(out: str | os.PathLike[str]) -> Variant:
    """An MP4 whose video sample entry carries an unknown codec tag (``'zzzz'`` instead of ``'avc1'``)."""
    dst = Path(out)
    generate_clip(_spec(with_audio=False), dst)
    data = bytearray(dst.read_bytes())
    stsd = data.find(b"stsd")
    entry = data.find(b"avc1", stsd)
    if stsd < 0 or entry < 0:
        raise RuntimeError(f"{dst}: no 'avc1' sample entry found to retag")
    data[entry : entry + 4] = b"zzzz"
    dst.write_bytes(bytes(data))
    return Variant(dst, error_code="unsupported_codec")


def make_audio_only(out: str | os.PathLike[str], seconds: float = 2.0, rate: int = 48000) -> Variant:
    """An MP4 (or ``.m4a``) holding only a 440 Hz AAC tone."""
    dst = Path(out)
    n = round(seconds * rate)
    pcm = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.float32)[None]
    with av.open(str(dst), "w", format="mp4") as sink:
        stream = sink.add_stream("aac", rate=rate, layout="mono")
        for start in range(0, n, 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm[:, start : start + 1024]), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = rate, start
            sink.mux(stream.encode(frame))
        sink.mux(stream.encode(None))
    return Variant(dst, error_code="no_video_stream")
