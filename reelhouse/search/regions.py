"""Searching shots by region: where on the frame a face is and how much of it it fills.

Boxes are in normalized frame coordinates (``models.regions``): ``x`` 0 at the left edge to 1 at the
right, ``y`` 0 at the top to 1 at the bottom. A region is *in* an area of the frame when its box's
centre is (``x_min <= (x0 + x1) / 2 <= x_max``, the same for ``y``): "a face in the left third" is
``x_max=1/3``. ``min_area`` is the box's share of the frame: "fills more than a fifth" is ``min_area=0.2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyiceberg.expressions import And, EqualTo, GreaterThanOrEqual

from reelhouse.config import Settings
from reelhouse.features import specs
from reelhouse.lakehouse import FeatureStore


@dataclass(frozen=True)
class RegionQuery:
    """What to look for (see the module's conventions); every bound inclusive."""

    label: str = "face"
    min_area: float = 0.0
    max_area: float = 1.0
    x_min: float = 0.0
    x_max: float = 1.0
    y_min: float = 0.0
    y_max: float = 1.0

    def __post_init__(self) -> None:
        for lo, hi, what in ((self.min_area, self.max_area, "area"), (self.x_min, self.x_max, "x"),
                             (self.y_min, self.y_max, "y")):
            if not 0.0 <= lo <= hi <= 1.0:
                raise ValueError(f"{what} bounds must satisfy 0 <= min <= max <= 1, got [{lo}, {hi}]")
        if not self.label or self.label == "none":
            raise ValueError(f"no such region label {self.label!r}; regions are labelled 'face'")


@dataclass(frozen=True)
class RegionHit:
    """A shot holding a region that matches: its largest matching box, on frame ``frame_index`` at ``t_s``."""

    video_id: str
    shot_index: int
    frame_index: int
    t_s: float
    label: str
    x0: float
    y0: float
    x1: float
    y1: float
    area: float
    score: float


def find_regions(store: FeatureStore, settings: Settings, query: RegionQuery, titles: Sequence[str] | None = None,
                 k: int = 50) -> list[RegionHit]:
    """Shots with a region matching ``query`` (of ``titles``, default all), largest region first (then by
    title and shot), one hit per shot, at most ``k``."""
    spec = specs.regions_spec(settings)
    rows = store.read("regions", And(And(EqualTo("feature", spec.name), EqualTo("feature_version", spec.version)),
                                     And(EqualTo("label", query.label), GreaterThanOrEqual("area", query.min_area)))).to_pylist()
    wanted = set(titles) if titles is not None else None
    best: dict[tuple[str, int], dict] = {}
    for r in rows:
        cx, cy = (r["x0"] + r["x1"]) / 2, (r["y0"] + r["y1"]) / 2
        if (wanted is not None and r["video_id"] not in wanted) or r["area"] > query.max_area \
                or not (query.x_min <= cx <= query.x_max and query.y_min <= cy <= query.y_max):
            continue
        key = (r["video_id"], r["shot_index"])
        if key not in best or (r["area"], -r["frame_index"]) > (best[key]["area"], -best[key]["frame_index"]):
            best[key] = r
    hits = sorted(best.values(), key=lambda r: (-r["area"], r["video_id"], r["shot_index"]))[:k]
    return [RegionHit(r["video_id"], r["shot_index"], r["frame_index"], r["t_s"], r["label"], r["x0"], r["y0"], r["x1"],
                      r["y1"], r["area"], r["score"]) for r in hits]
