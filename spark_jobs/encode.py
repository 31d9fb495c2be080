"""Spark job: the standardized encode of each title (the derivative every feature reads).

It runs on the batch runner (``spark_jobs.batch``): the executor reads its title's media row, finds the
source file (where it was ingested or, if it was renamed or moved within the landing folder since,
wherever the same bytes are now), transcodes it with the recipe (``reelhouse.media.standardize``),
publishes the file under the warehouse and returns its one ``encodes`` row. The driver commits the
batch's rows in one atomic Iceberg commit, so transcoding, the heaviest per-title work, spreads over
the cluster instead of running in the driver.

Run standalone with ``spark-submit spark_jobs/encode.py --help``.
"""

from __future__ import annotations

import errno
import json
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.features.outcome import TitleNotReady
from reelhouse.features.specs import encode_spec, media_spec
from reelhouse.lakehouse.plan import SliceInput
from reelhouse.media.location import localize
from spark_jobs.batch import TitleJob

#: The media-row columns the job reads.
MEDIA_COLUMNS = ("source_uri", "status", "error_code", "error_message")


def encode_uri(settings: Settings, video_id: str, version: str) -> str:
    """Where a title's standardized encode lives: ``<warehouse>/media/encodes/<video_id>/<version>.mp4``."""
    return f"{settings.resolved_warehouse_uri.rstrip('/')}/media/encodes/{video_id}/{version}.mp4"


def local_path(uri: str, settings: Settings) -> Path:
    """A local file for ``uri``: the file itself for ``file://``, else a cached download under ``home/cache``."""
    return localize(uri, settings.home / "cache", settings.catalog_properties)


def source_file(media: Mapping, settings: Settings) -> Path:
    """The title's source file: where it was ingested or, if it has been renamed or moved within the
    landing folder since, wherever the same bytes are now (found by content id; renaming changes nothing).

    Args:
        media: the title's media row (``video_id``, ``source_uri``).

    Raises:
        TitleNotReady: no file with the title's content is at its recorded place or in the landing folder.
    """
    from reelhouse.media.landing import scan_landing

    recorded = local_path(media["source_uri"], settings)
    if recorded.is_file():
        return recorded
    for found in scan_landing(settings.resolved_landing, settings.home / "landing-index.json"):
        if found.video_id == media["video_id"]:
            return found.path
    raise TitleNotReady(f"the source of title {media['video_id']} is gone: it was {recorded}, and no file in "
                        f"{settings.resolved_landing} has its content")


def ready_media(video_id: str, media: pa.Table) -> dict:
    """The title's media row (with ``video_id``) from its ``media`` input rows.

    Raises:
        TitleNotReady: the title was never ingested, or is quarantined.
    """
    if not media.num_rows:
        raise TitleNotReady(f"title {video_id} has not been ingested")
    row = {**media.slice(0, 1).to_pylist()[0], "video_id": video_id}
    if row["status"] != "ok":
        raise TitleNotReady(f"title {video_id} is quarantined ({row['error_code']}): {row['error_message']}")
    return row


def publish(local: Path, uri: str, settings: Settings) -> None:
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


def title_encode_row(settings: Settings, video_id: str, media: Mapping) -> pa.Table:
    """Transcode one title with the recipe, publish the file, and return its one ``encodes`` row.

    Args:
        media: the title's media row (``video_id``, ``source_uri``; status ok).

    Raises:
        TitleNotReady: its source file is gone.
        MediaError: the source cannot be transcoded.
    """
    from reelhouse.media.standardize import standardize

    spec = encode_spec(settings)
    source = source_file(media, settings)
    uri = encode_uri(settings, video_id, spec.version)
    staging = settings.home / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=staging) as tmp:
        out = Path(tmp) / "encode.mp4"
        result = standardize(source, out, settings.encode)
        size = out.stat().st_size
        publish(out, uri, settings)
    return pa.Table.from_pylist([{
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
    }])


def encode_job(settings: Settings) -> TitleJob:
    """The encode job: each title's media row in, its standardized encode (file and row) out."""
    spec, media = encode_spec(settings), media_spec()

    def compute(video_id: str, inputs: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        return {spec.name: title_encode_row(settings, video_id, ready_media(video_id, inputs["media"]))}

    return TitleJob("standardized encodes", {"media": SliceInput("media", media.name, media.version, MEDIA_COLUMNS)},
                    [spec], compute, required=("media",))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: standardized encodes of the given titles."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], encode_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
