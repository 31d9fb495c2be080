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

from dagster_project import metadata
from dagster_project.instance import SPARK_POOL
from dagster_project.metadata import match_cut_preview, outcome_metadata, training_metadata
from dagster_project.resources import ReelhouseResource
from models.tags import ALGORITHM_VERSION as TAGS_ALGORITHM_VERSION
from reelhouse.config import Settings
from reelhouse.features import FeatureSpec, registry, specs
from reelhouse.features.outcome import StageOutcome, TitleFailures
from reelhouse.features.model_registry import NoContextualModel
from reelhouse.features.tag_models import NoTagProbes
from reelhouse.features.rows import media_rows
from reelhouse.lakehouse.title_reads import BatchReads, TitleReads, in_chunks
from reelhouse.media import landing
from reelhouse.pipeline import contextual, match_cuts, media, tags
from reelhouse.search import ann

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


def _report(reads: TitleReads, spec: FeatureSpec, outcome: StageOutcome, t0: float, extra=None) -> dict:
    meta = outcome_metadata(reads, spec, outcome, time.perf_counter() - t0)
    if extra is not None:
        meta.update(extra(reads, spec, outcome.video_id))
    return meta


@dg.asset(name="media", partitions_def=titles, group_name=registry.feature("media").group, kinds=set(registry.feature("media").kinds),
          code_version=specs.media_spec().version)
def media_file(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource):
    """Probe and validate the title's source file. A bad file is quarantined: its row records the
    reason, and the step fails with that reason so nothing downstream runs for it. A run over a batch
    of titles probes each one and fails at the end naming the quarantined ones."""
    settings, store = reelhouse.settings(), reelhouse.store()
    keys = list(context.partition_keys)
    rows = media_rows(store, keys)  # already ingested (by an earlier run or `reelhouse ingest`): memoized
    metas, bad = {}, {}
    new = [vid for vid in keys if vid not in rows]
    if new:
        scanned = {f.video_id: f.path for f in landing.scan_landing(settings.resolved_landing,
                                                                     settings.home / "landing-index.json")}
        bad.update({vid: f"no file with content id {vid} in {settings.resolved_landing}" for vid in new if vid not in scanned})
        found = [vid for vid in new if vid in scanned]
        media.ingest_files(store, [scanned[vid] for vid in found], context.run.run_id, found)  # one commit
        rows.update(media_rows(store, found))
    for vid in keys:
        if vid not in rows:
            continue
        row = rows[vid]
        meta = {"path": row["source_uri"], "status": row["status"], "memoized": vid not in new, "duration_s": row["duration_s"],
                "fps": row["fps"], "video_codec": row["video_codec"], "width": row["display_width"],
                "height": row["display_height"]}
        metas[vid] = {k: v for k, v in meta.items() if v is not None}
        if row["status"] != "ok":
            bad[vid] = f"quarantined: {row['error_code']}: {row['error_message']}"
    if len(keys) == 1 and bad:
        meta = metas.get(keys[0], {})
        raise dg.Failure(bad[keys[0]], metadata={**meta, "error": bad[keys[0]]} if meta else None, allow_retries=False)
    if bad:
        raise dg.Failure(f"{len(bad)} of {len(keys)} title(s) not ingested: " + "; ".join(f"{v}: {e}" for v, e in bad.items()),
                         metadata={"failed_titles": dg.MetadataValue.json(bad)}, allow_retries=False)
    if len(keys) == 1:
        yield dg.MaterializeResult(metadata=metas[keys[0]])
        return
    yield dg.MaterializeResult(metadata={"titles": len(keys), "memoized": all(m["memoized"] for m in metas.values())})
    for vid, meta in metas.items():  # after the output: each title's latest materialization is its own
        context.log_event(dg.AssetMaterialization("media", partition=vid, metadata=meta))


def _title_step(features: list[registry.Feature]) -> dg.AssetsDefinition:
    """The asset of one per-title step of the registry: one asset per feature it computes, in one op
    (a step computing several features computes them together: they cannot be subset)."""
    first = features[0]

    def asset_spec(f: registry.Feature) -> dg.AssetSpec:
        spec = f.spec(_S)
        return dg.AssetSpec(f.name, deps=[u.name for u in spec.upstream], kinds=set(f.kinds), group_name=f.group,
                            code_version=spec.version, description=f.description, automation_condition=FEATURE_AUTOMATION)

    @dg.multi_asset(name="_".join(f.name for f in features), partitions_def=titles, can_subset=False,
                    pool=SPARK_POOL if first.heavy else None, specs=[asset_spec(f) for f in features],
                    backfill_policy=TITLE_BACKFILL_POLICY,
                    description=first.description if len(features) == 1 else
                    "Computed together: " + "; ".join(f"{f.name}: {f.description}" for f in features))
    def _step(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource):
        t0, settings, store = time.perf_counter(), reelhouse.settings(), reelhouse.store()
        by_name = {f.name: f for f in features}
        keys = list(context.partition_keys)  # one title, or a batch of them (a partition range)
        try:
            outcomes = list(first.compute()(settings, store, keys, context.run.run_id))
        except TitleFailures as exc:  # the other titles are committed; the run fails naming these
            raise dg.Failure(str(exc), metadata={"failed_titles": dg.MetadataValue.json(exc.failed),
                                                 "titles_committed": len({o.video_id for o in exc.outcomes})}) from None
        if len(keys) == 1:
            for out in outcomes:
                f = by_name[out.feature]
                extra = getattr(metadata, f.picture) if f.picture else None
                yield dg.MaterializeResult(asset_key=f.name, metadata=_report(store, f.spec(settings), out, t0, extra))
            return
        # A batch: the run's output records the batch's totals on every partition of the range; then each
        # title's own materialization (rows, version, snapshot, picture) is logged on its partition, so the
        # latest materialization of every title shows that title.
        for f in features:
            yield dg.MaterializeResult(asset_key=f.name, metadata=metadata.batch_metadata(
                store, f.spec(settings), [o for o in outcomes if o.feature == f.name], time.perf_counter() - t0))
        by_title: dict[str, list[StageOutcome]] = {}
        for out in outcomes:
            by_title.setdefault(out.video_id, []).append(out)
        for chunk in in_chunks(list(by_title)):  # each table read once per chunk of titles
            reads = BatchReads(store, chunk)
            for out in (o for vid in chunk for o in by_title[vid]):
                f = by_name[out.feature]
                extra = getattr(metadata, f.picture) if f.picture else None
                context.log_event(dg.AssetMaterialization(f.name, partition=out.video_id,
                                                          metadata=_report(reads, f.spec(settings), out, t0, extra)))

    return _step


#: A backfill launched from the UI runs its titles in batches (one run per batch of partitions).
TITLE_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(_S.backfill_chunk_titles)

#: One asset definition per per-title step of the registry (``media`` aside: the landing sensor's).
STEP_ASSETS = [_title_step(features) for features in registry.steps().values()]


@dg.asset(deps=["visual"], group_name="serving", kinds={"faiss"}, automation_condition=INDEX_AUTOMATION)
def visual_shot_index(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """faiss index over visual shot embeddings, built from the current Iceberg snapshot (reloaded if already built)."""
    t0, settings = time.perf_counter(), reelhouse.settings()
    index, built = ann.load_or_build(reelhouse.store(), reelhouse.index_root(), specs.visual_spec(settings))
    return dg.MaterializeResult(metadata={"vectors": len(index), "kind": index.kind, "rebuilt": built,
                                          "memoized": not built, "compute_s": round(time.perf_counter() - t0, 3),
                                          "feature_version": index.feature_version,
                                          "iceberg_snapshot_id": dg.MetadataValue.text(str(index.snapshot_id))})


def _contextual_code_version() -> str:
    from models.contextual.config import ALGORITHM_VERSION
    from reelhouse.features import params_hash

    return f"{ALGORITHM_VERSION}-{params_hash(_S.contextual.model_dump())}"


#: The contextual encoder's inputs (registry ``Search.modality``).
MODALITY_ASSETS = list(registry.modalities())


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


@dg.asset(name="contextual", deps=[contextual_model, *MODALITY_ASSETS], group_name=registry.feature("contextual").group,
          kinds=set(registry.feature("contextual").kinds), code_version=_contextual_code_version(),
          automation_condition=INDEX_AUTOMATION, pool=SPARK_POOL, output_required=False)
def contextual_embeddings(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource):
    """Contextual shot embeddings (Spark pandas UDF, one title per group) of every title holding visual,
    audio and text embeddings, from the current contextual_model; a new model re-embeds every title.
    Skipped (not failed) while no model is trained."""
    t0, settings, store = time.perf_counter(), reelhouse.settings(), reelhouse.store()
    try:
        outcomes = contextual.embed_catalog(settings, store, context.run.run_id, progress=context.log.info)
    except NoContextualModel as exc:
        context.log.warning(str(exc))
        return
    spec = specs.contextual_spec(settings)
    yield dg.MaterializeResult(metadata={"model": spec.params["model"], **metadata.catalog_feature_metadata(
        store, spec, outcomes, time.perf_counter() - t0, "titles_embedded")})


#: Features with a catalog-wide faiss index besides the visual one (registry ``searchable``).
FLAVOR_INDEX_FEATURES = {name: spec_of for name, spec_of in registry.searchable().items() if name != "visual"}


@dg.asset(deps=list(FLAVOR_INDEX_FEATURES), group_name="serving", kinds={"faiss"}, automation_condition=INDEX_AUTOMATION)
def flavor_shot_indexes(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """faiss indexes over every searchable shot embedding of the registry but visual (its own asset), each built
    from the current Iceberg snapshot (reloaded if already built): similar-shot and subtitle search per modality."""
    t0, settings, store = time.perf_counter(), reelhouse.settings(), reelhouse.store()
    meta: dict = {}
    for name, spec_of in FLAVOR_INDEX_FEATURES.items():
        try:
            index, built = ann.load_or_build(store, reelhouse.index_root(), spec_of(settings))
        except LookupError:  # no vectors of this modality yet (e.g. every shot silent)
            meta[f"{name}_vectors"] = 0
            continue
        meta[f"{name}_vectors"], meta[f"{name}_kind"], meta[f"{name}_rebuilt"] = len(index), index.kind, built
    meta["compute_s"] = round(time.perf_counter() - t0, 3)
    meta["iceberg_snapshot_id"] = dg.MetadataValue.text(str(store.snapshot_id("shot_embeddings")))
    return dg.MaterializeResult(metadata=meta)


def _match_cuts_version() -> str:
    from reelhouse.features import params_hash

    return params_hash({f: specs.match_cuts_spec(_S, f).version for f in registry.flavors()
                        if f not in registry.trained()})


@dg.asset(deps=list(registry.flavors()), group_name="serving",
          kinds={"faiss", "iceberg"}, code_version=_match_cuts_version(), automation_condition=INDEX_AUTOMATION, pool=SPARK_POOL)
def match_cut_candidates(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource) -> dg.MaterializeResult:
    """Each shot's top match-cut candidates per flavor (visual, layout, colour, audio, contextual) over the whole
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


@dg.asset(deps=MODALITY_ASSETS, group_name=registry.feature("tags").group, kinds={"scikit-learn"},
          code_version=TAGS_ALGORITHM_VERSION, output_required=False)
def tag_probes(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource):
    """One probe per tag, trained on the team's label set (``reelhouse tags train LABELS.csv``) over the labelled
    titles' visual, audio and text embeddings; memoized on the labels' digest and the embedding versions. Skipped
    (not failed) while no label set is installed."""
    t0 = time.perf_counter()
    try:
        out = tags.train_tag_probes(reelhouse.settings(), reelhouse.store(), progress=context.log.info)
    except tags.NoLabels as exc:
        context.log.warning(str(exc))
        return
    except tags.LabelError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    yield dg.MaterializeResult(metadata=metadata.tag_training_metadata(out, time.perf_counter() - t0))


@dg.asset(name="tags", deps=[tag_probes, *MODALITY_ASSETS], group_name=registry.feature("tags").group,
          kinds=set(registry.feature("tags").kinds), code_version=TAGS_ALGORITHM_VERSION,
          automation_condition=INDEX_AUTOMATION, output_required=False)
def tag_scores(context: dg.AssetExecutionContext, reelhouse: ReelhouseResource):
    """Every eligible title's shots scored by the current tag probes (table ``shot_tags``: one row per shot and
    tag); titles already holding the current probes' scores are skipped. Skipped while no probes are trained."""
    t0, settings, store = time.perf_counter(), reelhouse.settings(), reelhouse.store()
    try:
        outcomes = tags.score_titles(settings, store, context.run.run_id, progress=context.log.info)
    except NoTagProbes as exc:
        context.log.warning(str(exc))
        return
    spec = specs.tags_spec(settings)
    yield dg.MaterializeResult(metadata={"probes": spec.params["probes"], **metadata.catalog_feature_metadata(
        store, spec, outcomes, time.perf_counter() - t0, "titles_scored"), **metadata.tag_top_shots(store, settings)})


TITLE_ASSETS = [media_file, *STEP_ASSETS]
CONTEXTUAL_ASSETS = [contextual_model, contextual_embeddings]
TAG_ASSETS = [tag_probes, tag_scores]
CATALOG_ASSETS = [*CONTEXTUAL_ASSETS, visual_shot_index, flavor_shot_indexes, match_cut_candidates, *TAG_ASSETS]


def asset_keys_for(features) -> list[dg.AssetKey]:
    """The asset keys computing ``features`` (feature names = asset keys), with the features their
    steps compute together added (``registry.computed_together``), sorted."""
    keys = set(features)
    for name in features:
        if registry.feature(name).step is not None:
            keys |= {f.name for f in registry.computed_together(name)}
    return [dg.AssetKey(k) for k in sorted(keys)]
