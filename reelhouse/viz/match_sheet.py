"""Match-cut contact sheets: each candidate pair as two pictures side by side, with its scores and timecodes.

The left picture is the outgoing shot's last representative frame, the right one the incoming shot's
first: the two frames an editor would cut between.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from reelhouse.search.match_cuts import MatchCut, MatchCutSearch
from reelhouse.search.shot_lookup import ShotPicture
from reelhouse.viz.contact_sheet import timecode

#: Height of each picture, pixels.
PICTURE_HEIGHT = 144
_GAP = 8
_TEXT_H = 42


def _picture(p: ShotPicture, width: int) -> Image.Image:
    if p.jpeg is None:
        img = Image.new("RGB", (width, PICTURE_HEIGHT), (60, 60, 60))
        ImageDraw.Draw(img).text((8, PICTURE_HEIGHT // 2), "no frame", fill=(220, 220, 220), font=ImageFont.load_default())
        return img
    img = Image.open(io.BytesIO(p.jpeg)).convert("RGB")
    return img.resize((max(1, round(img.width * PICTURE_HEIGHT / img.height)), PICTURE_HEIGHT))


def _label(p: ShotPicture) -> str:
    at = f" @ {timecode(p.frame_s)}" if p.frame_s is not None else ""
    return f"{p.title}  shot {p.shot_index}  {timecode(p.start_s)}-{timecode(p.end_s)}{at}"


def scores_label(pair: MatchCut) -> str:
    """``cos 0.612  csls 0.214  above 99.7% of pairs``: what is known of the pair's scores."""
    out = f"cos {pair.score:.3f}"
    if pair.csls == pair.csls:  # not NaN
        out += f"  csls {pair.csls:.3f}"
    if pair.percentile is not None:
        out += f"  above {pair.percentile:.1f}% of pairs"
    return out


def search_heading(found: MatchCutSearch) -> str:
    """The heading of a query-time search's sheet: flavor, feature, titles, shots and how pairs were ranked."""
    limit = f", each shot at most {found.max_per_shot}x" if found.max_per_shot else ""
    return (f"{found.flavor} match cuts ({found.feature}) among {len(found.video_ids)} title(s), "
            f"{found.shots_compared} shots, by {found.rank_by}{limit}")


def match_cut_sheet(pairs: Sequence[tuple[ShotPicture, ShotPicture, MatchCut]], out: str | Path, heading: str) -> Path:
    """Draw ``pairs`` (outgoing picture, incoming picture, the pair), best first, as a PNG at ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(match_cut_sheet_png(pairs, heading))
    return out


def match_cut_sheet_png(pairs: Sequence[tuple[ShotPicture, ShotPicture, MatchCut]], heading: str) -> bytes:
    """``match_cut_sheet`` as PNG bytes."""
    font = ImageFont.load_default()
    rows = [(_picture(a, 256), _picture(b, 256), a, b, pair) for a, b, pair in pairs]
    left_w = max((r[0].width for r in rows), default=256)
    right_w = max((r[1].width for r in rows), default=256)
    width = _GAP + left_w + _GAP + right_w + _GAP
    row_h = PICTURE_HEIGHT + _TEXT_H + _GAP
    sheet = Image.new("RGB", (max(width, 480), 28 + max(1, len(rows)) * row_h), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    draw.text((_GAP, 8), heading, fill=(255, 255, 255), font=font)
    if not rows:
        draw.text((_GAP, 40), "no candidates", fill=(220, 220, 220), font=font)
    for i, (left, right, a, b, pair) in enumerate(rows):
        y = 28 + i * row_h
        sheet.paste(left, (_GAP, y))
        sheet.paste(right, (_GAP + left_w + _GAP, y))
        draw.text((_GAP, y + PICTURE_HEIGHT + 3), f"#{i + 1}  {scores_label(pair)}", fill=(255, 255, 255), font=font)
        draw.text((_GAP, y + PICTURE_HEIGHT + 15), f"out: {_label(a)}", fill=(255, 220, 120), font=font)
        draw.text((_GAP, y + PICTURE_HEIGHT + 27), f"in:  {_label(b)}", fill=(200, 220, 255), font=font)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
