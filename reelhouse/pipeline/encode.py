"""The standardized-encode feature: one recipe-versioned derivative per title, stored under the warehouse."""

from __future__ import annotations

import errno
import json
import shutil
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlparse

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome, TitleNotReady
from reelhouse.features.rows import media_row
from reelhouse.features.specs import encode_spec
from reelhouse.lakehouse import FeatureSlice, FeatureStore
from reelhouse.media.location import localize


def encode_uri(settings: Settings, video_id: str, version: str) -> str:
    """Where a title's standardized encode lives: ``<warehouse>/media/encodes/<video_id>/<version>.mp4``."""
    return f"{settings.resolved_warehouse_uri.rstrip('/')}/media/encodes/{video_id}/{version}.mp4"


def local_path(uri: str, settings: Settings) -> Path:
    """A local file for ``uri``: the file itself for ``file://``, else a cached download under ``home/cache``."""
    return localize(uri, settings.home / "cache", settings.catalog_properties)


def source_file(media: dict, settings: Settings) -> Path:
    """The title's source file: where it was ingested or, if it has been renamed or moved within the
    landing folder since, wherever the same bytes are now (found by content id; renaming changes nothing).

    Raises:
        TitleNotReady: no file with the title's content is at its recorded place or in the landing folder.
    """
    from reelhouse.pipeline.landing import scan_landing

    recorded = local_path(media["source_uri"], settings)
    if recorded.is_file():
        return recorded
    for found in scan_landing(settings.resolved_landing, settings.home / "landing-index.json"):
        if found.video_id == media["video_id"]:
            return found.path
    raise TitleNotReady(f"the source of title {media['video_id']} is gone: it was {recorded}, and no file in "
                        f"{settings.resolved_landing} has its content")


def _publish(local: Path, uri: str, settings: Settings) -> None:
    """Move a finished local encode to ``uri`` (a rename locally, an upload to object storage).

    Readers never see a partial file under the final name: across file systems (a warehouse on another
    mount) the encode is copied to a hidden temporary name beside the target, then renamed.
    """
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        target = Path(parsed.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            local.replace(target)
        except OSError as err:
            if err.errno != errno.EXDEV:
                raise
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
            try:
                shutil.copyfile(local, partial)
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)
            local.unlink()
        return
    from pyiceberg.io import load_file_io

    io = load_file_io(dict(settings.catalog_properties), uri)
    with local.open("rb") as src, io.new_output(uri).create(overwrite=True) as dst:
        shutil.copyfileobj(src, dst)
    local.unlink()


def standardize_title(settings: Settings, store: FeatureStore, video_id: str, run_id: str) -> StageOutcome:
    """Produce (or reuse) the title's standardized encode and its ``encodes`` row.

    Raises:
        TitleNotReady: if the title was never ingested or is quarantined.
    """
    from reelhouse.media.standardize import standardize

    spec = encode_spec(settings)
    slice_ = FeatureSlice(video_id, spec.name, spec.version)
    if store.has_slice("encodes", slice_):
        return StageOutcome(video_id, spec.name, spec.version, True, 0)
    media = media_row(store, video_id)
    if media is None:
        raise TitleNotReady(f"title {video_id} has not been ingested")
    if media["status"] != "ok":
        raise TitleNotReady(f"title {video_id} is quarantined ({media['error_code']}): {media['error_message']}")
    source = source_file(media, settings)
    uri = encode_uri(settings, video_id, spec.version)
    staging = settings.home / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=staging) as tmp:
        out = Path(tmp) / "encode.mp4"
        result = standardize(source, out, settings.encode)
        size = out.stat().st_size
        _publish(out, uri, settings)
    row = {
        "uri": uri,
        "width": result.width,
        "height": result.height,
        "fps": result.fps,
        "frame_count": result.frame_count,
        "duration_s": result.duration_s,
        "has_audio": result.has_audio,
        "audio_rate": result.audio_rate if result.has_audio else None,
        "size_bytes": size,
        "recipe_json": json.dumps(settings.encode.model_dump(), sort_keys=True),
    }
    write = store.replace_slice("encodes", slice_, [row], run_id)
    return StageOutcome(video_id, spec.name, spec.version, False, 1, write.snapshot_id)

