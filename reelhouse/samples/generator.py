"""Generated test videos with exact ground truth: procedurally drawn scenes joined by cuts, fades
and dissolves, with flashes and fast pans that are *not* shot boundaries, tones (or other sounds:
harmonic tones, pulses, noises) and silences on the audio track, and an ``.srt`` sidecar.

Frame ranges are ``[start, end)`` in the clip's frame numbering (constant ``fps``); times are seconds.
"""

from __future__ import annotations

import colorsys
import json
import math
import os
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np
from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Brightness mix of a flash frame: ``rgb = 0.15 * picture + 0.85 * white``.
FLASH_WHITE = 0.85
#: Peak amplitude of generated tones (full scale 1.0).
TONE_AMPLITUDE = 0.3
#: Horizontal camera speed during a fast pan, as a fraction of the frame width per frame.
PAN_SPEED = 0.15


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Look(_Spec):
    """A scene's visual identity: dominant hue, layout and the seed of its random details.

    Two shots with the same look show the same scene (near-duplicates up to camera drift).
    """

    hue: float = Field(ge=0.0, lt=1.0)
    layout: Literal["blobs", "stripes", "blocks", "horizon"]
    seed: int = 0


class Shot(_Spec):
    """One shot of ``frames`` nominal frames.

    Attributes:
        look: the scene shown.
        frames: nominal length; a transition into the next shot is centred on its end.
        transition_in: how this shot is entered (ignored for the first shot, which starts the clip).
        transition_frames: length N of a ``dissolve``/``fade`` span (centred on the shot's start).
        flashes: shot-relative frame offsets where a flash of ``flash_frames`` very bright frames starts.
        flash_frames: length of each flash (1-3).
        pan: shot-relative ``[start, end)`` of a fast camera pan across the scene (no cut).
    """

    look: Look
    frames: int = Field(ge=2)
    transition_in: Literal["cut", "dissolve", "fade"] = "cut"
    transition_frames: int = Field(0, ge=0)
    flashes: tuple[int, ...] = ()
    flash_frames: int = Field(2, ge=1, le=3)
    pan: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _check(self) -> Shot:
        if self.transition_in != "cut" and self.transition_frames < 2:
            raise ValueError(f"a {self.transition_in} needs transition_frames >= 2")
        for start in self.flashes:
            if not 0 <= start <= self.frames - self.flash_frames:
                raise ValueError(f"flash at {start} does not fit in a {self.frames}-frame shot")
        if self.pan is not None and not 0 <= self.pan[0] < self.pan[1] <= self.frames:
            raise ValueError(f"pan range {self.pan} does not fit in a {self.frames}-frame shot")
        return self


#: Sounds an ``AudioSegment`` can play: ``sine`` (a pure tone, the default), ``harmonic`` (a
#: sawtooth-like tone: partials 1-8 of ``freq_hz`` at ``1/h`` amplitude), ``pulses`` (a sine tone
#: gated on and off ``rate_hz`` times a second, half the time on), ``white`` and ``brown`` noise
#: (flat, and -6 dB/octave: integrated white noise; neither uses ``freq_hz``).
SOUNDS = ("sine", "harmonic", "pulses", "white", "brown")
_NOISES = ("white", "brown")


class AudioSegment(_Spec):
    """A sound over ``[start_s, end_s)``; gaps are silent.

    By default a sine tone of ``freq_hz`` at ``TONE_AMPLITUDE`` (silence when ``freq_hz`` is ``None``).

    Attributes:
        sound: one of ``SOUNDS``; the noises play without ``freq_hz``, the tones are silent without it.
        amplitude: peak amplitude (full scale 1.0); noises are scaled so their peak is this.
        phase: starting phase of the tone's fundamental, radians.
        rate_hz: on/off cycles per second of ``pulses``.
        seed: random seed of a noise.
    """

    start_s: float = Field(ge=0)
    end_s: float
    freq_hz: float | None = None
    sound: Literal["sine", "harmonic", "pulses", "white", "brown"] = "sine"
    amplitude: float = Field(TONE_AMPLITUDE, gt=0, le=1)
    phase: float = 0.0
    rate_hz: float = Field(4.0, gt=0)
    seed: int = 0

    @property
    def audible(self) -> bool:
        """True when the segment plays a sound (a noise, or a tone with a frequency)."""
        return self.sound in _NOISES or bool(self.freq_hz)

    @property
    def kind(self) -> str:
        """Ground-truth kind: ``"silence"``, ``"tone"`` (a sine) or the sound's name."""
        if not self.audible:
            return "silence"
        return "tone" if self.sound == "sine" else self.sound


class Cue(_Spec):
    """A subtitle shown over ``[start_s, end_s)``."""

    start_s: float = Field(ge=0)
    end_s: float
    text: str


class ClipSpec(_Spec):
    """Everything needed to render a clip deterministically.

    Attributes:
        width, height: frame size in pixels (even).
        fps: constant frame rate.
        shots: the shots in order.
        audio: sound segments (non-overlapping); ``[]`` still writes a silent track unless ``with_audio`` is False.
        subtitles: cues written to the ``.srt`` sidecar.
        audio_rate: sample rate (Hz) of the stereo AAC track.
        with_audio: write an audio track at all.
        crf: x264 quality of the rendered clip.
    """

    width: int = Field(320, ge=16)
    height: int = Field(180, ge=16)
    fps: float = Field(24.0, gt=0)
    shots: tuple[Shot, ...]
    audio: tuple[AudioSegment, ...] = ()
    subtitles: tuple[Cue, ...] = ()
    audio_rate: int = 48000
    with_audio: bool = True
    crf: int = 20

    @model_validator(mode="after")
    def _check(self) -> ClipSpec:
        if self.width % 2 or self.height % 2:
            raise ValueError(f"width and height must be even, got {self.width}x{self.height}")
        if not self.shots:
            raise ValueError("a clip needs at least one shot")
        for i, (prev, shot) in enumerate(zip(self.shots, self.shots[1:]), start=1):
            if shot.transition_in == "cut":
                continue
            half = shot.transition_frames // 2
            if half >= prev.frames - 1 or shot.transition_frames - half >= shot.frames - 1:
                raise ValueError(f"shot {i}: a {shot.transition_frames}-frame transition does not fit its neighbours")
        return self

    @property
    def frame_count(self) -> int:
        return sum(s.frames for s in self.shots)

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps


@dataclass
class GroundTruth:
    """The truth about a generated clip.

    Attributes:
        fps: frame rate; frame ``f`` is shown over ``[f / fps, (f + 1) / fps)``.
        frame_count: number of frames.
        width, height: frame size.
        boundaries: ``{frame, type, start, end}`` per shot change: ``frame`` is the first frame of the
            new shot (a gradual transition's centre frame), ``type`` is ``"cut"`` or ``"gradual"``,
            ``[start, end)`` the frames of the transition (for a cut, the two frames around it).
        shots: ``[start, end)`` per shot; they tile ``[0, frame_count)``.
        flash_ranges: ``[start, end)`` of flash frames (not boundaries).
        motion_ranges: ``[start, end)`` of fast camera motion (not boundaries).
        audio_segments: ``{start_s, end_s, kind, freq}`` covering the clip; ``kind`` is ``"tone"`` or
            ``"silence"`` (``freq`` None).
        subtitles: ``{start_s, end_s, text}`` per cue.
        looks: the look index (into the clip's distinct looks, in order of first use) of each shot.
    """

    fps: float
    frame_count: int
    width: int
    height: int
    boundaries: list[dict[str, Any]] = field(default_factory=list)
    shots: list[list[int]] = field(default_factory=list)
    flash_ranges: list[list[int]] = field(default_factory=list)
    motion_ranges: list[list[int]] = field(default_factory=list)
    audio_segments: list[dict[str, Any]] = field(default_factory=list)
    subtitles: list[dict[str, Any]] = field(default_factory=list)
    looks: list[int] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GroundTruth:
        return cls(**json.loads(text))


def ground_truth(spec: ClipSpec) -> GroundTruth:
    """The ground truth of ``spec`` (computed without rendering)."""
    starts = np.cumsum([0] + [s.frames for s in spec.shots]).tolist()
    truth = GroundTruth(fps=spec.fps, frame_count=spec.frame_count, width=spec.width, height=spec.height)
    look_ids: dict[Look, int] = {}
    for i, shot in enumerate(spec.shots):
        s = starts[i]
        truth.shots.append([s, starts[i + 1]])
        truth.looks.append(look_ids.setdefault(shot.look, len(look_ids)))
        if i > 0:
            if shot.transition_in == "cut":
                truth.boundaries.append({"frame": s, "type": "cut", "start": s - 1, "end": s + 1})
            else:
                a = s - shot.transition_frames // 2
                truth.boundaries.append({"frame": s, "type": "gradual", "start": a, "end": a + shot.transition_frames})
        truth.flash_ranges.extend([s + o, s + o + shot.flash_frames] for o in shot.flashes)
        if shot.pan is not None:
            truth.motion_ranges.append([s + shot.pan[0], s + shot.pan[1]])
    t = 0.0
    for seg in sorted(spec.audio, key=lambda a: a.start_s):
        if seg.start_s > t:
            truth.audio_segments.append({"start_s": t, "end_s": seg.start_s, "kind": "silence", "freq": None})
        truth.audio_segments.append({"start_s": seg.start_s, "end_s": seg.end_s, "kind": seg.kind, "freq": seg.freq_hz})
        t = seg.end_s
    if spec.with_audio and t < spec.duration_s:
        truth.audio_segments.append({"start_s": t, "end_s": spec.duration_s, "kind": "silence", "freq": None})
    truth.subtitles = [c.model_dump() for c in spec.subtitles]
    return truth


def write_srt(subtitles: tuple[Cue, ...] | list[Cue], path: str | os.PathLike[str]) -> Path:
    """Write cues as a SubRip (``.srt``) file, UTF-8; returns the path."""

    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    blocks = [f"{i}\n{stamp(c.start_s)} --> {stamp(c.end_s)}\n{c.text}\n" for i, c in enumerate(subtitles, start=1)]
    p = Path(path)
    p.write_text("\n".join(blocks), encoding="utf-8")
    return p


class _Scene:
    """A shot's rendered world: a canvas larger than the frame, viewed through a moving window."""

    def __init__(self, shot: Shot, width: int, height: int) -> None:
        self.shot, self.w, self.h = shot, width, height
        pan_px = 0
        if shot.pan is not None:
            pan_px = math.ceil(PAN_SPEED * width) * (shot.pan[1] - shot.pan[0])
        # Mild drift: 1 px every 2 frames, including frames rendered during transitions.
        self.drift_px = shot.frames // 2 + 2 * height
        self.pan_px = pan_px
        self.canvas = _draw_canvas(shot.look, width + pan_px + self.drift_px + 8, height + 8)
        rng = np.random.default_rng(shot.look.seed + 7)
        self.grain = rng.integers(-6, 7, size=(4, height, width, 1), dtype=np.int16)

    def render(self, j: int) -> np.ndarray:
        """The picture at shot-relative frame ``j`` (may lie outside ``[0, frames)`` in transitions)."""
        jj = min(max(j, -self.h), self.shot.frames + self.h)
        x = self.h + jj // 2
        if self.shot.pan is not None:
            a, b = self.shot.pan
            x += math.ceil(PAN_SPEED * self.w) * (min(max(jj, a), b) - a)
        y = 4 + round(3 * math.sin(jj / 15))
        crop = self.canvas[y : y + self.h, x : x + self.w].astype(np.int16)
        return crop + self.grain[j % 4]


def _draw_canvas(look: Look, width: int, height: int) -> np.ndarray:
    """Draw a look's scene: gradient in the dominant hue, smooth texture, then the layout's shapes."""
    rng = np.random.default_rng(look.seed)
    main = np.array(colorsys.hsv_to_rgb(look.hue, 0.75, 0.85)) * 255
    dark = np.array(colorsys.hsv_to_rgb(look.hue, 0.9, 0.35)) * 255
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    img = dark * ramp + main * (1 - ramp) + np.zeros((1, width, 1))
    coarse = rng.normal(0, 1, size=(max(2, height // 12), max(2, width // 12), 3))
    texture = np.asarray(
        Image.fromarray(((coarse * 40) + 128).clip(0, 255).astype(np.uint8)).resize((width, height), Image.BILINEAR),
        dtype=np.float64,
    )
    img = (img + (texture - 128) * 0.5).clip(0, 255)
    picture = Image.fromarray(img.astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    accent = tuple(int(v * 255) for v in colorsys.hsv_to_rgb((look.hue + 0.5) % 1.0, 0.6, 0.95))
    light = tuple(int(v * 255) for v in colorsys.hsv_to_rgb(look.hue, 0.35, 1.0))
    area_units = max(1, width * height // (160 * 90))
    if look.layout == "blobs":
        for _ in range(3 * area_units):
            cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.08, 0.25) * height
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=accent if rng.random() < 0.5 else light)
    elif look.layout == "stripes":
        period = int(rng.integers(height // 6, height // 3))
        for x0 in range(-height, width, period):
            draw.polygon(
                [(x0, 0), (x0 + period // 2, 0), (x0 + period // 2 + height, height), (x0 + height, height)],
                fill=accent,
            )
    elif look.layout == "blocks":
        cell = int(rng.integers(height // 5, height // 3))
        for y0 in range(0, height, cell):
            for x0 in range(0, width, cell):
                if rng.random() < 0.45:
                    shade = tuple(int(c * rng.uniform(0.5, 1.0)) for c in light)
                    draw.rectangle([x0 + 2, y0 + 2, x0 + cell - 3, y0 + cell - 3], fill=shade)
    else:  # horizon: sky over ground with a sun and distant hills
        horizon = int(height * rng.uniform(0.45, 0.65))
        ground = tuple(int(c * 0.45) for c in accent)
        draw.rectangle([0, horizon, width, height], fill=ground)
        for _ in range(2 * area_units):
            cx, r = rng.uniform(0, width), rng.uniform(0.1, 0.3) * height
            draw.ellipse([cx - 2 * r, horizon - r, cx + 2 * r, horizon + r], fill=ground)
        sx, sr = rng.uniform(0.2, 0.8) * width, 0.12 * height
        draw.ellipse([sx - sr, horizon * 0.3 - sr, sx + sr, horizon * 0.3 + sr], fill=(255, 240, 200))
    return np.asarray(picture)


class _Renderer:
    """Composes clip frames: shots, transitions and flashes, keeping at most two scenes alive."""

    def __init__(self, spec: ClipSpec) -> None:
        self.spec = spec
        self.starts = np.cumsum([0] + [s.frames for s in spec.shots]).tolist()
        self._scenes: dict[int, _Scene] = {}

    def _scene(self, i: int) -> _Scene:
        if i not in self._scenes:
            for old in [k for k in self._scenes if k < i - 1]:
                del self._scenes[old]
            self._scenes[i] = _Scene(self.spec.shots[i], self.spec.width, self.spec.height)
        return self._scenes[i]

    def _plain(self, i: int, f: int) -> np.ndarray:
        shot, j = self.spec.shots[i], f - self.starts[i]
        img = self._scene(i).render(j).astype(np.float32)
        if any(o <= j < o + shot.flash_frames for o in shot.flashes):
            img = (1 - FLASH_WHITE) * img + FLASH_WHITE * 255
        return img

    def frame(self, f: int) -> np.ndarray:
        i = int(np.searchsorted(self.starts, f, side="right")) - 1
        for m in (i, i + 1):  # a transition into shot m is centred on its start
            if not 0 < m < len(self.spec.shots) or self.spec.shots[m].transition_in == "cut":
                continue
            shot = self.spec.shots[m]
            a = self.starts[m] - shot.transition_frames // 2
            k = f - a
            if 0 <= k < shot.transition_frames:
                img = self._transition(m, f, k)
                break
        else:
            img = self._plain(i, f)
        return np.clip(img, 0, 255).astype(np.uint8)

    def _transition(self, m: int, f: int, k: int) -> np.ndarray:
        shot = self.spec.shots[m]
        n = shot.transition_frames
        if shot.transition_in == "dissolve":
            alpha = (k + 1) / (n + 1)
            return (1 - alpha) * self._plain(m - 1, f) + alpha * self._plain(m, f)
        n_out = n // 2
        if k < n_out:  # fade out to black; the last fade-out frame is black
            return self._plain(m - 1, f) * (1 - (k + 1) / n_out)
        return self._plain(m, f) * ((k - n_out + 1) / (n - n_out + 1))


def _tone_track(spec: ClipSpec) -> np.ndarray:
    """Stereo float32 ``(2, samples)`` for the whole clip: sounds with 5 ms ramps, silence elsewhere."""
    rate = spec.audio_rate
    n = round(spec.duration_s * rate)
    mono = np.zeros(n, dtype=np.float32)
    ramp = max(1, round(0.005 * rate))
    for seg in spec.audio:
        if not seg.audible:
            continue
        a, b = round(seg.start_s * rate), min(n, round(seg.end_s * rate))
        t = np.arange(a, b) / rate
        env = np.minimum(1.0, np.minimum(np.arange(b - a) + 1, np.arange(b - a)[::-1] + 1) / ramp)
        mono[a:b] = seg.amplitude * env * _sound(seg, t)
    return np.stack([mono, mono])


def _sound(seg: AudioSegment, t: np.ndarray) -> np.ndarray:
    """The segment's waveform at times ``t`` (seconds), peak 1 (before ``amplitude`` and the ramps)."""
    if seg.sound in _NOISES:
        x = np.random.default_rng(seg.seed).standard_normal(len(t))
        if seg.sound == "brown":
            x = np.cumsum(x)
            x -= np.linspace(x[0], x[-1], len(x)) if len(x) > 1 else x  # no drift: starts and ends at 0
        return x / max(float(np.abs(x).max()), 1e-12) if len(x) else x
    w = 2 * np.pi * seg.freq_hz * t
    if seg.phase:
        w = w + seg.phase
    if seg.sound == "harmonic":
        x = sum(np.sin(h * w) / h for h in range(1, 9))
        return x / max(float(np.abs(x).max()), 1e-12)
    x = np.sin(w)
    if seg.sound == "pulses":
        x = x * (np.mod((t - t[0]) * seg.rate_hz, 1.0) < 0.5) if len(t) else x
    return x


def generate_clip(
    spec: ClipSpec,
    out_path: str | os.PathLike[str],
    *,
    rotation: int = 0,
    sample_aspect_ratio: Fraction | None = None,
    frame_times_s: Sequence[float] | None = None,
) -> GroundTruth:
    """Render ``spec`` to ``out_path`` (H.264 + stereo AAC; MP4, or Matroska for ``.mkv``).

    Writes atomically (temporary name, then rename) and, when the spec has subtitles, an ``.srt``
    sidecar next to the clip (same stem).

    Args:
        spec: what to render.
        out_path: destination file.
        rotation: display rotation (degrees clockwise, 0/90/180/270) written as the stream's display
            matrix; the pixels stay as rendered.
        sample_aspect_ratio: non-square pixel shape to declare (e.g. ``Fraction(4, 3)``).
        frame_times_s: presentation time (s) of every frame, for variable-frame-rate clips (needs
            ``spec.with_audio`` False; timestamps are stored in milliseconds).

    Returns:
        The clip's :class:`GroundTruth` (frame numbers; times follow ``spec.fps`` unless ``frame_times_s``).

    Raises:
        ValueError: inconsistent arguments.
    """
    if rotation % 90 or not 0 <= rotation < 360:
        raise ValueError(f"rotation must be one of 0, 90, 180, 270, got {rotation}")
    if frame_times_s is not None:
        if len(frame_times_s) != spec.frame_count or spec.with_audio:
            raise ValueError("frame_times_s needs one time per frame and a spec without audio")
        if any(b <= a for a, b in zip(frame_times_s, frame_times_s[1:])):
            raise ValueError("frame_times_s must increase")
    vfr_pts_ms, vfr_durations_ms = vfr_packet_times(frame_times_s) if frame_times_s is not None else ([], {})
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = "matroska" if out.suffix.lower() == ".mkv" else "mp4"
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    renderer = _Renderer(spec)
    try:
        with av.open(str(tmp), "w", format=fmt) as container:
            video = container.add_stream("libx264", rate=Fraction(spec.fps).limit_denominator(1001))
            video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
            # One x264 thread and no assembly: a sample must hash the same everywhere, and x264's SIMD
            # code made the output differ run to run (seen: 9 distinct files in 10 encodes of one
            # sample with threads=1 alone; 1 in 12 with asm=0, which costs no measurable time here).
            video.options = {"crf": str(spec.crf), "preset": "veryfast", "threads": "1",
                             "x264-params": "asm=0"}
            if frame_times_s is not None:
                video.codec_context.time_base = Fraction(1, 1000)
                # Without B-frames, MP4 sample durations (decode order) equal the presentation intervals.
                video.codec_context.max_b_frames = 0
            if rotation:
                video.set_display_rotation(-rotation)  # PyAV takes counter-clockwise degrees
            if sample_aspect_ratio is not None:
                video.codec_context.sample_aspect_ratio = sample_aspect_ratio
            audio = None
            if spec.with_audio:
                audio = container.add_stream("aac", rate=spec.audio_rate, layout="stereo")
                pcm = _tone_track(spec)
                frame_size = 1024
                written = 0
            for f in range(spec.frame_count):
                vf = av.VideoFrame.from_ndarray(renderer.frame(f), format="rgb24")
                vf.pts = f if frame_times_s is None else vfr_pts_ms[f]
                container.mux(with_durations(video.encode(vf), vfr_durations_ms))
                if audio is not None:  # interleave: audio up to the end of this video frame
                    until = min(pcm.shape[1], round((f + 1) / spec.fps * spec.audio_rate))
                    while written + frame_size <= until or (f == spec.frame_count - 1 and written < until):
                        chunk = np.ascontiguousarray(pcm[:, written : written + frame_size])
                        af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                        af.sample_rate, af.pts = spec.audio_rate, written
                        container.mux(audio.encode(af))
                        written += chunk.shape[1]
            container.mux(with_durations(video.encode(None), vfr_durations_ms))
            if audio is not None:
                container.mux(audio.encode(None))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    if spec.subtitles:
        write_srt(spec.subtitles, out.with_suffix(".srt"))
    return ground_truth(spec)


def vfr_packet_times(frame_times_s: Sequence[float]) -> tuple[list[int], dict[int, int]]:
    """Presentation times of a variable-frame-rate clip's frames in milliseconds (a 1/1000 time
    base), and each one's duration keyed by that time; the last frame lasts as long as the one
    before it. For ``with_durations``."""
    pts_ms = [round(t * 1000) for t in frame_times_s]
    ends = pts_ms[1:] + [2 * pts_ms[-1] - pts_ms[-2]]
    return pts_ms, {p: e - p for p, e in zip(pts_ms, ends)}


def with_durations(packets: list[av.Packet], durations: dict[int, int]) -> list[av.Packet]:
    """Stamp each packet's duration from its pts (variable-frame-rate clips; the muxer cannot guess them)."""
    for packet in packets:
        if packet.pts in durations:
            packet.duration = durations[packet.pts]
    return packets
