"""The feature mesh as software-defined assets, partitioned by title (content id).

(No ``from __future__ import annotations`` here: Dagster inspects the context type hint at runtime.)

Assets stay thin: unwrap the partition key, call the feature computation in ``reelhouse.pipeline``,
and report what it did (``dagster_project.metadata``). Each asset's code version is its feature
version, so bumping a feature's version shows it and everything downstream as changed in the UI.

Automation (``FEATURE_AUTOMATION``) on every derived asset: a partition is requested when an upstream
partition updates, when it goes missing, or after its code version changes (a bumped feature version),
never while an upstream is missing or in progress. ``media`` itself is driven by the landing sensor.
Every step that runs Spark or a model is in the ``spark`` concurrency pool.
"""

import time

import dagster as dg

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.pipeline import audio, contextual, dedup, encode, landing, match_cuts, media, shot_frames, shots, specs, text, visual
from reelhouse.pipeline.outcome import StageOutcome
from reelhouse.search import ann

from dagster_project.instance import SPARK_POOL
from dagster_project.metadata import match_cut_preview, outcome_metadata, shot_frames_metadata, shots_metadata, training_metadata
from dagster_project.resources import ReelhouseResource

titles = dg.DynamicPartitionsDefinition(name="titles")

_S = Settings()  # code versions only; runtime settings come from the resource

FEATURE_AUTOMATION = (
    dg.AutomationCondition.eager()
    | (
        dg.AutomationCondition.code_version_changed().since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("feature version bumped")
)

#: The catalog-wide index depends on every title's partition; a quarantined title's partitions stay
#: missing forever, so unlike ``eager()`` this does not wait for missing upstream partitions.
INDEX_AUTOMATION = (
    (dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()).since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("index follows its embeddings")


def _report(reelhouse: ReelhouseResource, spec: FeatureSpec, outcome: StageOutcome, t0: float, extra=None) -> dict:
    store = reelhouse.store()
    meta = outcome_metadata(store, spec, outcome, time.perf_counter() - t0)
    if extra is not None:
        meta.update(extra(store, spec, outcome.video_id))
    return meta


@dg.asset(name="media", partitions_def=titles, group_name="media", kinds={"pyav", "iceberg"}, code_version=specs.media_spec().version)
def media_file(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Probe and validate the title's source file. A bad file is quarantined: its row records the
    reason, and the step fails with that reason so nothing downstream runs for it."""
    settings, store = reelhouse.settings(), reelhouse.store()
    vid = context.partition_key
    row = media.media_row(store, vid)  # already ingested (by an earlier run or `reelhouse ingest`)
    memoized = row is not None
    if row is None:
        found = [f for f in landing.scan_landing(settings.resolved_landing, settings.home / "landing-index.json")
                 if f.video_id == vid]
        if not found:
            raise dg.Failure(f"no file with content id {vid} in {settings.resolved_landing}")
        media.ingest_file(store, found[0].path, context.run.run_id, video_id=vid)
        row = media.media_row(store, vid)
    meta = {"path": row["source_uri"], "status": row["status"], "memoized": memoized, "duration_s": row["duration_s"],
            "fps": row["fps"], "video_codec": row["video_codec"], "width": row["display_width"], "height": row["display_height"]}
    meta = {k: v for k, v in meta.items() if v is not None}
    if row["status"] != "ok":
        raise dg.Failure(f"quarantined: {row['error_code']}: {row['error_message']}",
                         metadata={**meta, "error": row["error_message"] or ""}, allow_retries=False)
    return dg.MaterializeResult(metadata=meta)


@dg.asset(partitions_def=titles, deps=[media_file], group_name="media", kinds={"pyav", "iceberg"},
          code_version=specs.encode_spec(_S).version, automation_condition=FEATURE_AUTOMATION, pool=SPARK_POOL)
def standardized_encode(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Fixed-height, constant-fps yuv420p H.264 encode with mono audio: what every feature reads."""
    t0, settings = time.perf_counter(), reelhouse.settings()
    out = encode.standardize_title(settings, reelhouse.store(), context.partition_key, context.run.run_id)
    return dg.MaterializeResult(metadata=_report(reelhouse, specs.encode_spec(settings), out, t0))


@dg.asset(name="shots", partitions_def=titles, deps=[standardized_encode], group_name="shots",
          kinds={"spark", "pytorch", "iceberg"}, code_version=specs.shots_spec(_S).version,
          automation_condition=FEATURE_AUTOMATION, pool=SPARK_POOL)
def shot_segments(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Canonical shot segmentation: [start, end) frames of the standardized encode, with transition types."""
    t0, settings = time.perf_counter(), reelhouse.settings()
    out = shots.segment_title(settings, reelhouse.store(), context.partition_key, context.run.run_id)
    return dg.MaterializeResult(metadata=_report(reelhouse, specs.shots_spec(settings), out, t0, shots_metadata))


@dg.asset(name="shot_frames", partitions_def=titles, deps=[shot_segments], group_name="shots", kinds={"spark", "iceberg"},
          code_version=specs.shot_frames_spec(_S).version, automation_condition=FEATURE_AUTOMATION, pool=SPARK_POOL)
def representative_frames(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Representative frames per shot, skipping black, blurred and flash frames, with JPEG thumbnails."""
    t0, settings = time.perf_counter(), reelhouse.settings()
    [out] = shot_frames.select_shot_frames(settings, reelhouse.store(), [context.partition_key], context.run.run_id)
    return dg.MaterializeResult(metadata=_report(reelhouse, specs.shot_frames_spec(settings), out, t0, shot_frames_metadata))


def _spec_asset(key: str, spec: FeatureSpec, deps, kinds: set[str], description: str) -> dg.AssetSpec:
    return dg.AssetSpec(key, deps=deps, kinds=kinds, code_version=spec.version, description=description,
                        automation_condition=FEATURE_AUTOMATION)


#: Asset key of each feature a multi-asset computes.
VISUAL_KEYS = {specs.visual_spec(_S).name: "visual_embeddings", specs.colour_spec(_S).name: "colour_descriptors",
               specs.layout_spec(_S).name: "layout_descriptors"}
AUDIO_KEYS = {specs.audio_spec(_S).name: "audio_embeddings", specs.speech_spec(_S).name: "shot_audio"}


@dg.multi_asset(
    partitions_def=titles,
    group_name="embeddings",
    can_subset=False,
    pool=SPARK_POOL,
    specs=[
        _spec_asset("visual_embeddings", specs.visual_spec(_S), [representative_frames], {"spark", "pytorch", "iceberg"},
                    "EfficientNet-Lite0 shot embeddings (1280-d, L2-normalized), from a Spark pandas UDF."),
        _spec_asset("colour_descriptors", specs.colour_spec(_S), [representative_frames], {"spark", "iceberg"},
                    "HSV colour histogram per shot: the colour match-cut flavor."),
        _spec_asset("layout_descriptors", specs.layout_spec(_S), [representative_frames], {"spark", "iceberg"},
                    "Low-resolution edge layout per shot: the framing match-cut flavor."),
    ],
)
def visual_features(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource):
    """Visual shot features from one decode of each shot's representative frames."""
    t0, settings = time.perf_counter(), reelhouse.settings()
    by_name = {s.name: s for s in specs.visual_feature_specs(settings)}
    for out in visual.embed_titles(settings, reelhouse.store(), [context.partition_key], context.run.run_id):
        yield dg.MaterializeResult(asset_key=VISUAL_KEYS[out.feature], metadata=_report(reelhouse, by_name[out.feature], out, t0))


@dg.multi_asset(
    partitions_def=titles,
    group_name="embeddings",
    can_subset=False,
    pool=SPARK_POOL,
    specs=[
        _spec_asset("audio_embeddings", specs.audio_spec(_S), [shot_segments], {"spark", "pytorch", "iceberg"},
                    "aisfx sound embeddings per shot (512-d; null for silent shots)."),
        _spec_asset("shot_audio", specs.speech_spec(_S), [shot_segments], {"spark", "pytorch", "iceberg"},
                    "Speech ratio (silero-vad), loudness and silence per shot."),
    ],
)
def audio_features(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource):
    """Audio shot features from one streaming pass over the encode's mono track."""
    t0, settings = time.perf_counter(), reelhouse.settings()
    by_name = {s.name: s for s in (specs.audio_spec(settings), specs.speech_spec(settings))}
    for out in audio.audio_titles(settings, reelhouse.store(), [context.partition_key], context.run.run_id):
        yield dg.MaterializeResult(asset_key=AUDIO_KEYS[out.feature], metadata=_report(reelhouse, by_name[out.feature], out, t0))


@dg.asset(partitions_def=titles, deps=[media_file], group_name="media", kinds={"iceberg"},
          code_version=specs.subtitles_spec().version, automation_condition=FEATURE_AUTOMATION)
def subtitles(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Subtitle cues from the title's .srt sidecar, else its embedded text subtitle stream."""
    t0 = time.perf_counter()
    out = text.extract_subtitles(reelhouse.settings(), reelhouse.store(), context.partition_key, context.run.run_id)
    return dg.MaterializeResult(metadata=_report(reelhouse, specs.subtitles_spec(), out, t0))


@dg.asset(partitions_def=titles, deps=[shot_segments, subtitles], group_name="embeddings",
          kinds={"spark", "pytorch", "iceberg"}, code_version=specs.text_spec(_S).version,
          automation_condition=FEATURE_AUTOMATION, pool=SPARK_POOL)
def text_embeddings(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """MiniLM embeddings of the subtitle text overlapping each shot; null when a shot has no text."""
    t0, settings = time.perf_counter(), reelhouse.settings()
    [out] = text.embed_text_titles(settings, reelhouse.store(), [context.partition_key], context.run.run_id)
    return dg.MaterializeResult(metadata=_report(reelhouse, specs.text_spec(settings), out, t0))


@dg.asset(partitions_def=titles, deps=["visual_embeddings"], group_name="embeddings", kinds={"iceberg"},
          code_version=specs.dedup_spec(_S).version, automation_condition=FEATURE_AUTOMATION)
def shot_dedup(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Near-duplicate shot groups (cosine of visual embeddings over a threshold); the earliest shot is kept."""
    t0, settings = time.perf_counter(), reelhouse.settings()
    out = dedup.dedup_title(settings, reelhouse.store(), context.partition_key, context.run.run_id)
    return dg.MaterializeResult(metadata=_report(reelhouse, specs.dedup_spec(settings), out, t0))


@dg.asset(deps=["visual_embeddings"], group_name="serving", kinds={"faiss"}, automation_condition=INDEX_AUTOMATION)
def visual_shot_index(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """faiss index over visual shot embeddings, built from the current Iceberg snapshot (reloaded if already built)."""
    t0, settings = time.perf_counter(), reelhouse.settings()
    index, built = ann.load_or_build(reelhouse.store(), reelhouse.index_root(), specs.visual_spec(settings).name)
    return dg.MaterializeResult(metadata={"vectors": len(index), "kind": index.kind, "rebuilt": built,
                                          "memoized": not built, "compute_s": round(time.perf_counter() - t0, 3),
                                          "iceberg_snapshot_id": dg.MetadataValue.text(str(index.snapshot_id))})


def _contextual_code_version() -> str:
    from models.contextual.config import ALGORITHM_VERSION
    from reelhouse.features import params_hash

    return f"{ALGORITHM_VERSION}-{params_hash(_S.contextual.model_dump())}"


MODALITY_ASSETS = ["visual_embeddings", "audio_embeddings", "text_embeddings"]


@dg.asset(deps=MODALITY_ASSETS, group_name="contextual", kinds={"pytorch"}, code_version=_contextual_code_version(),
          pool=SPARK_POOL)
def contextual_model(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """MediaFM-style contextual shot encoder trained on the catalog by masked shot modelling: a
    transformer over each title's shots, fusing their visual, audio and text embeddings. The artifact
    (weights, config, the Iceberg snapshots it read) is versioned by content; memoized on config and data.
    Retrained weekly (``weekly_contextual_training``) or when materialized here."""
    t0, settings = time.perf_counter(), reelhouse.settings()

    def log_step(step: int, loss: float) -> None:
        if step == 1 or step % 50 == 0:
            context.log.info(f"step {step}: masked-shot loss {loss:.4f}")

    try:
        out = contextual.train_catalog_model(settings, reelhouse.store(), on_step=log_step)
    except contextual.NoTrainingData as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    return dg.MaterializeResult(metadata=training_metadata(out, time.perf_counter() - t0))


@dg.asset(deps=[contextual_model, *MODALITY_ASSETS], group_name="contextual", kinds={"spark", "pytorch", "iceberg"},
          code_version=_contextual_code_version(), automation_condition=INDEX_AUTOMATION, pool=SPARK_POOL,
          output_required=False)
def contextual_embeddings(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource):
    """Contextual shot embeddings (Spark pandas UDF, one title per group) of every title holding visual,
    audio and text embeddings, from the current contextual_model; a new model re-embeds every title.
    Skipped (not failed) while no model is trained."""
    t0, settings, store = time.perf_counter(), reelhouse.settings(), reelhouse.store()
    try:
        outcomes = contextual.embed_catalog(settings, store, context.run.run_id, progress=context.log.info)
    except contextual.NoContextualModel as exc:
        context.log.warning(str(exc))
        return
    spec = specs.contextual_spec(settings)
    computed = [o for o in outcomes if not o.memoized]
    yield dg.MaterializeResult(metadata={
        "feature": spec.name, "feature_version": spec.version, "model": spec.params["model"],
        "titles": len(outcomes), "titles_embedded": len(computed), "memoized": not computed,
        "rows_written": sum(o.rows for o in computed), "compute_s": round(time.perf_counter() - t0, 3),
        "iceberg_snapshot_id": dg.MetadataValue.text(str(store.snapshot_id("shot_embeddings"))),
    })


#: Features with a catalog-wide faiss index besides the visual one (one index per modality and flavor).
FLAVOR_INDEX_FEATURES = {"colour_descriptors": specs.colour_spec, "layout_descriptors": specs.layout_spec,
                         "audio_embeddings": specs.audio_spec, "text_embeddings": specs.text_spec,
                         "contextual_embeddings": specs.contextual_spec}


@dg.asset(deps=list(FLAVOR_INDEX_FEATURES), group_name="serving", kinds={"faiss"}, automation_condition=INDEX_AUTOMATION)
def flavor_shot_indexes(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """faiss indexes over the colour, layout, audio, text and contextual shot embeddings, each built from the current
    Iceberg snapshot (reloaded if already built): similar-shot and subtitle search per modality."""
    t0, settings, store = time.perf_counter(), reelhouse.settings(), reelhouse.store()
    meta: dict = {}
    for asset_key, spec_of in FLAVOR_INDEX_FEATURES.items():
        try:
            index, built = ann.load_or_build(store, reelhouse.index_root(), spec_of(settings).name)
        except LookupError:  # no vectors of this modality yet (e.g. every shot silent)
            meta[f"{asset_key}_vectors"] = 0
            continue
        meta[f"{asset_key}_vectors"], meta[f"{asset_key}_kind"], meta[f"{asset_key}_rebuilt"] = len(index), index.kind, built
    meta["compute_s"] = round(time.perf_counter() - t0, 3)
    meta["iceberg_snapshot_id"] = dg.MetadataValue.text(str(store.snapshot_id("shot_embeddings")))
    return dg.MaterializeResult(metadata=meta)


def _match_cuts_version() -> str:
    from reelhouse.features import params_hash

    return params_hash({f: specs.match_cuts_spec(_S, f).version for f in specs.MATCH_CUT_FLAVORS
                        if f not in specs.TRAINED_FLAVORS})


@dg.asset(deps=["visual_embeddings", "colour_descriptors", "layout_descriptors", "audio_embeddings", "contextual_embeddings"],
          group_name="serving",
          kinds={"faiss", "iceberg"}, code_version=_match_cuts_version(), automation_condition=INDEX_AUTOMATION, pool=SPARK_POOL)
def match_cut_candidates(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Each shot's top match-cut candidates per flavor (framing, layout, colour, audio, contextual) over the whole
    catalog, stored in the ``match_cuts`` table; recomputed when ``shot_embeddings`` moves on."""
    t0, settings, store = time.perf_counter(), reelhouse.settings(), reelhouse.store()
    outcomes = match_cuts.store_match_cuts(settings, store, context.run.run_id)
    meta = {"memoized": all(o.memoized for o in outcomes), "compute_s": round(time.perf_counter() - t0, 3),
            "source_snapshot_id": dg.MetadataValue.text(str(outcomes[0].source_snapshot_id)) if outcomes else "",
            "iceberg_snapshot_id": dg.MetadataValue.text(str(store.snapshot_id("match_cuts")))}
    for o in outcomes:
        meta[f"{o.flavor}_rows"] = o.rows
        meta[f"{o.flavor}_version"] = o.feature_version
    meta.update(match_cut_preview(store, settings))
    return dg.MaterializeResult(metadata=meta)


TITLE_ASSETS = [media_file, standardized_encode, shot_segments, representative_frames, visual_features, shot_dedup,
                audio_features, subtitles, text_embeddings]
CONTEXTUAL_ASSETS = [contextual_model, contextual_embeddings]
CATALOG_ASSETS = [*CONTEXTUAL_ASSETS, visual_shot_index, flavor_shot_indexes, match_cut_candidates]

#: Asset key of every per-title feature (feature name -> asset key).
FEATURE_ASSET_KEYS = {
    specs.media_spec().name: "media", specs.encode_spec(_S).name: "standardized_encode",
    specs.shots_spec(_S).name: "shots", specs.shot_frames_spec(_S).name: "shot_frames",
    **VISUAL_KEYS, **AUDIO_KEYS, specs.subtitles_spec().name: "subtitles",
    specs.text_spec(_S).name: "text_embeddings", specs.dedup_spec(_S).name: "shot_dedup",
}

#: Assets computed together (non-subsettable multi-assets): selecting one selects them all.
_TOGETHER = [set(VISUAL_KEYS.values()), set(AUDIO_KEYS.values())]


def asset_keys_for(features) -> list[dg.AssetKey]:
    """The asset keys computing ``features`` (feature names), with multi-asset siblings added, sorted."""
    keys = {FEATURE_ASSET_KEYS[f] for f in features}
    for group in _TOGETHER:
        if keys & group:
            keys |= group
    return [dg.AssetKey(k) for k in sorted(keys)]
