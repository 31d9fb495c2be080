"""Contact sheets: pictures of shots, for people to check at a glance.

A shot sheet has one row per shot: its first, middle and last frames side by side, labelled with the
shot number, the transition it begins with, its frame range ``[start, end)`` and its timecodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Height of each thumbnail, pixels.
THUMB_HEIGHT = 90
_LABEL_W = 230
_PAD = 4


def timecode(seconds: float) -> str:
    """``H:MM:SS.mmm`` for a time in seconds."""
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h}:{m:02d}:{s:02d}.{ms:03d}"


def shot_sheet(video: str | Path, shots: Sequence[dict], fps: float, out: str | Path, title: str | None = None,
               max_shots: int = 400) -> Path:
    """Draw a contact sheet of ``shots`` of ``video`` and write it as PNG to ``out``.

    Args:
        video: the file the shots were detected in (frame numbers count its decoded frames).
        shots: dicts with ``start``, ``end`` (frames, ``[start, end)``), ``start_s``, ``end_s`` and ``transition``.
        fps: the frame rate the frame numbers count in.
        out: PNG path to write.
        title: heading (default: the file name).
        max_shots: at most this many rows (the sheet says how many were left out).

    Returns:
        The written path.
    """
    from reelhouse.media.frames import iter_frames

    rows = list(shots[:max_shots])
    wanted: dict[int, list[tuple[int, int]]] = {}
    for r, s in enumerate(rows):
        last = max(s["start"], s["end"] - 1)
        for c, f in enumerate((s["start"], (s["start"] + last) // 2, last)):
            wanted.setdefault(f, []).append((r, c))
    thumbs: dict[tuple[int, int], np.ndarray] = {}
    stop = max(wanted) if wanted else -1
    for frame in iter_frames(video):
        if frame.index in wanted:
            h, w = frame.rgb.shape[:2]
            img = Image.fromarray(frame.rgb).resize((max(1, round(w * THUMB_HEIGHT / h)), THUMB_HEIGHT))
            for key in wanted[frame.index]:
                thumbs[key] = np.asarray(img)
        if frame.index >= stop:
            break
    tw = max((t.shape[1] for t in thumbs.values()), default=THUMB_HEIGHT)
    font = ImageFont.load_default()
    head = 24
    width = _LABEL_W + 3 * (tw + _PAD) + _PAD
    height = head + len(rows) * (THUMB_HEIGHT + _PAD) + _PAD + (16 if len(shots) > max_shots else 0)
    sheet = Image.new("RGB", (width, height), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    draw.text((_PAD, 6), f"{title or Path(video).name}: {len(shots)} shots (first / middle / last frame)", fill=(255, 255, 255), font=font)
    for r, s in enumerate(rows):
        y = head + r * (THUMB_HEIGHT + _PAD)
        colour = (255, 200, 80) if s["transition"] == "gradual" else (200, 220, 255)
        draw.text((_PAD, y + 4), f"shot {r}  ({s['transition']})", fill=colour, font=font)
        draw.text((_PAD, y + 24), f"frames [{s['start']}, {s['end']})", fill=(220, 220, 220), font=font)
        draw.text((_PAD, y + 44), f"{timecode(s['start_s'])} - {timecode(s['end_s'])}", fill=(220, 220, 220), font=font)
        for c in range(3):
            t = thumbs.get((r, c))
            if t is not None:
                sheet.paste(Image.fromarray(t), (_LABEL_W + c * (tw + _PAD), y))
    if len(shots) > max_shots:
        draw.text((_PAD, height - 16), f"... {len(shots) - max_shots} more shots not shown", fill=(255, 255, 255), font=font)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
