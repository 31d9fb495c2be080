"""``reelhouse backfill``: compute one feature for every title, through Dagster.

For each ``ok`` title, the runs cover the feature and whichever of its upstream features the title
lacks at their current versions (``reelhouse.features.coverage``); titles already holding the
feature's current version are reported as memoized and start no run. Runs execute in this process
against the persistent Dagster instance, so they appear in the UI like any other run, one run per
batch of up to ``backfill_chunk_titles`` consecutive title partitions (``dagster_project.batches``);
each step of a run is one Spark job and one commit per table for its batch.

The contextual embeddings (``contextual``) are catalog-wide: one run of that asset embeds
every eligible title lacking the current encoder's version, in chunks of ``backfill_chunk_titles``
titles with one commit each, so a killed backfill resumes after its last committed chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from dagster_project.assets import CONTEXTUAL_ASSETS, TAG_ASSETS, TITLE_ASSETS, asset_keys_for, titles
from dagster_project.batches import title_batches
from dagster_project.checks import TITLE_CHECKS
from dagster_project.library_run import QUIET, first_failure
from dagster_project.resources import resources_for
from dagster_project.run_liveness import instance_for_new_runs, launcher_tags
from reelhouse.config import Settings
from reelhouse.features import FeatureSpec, coverage, registry, specs
from reelhouse.features.model_registry import NoContextualModel, current_model_config
from reelhouse.features.tag_models import current_tags
from reelhouse.pipeline import contextual
from reelhouse.pipeline.tags import tag_todo


class BackfillError(ValueError):
    """The backfill cannot run as asked (unknown feature, a version this code does not compute)."""


@dataclass
class BackfillReport:
    """What a backfill did: the feature and version, and the titles computed, memoized or failed."""

    feature: str
    version: str
    computed: dict[str, list[str]] = field(default_factory=dict)  # video_id -> asset keys materialized
    memoized: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def resolve_feature(settings: Settings, name: str, version: str | None = None) -> FeatureSpec:
    """The per-title feature named ``name`` (its name is also its asset key), checked against ``version``.

    Raises:
        BackfillError: unknown name, or ``version`` is not the version this code computes.
    """
    try:
        spec = coverage.feature_spec(settings, name)
    except KeyError as err:
        catalog = [f.name for f in registry.FEATURES if f.scope == "catalog"]
        raise BackfillError(f"{err.args[0]}, {', '.join(catalog)}") from None
    if version is not None and version != spec.version:
        raise BackfillError(f"{spec.name} is at version {spec.version} in this code and settings; version {version} "
                            "is computed by other code or settings (check out that code, or leave --version out)")
    return spec


def backfill_feature(settings: Settings, name: str, version: str | None = None, video_ids: Sequence[str] | None = None,
                     dry_run: bool = False, progress: Callable[[str], None] = print) -> BackfillReport:
    """Compute feature ``name`` (and its missing upstream features) for every ``ok`` title, or ``video_ids``."""
    if name == specs.contextual_spec(settings).name:
        return backfill_contextual(settings, version, video_ids, dry_run, progress)
    if name == specs.tags_spec(settings).name:
        return backfill_tags(settings, version, video_ids, dry_run, progress)
    spec = resolve_feature(settings, name, version)
    instance = instance_for_new_runs(settings, progress)
    resources = resources_for(settings)
    store = resources["reelhouse"].store()
    store.ensure_tables()
    ok = coverage.ok_titles(store)
    if video_ids is not None:
        unknown = sorted(set(video_ids) - set(ok))
        if unknown:
            raise BackfillError(f"not an ingested ok title: {', '.join(unknown)}")
        ok = sorted(set(video_ids))
    lineage = [s.name for s in spec.lineage() if s.name != "media"]
    todo = coverage.todo_by_title(store, settings, ok, features=lineage)
    report = BackfillReport(spec.name, spec.version, memoized=[v for v in ok if spec.name not in todo.get(v, [])])
    todo = {v: f for v, f in todo.items() if spec.name in f}
    progress(f"{spec.name}@{spec.version}: {len(ok)} title(s), {len(report.memoized)} already current, {len(todo)} to compute")
    new = [v for v in todo if not instance.has_dynamic_partition(titles.name, v)]
    if new and not dry_run:
        instance.add_dynamic_partitions(titles.name, new)
    partitions = instance.get_dynamic_partitions(titles.name) if not dry_run else \
        [*instance.get_dynamic_partitions(titles.name), *new]
    batches = title_batches(partitions, todo, settings.backfill_chunk_titles)
    for n, batch in enumerate(batches, 1):
        keys = asset_keys_for(list(batch.features))
        for vid in batch.titles:
            report.computed[vid] = [k.to_user_string() for k in keys]
        progress(f"[{n}/{len(batches)}] {len(batch.titles)} title(s) from {batch.titles[0][:12]}: "
                 f"{', '.join(k.to_user_string() for k in keys)}")
        if dry_run:
            continue
        key, tags = batch.run_target()
        res = dg.materialize([*TITLE_ASSETS, *TITLE_CHECKS], selection=keys, partition_key=key, instance=instance,
                             resources=resources, run_config=QUIET, raise_on_error=False,
                             tags={**tags, "reelhouse/backfill": f"{spec.name}@{spec.version}", **launcher_tags()})
        if not res.success:
            why = first_failure(res)
            left = [v for v, f in coverage.todo_by_title(store, settings, list(batch.titles), features=lineage).items()
                    if spec.name in f]
            for vid in left:
                report.failed[vid] = why
            progress(f"  failed ({len(left)} of {len(batch.titles)} title(s)): {why}")
    return report


def backfill_contextual(settings: Settings, version: str | None = None, video_ids: Sequence[str] | None = None,
                        dry_run: bool = False, progress: Callable[[str], None] = print) -> BackfillReport:
    """Embed every eligible title lacking the current contextual encoder's embeddings, in one run of the
    ``contextual`` asset (chunked: see the module docstring).

    Raises:
        BackfillError: no encoder is trained yet, ``version`` is not the current encoder's, or titles were
            named (the contextual embeddings are backfilled for the whole catalog).
    """
    if video_ids is not None:
        raise BackfillError("contextual embeddings are backfilled for the whole catalog; leave --titles out")
    try:
        current, _config = current_model_config(settings)
    except NoContextualModel as err:
        raise BackfillError(str(err)) from None
    spec = specs.contextual_spec(settings, current.content_version)
    if version is not None and version != spec.version:
        raise BackfillError(f"{spec.name} is at version {spec.version} (the current encoder); version {version} "
                            "belongs to another encoder (make it current first, or leave --version out)")
    return _backfill_catalog_feature(settings, spec, CONTEXTUAL_ASSETS, contextual.embedding_todo, dry_run, progress)


def backfill_tags(settings: Settings, version: str | None = None, video_ids: Sequence[str] | None = None,
                  dry_run: bool = False, progress: Callable[[str], None] = print) -> BackfillReport:
    """Score every eligible title lacking the current tag probes' scores, in one run of the ``tags`` asset.

    Raises:
        BackfillError: no probes are trained yet (``reelhouse tags train``), ``version`` is not the current
            probes', or titles were named (tags are backfilled for the whole catalog).
    """
    if video_ids is not None:
        raise BackfillError("tags are backfilled for the whole catalog; leave --titles out")
    current = current_tags(settings)
    if current is None:
        raise BackfillError("no tag probes are trained yet: run `reelhouse tags train LABELS.csv`")
    spec = specs.tags_spec(settings, current.content_version)
    if version is not None and version != spec.version:
        raise BackfillError(f"{spec.name} is at version {spec.version} (the current probes); version {version} "
                            "belongs to other probes (train them again, or leave --version out)")
    return _backfill_catalog_feature(settings, spec, TAG_ASSETS, tag_todo, dry_run, progress)


def _backfill_catalog_feature(settings: Settings, spec: FeatureSpec, assets: Sequence, todo_of: Callable,
                              dry_run: bool, progress: Callable[[str], None]) -> BackfillReport:
    """Compute a catalog-wide feature (its asset, among ``assets``, named ``spec.name``) for every eligible title
    lacking ``spec``'s version, in one run; ``todo_of(store, settings)`` is ``(done, todo)`` titles."""
    instance = instance_for_new_runs(settings, progress)
    resources = resources_for(settings)
    store = resources["reelhouse"].store()
    done, todo = todo_of(store, settings)
    report = BackfillReport(spec.name, spec.version, computed={v: [spec.name] for v in todo}, memoized=done)
    progress(f"{spec.name}@{spec.version}: {len(done) + len(todo)} eligible title(s), {len(done)} already current, "
             f"{len(todo)} to compute in chunks of {settings.backfill_chunk_titles}")
    if dry_run or not todo:
        return report
    res = dg.materialize(assets, selection=[dg.AssetKey(spec.name)], instance=instance,
                         resources=resources, run_config=QUIET, raise_on_error=False,
                         tags={"reelhouse/backfill": f"{spec.name}@{spec.version}", **launcher_tags()})
    _done, missing = todo_of(store, settings)
    why = "run failed" if res.success else first_failure(res)
    report.failed = {v: why for v in missing}
    return report
