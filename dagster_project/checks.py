"""Asset checks of the feature mesh: thin Dagster wrappers over ``reelhouse.quality``.

(No ``from __future__ import annotations`` here: Dagster inspects the context and resource type hints
at runtime.)

Per-title checks are partitioned like their assets (``partitions_def=titles`` on each
``AssetCheckSpec``), so each evaluation is recorded for its title and the partition key (the
video_id) comes from ``context.partition_key``. A run over a batch of titles (a partition range)
evaluates every title and records one evaluation per check naming the titles that fail it (Dagster
1.13 records a range's evaluation without a partition). Each asset's checks run together in one
``multi_asset_check`` step; materializing the asset and its checks for a partition in one run
(``dg.materialize([*assets, *TITLE_CHECKS], partition_key=video_id)``) executes them right after the
asset. Integrity checks (tiling, rows, dimensions and norms, null-vs-flag) fail with severity ERROR;
the tiling and frame checks block downstream assets, since every shot feature is computed from them.
Freshness checks warn.
"""

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dagster as dg

from dagster_project.assets import titles
from dagster_project.resources import ReelhouseResource
from reelhouse.config import Settings
from reelhouse.features import FeatureSpec, registry, specs
from reelhouse.lakehouse.title_reads import BatchReads, TitleReads, in_chunks
from reelhouse.quality import checks as q

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN

SpecOf = Callable[[Settings], FeatureSpec]


@dataclass(frozen=True)
class TitleCheck:
    """One per-title check: its name, what it verifies, and how to run it for ``(store, settings, video_id)``."""

    name: str
    description: str
    run: Callable[[TitleReads, Settings, str], q.CheckResult]
    severity: dg.AssetCheckSeverity = ERROR
    blocking: bool = False


def _result(asset: str, check_name: str, result: q.CheckResult, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(asset_key=asset, check_name=check_name, passed=result.passed, severity=severity,
                               description=result.description, metadata=result.metadata)


def _spec(asset: str, check: TitleCheck) -> dg.AssetCheckSpec:
    with warnings.catch_warnings():
        # Partitioned asset checks are a preview feature in Dagster 1.13; used deliberately, so that each
        # title's evaluation is recorded under its own partition.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(check.name, asset=asset, description=check.description, blocking=check.blocking,
                                 partitions_def=titles)


def title_checks(asset: str, checks: Sequence[TitleCheck]) -> dg.AssetChecksDefinition:
    """One step running ``checks`` of a per-title ``asset`` for the run's partition (video_id)."""

    @dg.multi_asset_check(name=f"{asset}_checks", specs=[_spec(asset, c) for c in checks],
                          description=f"Data-quality checks of {asset} for one title.")
    def _checks(context: dg.AssetCheckExecutionContext, reelhouse: ReelhouseResource):
        settings, store = reelhouse.settings(), reelhouse.store()
        keys = list(context.partition_keys)
        if len(keys) == 1:
            for c in checks:
                yield _result(asset, c.name, c.run(store, settings, keys[0]), c.severity)
            return
        # A batch run (a partition range): every title is checked, reading each table once per chunk of
        # titles (BatchReads); one evaluation per check covers them all, naming the titles that fail.
        results: dict[str, dict[str, q.CheckResult]] = {c.name: {} for c in checks}
        for chunk in in_chunks(keys):
            reads = BatchReads(store, chunk)
            for c in checks:
                results[c.name].update({vid: c.run(reads, settings, vid) for vid in chunk})
        for c in checks:
            failing = {vid: r.description for vid, r in results[c.name].items() if not r.passed}
            description = (f"all {len(keys)} titles pass" if not failing else
                           f"{len(failing)} of {len(keys)} titles fail: " + "; ".join(f"{v}: {d}" for v, d in failing.items()))
            yield dg.AssetCheckResult(asset_key=asset, check_name=c.name, passed=not failing, severity=c.severity,
                                      description=description,
                                      metadata={"titles": len(keys), "failing_titles": dg.MetadataValue.json(failing)})

    return _checks


def is_current(spec_of: SpecOf) -> TitleCheck:
    return TitleCheck("is_current", "The title holds the feature at the version the code is at now.",
                      lambda store, s, vid: q.feature_is_current(store, vid, spec_of(s)), severity=WARN)


def one_row_per_shot(spec_of: SpecOf) -> TitleCheck:
    return TitleCheck("one_row_per_shot", "Exactly one row for each of the title's current shots.",
                      lambda store, s, vid: q.one_row_per_shot(store, s, vid, spec_of(s)))


def dims_and_norms(spec_of: SpecOf) -> TitleCheck:
    return TitleCheck("dims_and_norms", "Every vector has the model's dimension, finite values and unit L2 norm; "
                      "absent vectors are stored as the feature's contract says.",
                      lambda store, s, vid: q.embedding_dims_and_norms(store, vid, q.embedding_contracts(s)[spec_of(s).name]))


TILES_TITLE = TitleCheck("tiles_title", "Shots [start, end) tile the standardized encode: indexes 0..n-1, "
                         "no gap, no overlap, from frame 0 to the encode's last frame.",
                         lambda store, s, vid: q.shots_tile_title(store, s, vid), blocking=True)
FRAMES_INSIDE_SHOTS = TitleCheck("frames_inside_shots", "Every shot has representative frames ranked 1..k, "
                                 "each inside the shot.",
                                 lambda store, s, vid: q.frames_inside_shots(store, s, vid), blocking=True)
SCENES_TILE_TITLE = TitleCheck("scenes_tile_title", "Scenes, and chapters, each tile the title's shots [0, n) in order "
                               "with their shots' times; every chapter is a run of whole scenes.",
                               lambda store, s, vid: q.scenes_tile_title(store, s, vid), blocking=True)
ARTWORK_FRAMES_USABLE = TitleCheck("artwork_frames_usable", "Artwork candidates are usable representative frames "
                                   "(not black, blurred or a flash), clear of transitions, each frame once.",
                                   lambda store, s, vid: q.artwork_frames_usable(store, s, vid), blocking=True)
BOXES_IN_FRAME = TitleCheck("boxes_in_frame", "Every representative frame has regions rows: boxes inside the frame in "
                            "normalized coordinates, or one 'none' row.",
                            lambda store, s, vid: q.regions_in_frame(store, s, vid), blocking=True)
NULL_IFF_SILENT = TitleCheck("null_iff_silent", "Audio embeddings are null exactly for the shots shot_audio marks silent.",
                             lambda store, s, vid: q.audio_null_iff_silent(store, s, vid))
NULL_IFF_NO_SUBTITLE_TEXT = TitleCheck("null_iff_no_subtitle_text", "Text embeddings are null exactly for the shots "
                                       "no subtitle text overlaps.",
                                       lambda store, s, vid: q.text_null_iff_no_subtitle_text(store, s, vid))


#: Per-title checks by the names the registry's declarations use (``registry.Feature.checks``):
#: each builds the check of one feature from its spec function.
TITLE_CHECK_KINDS: dict[str, Callable[[SpecOf], TitleCheck]] = {
    "is_current": is_current,
    "one_row_per_shot": one_row_per_shot,
    "dims_and_norms": dims_and_norms,
    "tiles_title": lambda spec_of: TILES_TITLE,
    "frames_inside_shots": lambda spec_of: FRAMES_INSIDE_SHOTS,
    "null_iff_silent": lambda spec_of: NULL_IFF_SILENT,
    "scenes_tile_title": lambda spec_of: SCENES_TILE_TITLE,
    "artwork_frames_usable": lambda spec_of: ARTWORK_FRAMES_USABLE,
    "boxes_in_frame": lambda spec_of: BOXES_IN_FRAME,
    "null_iff_no_subtitle_text": lambda spec_of: NULL_IFF_NO_SUBTITLE_TEXT,
}

#: Checks of the per-title assets (partition key = video_id), as the registry declares them;
#: materialize them with those assets.
TITLE_CHECKS = [title_checks(f.name, [TITLE_CHECK_KINDS[c](f.spec) for c in f.checks])
                for f in registry.title_features() if f.checks]


@dg.asset_check(asset="visual_shot_index", name="index_is_current",
                description="The persisted faiss index holds the visual feature's current version and was built "
                            "from the current shot_embeddings snapshot.")
def visual_shot_index_is_current(reelhouse: ReelhouseResource) -> dg.AssetCheckResult:
    spec = specs.visual_spec(reelhouse.settings())
    return _result("visual_shot_index", "index_is_current",
                   q.ann_index_is_current(reelhouse.index_root(), reelhouse.store(), spec), WARN)


@dg.asset_check(asset="contextual", name="every_shot_embedded",
                description="Every title with visual, audio and text embeddings holds the current encoder's "
                            "embeddings: one unit vector per current shot.")
def contextual_embeddings_complete(reelhouse: ReelhouseResource) -> dg.AssetCheckResult:
    return _result("contextual", "every_shot_embedded",
                   q.contextual_embeddings_complete(reelhouse.store(), reelhouse.settings()), ERROR)


@dg.asset_check(asset="tags", name="every_shot_scored",
                description="Every title with visual, audio and text embeddings holds the current tag probes' scores: "
                            "one row per current shot and tag, each score in [0, 1]. Passes while no probes are trained.")
def tags_complete(reelhouse: ReelhouseResource) -> dg.AssetCheckResult:
    return _result("tags", "every_shot_scored", q.tags_complete(reelhouse.store(), reelhouse.settings()), ERROR)


#: Checks of the catalog-wide assets; materialize them with those assets.
CATALOG_CHECKS = [visual_shot_index_is_current, contextual_embeddings_complete, tags_complete]

ASSET_CHECKS = [*TITLE_CHECKS, *CATALOG_CHECKS]
