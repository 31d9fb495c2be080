"""Spark job: each title's subtitle cues, from its ``.srt`` sidecar, else its embedded text subtitle stream.

It runs on the batch runner (``spark_jobs.batch``): the executor reads its title's media row, finds the
source file and the sidecar (a sidecar renamed or moved with its video is found next to it: same stem),
reads the cues and writes the title's slice; the driver commits the batch in one atomic Iceberg commit.

A title without subtitles stores one marker row (``NO_SUBTITLES``: ``cue_index = -1``, ``source =
'none'``), so the answer "no subtitles" is memoized like any other instead of looked for every run.

Run standalone with ``spark-submit spark_jobs/subtitles.py --help``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.features.specs import media_spec, subtitles_spec
from reelhouse.lakehouse.plan import SliceInput
from spark_jobs.batch import TitleJob
from spark_jobs.encode import MEDIA_COLUMNS, ready_media, source_file

#: The row recording that a title has no subtitles.
NO_SUBTITLES = {"cue_index": -1, "start_s": 0.0, "end_s": 0.0, "text": "", "source": "none"}


def title_cue_rows(settings: Settings, media: Mapping) -> pa.Table:
    """The ``subtitle_cues`` rows of one title (seconds ``[start_s, end_s)``), or the no-subtitles marker.

    Args:
        media: the title's media row (``video_id``, ``source_uri``, ``subtitle_uri``; status ok).

    Raises:
        TitleNotReady: its source file is gone.
        MediaError: the source cannot be opened.
    """
    from reelhouse.media.subtitles import read_embedded_subtitles, read_srt

    cues, source = [], "sidecar"
    video = source_file(media, settings)
    sidecar = Path(unquote(urlparse(media["subtitle_uri"]).path)) if media.get("subtitle_uri") else None
    if sidecar is not None and not sidecar.is_file():  # renamed with its video: same stem, next to it
        sidecar = video.with_suffix(".srt") if video.with_suffix(".srt").is_file() else None
    if sidecar is not None:
        cues = read_srt(sidecar)
    if not cues:
        cues, source = read_embedded_subtitles(video), "embedded"
    return pa.Table.from_pylist([{"cue_index": i, "start_s": c.start_s, "end_s": c.end_s, "text": c.text, "source": source}
                                 for i, c in enumerate(cues)] or [NO_SUBTITLES])


def subtitles_job(settings: Settings) -> TitleJob:
    """The subtitles job: each title's media row in, its subtitle cues out."""
    spec, media = subtitles_spec(), media_spec()

    def compute(video_id: str, inputs: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        return {spec.name: title_cue_rows(settings, ready_media(video_id, inputs["media"]))}

    return TitleJob("subtitle cues", {"media": SliceInput("media", media.name, media.version, (*MEDIA_COLUMNS, "subtitle_uri"))},
                    [spec], compute, required=("media",))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: subtitle cues of the given titles."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], subtitles_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
