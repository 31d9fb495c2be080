"""The media feature: probe and validate a source file, and record it as ok or quarantined."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from reelhouse.features.specs import media_spec
from reelhouse.lakehouse import FeatureSlice, FeatureStore
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


def ingest_file(store: FeatureStore, path: Path, run_id: str, video_id: str | None = None,
                subtitle: Path | None = None) -> IngestResult:
    """Ingest one file: content id, probe, and a media row (ok or quarantined), memoized by content.

    Never raises for bad media: the reason is recorded and returned. Unreadable paths (missing, a
    directory, no permission) are returned as quarantined without a row, since they have no content id.
    """
    spec = media_spec()
    try:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        vid = video_id or content_id(path)
    except OSError as exc:
        return IngestResult(str(path), None, "quarantined", f"unreadable: {exc}", "unreadable")
    if subtitle is None and path.with_suffix(".srt").is_file():
        subtitle = path.with_suffix(".srt")
    slice_ = FeatureSlice(vid, spec.name, spec.version)
    existing = store.read_slice("media", slice_)
    if existing.num_rows:
        row = existing.slice(0, 1).to_pylist()[0]
        return IngestResult(str(path), vid, row["status"], row["error_message"], row["error_code"], memoized=True)
    row = _media_row(path, vid, subtitle)
    store.replace_slice("media", slice_, [row], run_id)
    if row["status"] != "ok":
        log.warning("quarantined %s (%s): %s", path, row["error_code"], row["error_message"])
    return IngestResult(str(path), vid, row["status"], row.get("error_message"), row.get("error_code"))

