"""Reading a title's stored artwork candidates (the read side of ``reelhouse.pipeline.artwork``)."""

from __future__ import annotations

from dataclasses import dataclass

from models.artwork import ArtworkPolicy
from reelhouse.config import Settings
from reelhouse.features import specs
from reelhouse.lakehouse import FeatureSlice, FeatureStore

#: The most candidates a title stores (``models.artwork.ArtworkPolicy.candidates``) and a lookup returns.
MAX_CANDIDATES = ArtworkPolicy().candidates


class NoArtwork(LookupError):
    """The title holds no artwork candidates at the current version (not computed yet, or no usable frame)."""


@dataclass(frozen=True)
class Candidate:
    """One artwork candidate: frame ``frame_index`` (``time_s`` seconds) of shot ``shot_index``."""

    rank: int
    shot_index: int
    frame_index: int
    time_s: float
    score: float
    scene_index: int


def read_artwork(store: FeatureStore, settings: Settings, video_id: str, k: int = 6) -> list[Candidate]:
    """The title's ``k`` best artwork candidates, best first.

    Raises:
        ValueError: ``k`` outside ``1..MAX_CANDIDATES``.
        NoArtwork: it holds none.
    """
    if not 1 <= k <= MAX_CANDIDATES:
        raise ValueError(f"k must be between 1 and {MAX_CANDIDATES}, got {k}")
    spec = specs.artwork_spec(settings)
    held = store.read_slice("artwork", FeatureSlice(video_id, spec.name, spec.version)).to_pylist()
    rows = [r for r in held if r["rank"] >= 1]
    if held and not rows:
        raise NoArtwork(f"title {video_id} has no usable frame for artwork (every representative frame is black, "
                        "blurred, a flash or next to a transition)")
    if not rows:
        raise NoArtwork(f"title {video_id} has no artwork candidates at version {spec.version} (run `reelhouse run`, "
                        "or `reelhouse backfill --feature artwork`; a title with no usable frame has none)")
    return candidates_from_rows(rows)[:k]


def candidates_from_rows(rows: list[dict]) -> list[Candidate]:
    """The candidates of a title's ``artwork`` rows (any order; the rank-0 row of a title without a usable
    frame left out), best first."""
    return [Candidate(r["rank"], r["shot_index"], r["frame_index"], r["time_s"], r["score"], r["scene_index"])
            for r in sorted(rows, key=lambda r: r["rank"]) if r["rank"] >= 1]


def artwork_sheet_png(candidates: list[Candidate], thumbnails: dict[tuple[int, int], bytes], heading: str) -> bytes:
    """The candidates' frames in rank order, labelled with rank, shot, time and score.

    Args:
        thumbnails: ``(shot_index, frame_index) -> JPEG`` of the title's representative frames.
    """
    from reelhouse.viz.contact_sheet import timecode
    from reelhouse.viz.previews import thumbnail_grid_png

    shown = [c for c in candidates if (c.shot_index, c.frame_index) in thumbnails]
    return thumbnail_grid_png([thumbnails[(c.shot_index, c.frame_index)] for c in shown],
                              [f"#{c.rank} shot {c.shot_index} {timecode(c.time_s)} {c.score:.2f}" for c in shown],
                              columns=3, height=144, title=heading)
