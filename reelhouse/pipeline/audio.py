"""The audio features of a title's shots: sound embeddings and speech ratio (one Spark job)."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome, split_memoized
from reelhouse.features.rows import encoded_shots
from reelhouse.features.specs import audio_spec, shot_audio_spec
from reelhouse.lakehouse import FeatureStore


def audio_shots(store: FeatureStore, settings: Settings, video_ids: Sequence[str]) -> list:
    """The current shots of ``video_ids`` with their encode's URI, for the Spark job.

    Raises:
        TitleNotReady: if a title has no encode or no shots yet.
    """
    from spark_jobs.audio_features import AudioShot

    out = []
    for vid in video_ids:
        enc, shots = encoded_shots(store, settings, vid)
        out.extend(AudioShot(vid, enc["uri"], bool(enc["has_audio"]), s["shot_index"], s["start_s"], s["end_s"]) for s in shots)
    return out


def audio_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Compute the audio features of titles missing either of them. Returns one outcome per (title, feature)."""
    from spark_jobs.audio_features import run_audio_features
    from spark_jobs.session import get_spark

    emb, speech = audio_spec(settings), shot_audio_spec(settings)
    outcomes, todo = split_memoized(store, [emb, speech], video_ids)
    if not todo:
        return outcomes
    shots = audio_shots(store, settings, todo)
    spark = get_spark(settings.spark_master, settings.spark_conf)
    results = run_audio_features(spark, store, shots, (emb.name, emb.version), (speech.name, speech.version), run_id,
                                 settings.device, dict(settings.catalog_properties))
    count = {v: sum(s.video_id == v for s in shots) for v in todo}
    outcomes += [StageOutcome(v, f.name, f.version, False, count[v], results[f.table].snapshot_id)
                 for v in todo for f in (emb, speech)]
    return outcomes
