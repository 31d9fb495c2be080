"""The media feature: probe and validate a source file, and record it as ok or quarantined."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from collections.abc import Sequence
from pathlib import Path

from reelhouse.features.specs import media_spec
from reelhouse.lakehouse import FeatureSlice, FeatureStore
from reelhouse.lakehouse.slices import slices_filter
from reelhouse.media.content_id import content_id
from reelhouse.media.errors import MediaError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    """Outcome of ingesting one file (the ``reelhouse ingest --json`` record).

    Attributes:
        path: the file as given.
        video_id: content id (None only when the file could not be read at all).
        status: ``ok`` or ``quarantined``.
        error: human-readable reason when quarantined.
        error_code: machine-readable reason when quarantined.
        memoized: the title was already ingested; nothing was written.
    """

    path: str
    video_id: str | None
    status: str
    error: str | None = None
    error_code: str | None = None
    memoized: bool = False

    def to_json(self) -> dict:
        return {"path": self.path, "video_id": self.video_id, "status": self.status, "error": self.error}


def _media_row(path: Path, video_id: str, subtitle: Path | None) -> dict:
    """Probe ``path`` into a media-table row; a MediaError becomes a quarantine row."""
    from reelhouse.media.probe import probe

    base = {"source_uri": path.resolve().as_uri(), "size_bytes": path.stat().st_size,
            "subtitle_uri": subtitle.resolve().as_uri() if subtitle else None}
    try:
        rec = probe(path)
    except MediaError as exc:
        return {**base, "status": "quarantined", "error_code": exc.code, "error_message": str(exc)}
    return {
        **base,
        "status": "ok",
        "container": rec.container,
        "duration_s": rec.duration_s,
        "fps": rec.fps,
        "is_vfr": rec.is_vfr,
        "frame_count": rec.frame_count,
        "width": rec.width,
        "height": rec.height,
        "display_width": rec.display_width,
        "display_height": rec.display_height,
        "rotation": rec.rotation,
        "sample_aspect_ratio": rec.sample_aspect_ratio,
        "video_codec": rec.video_codec,
        "pix_fmt": rec.pix_fmt,
        "has_audio": rec.has_audio,
        "audio_codec": rec.audio_codec,
        "audio_streams": json.dumps(rec.audio_streams),
        "subtitle_streams": json.dumps(rec.subtitle_streams),
    }


def ingest_files(store: FeatureStore, paths: Sequence[Path], run_id: str,
                 video_ids: Sequence[str | None] | None = None) -> list[IngestResult]:
    """Ingest files: content id, probe, and a media row each (ok or quarantined), memoized by content,
    in one atomic commit for them all.

    Never raises for bad media: the reason is recorded and returned. Unreadable paths (missing, a
    directory, no permission) are returned as quarantined without a row, since they have no content id.
    A file's ``.srt`` sidecar (same stem, next to it) is recorded with it.

    Args:
        video_ids: the files' content ids when the caller already knows them (``None`` entries: hash).

    Returns:
        One result per path, in order.
    """
    spec = media_spec()
    ids: Sequence[str | None] = video_ids if video_ids is not None else [None] * len(paths)
    if len(ids) != len(paths):
        raise ValueError(f"{len(paths)} paths but {len(ids)} video ids")
    results: list[IngestResult | None] = [None] * len(paths)
    todo: list[tuple[int, Path, str]] = []
    for i, (path, vid) in enumerate(zip(paths, ids)):
        try:
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such file")
            todo.append((i, path, vid or content_id(path)))
        except OSError as exc:
            results[i] = IngestResult(str(path), None, "quarantined", f"unreadable: {exc}", "unreadable")
    slices = {vid: FeatureSlice(vid, spec.name, spec.version) for _, _, vid in todo}
    known: dict[str, dict] = {}
    if slices:
        known = {r["video_id"]: r for r in store.read("media", slices_filter(slices.values())).to_pylist()}
    new: dict[FeatureSlice, list[dict]] = {}
    for i, path, vid in todo:
        if vid in known:  # ingested before, or earlier in this call (same bytes under another name)
            row = known[vid]
            results[i] = IngestResult(str(path), vid, row["status"], row["error_message"], row["error_code"], memoized=True)
            continue
        subtitle = path.with_suffix(".srt") if path.with_suffix(".srt").is_file() else None
        row = known[vid] = {"video_id": vid, "error_message": None, "error_code": None, **_media_row(path, vid, subtitle)}
        new[slices[vid]] = [{k: v for k, v in row.items() if k != "video_id"}]
        if row["status"] != "ok":
            log.warning("quarantined %s (%s): %s", path, row["error_code"], row["error_message"])
        results[i] = IngestResult(str(path), vid, row["status"], row["error_message"], row["error_code"])
    if new:
        store.replace_slices("media", new, run_id)
    return [r for r in results if r is not None]


def ingest_file(store: FeatureStore, path: Path, run_id: str, video_id: str | None = None) -> IngestResult:
    """Ingest one file (see :func:`ingest_files`)."""
    return ingest_files(store, [path], run_id, [video_id])[0]
