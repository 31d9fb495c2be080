"""Frames with their regions drawn: each box outlined, with its label and score."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from PIL import Image, ImageDraw

from reelhouse.viz.previews import thumbnail_grid_png

#: At most this many frames are drawn.
MAX_FRAMES = 12


def frames_with_boxes_png(regions: Sequence[dict], thumbnails: Mapping[tuple[int, int], bytes]) -> bytes:
    """PNG grid of the frames holding ``regions`` (rows with ``shot_index``, ``frame_index``, ``label``,
    normalized ``x0, y0, x1, y1`` and ``score``), each box drawn on its frame, frames in time order."""
    by_frame: dict[tuple[int, int], list[dict]] = {}
    for r in regions:
        by_frame.setdefault((r["shot_index"], r["frame_index"]), []).append(r)
    images, labels = [], []
    for key in sorted(k for k in by_frame if k in thumbnails)[:MAX_FRAMES]:
        img = Image.open(io.BytesIO(thumbnails[key])).convert("RGB")
        draw = ImageDraw.Draw(img)
        for r in by_frame[key]:
            box = (r["x0"] * img.width, r["y0"] * img.height, r["x1"] * img.width, r["y1"] * img.height)
            draw.rectangle(box, outline=(255, 220, 0), width=2)
            draw.text((box[0] + 2, box[1] + 2), f"{r['label']} {r['score']:.2f}", fill=(255, 220, 0))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        images.append(buf.getvalue())
        labels.append(f"shot {key[0]} frame {key[1]}")
    return thumbnail_grid_png(images, labels, columns=4, height=144, title=f"{len(by_frame)} frame(s) with regions")
