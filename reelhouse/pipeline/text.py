"""Subtitles and the text features of a title's shots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome, TitleNotReady
from reelhouse.features.rows import media_row
from reelhouse.features.specs import subtitles_spec
from reelhouse.lakehouse import FeatureSlice, FeatureStore
from reelhouse.pipeline.encode import source_file

#: The row recording that a title has no subtitles.
NO_SUBTITLES = {"cue_index": -1, "start_s": 0.0, "end_s": 0.0, "text": "", "source": "none"}


def extract_subtitles(settings: Settings, store: FeatureStore, video_id: str, run_id: str) -> StageOutcome:
    """Store the title's subtitle cues (its ``.srt`` sidecar, else its embedded text subtitles); memoized.

    A title without subtitles stores one marker row (``cue_index = -1``, ``source = 'none'``), so the
    answer "no subtitles" is memoized like any other instead of being looked for again every run.

    Raises:
        TitleNotReady: if the title was never ingested or is quarantined.
    """
    from reelhouse.media.subtitles import read_embedded_subtitles, read_srt

    spec = subtitles_spec()
    slice_ = FeatureSlice(video_id, spec.name, spec.version)
    if store.has_slice("subtitle_cues", slice_):
        return StageOutcome(video_id, spec.name, spec.version, True, 0)
    media = media_row(store, video_id)
    if media is None or media["status"] != "ok":
        raise TitleNotReady(f"title {video_id} is not ingested or is quarantined")
    cues, source = [], "sidecar"
    video = source_file(media, settings)
    sidecar = Path(unquote(urlparse(media["subtitle_uri"]).path)) if media.get("subtitle_uri") else None
    if sidecar is not None and not sidecar.is_file():  # renamed with its video: same stem, next to it
        sidecar = video.with_suffix(".srt") if video.with_suffix(".srt").is_file() else None
    if sidecar is not None:
        cues = read_srt(sidecar)
    if not cues:
        cues, source = read_embedded_subtitles(video), "embedded"
    rows = [{"cue_index": i, "start_s": c.start_s, "end_s": c.end_s, "text": c.text, "source": source}
            for i, c in enumerate(cues)] or [NO_SUBTITLES]
    write = store.replace_slice("subtitle_cues", slice_, rows, run_id)
    return StageOutcome(video_id, spec.name, spec.version, False, len(cues), write.snapshot_id)


def embed_text_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Text embeddings of titles that lack the current version (one batch: one Spark job, one commit).

    Raises:
        TitleFailures: naming the titles that failed, after the others were committed.
    """
    from spark_jobs.batch import compute_titles
    from spark_jobs.session import get_spark
    from spark_jobs.text_embeddings import text_job

    return compute_titles(lambda: get_spark(settings.spark_master, settings.spark_conf), store, text_job(settings),
                          video_ids, run_id)
