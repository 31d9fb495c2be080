"""Readers of the stored features at their current versions: what jobs, checks, search and the API start from.

Each reads one title's slice (or one scan of a table) through ``reelhouse.lakehouse`` and never
computes anything; rows come back as dicts ordered as each docstring says.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.shot_detection import DEFAULT_DETECTOR
from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.features.outcome import TitleNotReady
from reelhouse.features.specs import encode_spec, media_spec, shot_frames_spec, shots_spec, subtitles_spec
from reelhouse.lakehouse import FeatureSlice, FeatureStore
from reelhouse.lakehouse.slices import slices_filter
from reelhouse.lakehouse.title_reads import TitleReads


def media_rows(store: FeatureStore, video_ids: Sequence[str]) -> dict[str, dict]:
    """``video_id -> media row`` (current media version) of the titles that were ingested (one scan)."""
    spec = media_spec()
    if not video_ids:
        return {}
    rows = store.read("media", slices_filter(FeatureSlice(v, spec.name, spec.version) for v in video_ids))
    return {r["video_id"]: r for r in rows.to_pylist()}


def media_row(store: FeatureStore, video_id: str) -> dict | None:
    """The title's media row for the current media version, or None if it was never ingested."""
    return media_rows(store, [video_id]).get(video_id)


def registered_titles(store: FeatureStore) -> dict[str, str]:
    """Every title with a media row of the current version: ``video_id -> source path``."""
    from urllib.parse import unquote, urlparse

    spec = media_spec()
    rows = store.read("media", f"feature_version == '{spec.version}'", selected_fields=("video_id", "source_uri"))
    return {v: unquote(urlparse(u).path) for v, u in zip(rows.column("video_id").to_pylist(), rows.column("source_uri").to_pylist())}


def title_statuses(store: FeatureStore) -> dict[str, dict]:
    """``video_id -> {status, error_code, error_message}`` of every title with a current media row (one scan)."""
    spec = media_spec()
    rows = store.read("media", f"feature_version == '{spec.version}'",
                      selected_fields=("video_id", "status", "error_code", "error_message"))
    return {r.pop("video_id"): r for r in rows.to_pylist()}


def encode_row(store: FeatureStore, settings: Settings, video_id: str) -> dict:
    """The title's ``encodes`` row for the current recipe.

    Raises:
        TitleNotReady: if the encode has not been produced.
    """
    spec = encode_spec(settings)
    rows = store.read_slice("encodes", FeatureSlice(video_id, spec.name, spec.version))
    if not rows.num_rows:
        raise TitleNotReady(f"title {video_id} has no standardized encode for version {spec.version}")
    return rows.slice(0, 1).to_pylist()[0]


def shot_rows(store: FeatureStore, settings: Settings, video_id: str, detector: str = DEFAULT_DETECTOR) -> list[dict]:
    """The title's stored shots for the current shots version, ordered by shot index."""
    spec = shots_spec(settings, detector)
    rows = store.read_slice("shots", FeatureSlice(video_id, spec.name, spec.version)).to_pylist()
    return sorted(rows, key=lambda r: r["shot_index"])


def encoded_shots(store: FeatureStore, settings: Settings, video_id: str) -> tuple[dict, list[dict]]:
    """The title's ``encodes`` row and its current shots, what every per-shot job starts from.

    Raises:
        TitleNotReady: if the title has no encode or no shots for the current versions.
    """
    enc = encode_row(store, settings, video_id)
    shots = shot_rows(store, settings, video_id)
    if not shots:
        raise TitleNotReady(f"title {video_id} has no shots for the current shots version")
    return enc, shots


def shot_frame_rows(store: FeatureStore, settings: Settings, video_id: str, with_thumbnails: bool = False) -> list[dict]:
    """The title's representative frames for the current version, ordered by (shot_index, rank)."""
    spec = shot_frames_spec(settings)
    rows = store.read_slice("shot_frames", FeatureSlice(video_id, spec.name, spec.version))
    if not with_thumbnails:
        rows = rows.drop_columns(["thumbnail"])
    return sorted(rows.to_pylist(), key=lambda r: (r["shot_index"], r["rank"]))


def frame_thumbnails(store: TitleReads, frames: FeatureSpec, video_id: str) -> dict[tuple[int, int], bytes]:
    """``(shot_index, frame_index) -> JPEG`` of the title's representative frames at version ``frames``
    (a ``shot_frames`` spec)."""
    rows = store.slice_table(frames.table, FeatureSlice(video_id, frames.name, frames.version),
                             ("shot_index", "frame_index", "thumbnail")).to_pylist()
    return {(r["shot_index"], r["frame_index"]): r["thumbnail"] for r in rows}


def first_frame_thumbnails(store: TitleReads, frames: FeatureSpec, video_id: str) -> dict[int, bytes]:
    """``shot_index -> JPEG`` of each of the title's shots' first representative frame (``shot_frames``
    rank 1) at version ``frames``."""
    rows = store.slice_table(frames.table, FeatureSlice(video_id, frames.name, frames.version),
                             ("shot_index", "rank", "thumbnail")).to_pylist()
    return {r["shot_index"]: r["thumbnail"] for r in rows if r["rank"] == 1}


def title_cues(store: TitleReads, video_id: str) -> list:
    """The title's stored cues (the sentinel of a title without subtitles excluded)."""
    from reelhouse.media.subtitles import Cue

    spec = subtitles_spec()
    rows = store.slice_table("subtitle_cues", FeatureSlice(video_id, spec.name, spec.version),
                             ("cue_index", "start_s", "end_s", "text")).to_pylist()
    return [Cue(r["start_s"], r["end_s"], r["text"]) for r in sorted(rows, key=lambda r: r["cue_index"]) if r["cue_index"] >= 0]
