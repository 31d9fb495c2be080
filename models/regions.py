"""Regions of a frame: faces, found by MTCNN with the weights facenet-pytorch ships (numpy in, numpy out).

Boxes are in normalized image coordinates: ``x`` from the left edge (0) to the right edge (1) of the
frame, ``y`` from the top (0) to the bottom (1); a box is ``[x0, x1) x [y0, y1)`` with ``x0 < x1`` and
``y0 < y1``, clipped to the frame. ``area`` is the box's share of the frame, in ``(0, 1]``.

MTCNN (Zhang et al. 2016: three cascaded CNNs) finds faces of at least ``MIN_FACE_PX`` pixels; on the
224 px high representative frames reelhouse stores, a face must be about a tenth of the frame's height.
Only faces it is at least ``MIN_FACE_PROB`` sure of are kept. Runs on CPU or CUDA; ~30 ms a frame on CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from models.device import DevicePreference

#: The detector and its weights' package version (part of the regions feature's version).
FACE_DETECTOR = "facenet-pytorch-mtcnn@2.6.0"
#: Smallest face searched for, pixels (MTCNN's ``min_face_size``).
MIN_FACE_PX = 20
#: Faces the detector is less sure of are dropped, probability.
MIN_FACE_PROB = 0.9


@dataclass(frozen=True)
class Box:
    """One region: ``label`` inside ``[x0, x1) x [y0, y1)`` (normalized, see the module), with the
    detector's ``score`` in ``[0, 1]``."""

    label: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    @property
    def area(self) -> float:
        return (self.x1 - self.x0) * (self.y1 - self.y0)


def normalized_box(label: str, xyxy: np.ndarray, width: int, height: int, score: float) -> Box | None:
    """A pixel box ``(x0, y0, x1, y1)`` as a normalized :class:`Box` clipped to the frame; None if empty."""
    x0, y0, x1, y1 = (float(v) for v in xyxy)
    x0, x1 = max(0.0, x0 / width), min(1.0, x1 / width)
    y0, y1 = max(0.0, y0 / height), min(1.0, y1 / height)
    if x1 <= x0 or y1 <= y0:
        return None
    return Box(label, x0, y0, x1, y1, float(score))


def make_face_detector(device: DevicePreference = "auto") -> Callable[[np.ndarray], list[Box]]:
    """``detect(rgb) -> faces`` for one RGB ``uint8`` frame ``(H, W, 3)``; the model loads once, here.

    Raises:
        RuntimeError: ``device="cuda"`` but CUDA is not available.
    """
    from facenet_pytorch import MTCNN
    from PIL import Image

    from models.device import select_device  # torch: imported when a detector is made, not with the spec

    torch_device = select_device(device)
    model = MTCNN(keep_all=True, min_face_size=MIN_FACE_PX, device=torch_device, post_process=False)

    def detect(rgb: np.ndarray) -> list[Box]:
        frame = np.asarray(rgb)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
        boxes, probs = model.detect(Image.fromarray(frame))
        if boxes is None:
            return []
        out = []
        for xyxy, p in zip(np.asarray(boxes, dtype=np.float64), np.asarray(probs, dtype=np.float64)):
            if p >= MIN_FACE_PROB:
                box = normalized_box("face", xyxy, frame.shape[1], frame.shape[0], p)
                if box is not None:
                    out.append(box)
        return out

    return detect
