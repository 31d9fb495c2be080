"""Declarative automation of the feature mesh, evaluated by Dagster's own evaluator on a real instance.

Materializations are reported to the instance as a run would report them; the code-version bump is
the real asset graph with one asset's code version changed, as a new feature version would change it.
"""

from __future__ import annotations

import dagster as dg

from dagster_project.assets import CATALOG_ASSETS, TITLE_ASSETS, titles
from dagster_project.resources import default_resources

PER_TITLE = dg.AssetSelection.assets(*TITLE_ASSETS)


def _downstream_of(name: str) -> list[str]:
    """The per-title features computed from ``name`` (itself included), from the registry's specs."""
    from reelhouse.config import Settings
    from reelhouse.features import registry

    def reaches(spec) -> bool:
        return spec.name == name or any(reaches(u) for u in spec.upstream)

    return [f.name for f in registry.title_features() if reaches(f.spec(Settings()))]


#: Every per-title feature the landing sensor's media materialization leads to.
DERIVED = [n for n in _downstream_of("media") if n != "media"]


def _requested(result) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in result.results:
        if r.true_subset.size:
            out[r.key.to_user_string()] = set(r.true_subset.expensively_compute_partition_keys())
    return out


def _materialize(instance: dg.DagsterInstance, keys, partition: str) -> None:
    for k in keys:
        instance.report_runless_asset_event(dg.AssetMaterialization(k, partition=partition))


def _defs(assets) -> dg.Definitions:
    return dg.Definitions(assets=assets, resources=default_resources())


def _bump(assets, key: str, version: str):
    return dg.map_asset_specs(
        lambda spec: spec.replace_attributes(code_version=version) if spec.key == dg.AssetKey(key) else spec, assets)


DOWNSTREAM_OF_SHOTS = _downstream_of("shots")


def test_a_landed_title_gets_every_derived_feature_requested_in_one_tick():
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(titles.name, ["t1", "t2"])
    assets = _defs([*TITLE_ASSETS, *CATALOG_ASSETS])

    first = dg.evaluate_automation_conditions(defs=assets, instance=instance, asset_selection=PER_TITLE)
    assert _requested(first) == {}  # no media yet: nothing can run

    _materialize(instance, ["media"], "t1")
    second = dg.evaluate_automation_conditions(defs=assets, instance=instance, asset_selection=PER_TITLE, cursor=first.cursor)
    assert _requested(second) == {k: {"t1"} for k in DERIVED}  # the whole chain, for t1 only

    # The requested run materializes the title; nothing is requested again.
    _materialize(instance, DERIVED, "t1")
    third = dg.evaluate_automation_conditions(defs=assets, instance=instance, asset_selection=PER_TITLE, cursor=second.cursor)
    assert _requested(third) == {}


def test_a_bumped_feature_version_refills_that_feature_and_everything_downstream():
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(titles.name, ["t1", "t2"])
    assets = _defs([*TITLE_ASSETS, *CATALOG_ASSETS])
    for t in ("t1", "t2"):
        _materialize(instance, ["media", *DERIVED], t)
    settled = dg.evaluate_automation_conditions(defs=assets, instance=instance, asset_selection=PER_TITLE)
    settled = dg.evaluate_automation_conditions(defs=assets, instance=instance, asset_selection=PER_TITLE, cursor=settled.cursor)
    assert _requested(settled) == {}

    bumped = _defs(_bump([*TITLE_ASSETS, *CATALOG_ASSETS], "shots", "999-bumped"))
    tick = dg.evaluate_automation_conditions(defs=bumped, instance=instance, asset_selection=PER_TITLE, cursor=settled.cursor)
    # shots and everything computed from it, for every title; the encode and subtitles are untouched.
    assert _requested(tick) == {k: {"t1", "t2"} for k in DOWNSTREAM_OF_SHOTS}

    _materialize(instance, DOWNSTREAM_OF_SHOTS, "t1")  # t1's run finishes; t2's is still to come
    tick = dg.evaluate_automation_conditions(defs=bumped, instance=instance, asset_selection=PER_TITLE, cursor=tick.cursor)
    assert _requested(tick) == {}  # requested once: not again while t2's run is queued
    _materialize(instance, DOWNSTREAM_OF_SHOTS, "t2")
    tick = dg.evaluate_automation_conditions(defs=bumped, instance=instance, asset_selection=PER_TITLE, cursor=tick.cursor)
    assert _requested(tick) == {}


def test_without_changes_repeated_ticks_request_nothing():
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(titles.name, ["t1"])
    assets = _defs([*TITLE_ASSETS, *CATALOG_ASSETS])
    _materialize(instance, ["media", *DERIVED], "t1")
    tick = dg.evaluate_automation_conditions(defs=assets, instance=instance, asset_selection=PER_TITLE)
    for _ in range(2):
        tick = dg.evaluate_automation_conditions(defs=assets, instance=instance, asset_selection=PER_TITLE, cursor=tick.cursor)
        assert _requested(tick) == {}


def test_the_index_follows_new_embeddings_even_when_a_quarantined_title_never_has_any():
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(titles.name, ["good", "quarantined"])
    assets = _defs([*TITLE_ASSETS, *CATALOG_ASSETS])
    index = dg.AssetSelection.assets(*CATALOG_ASSETS)
    _materialize(instance, ["media", *DERIVED], "good")  # "quarantined" failed its media step: nothing else exists
    _materialize(instance, ["contextual", "visual_shot_index", "match_cut_candidates", "tags"], None)
    tick = dg.evaluate_automation_conditions(defs=assets, instance=instance, asset_selection=index)
    tick = dg.evaluate_automation_conditions(defs=assets, instance=instance, asset_selection=index, cursor=tick.cursor)
    assert _requested(tick) == {}

    _materialize(instance, ["visual"], "good")  # new embeddings for one title
    tick = dg.evaluate_automation_conditions(defs=assets, instance=instance, asset_selection=index, cursor=tick.cursor)
    # The contextual embeddings follow too (the new title's, with the current encoder), and so the
    # flavor indexes over them; so does tag scoring (the title's shots, with the current probes).
    assert (sorted(r.key.to_user_string() for r in tick.results if r.true_subset.size)
            == ["contextual", "flavor_shot_indexes", "match_cut_candidates", "tags", "visual_shot_index"])
