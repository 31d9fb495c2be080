"""A synthetic feature store at catalog scale: rows shaped exactly like the pipeline's, no video needed.

Used to measure the SQL surface on 10,000 titles (``benchmarks/sql.py``) and, at small scale, as the
known data the analyst queries in ``sql/`` are checked against. Everything is written through
:class:`reelhouse.lakehouse.FeatureStore` (the one write path) into the real table schemas, in chunks of
titles per commit, then compacted as a maintained catalog would be.

What is generated, per title (a content-id-like 32-hex id; deterministic in ``seed``):

- ``media``: one row, ``ok`` or (``quarantined_share``) ``quarantined``; ``source_uri`` ``file:///library/title_<n>.mp4``;
- ``shots``: ``shots_per_title`` ± 50 % shots tiling ``[0, duration)``, gamma-distributed lengths, 24 fps.
  A ``stale_share`` of the ok titles hold an older version (``OLD_VERSION``) instead of ``CURRENT_VERSION``;
- ``shot_embeddings`` (feature ``VISUAL_FEATURE``): one L2-normalized ``dim``-d vector per shot;
- ``subtitle_cues``: ``cues_per_title`` cues of words from a fixed vocabulary;
- ``shot_dedup``: near-duplicate groups of consecutive shots (every ``DUP_EVERY``-th shot repeats the previous);
- ``match_cuts`` (feature ``MATCH_CUT_FEATURE``, flavor ``visual``): ``match_cuts_per_shot`` candidates per shot;
- ``scenes``: scenes of ``1 + Poisson(4)`` consecutive shots and chapters of consecutive scenes
  (``models.scenes.chapter_count`` of them), each level tiling the title's shots (drawn from a generator
  of its own, so the other tables are what they were before scenes existed);
- ``artwork``: up to 6 candidates per title, one frame each of distinct shots (also its own generator);
- ``regions``: one frame per shot; a face box on a third of them (uniform centre and size), ``none`` rows on
  the rest (its own generator too);
- ``shot_tags``: a score per shot for each of ``SYNTHETIC_TAGS``, uniform in ``[0, 1]`` (its own generator).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id

CURRENT_VERSION = "2-current0"
OLD_VERSION = "1-previous"
VISUAL_FEATURE = "visual"
MATCH_CUT_FEATURE = "match_cuts_visual"
SYNTHETIC_TAGS = ("action", "calm", "night")
TAGS_VERSION = "1-tags0000000"
FPS = 24.0
DUP_EVERY = 10
VOCABULARY = ("night", "door", "train", "river", "kitchen", "letter", "storm", "garden", "mirror", "bridge",
              "coffee", "window", "forest", "city", "music", "stairs", "ocean", "candle", "clock", "road")


class SyntheticCatalogSpec(BaseModel):
    """Shape of the synthetic catalog."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    titles: int = Field(100, ge=1)
    shots_per_title: int = Field(100, ge=2, description="mean shots per title")
    dim: int = Field(64, ge=2, description="embedding dimension")
    cues_per_title: int = Field(20, ge=0)
    match_cuts_per_shot: int = Field(3, ge=0)
    stale_share: float = Field(0.1, ge=0, le=1, description="ok titles whose shots are an older version")
    quarantined_share: float = Field(0.01, ge=0, le=1)
    seed: int = 0
    versions: dict[str, str] = Field(default_factory=dict, description="feature -> version written instead of this "
                                     "module's (media, shots, visual): a catalog the registry's current versions "
                                     "read, e.g. for the API")


def video_id(n: int, seed: int = 0) -> str:
    """The ``n``-th synthetic title's content id (32 hex characters, uniformly spread like sha256)."""
    return hashlib.sha256(f"{seed}:{n}".encode()).hexdigest()[:32]


def title_name(n: int) -> str:
    return f"title_{n:05d}.mp4"


@dataclass(frozen=True)
class SyntheticCatalog:
    """What was written: ids in title order, and counts."""

    spec: SyntheticCatalogSpec
    video_ids: list[str]
    rows: dict[str, int]


def title_tables(spec: SyntheticCatalogSpec, n: int) -> dict[str, tuple[FeatureSlice, pa.Table]]:
    """The rows of title ``n``: table name -> (slice, rows without audit columns)."""
    rng = np.random.default_rng([spec.seed, n])
    vid = video_id(n, spec.seed)
    quarantined = rng.random() < spec.quarantined_share
    count = int(rng.integers(max(2, spec.shots_per_title // 2), spec.shots_per_title * 3 // 2 + 1))
    frames = np.maximum(1, np.round(rng.gamma(2.0, 2.0, count) * FPS)).astype(np.int64)
    ends = np.cumsum(frames)
    starts = ends - frames
    duration = float(ends[-1] / FPS)
    out: dict[str, tuple[FeatureSlice, pa.Table]] = {}
    out["media"] = (FeatureSlice(vid, "media", spec.versions.get("media", "1-media0000")), pa.table({
        "source_uri": [f"file:///library/{title_name(n)}"], "size_bytes": [int(duration * 250_000)],
        "status": ["quarantined" if quarantined else "ok"],
        "error_code": ["truncated" if quarantined else None],
        "error_message": ["file ends before its last frame" if quarantined else None],
        "container": ["mp4"], "duration_s": [duration], "fps": [FPS], "is_vfr": [False], "frame_count": [int(ends[-1])],
        "width": [1280], "height": [720], "display_width": [1280], "display_height": [720], "rotation": [0],
        "sample_aspect_ratio": [1.0], "video_codec": ["h264"], "pix_fmt": ["yuv420p"], "has_audio": [True],
        "audio_codec": ["aac"], "audio_streams": ["[]"], "subtitle_streams": ["[]"], "subtitle_uri": [None],
    }))
    if quarantined:
        return out
    index = np.arange(count, dtype=np.int32)
    version = OLD_VERSION if rng.random() < spec.stale_share else spec.versions.get("shots", CURRENT_VERSION)
    out["shots"] = (FeatureSlice(vid, "shots", version), pa.table({
        "shot_index": index, "start_frame": starts, "end_frame": ends, "start_s": starts / FPS, "end_s": ends / FPS,
        "fps": np.full(count, FPS), "transition": np.where(rng.random(count) < 0.05, "gradual", "cut"),
        "confidence": rng.uniform(0.5, 1.0, count), "detector": np.full(count, "hybrid@1"),
    }))
    vectors = rng.standard_normal((count, spec.dim)).astype(np.float32)
    dup = index % DUP_EVERY == DUP_EVERY - 1
    vectors[dup] = vectors[np.flatnonzero(dup) - 1] + 0.01 * vectors[dup]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    out["shot_embeddings"] = (FeatureSlice(vid, VISUAL_FEATURE, spec.versions.get(VISUAL_FEATURE, "1-visual000")), pa.table({
        "shot_index": index, "model": np.full(count, "synthetic@1"), "dim": np.full(count, spec.dim, np.int32),
        "has_embedding": np.ones(count, bool),
        "embedding": pa.FixedSizeListArray.from_arrays(vectors.reshape(-1), spec.dim).cast(pa.list_(pa.float32())),
    }))
    group = np.where(dup, index - 1, index).astype(np.int32)
    sims = np.einsum("ij,ij->i", vectors, vectors[group])
    out["shot_dedup"] = (FeatureSlice(vid, "shot_dedup", "1-dedup0000"), pa.table({
        "shot_index": index, "group_shot_index": group, "is_kept": ~dup, "similarity": sims.astype(np.float64),
        "threshold": np.full(count, 0.95), "source_feature": np.full(count, VISUAL_FEATURE),
    }))
    if spec.cues_per_title:
        cue_starts = np.sort(rng.uniform(0, duration, spec.cues_per_title))
        cue_ends = np.minimum(cue_starts + rng.uniform(1.0, 4.0, spec.cues_per_title), duration)
        words = rng.integers(0, len(VOCABULARY), (spec.cues_per_title, 3))
        out["subtitle_cues"] = (FeatureSlice(vid, "subtitles", "1-subs00000"), pa.table({
            "cue_index": np.arange(spec.cues_per_title, dtype=np.int32), "start_s": cue_starts, "end_s": cue_ends,
            "text": [" ".join(VOCABULARY[w] for w in row).capitalize() + "." for row in words],
            "source": np.full(spec.cues_per_title, "sidecar"),
        }))
    k = spec.match_cuts_per_shot
    if k:
        others = rng.integers(0, spec.titles, count * k)
        out["match_cuts"] = (FeatureSlice(vid, MATCH_CUT_FEATURE, "1-visual000"), pa.table({
            "flavor": np.full(count * k, "visual"), "shot_index": np.repeat(index, k),
            "other_video_id": [video_id(int(o), spec.seed) for o in others],
            "other_shot_index": rng.integers(0, max(2, spec.shots_per_title // 2), count * k).astype(np.int32),
            "score": np.sort(rng.uniform(0.3, 0.99, (count, k)), axis=1)[:, ::-1].reshape(-1),
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), count),
            "source_snapshot_id": np.full(count * k, 1, np.int64),
        }))
    out["scenes"] = (FeatureSlice(vid, "scenes", "1-scenes0000"), _scene_rows(np.random.default_rng([spec.seed, n, 1]),
                                                                             starts / FPS, ends / FPS))
    art = np.random.default_rng([spec.seed, n, 2])
    picked = art.choice(count, size=min(6, count), replace=False)
    frame = starts[picked] + (frames[picked] // 2)
    out["artwork"] = (FeatureSlice(vid, "artwork", "1-artwork000"), pa.table({
        "rank": np.arange(1, len(picked) + 1, dtype=np.int32), "shot_index": picked.astype(np.int32),
        "frame_index": frame.astype(np.int64), "time_s": frame / FPS, "score": np.sort(art.uniform(0.3, 1.0, len(picked)))[::-1],
        "scene_index": np.zeros(len(picked), np.int32), "brightness": art.uniform(60, 180, len(picked)),
        "sharpness": art.uniform(0.001, 0.05, len(picked)), "colourfulness": art.uniform(5, 90, len(picked)),
    }))
    reg = np.random.default_rng([spec.seed, n, 3])
    face = reg.random(count) < 1 / 3
    w, h = reg.uniform(0.05, 0.6, count), reg.uniform(0.08, 0.8, count)
    cx, cy = reg.uniform(w / 2, 1 - w / 2), reg.uniform(h / 2, 1 - h / 2)
    x0, y0, x1, y1 = (np.where(face, v, 0.0) for v in (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    middle = starts + frames // 2
    out["regions"] = (FeatureSlice(vid, "regions", "1-regions000"), pa.table({
        "shot_index": index, "rank": np.ones(count, np.int32), "frame_index": middle.astype(np.int64), "t_s": middle / FPS,
        "label": np.where(face, "face", "none"), "x0": x0, "y0": y0, "x1": x1, "y1": y1, "area": (x1 - x0) * (y1 - y0),
        "score": np.where(face, reg.uniform(0.9, 1.0, count), 0.0),
    }))
    tag_rng = np.random.default_rng([spec.seed, n, 4])
    out["shot_tags"] = (FeatureSlice(vid, "tags", TAGS_VERSION), pa.table({
        "shot_index": np.repeat(index, len(SYNTHETIC_TAGS)).astype(np.int32),
        "tag": np.tile(np.array(SYNTHETIC_TAGS), count), "score": tag_rng.uniform(0.0, 1.0, count * len(SYNTHETIC_TAGS)),
    }))
    return out


def _scene_rows(rng: np.random.Generator, starts_s: np.ndarray, ends_s: np.ndarray) -> pa.Table:
    """``scenes`` rows: scenes of 1 + Poisson(4) shots, then chapters of whole scenes."""
    from models.scenes import chapter_count

    n = len(starts_s)
    edges = [0]
    while edges[-1] < n:
        edges.append(min(n, edges[-1] + 1 + int(rng.poisson(4))))
    scenes = len(edges) - 1
    chapter_edges = np.linspace(0, scenes, chapter_count(scenes) + 1).round().astype(int)
    rows = [{"level": "scene", "group_index": g, "start_shot": edges[g], "end_shot": edges[g + 1],
             "start_s": float(starts_s[edges[g]]), "end_s": float(ends_s[edges[g + 1] - 1]), "start_scene": g,
             "end_scene": g + 1} for g in range(scenes)]
    rows += [{"level": "chapter", "group_index": c, "start_shot": edges[a], "end_shot": edges[b],
              "start_s": float(starts_s[edges[a]]), "end_s": float(ends_s[edges[b] - 1]), "start_scene": int(a),
              "end_scene": int(b)} for c, (a, b) in enumerate(zip(chapter_edges[:-1], chapter_edges[1:]))]
    return pa.Table.from_pylist(rows)


def _chunks(total: int, size: int) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(total, start + size))


def write_synthetic_catalog(
    store: FeatureStore,
    spec: SyntheticCatalogSpec,
    *,
    titles_per_commit: int = 1000,
    progress: Callable[[str], None] | None = None,
    titles: range | None = None,
    tables: tuple[str, ...] | None = None,
    compact: bool = True,
) -> SyntheticCatalog:
    """Write ``spec``'s catalog into ``store`` (one commit per table per chunk of titles, tables in the
    pipeline's order: media first), compacting after each chunk unless ``compact`` is False.

    Args:
        titles: the title numbers to write (default ``range(spec.titles)``); numbers past
            ``spec.titles`` add titles to a catalog written before.
        tables: write only these tables (default: all).

    Returns:
        The ids written (title order) and rows per table.
    """
    store.ensure_tables()
    rows: dict[str, int] = {}
    numbers = range(spec.titles) if titles is None else titles
    for part in _chunks(len(numbers), titles_per_commit):
        chunk = numbers[part.start:part.stop]
        by_table: dict[str, dict[FeatureSlice, pa.Table]] = {}
        for n in chunk:
            for table, (slice_, data) in title_tables(spec, n).items():
                if tables is None or table in tables:
                    by_table.setdefault(table, {})[slice_] = data
        run_id = new_run_id()
        for table, slices in by_table.items():
            rows[table] = rows.get(table, 0) + store.replace_slices(table, slices, run_id).rows
        if compact:
            store.compact_all()
        if progress:
            progress(f"wrote titles {chunk.start}..{chunk.stop - 1} ({sum(rows.values()):,} rows so far)")
    return SyntheticCatalog(spec, [video_id(n, spec.seed) for n in numbers], rows)
