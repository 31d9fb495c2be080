"""Scenes and chapters: the grouping (``models.scenes``) on data with known groups, and the feature end to
end on a scene-structured catalog written through the real store: Spark job, Iceberg table, Dagster asset
and check, CLI, HTTP API and SQL.
"""

from __future__ import annotations

import json

import dagster as dg
import numpy as np
import pyarrow as pa
import pytest

from models.scenes import (
    Modality,
    SceneParams,
    boundary_f1,
    bridged_cuts,
    chapter_count,
    group_shots,
    optimal_partition,
    partition_into,
    shot_signal,
    starts_to_boundaries,
)
from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore, new_run_id


def _blocks(sizes: list[int], dim: int, noise: float, seed: int) -> np.ndarray:
    """Rows in consecutive blocks: each block's rows share a random unit centre, plus isotropic noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(sizes), dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = np.repeat(centres, sizes, axis=0) + noise * rng.standard_normal((sum(sizes), dim)) / np.sqrt(dim)
    return x


def _starts(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)[:-1]])


def test_optimal_partition_recovers_planted_blocks_and_one_block_stays_whole():
    sizes = [5, 3, 9, 3, 7, 4, 6]
    signal, _ = shot_signal([Modality(_blocks(sizes, 64, 0.8, seed=1))])
    assert optimal_partition(signal, penalty=0.2).tolist() == _starts(sizes).tolist()
    params = SceneParams(weights=(("visual", 1.0),))
    no_cues = np.zeros((0, 2))
    got = group_shots({"visual": Modality(_blocks(sizes, 64, 0.8, seed=1))}, np.arange(37.0), no_cues, params)
    assert got.scenes.tolist() == _starts(sizes).tolist()
    # One long scene (a single take): its shots all alike, nothing to split on.
    whole = group_shots({"visual": Modality(_blocks([30], 64, 0.8, seed=2))}, np.arange(30.0), no_cues, params)
    assert whole.scenes.tolist() == [0] and whole.chapters.tolist() == [0]
    assert optimal_partition(np.zeros((0, 4)), 1.0).tolist() == []


def test_a_cut_a_subtitle_cue_runs_across_never_starts_a_scene():
    sizes = [6, 6, 6]
    starts_s = np.arange(18, dtype=float) * 2.0  # shot k starts at 2k seconds
    cues = np.array([[11.0, 13.0]])  # runs across the cut at 12 s: shot 6, a true boundary
    assert bridged_cuts(starts_s, cues).tolist() == [i == 6 for i in range(18)]
    assert not bridged_cuts(starts_s, np.array([[11.9, 13.0]])).any()  # starts too close to the cut
    x = _blocks(sizes, 32, 0.5, seed=3)
    free = group_shots({"visual": Modality(x)}, starts_s, np.zeros((0, 2)), SceneParams(weights=(("visual", 1.0),)))
    bridged = group_shots({"visual": Modality(x)}, starts_s, cues, SceneParams(weights=(("visual", 1.0),)))
    assert free.scenes.tolist() == [0, 6, 12]
    assert 6 not in bridged.scenes.tolist() and 12 in bridged.scenes.tolist()


def test_chapters_are_exactly_k_groups_of_whole_scenes_minimizing_the_cost():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((40, 8))
    positions = np.array([0, 3, 7, 12, 20, 26, 33])
    for k in range(1, len(positions) + 1):
        got = partition_into(x, positions, k)
        assert len(got) == k and got[0] == 0 and set(got.tolist()) <= set(positions.tolist())
    # brute force: every way to pick 2 more starts among the positions
    from itertools import combinations

    def cohesion(starts):
        ends = [*starts[1:], len(x)]
        return sum(((x[a:b].sum(0) ** 2).sum() - (x[a:b] ** 2).sum()) / (b - a) for a, b in zip(starts, ends))

    best = max(([0, *c] for c in combinations(positions[1:].tolist(), 2)), key=cohesion)
    assert partition_into(x, positions, 3).tolist() == best
    with pytest.raises(ValueError):
        partition_into(x, positions, 0)


def test_chapter_count_and_boundary_f1():
    assert [chapter_count(n) for n in (1, 2, 3, 9, 20, 150, 1000)] == [1, 1, 2, 3, 4, 12, 12]
    assert boundary_f1({3, 7}, {3, 9}) == (0.5, 0.5, 0.5)
    assert boundary_f1(set(), set()) == (1.0, 1.0, 1.0)
    assert starts_to_boundaries(np.array([0, 4, 9])) == {4, 9}


def test_signal_weighs_modalities_and_ignores_absent_shots():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((10, 3)) * 100.0, rng.standard_normal((10, 5))
    present = np.arange(10) % 2 == 0
    x, weight = shot_signal([Modality(a, None, 1.0), Modality(b, present, 3.0), Modality(b, np.zeros(10, bool), 9.0)])
    assert weight == 4.0 and x.shape == (10, 8)
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0)
    assert np.allclose(x[~present, 3:], 0.0)  # absent: no pull either way
    with pytest.raises(ValueError):
        shot_signal([Modality(a), Modality(b[:4])])


# The feature end to end ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Five scene-structured titles (one without any text, one with a cue across a true scene boundary),
    then the scenes asset of one title (with its checks) and of all five as one batch."""
    from dagster_project.assets import STEP_ASSETS, titles as title_partitions
    from dagster_project.checks import TITLE_CHECKS
    from dagster_project.resources import resources_for
    from models.contextual.config import DEFAULT_MODALITY_DIMS
    from reelhouse.features.specs import subtitles_spec
    from reelhouse.lakehouse import FeatureSlice
    from reelhouse.pipeline.scenes import scene_titles
    from reelhouse.samples.scene_catalog import make_scene_catalog, write_scene_catalog

    home = tmp_path_factory.mktemp("scenes")
    settings = Settings(home=home, spark_master="local[2]")
    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    titles = make_scene_catalog(5, seed=9, dims=dict(DEFAULT_MODALITY_DIMS), shots_per_title=(20, 45))
    titles[0].text_present[:] = False
    titles[0].text[:] = 0.0
    ids = write_scene_catalog(store, settings, titles, new_run_id(), seed=9)
    # Title 1: a subtitle line runs across its first true scene boundary.
    t = titles[1]
    cut = int(np.flatnonzero(np.diff(t.scene))[0]) + 1
    at = float(np.cumsum(t.durations_s)[cut - 1])
    subs = subtitles_spec()
    store.replace_slice("subtitle_cues", FeatureSlice(ids[1], subs.name, subs.version),
                        [{"cue_index": 0, "start_s": at - 1.0, "end_s": at + 1.0, "text": "and then we left", "source": "sidecar"}],
                        new_run_id())
    [asset] = [a for a in STEP_ASSETS if dg.AssetKey("scenes") in a.keys]
    checks = [c for c in TITLE_CHECKS if any(k.asset_key == dg.AssetKey("scenes") for k in c.check_keys)]
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(title_partitions.name, ids)
    resources = resources_for(settings)
    one = dg.materialize([asset, *checks], partition_key=ids[0], resources=resources, instance=instance)
    outcomes = scene_titles(settings, store, ids, new_run_id())
    yield settings, store, ids, titles, one, outcomes, (cut, resources, instance, asset, checks)


def _scenes_metadata(result: dg.ExecuteInProcessResult) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "scenes"]
    return {k: v.value for k, v in event.materialization.metadata.items()}


@pytest.mark.slow
def test_the_asset_stores_scenes_and_chapters_that_tile_every_title(library):
    from reelhouse.features.specs import scenes_spec
    from reelhouse.search.scenes import read_scenes

    settings, store, ids, titles, one, outcomes, (cut, *_) = library
    assert one.success
    evaluations = one.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == {"scenes_tile_title", "is_current"}
    assert all(e.passed for e in evaluations), [e.description for e in evaluations]
    meta = _scenes_metadata(one)
    assert meta["feature_version"] == scenes_spec(settings).version and meta["scenes"] >= 2
    assert meta["scene_length_histogram"] and "scene_strip" not in meta  # no frames stored for generated titles
    # The batch: the first title memoized, the other four computed in one commit.
    assert [o.memoized for o in outcomes] == [True, False, False, False, False]
    assert len({o.snapshot_id for o in outcomes[1:]}) == 1
    for vid, t in zip(ids, titles):
        doc = read_scenes(store, settings, vid).as_json()
        edges = [s["start_shot"] for s in doc["scenes"]] + [t.n_shots]
        assert [s["end_shot"] for s in doc["scenes"]] == edges[1:] and edges[0] == 0
        assert all(a < b for a, b in zip(edges, edges[1:]))
        chapter_edges = {c["start_shot"] for c in doc["chapters"]}
        assert chapter_edges <= set(edges) and doc["chapters"][-1]["end_shot"] == t.n_shots
        assert len(doc["chapters"]) == chapter_count(len(doc["scenes"]))
        assert doc["scenes"][-1]["end_s"] == pytest.approx(np.cumsum(t.durations_s)[-1])
    # The generated scenes are found (benchmarks/scenes.py measures how well, against baselines).
    truth = {(v, int(i)) for v, t in zip(ids, titles) for i in np.flatnonzero(np.diff(t.scene)) + 1}
    found = {(v, s.start_shot) for v in ids for s in read_scenes(store, settings, v).scenes if s.start_shot}
    assert boundary_f1(found, truth)[2] > 0.8
    # ...but never where a subtitle line runs across the cut.
    assert (ids[1], cut) in truth and (ids[1], cut) not in found


@pytest.mark.slow
def test_rematerializing_is_memoized(library):
    settings, store, ids, _, _, _, (_, resources, instance, asset, checks) = library
    snapshot = store.snapshot_id("scenes")
    again = dg.materialize([asset, *checks], partition_key=ids[2], resources=resources, instance=instance)
    assert again.success and _scenes_metadata(again)["memoized"] and store.snapshot_id("scenes") == snapshot


@pytest.mark.slow
def test_cli_api_and_sql_give_the_same_scenes(library, monkeypatch, capsys, tmp_path):
    from fastapi.testclient import TestClient

    from reelhouse.api.app import create_app
    from reelhouse.cli import main
    from reelhouse.cli.sql import sql_text
    from reelhouse.config import get_settings
    from reelhouse.query import open_engine
    from reelhouse.search.scenes import read_scenes

    settings, store, ids, _, _, _, _ = library
    monkeypatch.setenv("REELHOUSE_HOME", str(settings.home))
    get_settings.cache_clear()
    vid = ids[1]
    assert main(["scenes", vid[:10], "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == read_scenes(store, settings, vid).as_json()
    assert doc["video_id"] == vid and set(doc["scenes"][0]) == {"scene_index", "start_shot", "end_shot", "start_s", "end_s"}
    assert main(["scenes", vid]) == 0 and f"{len(doc['scenes'])} scenes" in capsys.readouterr().out
    with TestClient(create_app(settings)) as client:
        got = client.get(f"/titles/{vid}/scenes")
        assert got.status_code == 200 and got.json() == doc
        missing = client.get("/titles/nosuchtitle/scenes")
        assert missing.status_code == 404 and "nosuchtitle" in missing.json()["detail"]
    with open_engine(settings, store.catalog) as engine:
        rows = engine.execute(sql_text("scenes_of_title"), {"title": vid}).to_pylist()
    scenes = [r for r in rows if r["level"] == "scene"]
    assert [(r["start_shot"], r["end_shot"]) for r in scenes] == [(s["start_shot"], s["end_shot"]) for s in doc["scenes"]]
    assert [r["chapter"] for r in rows if r["level"] == "chapter"] == list(range(len(doc["chapters"])))
    assert main(["scenes", "nosuchtitle", "--json"]) == 2
    assert "matches no ingested ok title" in capsys.readouterr().err
    get_settings.cache_clear()


@pytest.mark.slow
def test_a_title_lacking_an_input_fails_clearly_and_the_others_are_committed(library, monkeypatch, capsys):
    from models.contextual.config import DEFAULT_MODALITY_DIMS
    from reelhouse.cli import main
    from reelhouse.config import get_settings
    from reelhouse.features.outcome import TitleFailures
    from reelhouse.features.specs import subtitles_spec
    from reelhouse.lakehouse import FeatureSlice
    from reelhouse.pipeline.scenes import scene_titles
    from reelhouse.samples.scene_catalog import make_scene_catalog, write_scene_catalog

    settings, store, ids, _, _, _, _ = library
    new = write_scene_catalog(store, settings, make_scene_catalog(2, 77, dict(DEFAULT_MODALITY_DIMS), (10, 12)),
                              new_run_id(), seed=9, first=len(ids))
    subs = subtitles_spec()
    store.replace_slice("subtitle_cues", FeatureSlice(new[0], subs.name, subs.version), pa.table({"cue_index": pa.array([], pa.int32())}),
                        new_run_id())  # an empty table removes the slice: this title lost its cues
    with pytest.raises(TitleFailures) as err:
        scene_titles(settings, store, new, new_run_id())
    assert list(err.value.failed) == [new[0]] and "subtitles" in err.value.failed[new[0]]
    assert [o.video_id for o in err.value.outcomes] == [new[1]]
    monkeypatch.setenv("REELHOUSE_HOME", str(settings.home))
    get_settings.cache_clear()
    assert main(["scenes", new[0], "--json"]) == 2
    assert "no scenes" in capsys.readouterr().err
    assert main(["scenes", new[1], "--json"]) == 0
    capsys.readouterr()
    get_settings.cache_clear()
