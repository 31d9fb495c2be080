"""Clips: frame ranges of standardized encodes written as playable MP4 files (PyAV).

Conventions: a segment is frames ``[start_frame, end_frame)`` of one constant-frame-rate encode (the
standardized encode, whose frame ``k`` is at ``k / fps`` seconds). The output's frame ``i`` is frame
``start_frame + i`` of the source, re-encoded (H.264, CRF ``CLIP_CRF``, yuv420p, the source's frame
rate), so the clip starts exactly on its first frame and lasts ``(end_frame - start_frame) / fps``
seconds. Audio (mono AAC) is cut to the same ``[start, end)`` span sample-exactly; a segment whose
source has no audio is silent in a reel that has audio.

Video is always re-encoded: copying packets would start the clip on the keyframe before the
requested frame (or need an edit list players do not all honour), and a shot is seconds long, so the
re-encode costs little. Audio is re-encoded too (AAC frames do not fall on video frame boundaries).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from reelhouse.media.frames import iter_frames

#: x264 quality of clips (lower is better; 18 is visually lossless for most material).
CLIP_CRF = 18
#: x264 speed preset of clips.
CLIP_PRESET = "veryfast"
#: Audio sample rate of clips, Hz (the standardized encode's mono rate is resampled to it).
CLIP_AUDIO_RATE = 48_000


@dataclass(frozen=True)
class Segment:
    """Frames ``[start_frame, end_frame)`` of a constant-frame-rate file at ``fps``."""

    path: Path
    start_frame: int
    end_frame: int
    fps: float

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


@dataclass(frozen=True)
class ClipResult:
    """What was written: ``frames`` video frames at ``fps`` (``duration_s`` seconds), ``width`` x ``height``."""

    path: Path
    frames: int
    fps: float
    duration_s: float
    width: int
    height: int
    has_audio: bool


def seconds_to_frames(start_s: float, end_s: float, fps: float) -> tuple[int, int]:
    """The frames ``[start, end)`` of the time span ``[start_s, end_s)``: from the frame shown at
    ``start_s``, as many frames as the span lasts, rounded to whole frames (at least one), so the clip's
    length is within half a frame of the span's.

    Raises:
        ValueError: an empty or negative span.
    """
    if not (np.isfinite(start_s) and np.isfinite(end_s)) or start_s < 0 or end_s <= start_s:
        raise ValueError(f"expected 0 <= start_s < end_s, got [{start_s}, {end_s})")
    start = int(np.floor(start_s * fps + 1e-6))
    return start, start + max(1, int(round((end_s - start_s) * fps)))


def _video_frames(seg: Segment):
    """The segment's frames as RGB arrays, in order; checks every frame number is there."""
    want = seg.start_frame
    for f in iter_frames(seg.path, fps=seg.fps, start_s=seg.start_frame / seg.fps, end_s=seg.end_frame / seg.fps):
        if f.index < seg.start_frame:
            continue
        if f.index >= seg.end_frame:
            break
        if f.index != want:
            raise ValueError(f"{seg.path}: frame {want} is missing (got {f.index})")
        want += 1
        yield f.rgb
    if want != seg.end_frame:
        raise ValueError(f"{seg.path} has {want} frames; frames [{seg.start_frame}, {seg.end_frame}) were asked for")


def _audio_samples(seg: Segment) -> np.ndarray | None:
    """The segment's audio as mono float32 samples at ``CLIP_AUDIO_RATE``, exactly ``[start, end)``
    long; None when the file has no audio stream."""
    start_s, end_s = seg.start_frame / seg.fps, seg.end_frame / seg.fps
    first = int(round(start_s * CLIP_AUDIO_RATE))
    count = int(round(end_s * CLIP_AUDIO_RATE)) - first
    with av.open(str(seg.path)) as c:
        if not c.streams.audio:
            return None
        stream = c.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=CLIP_AUDIO_RATE)
        c.seek(max(0, int((start_s - 1.0) / stream.time_base)) if stream.time_base else 0, stream=stream)
        chunks: list[tuple[int, np.ndarray]] = []
        position: int | None = None

        def take(frames) -> bool:
            nonlocal position
            for rf in frames:
                data = rf.to_ndarray().reshape(-1).astype(np.float32)
                if position is None:
                    position = int(round(float(rf.pts * rf.time_base) * CLIP_AUDIO_RATE)) if rf.pts is not None else 0
                chunks.append((position, data))
                position += len(data)
                if position >= first + count:
                    return True
            return False

        done = False
        for frame in c.decode(stream):
            if take(resampler.resample(frame)):
                done = True
                break
        if not done:
            take(resampler.resample(None))
    out = np.zeros(count, dtype=np.float32)
    for pos, data in chunks:
        lo, hi = max(pos, first), min(pos + len(data), first + count)
        if hi > lo:
            out[lo - first:hi - first] = data[lo - pos:hi - pos]
    return out


def _fit(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` scaled to fit ``size`` (width, height), aspect kept, centred on black."""
    from PIL import Image

    w, h = size
    if rgb.shape[1] == w and rgb.shape[0] == h:
        return rgb
    scale = min(w / rgb.shape[1], h / rgb.shape[0])
    nw, nh = max(2, int(round(rgb.shape[1] * scale))), max(2, int(round(rgb.shape[0] * scale)))
    img = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR))
    canvas = np.zeros((h, w, 3), dtype=np.uint8)
    y, x = (h - nh) // 2, (w - nw) // 2
    canvas[y:y + nh, x:x + nw] = img
    return canvas


def write_segments(segments: list[Segment], out: str | os.PathLike[str], size: tuple[int, int] | None = None) -> ClipResult:
    """Write the segments one after another as one MP4 (a clip, or a reel of several).

    Args:
        segments: in playing order; all at the same frame rate.
        out: the MP4 to write (replaced atomically: written under a temporary name, then renamed).
        size: output ``(width, height)``, even numbers; default the first segment's frame size. A segment
            of another size is scaled to fit, centred on black.

    Raises:
        ValueError: no segments, an empty one, different frame rates, or frames the source lacks.
    """
    if not segments or any(s.frames <= 0 for s in segments):
        raise ValueError("a clip needs at least one non-empty segment")
    fps = segments[0].fps
    if any(abs(s.fps - fps) > 1e-6 for s in segments):
        raise ValueError(f"segments of different frame rates: {sorted({s.fps for s in segments})}")
    audio = [_audio_samples(s) for s in segments]
    has_audio = any(a is not None for a in audio)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial.mp4")
    rate = Fraction(fps).limit_denominator(1001)
    frames = 0
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as container:
            vout = None
            aout = container.add_stream("aac", rate=CLIP_AUDIO_RATE, layout="mono") if has_audio else None
            for seg, samples in zip(segments, audio):
                for rgb in _video_frames(seg):
                    if vout is None:
                        w, h = size or (rgb.shape[1] // 2 * 2, rgb.shape[0] // 2 * 2)
                        vout = container.add_stream("libx264", rate=rate,
                                                    options={"crf": str(CLIP_CRF), "preset": CLIP_PRESET})
                        vout.width, vout.height, vout.pix_fmt = w, h, "yuv420p"
                    vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(_fit(rgb, (vout.width, vout.height))), format="rgb24")
                    vf.pts, vf.time_base = frames, 1 / rate
                    container.mux(vout.encode(vf))
                    frames += 1
                if aout is not None:
                    pcm = samples if samples is not None else np.zeros(int(round(seg.frames / fps * CLIP_AUDIO_RATE)), np.float32)
                    for i in range(0, len(pcm), 1024):
                        af = av.AudioFrame.from_ndarray(pcm[i:i + 1024].reshape(1, -1), format="flt", layout="mono")
                        af.sample_rate = CLIP_AUDIO_RATE
                        container.mux(aout.encode(af))
            assert vout is not None
            container.mux(vout.encode(None))
            if aout is not None:
                container.mux(aout.encode(None))
            width, height = vout.width, vout.height
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ClipResult(out, frames, fps, frames / fps, width, height, has_audio)
