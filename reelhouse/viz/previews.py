"""Small PNG previews for the Dagster UI: a histogram, a line plot and a grid of thumbnails.

Drawn with Pillow (no plotting library); each returns PNG bytes small enough to embed in asset
metadata as a data URI.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

_BG = (250, 250, 250)
_INK = (40, 40, 40)
_BAR = (70, 110, 180)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def histogram_png(values: Sequence[float], title: str, unit: str, bins: int = 20,
                  size: tuple[int, int] = (480, 220)) -> bytes:
    """A bar histogram of ``values`` with its title, the axis range in ``unit`` and the peak count.

    Bins span ``[min, max]`` of the values in equal widths (numpy's convention: the last bin is closed).
    """
    w, h = size
    img = Image.new("RGB", size, _BG)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    draw.text((8, 4), f"{title} (n={len(values)})", fill=_INK, font=font)
    if len(values) == 0:
        draw.text((8, h // 2), "no values", fill=_INK, font=font)
        return _png(img)
    counts, edges = np.histogram(np.asarray(values, dtype=np.float64), bins=bins)
    left, right, top, bottom = 36, w - 8, 22, h - 22
    peak = max(int(counts.max()), 1)
    bar_w = (right - left) / len(counts)
    for i, c in enumerate(counts):
        y = bottom - (bottom - top) * c / peak
        draw.rectangle([left + i * bar_w + 1, y, left + (i + 1) * bar_w - 1, bottom], fill=_BAR)
    draw.line([left, bottom, right, bottom], fill=_INK)
    draw.line([left, top, left, bottom], fill=_INK)
    draw.text((4, top - 4), str(peak), fill=_INK, font=font)
    draw.text((4, bottom - 8), "0", fill=_INK, font=font)
    draw.text((left, bottom + 4), f"{edges[0]:.2f} {unit}", fill=_INK, font=font)
    last = f"{edges[-1]:.2f} {unit}"
    draw.text((right - 6 * len(last), bottom + 4), last, fill=_INK, font=font)
    return _png(img)


def line_png(values: Sequence[float], title: str, x_label: str, size: tuple[int, int] = (480, 220)) -> bytes:
    """``values`` against their position (e.g. a training loss per step), with the first, last, min and max labelled."""
    w, h = size
    img = Image.new("RGB", size, _BG)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    draw.text((8, 4), f"{title} (n={len(values)})", fill=_INK, font=font)
    y = np.asarray(values, dtype=np.float64)
    y = y[np.isfinite(y)]
    if y.size == 0:
        draw.text((8, h // 2), "no values", fill=_INK, font=font)
        return _png(img)
    left, right, top, bottom = 52, w - 8, 22, h - 22
    lo, hi = float(y.min()), float(y.max())
    span = (hi - lo) or 1.0
    xs = left + (right - left) * np.arange(y.size) / max(y.size - 1, 1)
    ys = bottom - (bottom - top) * (y - lo) / span
    draw.line(list(zip(xs.tolist(), ys.tolist())) if y.size > 1 else [(left, ys[0]), (right, ys[0])], fill=_BAR, width=2)
    draw.line([left, bottom, right, bottom], fill=_INK)
    draw.line([left, top, left, bottom], fill=_INK)
    draw.text((4, top - 4), f"{hi:.4g}", fill=_INK, font=font)
    draw.text((4, bottom - 8), f"{lo:.4g}", fill=_INK, font=font)
    draw.text((left, bottom + 4), f"1 {x_label}", fill=_INK, font=font)
    last = f"{y.size} {x_label}; last {y[-1]:.4g}"
    draw.text((right - 6 * len(last), bottom + 4), last, fill=_INK, font=font)
    return _png(img)


def thumbnail_grid_png(images: Sequence[bytes], labels: Sequence[str], columns: int = 8, height: int = 72,
                       title: str = "") -> bytes:
    """A grid of encoded images (JPEG/PNG bytes), each ``height`` px high, labelled underneath."""
    font = ImageFont.load_default()
    thumbs = []
    for data in images:
        im = Image.open(io.BytesIO(data)).convert("RGB")
        thumbs.append(im.resize((max(1, round(im.width * height / im.height)), height)))
    columns = max(1, min(columns, len(thumbs)))
    cell_w = max((t.width for t in thumbs), default=height) + 4
    cell_h = height + 16
    rows = max(1, -(-len(thumbs) // columns))
    head = 18 if title else 0
    img = Image.new("RGB", (columns * cell_w + 4, head + rows * cell_h + 4), (24, 24, 24))
    draw = ImageDraw.Draw(img)
    if title:
        draw.text((4, 3), title, fill=(255, 255, 255), font=font)
    for i, (t, label) in enumerate(zip(thumbs, labels)):
        x, y = 4 + (i % columns) * cell_w, head + 4 + (i // columns) * cell_h
        img.paste(t, (x, y))
        draw.text((x, y + height + 2), label, fill=(220, 220, 220), font=font)
    return _png(img)
