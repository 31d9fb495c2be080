"""Shot-boundary detectors behind one streaming interface, looked up by name.

>>> detector = get_detector("fast", min_shot_frames=12)
>>> boundaries = detector.detect(frames, fps=25.0)  # frames: RGB uint8 at detector.analysis_size
>>> shots = boundaries_to_shots(boundaries, frame_count)

Detectors: ``fast`` (pure numpy), ``transnetv2`` (the pretrained network over every frame) and
``hybrid`` (fast candidates at high recall, TransNetV2 only on windows around the uncertain ones).
"""

from __future__ import annotations

import importlib
from typing import Any

from models.shot_detection.base import Shot, ShotBoundary, ShotDetector, Transition, boundaries_to_shots
from models.shot_detection.fast import FastShotDetector

#: The detector of the canonical segmentation: fast candidates and blend fits, TransNetV2 verifying
#: the uncertain ones (figures in benchmarks/RESULTS.md, ``shots``).
DEFAULT_DETECTOR = "hybrid"

# name -> "module:Class"; detectors with heavy dependencies are imported on first use.
_REGISTRY: dict[str, str] = {
    "fast": "models.shot_detection.fast:FastShotDetector",
    "hybrid": "models.shot_detection.hybrid:HybridShotDetector",
    "transnetv2": "models.shot_detection.transnetv2:TransNetV2Detector",
}


def available_detectors() -> list[str]:
    """Names accepted by ``get_detector``."""
    return sorted(_REGISTRY)


def detector_class(name: str) -> type[ShotDetector]:
    """The detector class registered under ``name``.

    Raises:
        ValueError: No detector has that name.
    """
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown shot detector {name!r}; available: {', '.join(available_detectors())}") from None
    module, _, attribute = target.partition(":")
    cls: type[ShotDetector] = getattr(importlib.import_module(module), attribute)
    return cls


def get_detector(name: str, **params: Any) -> ShotDetector:
    """Build the detector registered under ``name`` with keyword ``params``.

    Raises:
        ValueError: Unknown name, or a parameter the detector rejects.
    """
    cls = detector_class(name)
    try:
        return cls(**params)
    except TypeError as exc:  # unexpected keyword
        raise ValueError(f"invalid parameters for shot detector {name!r}: {exc}") from exc


__all__ = [
    "DEFAULT_DETECTOR",
    "FastShotDetector",
    "Shot",
    "ShotBoundary",
    "ShotDetector",
    "Transition",
    "available_detectors",
    "boundaries_to_shots",
    "detector_class",
    "get_detector",
]
