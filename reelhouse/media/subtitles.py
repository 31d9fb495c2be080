"""Subtitle access: cues from an ``.srt`` sidecar or a title's embedded text subtitle stream, and
the text that overlaps a shot.

Cue text is plain: HTML-style tags (``<i>``, ``<font ...>``) and ASS override blocks
(``{\\i1}``, ``{\\an8}``) are removed, lines are joined by ``"\\n"``. Times are seconds, ranges
``[start, end)``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av

from reelhouse.media._container import open_input, select_video_stream, stream_origin_s
from reelhouse.media.errors import NoVideoStreamError

logger = logging.getLogger(__name__)

#: Subtitle codecs that carry text (bitmap formats such as PGS or DVB are skipped).
TEXT_SUBTITLE_CODECS = frozenset({"subrip", "srt", "mov_text", "ass", "ssa", "webvtt", "text", "microdvd", "subviewer"})
#: Display time (s) assumed for an embedded cue whose packet has no duration; it also ends at the next cue.
DEFAULT_CUE_S = 3.0

_TIMESTAMP = r"(\d{1,3}):(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True, slots=True)
class Cue:
    """A subtitle shown over ``[start_s, end_s)`` seconds with plain ``text`` (lines joined by ``\\n``)."""

    start_s: float
    end_s: float
    text: str


def clean_text(text: str) -> str:
    """Plain text of a cue: markup removed, ASS line breaks (``\\N``, ``\\n``) made real, blank lines dropped."""
    text = text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
    text = _ASS_OVERRIDE.sub("", text)
    text = _HTML_TAG.sub("", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _seconds(h: str, m: str, s: str, ms: str | None) -> float:
    frac = int(ms.ljust(3, "0")) / 1000 if ms else 0.0
    return int(h) * 3600 + int(m) * 60 + int(s) + frac


def _decode(data: bytes, path: Path) -> str:
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        logger.warning("%s: not valid UTF-8; reading it as cp1252", path)
        # cp1252 leaves five bytes undefined; mapping them keeps the rest of the file readable.
        return data.decode("cp1252", errors="replace")


def parse_srt(text: str, source: str = "<srt>") -> list[Cue]:
    """Parse SubRip text into cues sorted by start time.

    Tolerates a BOM, CRLF or CR line ends, a missing final blank line, missing or wrong index
    lines, ``.`` as the millisecond separator and position hints after the timing. A block
    without a valid timing line, or whose end is not after its start, is skipped with a warning;
    a block with a timing but no text is dropped silently.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    cues: list[Cue] = []
    for number, block in enumerate(_BLANK_LINE.split(text), start=1):
        lines = [line for line in block.split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            continue
        timing_at = next((i for i, line in enumerate(lines[:2]) if _TIMING.match(line)), None)
        if timing_at is None:
            logger.warning("%s: block %d has no timing line, skipped: %r", source, number, block[:80])
            continue
        m = _TIMING.match(lines[timing_at])
        assert m is not None
        start, end = _seconds(*m.group(1, 2, 3, 4)), _seconds(*m.group(5, 6, 7, 8))
        if end <= start:
            logger.warning("%s: block %d ends (%.3f s) before it starts (%.3f s), skipped", source, number, end, start)
            continue
        body = clean_text("\n".join(lines[timing_at + 1 :]))
        if body:
            cues.append(Cue(start, end, body))
    cues.sort(key=lambda c: (c.start_s, c.end_s))
    return cues


def read_srt(path: str | os.PathLike[str]) -> list[Cue]:
    """Cues of an ``.srt`` file (see :func:`parse_srt`); a missing file has none.

    The file is read as UTF-8 (a BOM is allowed, UTF-16 with a BOM too), falling back to cp1252
    with a warning.

    Returns:
        Cues sorted by start time; ``[]`` when the file does not exist or holds no cue.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        return []
    return parse_srt(_decode(data, p), source=str(p))


def sidecar_srt(video_path: str | os.PathLike[str]) -> Path:
    """The ``.srt`` sidecar a video would have: same folder, same stem (it may not exist)."""
    return Path(video_path).with_suffix(".srt")


def read_embedded_subtitles(video_path: str | os.PathLike[str]) -> list[Cue]:
    """Cues of the first text subtitle stream inside a media file (SubRip, mov_text, ASS/SSA, WebVTT).

    Times are relative to the main video stream's first frame (as frame and shot times are), or
    to the container's start when there is no video. A cue whose packet has no duration is shown
    for ``DEFAULT_CUE_S`` seconds or until the next cue, whichever is earlier.

    Returns:
        Cues sorted by start time; ``[]`` when there is no text subtitle stream.

    Raises:
        MediaError: the file itself cannot be opened (see :func:`reelhouse.media.probe.probe`).
    """
    with open_input(video_path) as container:
        stream = next(
            (s for s in container.streams.subtitles if s.codec_context and s.codec_context.name in TEXT_SUBTITLE_CODECS),
            None,
        )
        if stream is None:
            return []
        try:
            origin = stream_origin_s(select_video_stream(container))
        except NoVideoStreamError:
            origin = 0.0
        tb = stream.time_base
        raw: list[tuple[float, float | None, str]] = []
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            try:
                subs = stream.decode(packet)
            except av.FFmpegError as exc:
                logger.warning("%s: subtitle packet at pts %s does not decode, skipped: %s", video_path, packet.pts, exc)
                continue
            text = clean_text("\n".join(_subtitle_text(s) for s in subs))
            if not text:
                continue
            start = float(packet.pts * tb) - origin
            duration = float(packet.duration * tb) if packet.duration else None
            raw.append((start, duration, text))
    raw.sort(key=lambda r: r[0])
    cues = []
    for i, (start, duration, text) in enumerate(raw):
        if duration is None:
            duration = DEFAULT_CUE_S
            if i + 1 < len(raw):
                duration = min(duration, raw[i + 1][0] - start)
        if duration > 0:
            cues.append(Cue(start, start + duration, text))
    return cues


def _subtitle_text(sub: object) -> str:
    dialogue = getattr(sub, "dialogue", None)  # AssSubtitle: the event's text field
    if dialogue:
        return bytes(dialogue).decode("utf-8", errors="replace")
    text = getattr(sub, "text", None)
    if text:
        return bytes(text).decode("utf-8", errors="replace")
    return ""


def read_subtitles(video_path: str | os.PathLike[str]) -> list[Cue]:
    """A title's cues: its ``.srt`` sidecar when that has any, else its embedded text subtitles."""
    cues = read_srt(sidecar_srt(video_path))
    return cues if cues else read_embedded_subtitles(video_path)


def cues_for_range(cues: Iterable[Cue], start_s: float, end_s: float) -> list[Cue]:
    """Cues whose ``[start_s, end_s)`` overlaps ``[start_s, end_s)`` (touching ends don't overlap), in order."""
    return [c for c in cues if c.start_s < end_s and c.end_s > start_s]


def shot_text(cues: Sequence[Cue], start_s: float, end_s: float) -> str | None:
    """The subtitle text shown during a shot: overlapping cues' text joined by newlines, or ``None``.

    ``None`` (not ``""``) means the shot has no text, so it gets a null text embedding and
    ``has_embedding = False`` rather than an embedding of nothing.
    """
    parts = [c.text for c in cues_for_range(cues, start_s, end_s) if c.text.strip()]
    return "\n".join(parts) if parts else None
