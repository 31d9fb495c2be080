"""The contextual encoder as platform features: trained by a Dagster asset on the catalog, embedded by
the Spark pandas UDF into Iceberg, served by ``reelhouse similar --embedding contextual`` and as a
match-cut flavor.

The catalog is generated with latent scene structure (``reelhouse.samples.scene_catalog``) and written
through the real feature store under the pipeline's own feature names and versions, so training and
inference read it exactly as they would read a catalog of real titles (no video decoding needed).
"""

from __future__ import annotations

import json

import dagster as dg
import numpy as np
import pytest
from pyiceberg.expressions import And, EqualTo

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore, new_run_id

pytestmark = pytest.mark.slow

STEPS = 25


def _materialize(settings: Settings, *assets, instance=None):
    from dagster_project.checks import CATALOG_CHECKS
    from dagster_project.resources import resources_for

    checks = [c for c in CATALOG_CHECKS if any(k.asset_key in {a.key for a in assets} for k in c.check_keys)]
    return dg.materialize([*assets, *checks], resources=resources_for(settings),
                          instance=instance or dg.DagsterInstance.ephemeral())


def _metadata(result: dg.ExecuteInProcessResult, key: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _point_cli_at(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from reelhouse.config import get_settings

    monkeypatch.setenv("REELHOUSE_HOME", str(settings.home))
    monkeypatch.setenv("REELHOUSE_CONTEXTUAL__OVERRIDES", json.dumps({"steps": STEPS}))
    get_settings.cache_clear()


def _contextual_rows(store: FeatureStore, settings: Settings) -> dict[tuple[str, int], np.ndarray]:
    from reelhouse.features.specs import contextual_spec

    spec = contextual_spec(settings)
    rows = store.read("shot_embeddings", And(EqualTo("feature", spec.name), EqualTo("feature_version", spec.version)),
                      selected_fields=("video_id", "shot_index", "embedding")).to_pylist()
    return {(r["video_id"], r["shot_index"]): np.asarray(r["embedding"], dtype=np.float32) for r in rows}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """Eight scene-structured titles (one with no audio at all, one without any text), then both assets."""
    from models.contextual.config import DEFAULT_MODALITY_DIMS
    from reelhouse.samples.scene_catalog import make_scene_catalog, write_scene_catalog

    home = tmp_path_factory.mktemp("contextual")
    mp = pytest.MonkeyPatch()
    mp.setenv("REELHOUSE_HOME", str(home))
    mp.setenv("REELHOUSE_CONTEXTUAL__OVERRIDES", json.dumps({"steps": STEPS}))
    from reelhouse.config import get_settings

    get_settings.cache_clear()
    settings = Settings(home=home, spark_master="local[2]")
    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    titles = make_scene_catalog(8, seed=5, dims=dict(DEFAULT_MODALITY_DIMS), shots_per_title=(16, 40))
    titles[0].audio_present[:] = False
    titles[0].audio[:] = 0.0
    titles[1].text_present[:] = False
    titles[1].text[:] = 0.0
    ids = write_scene_catalog(store, settings, titles, new_run_id(), seed=5)
    from dagster_project.assets import contextual_embeddings, contextual_model

    snapshot_before = store.snapshot_id("shot_embeddings")
    first = _materialize(settings, contextual_model, contextual_embeddings)
    yield settings, store, titles, ids, first, snapshot_before
    mp.undo()
    get_settings.cache_clear()


def test_training_asset_writes_a_versioned_artifact_with_its_snapshot(catalog):
    from reelhouse.features.model_registry import artifact_dir, current_model

    settings, store, titles, ids, first, snapshot_before = catalog
    assert first.success
    meta = _metadata(first, "contextual_model")
    current = current_model(settings)
    assert current is not None and meta["content_version"] == current.content_version
    assert meta["memoized"] is False and meta["steps"] == STEPS and meta["titles"] == len(ids)
    assert meta["shots"] == sum(t.n_shots for t in titles)
    assert "loss_curve" in meta and "data:image/png;base64," in meta["loss_curve"]
    folder = artifact_dir(settings, current.content_version)
    stored = json.loads((folder / "meta.json").read_text())
    # Versioned with the Iceberg snapshot it trained on: the snapshot holding the catalog's inputs.
    assert stored["training_snapshots"]["shot_embeddings"] == snapshot_before
    assert stored["content_version"] == current.content_version and stored["steps"] == STEPS
    assert json.loads((folder / "config.json").read_text())["steps"] == STEPS  # the env override reached the asset
    assert not (folder.parent.parent / "checkpoints").exists() or not any((folder.parent.parent / "checkpoints").iterdir())


def test_inference_writes_one_unit_vector_per_shot_equal_to_the_in_process_model(catalog):
    from models.contextual.artifact import load_artifact
    from models.contextual.inference import embed_titles
    from reelhouse.features.model_registry import artifact_dir, current_model
    from reelhouse.pipeline.contextual import read_catalog_shots

    settings, store, titles, ids, first, _ = catalog
    meta = _metadata(first, "contextual")
    assert meta["titles_embedded"] == len(ids) and meta["rows_written"] == sum(t.n_shots for t in titles)
    [check] = first.get_asset_check_evaluations()
    assert check.passed, check.description
    rows = _contextual_rows(store, settings)
    assert set(rows) == {(v, i) for v, t in zip(ids, titles) for i in range(t.n_shots)}
    norms = np.linalg.norm(np.stack(list(rows.values())), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)
    # What the Spark UDF stored is what the model computes for the same titles in this process.
    model, _ = load_artifact(artifact_dir(settings, current_model(settings).content_version))
    config = model.config
    data = read_catalog_shots(store, settings, config.modality_dims, ids)
    expected = embed_titles(model, data.title_shots(config.modality_dims), device="cpu")
    for vid, idx, vectors in zip(data.video_ids, data.shot_indices, expected):
        stored = np.stack([rows[(vid, int(i))] for i in idx])
        np.testing.assert_allclose(stored, vectors, atol=1e-4)


def test_missing_modalities_are_masked_not_faked(catalog):
    from reelhouse.pipeline.contextual import read_catalog_shots

    settings, store, titles, ids, _, _ = catalog
    data = read_catalog_shots(store, settings, {"visual": 1280, "audio": 512, "text": 384}, ids[:2])
    by_id = dict(zip(data.video_ids, range(len(data.video_ids))))
    silent, wordless = by_id[ids[0]], by_id[ids[1]]
    assert not data.present[silent]["audio"].any() and not data.embeddings[silent]["audio"].any()
    assert not data.present[wordless]["text"].any()
    np.testing.assert_array_equal(data.present[wordless]["audio"], titles[1].audio_present)
    np.testing.assert_allclose(data.embeddings[wordless]["visual"], titles[1].visual, atol=1e-6)
    assert np.allclose(data.durations_s[silent], titles[0].durations_s)


def test_rematerializing_an_unchanged_catalog_is_memoized(catalog):
    from dagster_project.assets import contextual_embeddings, contextual_model

    settings, store, *_ = catalog
    before = store.snapshot_id("shot_embeddings")
    again = _materialize(settings, contextual_model, contextual_embeddings)
    assert _metadata(again, "contextual_model")["memoized"] is True
    assert _metadata(again, "contextual")["memoized"] is True
    assert store.snapshot_id("shot_embeddings") == before


def test_similar_by_contextual_embedding_ranks_by_cosine(catalog, monkeypatch, capsys):
    from reelhouse.cli import main

    settings, store, titles, ids, *_ = catalog
    _point_cli_at(settings, monkeypatch)
    assert main(["similar", ids[2], "4", "--embedding", "contextual", "--k", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["embedding"] == "contextual" and doc["feature"] == "contextual"
    rows = _contextual_rows(store, settings)
    query = rows[(ids[2], 4)]
    brute = sorted(((float(v @ query), k) for k, v in rows.items() if k != (ids[2], 4)), reverse=True)[:5]
    assert [(h["video_id"], h["shot_index"]) for h in doc["results"]] == [k for _, k in brute]
    assert [h["score"] for h in doc["results"]] == pytest.approx([s for s, _ in brute], abs=1e-5)


def test_contextual_is_a_match_cut_flavor(catalog, monkeypatch, capsys):
    from reelhouse.cli import main

    settings, store, titles, ids, *_ = catalog
    _point_cli_at(settings, monkeypatch)
    assert main(["match-cuts", "--titles", f"{ids[3]},{ids[4]}", "--flavor", "contextual", "--k", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["flavor"] == "contextual" and doc["feature"] == "contextual" and len(doc["pairs"]) == 5
    assert {p["out"]["video_id"] for p in doc["pairs"]} | {p["in"]["video_id"] for p in doc["pairs"]} <= {ids[3], ids[4]}
    ranked = [p["csls"] for p in doc["pairs"]]  # ranked by the hub-aware score (the default)
    assert ranked == sorted(ranked, reverse=True)


def test_a_new_title_is_embedded_with_the_current_model_and_retraining_re_embeds_all(catalog):
    from dagster_project.assets import contextual_embeddings, contextual_model
    from models.contextual.config import DEFAULT_MODALITY_DIMS
    from reelhouse.features.model_registry import current_model
    from reelhouse.features.specs import contextual_spec
    from reelhouse.samples.scene_catalog import make_scene_catalog, write_scene_catalog

    settings, store, titles, ids, *_ = catalog
    old = current_model(settings).content_version
    [extra] = make_scene_catalog(1, seed=99, dims=dict(DEFAULT_MODALITY_DIMS), shots_per_title=(10, 20))
    [new_id] = write_scene_catalog(store, settings, [extra], new_run_id(), seed=5, first=len(ids))
    only_new = _materialize(settings, contextual_embeddings)
    assert _metadata(only_new, "contextual")["titles_embedded"] == 1
    assert current_model(settings).content_version == old
    assert {v for v, _ in _contextual_rows(store, settings)} == {*ids, new_id}
    retrained = _materialize(settings, contextual_model, contextual_embeddings)
    assert _metadata(retrained, "contextual_model")["memoized"] is False
    new = current_model(settings).content_version
    assert new != old and current_model(settings).n_titles == len(ids) + 1
    assert _metadata(retrained, "contextual")["titles_embedded"] == len(ids) + 1
    assert contextual_spec(settings).params["model"] == new
    assert len(_contextual_rows(store, settings)) == sum(t.n_shots for t in titles) + extra.n_shots


def test_without_a_model_inference_is_skipped_and_training_without_titles_fails_clearly(tmp_path, monkeypatch):
    from dagster_project.assets import contextual_embeddings, contextual_model
    from reelhouse.features.model_registry import NoContextualModel
    from reelhouse.pipeline.contextual import embed_catalog

    settings = Settings(home=tmp_path / "empty", spark_master="local[2]")
    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    with pytest.raises(NoContextualModel, match="materialize the contextual_model asset"):
        embed_catalog(settings, store, new_run_id())
    skipped = _materialize(settings, contextual_embeddings)
    assert skipped.success and not skipped.get_asset_materialization_events()
    from dagster_project.resources import resources_for

    failed = dg.materialize([contextual_model], resources=resources_for(settings), raise_on_error=False,
                            instance=dg.DagsterInstance.ephemeral())
    assert not failed.success
    [failure] = [e for e in failed.all_events if e.is_step_failure]
    assert "0 title(s) hold visual, audio and text shot embeddings" in failure.step_failure_data.error.message


def test_a_killed_training_run_resumes_from_its_checkpoint(tmp_path):
    from models.contextual.artifact import load_artifact
    from models.contextual.config import DEFAULT_MODALITY_DIMS
    from models.contextual.inference import embed_titles
    from reelhouse.features.model_registry import artifact_dir, contextual_root, current_model
    from reelhouse.pipeline.contextual import read_catalog_shots, train_catalog_model
    from reelhouse.samples.scene_catalog import make_scene_catalog, write_scene_catalog

    def home(name: str) -> tuple[Settings, FeatureStore, list[str]]:
        settings = Settings(home=tmp_path / name, contextual={"overrides": {"steps": 12}, "checkpoint_every": 4})
        store = FeatureStore.from_settings(settings)
        store.ensure_tables()
        titles = make_scene_catalog(4, seed=8, dims=dict(DEFAULT_MODALITY_DIMS), shots_per_title=(12, 24))
        return settings, store, write_scene_catalog(store, settings, titles, new_run_id(), seed=8)

    def kill_at_8(step: int, loss: float) -> None:
        if step == 8:
            raise KeyboardInterrupt("killed")

    settings, store, ids = home("killed")
    with pytest.raises(KeyboardInterrupt):
        train_catalog_model(settings, store, on_step=kill_at_8)
    assert current_model(settings) is None  # nothing half-trained became current
    assert [p.name for p in (contextual_root(settings) / "checkpoints").glob("*/checkpoint.pt")] == ["checkpoint.pt"]
    resumed = train_catalog_model(settings, store)
    assert resumed.resumed_from_step == 8 and resumed.steps == 12 and len(resumed.losses) == 4
    straight_settings, straight_store, _ = home("straight")
    straight = train_catalog_model(straight_settings, straight_store)
    assert straight.resumed_from_step == 0
    # The resumed model computes what the uninterrupted one does.
    data = read_catalog_shots(store, settings, DEFAULT_MODALITY_DIMS, ids)
    a, _ = load_artifact(artifact_dir(settings, resumed.content_version))
    b, _ = load_artifact(artifact_dir(straight_settings, straight.content_version))
    for x, y in zip(embed_titles(a, data.title_shots(a.config.modality_dims), device="cpu"),
                    embed_titles(b, data.title_shots(b.config.modality_dims), device="cpu")):
        np.testing.assert_allclose(x, y, atol=1e-5)


def test_the_graph_puts_the_model_downstream_of_every_modality():
    from dagster_project.definitions import defs

    graph = defs.resolve_asset_graph()
    model = dg.AssetKey("contextual_model")
    assert {k.to_user_string() for k in graph.get(model).parent_keys} == {"visual", "audio", "text"}
    assert model in graph.get(dg.AssetKey("contextual")).parent_keys
    assert dg.AssetKey("contextual") in graph.get(dg.AssetKey("match_cut_candidates")).parent_keys
    assert dg.AssetKey("contextual") in graph.get(dg.AssetKey("flavor_shot_indexes")).parent_keys
    [schedule] = [s for s in defs.schedules if s.name == "weekly_contextual_training"]
    assert schedule.cron_schedule == "0 4 * * 0"


def test_backfilling_a_new_encoder_version_commits_chunk_by_chunk_and_resumes(tmp_path, monkeypatch, capsys):
    """`reelhouse backfill contextual`: one commit per chunk of titles; titles a run already
    committed are not computed again (what makes a killed backfill resume; benchmarks/backfill.py kills one)."""
    from models.contextual.config import DEFAULT_MODALITY_DIMS
    from reelhouse.cli import main
    from reelhouse.config import get_settings
    from reelhouse.features import specs
    from reelhouse.pipeline import contextual
    from reelhouse.samples.scene_catalog import make_scene_catalog, write_scene_catalog

    home = tmp_path / "backfill"
    for key, value in {"REELHOUSE_HOME": str(home), "REELHOUSE_SPARK_MASTER": "local[2]",
                       "REELHOUSE_BACKFILL_CHUNK_TITLES": "2",
                       "REELHOUSE_CONTEXTUAL__OVERRIDES": json.dumps({"steps": 5})}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    settings = get_settings()
    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    ids = write_scene_catalog(store, settings, make_scene_catalog(5, 3, dict(DEFAULT_MODALITY_DIMS), shots_per_title=(8, 13)),
                              new_run_id(), seed=3)
    contextual.train_catalog_model(settings, store)  # trains and makes the encoder current
    version = specs.contextual_spec(settings).version
    # A run that got as far as its first chunk: those two titles are committed, the rest are not.
    first_chunk = sorted(ids)[:2]
    contextual.embed_catalog(settings, store, new_run_id(), video_ids=first_chunk)
    before = len(list(store.table("shot_embeddings").snapshots()))

    assert main(["backfill", "--feature", "contextual", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == version and doc["failed"] == {}
    assert sorted(doc["memoized"]) == first_chunk and sorted(doc["computed"]) == sorted(set(ids) - set(first_chunk))
    # 3 titles left in chunks of 2: two commits, each naming only the contextual feature.
    new = list(store.table("shot_embeddings").snapshots())[before:]
    assert len(new) == 2 and all(s.summary.additional_properties["reelhouse.slices"] == f"contextual@{version}"
                                 for s in new)
    rows = _contextual_rows(store, settings)
    shots = store.read("shots", selected_fields=("video_id", "shot_index")).to_pylist()
    assert sorted(rows) == sorted((r["video_id"], r["shot_index"]) for r in shots)

    assert main(["backfill", "--feature", "contextual", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["computed"] == {}
    assert main(["backfill", "--feature", "contextual", "--titles", ids[0]]) == 2
    assert "whole catalog" in capsys.readouterr().err
    get_settings.cache_clear()
