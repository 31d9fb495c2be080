"""The feature mesh as software-defined assets, partitioned by title (content id).

(No ``from __future__ import annotations`` here: Dagster inspects the context type hint at runtime.)

Assets stay thin: unwrap the partition key, call the feature computation in ``reelhouse.pipeline``,
and report what it did. Each asset's code version is its feature version.
"""


import dagster as dg

from reelhouse.config import Settings
from reelhouse.pipeline import audio, dedup, encode, landing, media, shot_frames, shots, specs, text, visual
from reelhouse.search import ann

from dagster_project.resources import ReelhouseResource

titles = dg.DynamicPartitionsDefinition(name="titles")

_S = Settings()  # code versions only; runtime settings come from the resource


def _outcome_metadata(outcome) -> dict:
    return {
        "memoized": outcome.memoized,
        "rows": outcome.rows,
        "feature_version": outcome.feature_version,
        "iceberg_snapshot_id": dg.MetadataValue.text(str(outcome.snapshot_id)) if outcome.snapshot_id else None,
    }


@dg.asset(name="media", partitions_def=titles, group_name="media", kinds={"pyav", "iceberg"}, code_version=specs.media_spec().version)
def media_file(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Probe and validate the title's source file; bad files are quarantined with a reason."""
    settings, store = reelhouse.settings(), reelhouse.store()
    vid = context.partition_key
    row = media.media_row(store, vid)  # already ingested (by an earlier run or `reelhouse ingest`)
    if row is not None:
        return dg.MaterializeResult(metadata={"path": row["source_uri"], "status": row["status"],
                                              "error": row["error_message"] or "", "memoized": True})
    found = [f for f in landing.scan_landing(settings.resolved_landing, settings.home / "landing-index.json")
             if f.video_id == vid]
    if not found:
        raise dg.Failure(f"no file with content id {vid} in {settings.resolved_landing}")
    result = media.ingest_file(store, found[0].path, context.run.run_id, video_id=vid)
    return dg.MaterializeResult(metadata={"path": str(found[0].path), "status": result.status,
                                          "error": result.error or "", "memoized": result.memoized})


@dg.asset(partitions_def=titles, deps=[media_file], group_name="media", kinds={"pyav", "iceberg"},
          code_version=specs.encode_spec(_S).version)
def standardized_encode(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Fixed-height, constant-fps yuv420p H.264 encode with mono audio: what every feature reads."""
    out = encode.standardize_title(reelhouse.settings(), reelhouse.store(), context.partition_key, context.run.run_id)
    return dg.MaterializeResult(metadata=_outcome_metadata(out))


@dg.asset(name="shots", partitions_def=titles, deps=[standardized_encode], group_name="shots",
          kinds={"spark", "pytorch", "iceberg"},
          code_version=specs.shots_spec(_S).version)
def shot_segments(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Canonical shot segmentation: [start, end) frames of the standardized encode, with transition types."""
    out = shots.segment_title(reelhouse.settings(), reelhouse.store(), context.partition_key, context.run.run_id)
    return dg.MaterializeResult(metadata=_outcome_metadata(out))


@dg.asset(name="shot_frames", partitions_def=titles, deps=[shot_segments], group_name="shots", kinds={"spark", "iceberg"},
          code_version=specs.shot_frames_spec(_S).version)
def representative_frames(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Representative frames per shot, skipping black, blurred and flash frames, with JPEG thumbnails."""
    [out] = shot_frames.select_shot_frames(reelhouse.settings(), reelhouse.store(), [context.partition_key], context.run.run_id)
    return dg.MaterializeResult(metadata=_outcome_metadata(out))


@dg.multi_asset(
    partitions_def=titles,
    group_name="embeddings",
    can_subset=False,
    specs=[
        dg.AssetSpec("visual_embeddings", deps=[representative_frames], kinds={"spark", "pytorch", "iceberg"},
                     code_version=specs.visual_spec(_S).version,
                     description="EfficientNet-Lite0 shot embeddings (1280-d, L2-normalized), from a Spark pandas UDF."),
        dg.AssetSpec("colour_descriptors", deps=[representative_frames], kinds={"spark", "iceberg"},
                     code_version=specs.colour_spec(_S).version,
                     description="HSV colour histogram per shot: the colour match-cut flavor."),
        dg.AssetSpec("layout_descriptors", deps=[representative_frames], kinds={"spark", "iceberg"},
                     code_version=specs.layout_spec(_S).version,
                     description="Low-resolution edge layout per shot: the framing match-cut flavor."),
    ],
)
def visual_features(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource):
    """Visual shot features from one decode of each shot's representative frames."""
    outcomes = visual.embed_titles(reelhouse.settings(), reelhouse.store(), [context.partition_key], context.run.run_id)
    keys = {"visual_efficientnet_lite0": "visual_embeddings", "colour_hsv_histogram": "colour_descriptors",
            "layout_sobel_16x9": "layout_descriptors"}
    for out in outcomes:
        yield dg.MaterializeResult(asset_key=keys[out.feature], metadata=_outcome_metadata(out))


@dg.multi_asset(
    partitions_def=titles,
    group_name="embeddings",
    can_subset=False,
    specs=[
        dg.AssetSpec("audio_embeddings", deps=[shot_segments], kinds={"spark", "pytorch", "iceberg"},
                     code_version=specs.audio_spec(_S).version,
                     description="aisfx sound embeddings per shot (512-d; null for silent shots)."),
        dg.AssetSpec("shot_audio", deps=[shot_segments], kinds={"spark", "pytorch", "iceberg"},
                     code_version=specs.speech_spec(_S).version,
                     description="Speech ratio (silero-vad), loudness and silence per shot."),
    ],
)
def audio_features(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource):
    """Audio shot features from one streaming pass over the encode's mono track."""
    keys = {specs.audio_spec(_S).name: "audio_embeddings", specs.speech_spec(_S).name: "shot_audio"}
    for out in audio.audio_titles(reelhouse.settings(), reelhouse.store(), [context.partition_key], context.run.run_id):
        yield dg.MaterializeResult(asset_key=keys[out.feature], metadata=_outcome_metadata(out))


@dg.asset(partitions_def=titles, deps=[media_file], group_name="media", kinds={"iceberg"},
          code_version=specs.subtitles_spec().version)
def subtitles(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Subtitle cues from the title's .srt sidecar, else its embedded text subtitle stream."""
    out = text.extract_subtitles(reelhouse.settings(), reelhouse.store(), context.partition_key, context.run.run_id)
    return dg.MaterializeResult(metadata=_outcome_metadata(out))


@dg.asset(partitions_def=titles, deps=[shot_segments, subtitles], group_name="embeddings",
          kinds={"spark", "pytorch", "iceberg"}, code_version=specs.text_spec(_S).version)
def text_embeddings(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """MiniLM embeddings of the subtitle text overlapping each shot; null when a shot has no text."""
    [out] = text.embed_text_titles(reelhouse.settings(), reelhouse.store(), [context.partition_key], context.run.run_id)
    return dg.MaterializeResult(metadata=_outcome_metadata(out))


@dg.asset(partitions_def=titles, deps=["visual_embeddings"], group_name="embeddings", kinds={"iceberg"},
          code_version=specs.dedup_spec(_S).version)
def shot_dedup(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Near-duplicate shot groups (cosine of visual embeddings over a threshold); the earliest shot is kept."""
    out = dedup.dedup_title(reelhouse.settings(), reelhouse.store(), context.partition_key, context.run.run_id)
    return dg.MaterializeResult(metadata=_outcome_metadata(out))


@dg.asset(deps=["visual_embeddings"], group_name="serving", kinds={"faiss"})
def visual_shot_index(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """faiss index over visual shot embeddings, built from the current Iceberg snapshot."""
    settings = reelhouse.settings()
    index, built = ann.load_or_build(reelhouse.store(), settings.index_root, specs.visual_spec(settings).name)
    return dg.MaterializeResult(metadata={"vectors": len(index), "kind": index.kind, "rebuilt": built,
                                          "iceberg_snapshot_id": dg.MetadataValue.text(str(index.snapshot_id))})


TITLE_ASSETS = [media_file, standardized_encode, shot_segments, representative_frames, visual_features, shot_dedup,
                audio_features, subtitles, text_embeddings]
CATALOG_ASSETS = [visual_shot_index]
