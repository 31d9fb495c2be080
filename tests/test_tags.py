"""Tags trained from a team's own labels: the span rule and probes (``models.tags``), the label file's
errors, and the whole path on a real feature store: ``reelhouse tags train`` (Dagster assets
``tag_probes`` and ``tags`` with their check), ``shot_tags`` rows, ``reelhouse tags TITLE``,
``reelhouse search-tag``, the API and memoization.

The store holds the scene-structured catalog (``reelhouse.samples.scene_catalog``) whose scenes have
known moods; labels are scene spans tagged with their mood, so the truth is known by construction.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pyiceberg.expressions import EqualTo

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore, new_run_id

ROOT = Path(__file__).resolve().parents[1]


# The model: labels to shots, probes ------------------------------------------------------------------
def test_a_shot_carries_a_tag_when_its_spans_cover_half_of_it():
    from models.tags import shot_tag_matrix

    starts, ends = np.array([0.0, 2.0, 4.0, 6.0]), np.array([2.0, 4.0, 6.0, 8.0])
    spans = [(0.0, 1.0, "a"), (2.5, 3.0, "a"), (3.0, 3.5, "a"), (4.0, 4.9, "b"), (5.5, 9.0, "b")]
    got = shot_tag_matrix(starts, ends, spans, ["a", "b"])
    # shot 0: half covered -> a; shot 1: [2.5, 3.5) merged covers half -> a; shot 2: 0.9 + 0.5 of 2 s -> b
    assert got.tolist() == [[True, False], [True, False], [False, True], [False, True]]
    assert not shot_tag_matrix(starts, ends, [(0.0, 0.99, "a")], ["a"]).any()


def _separable(n_titles: int = 6, per_title: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(16)
    x = rng.standard_normal((n_titles * per_title, 16))
    y = x @ direction > 0.5
    groups = np.repeat([f"t{i}" for i in range(n_titles)], per_title)
    return x, y, groups


def test_a_probe_ranks_held_out_titles_and_reports_its_cross_validated_ap():
    from models.tags import average_precision, train_probe

    x, y, groups = _separable()
    probe = train_probe("tag", x[:120], y[:120], groups[:120])
    assert probe.positives == int(y[:120].sum()) and probe.negatives == 120 - probe.positives
    assert probe.cv_ap is not None and probe.cv_ap > 0.9
    scores = probe.scores(x[120:])
    assert ((scores >= 0) & (scores <= 1)).all()
    assert average_precision(scores, y[120:]) > 0.9 > average_precision(-scores, y[120:])
    # Calibrated: 0.5 separates the classes on titles it never saw.
    assert (scores[y[120:]] > 0.5).mean() > 0.8 and (scores[~y[120:]] < 0.5).mean() > 0.8


def test_a_tag_the_labels_cannot_teach_scores_near_its_base_rate():
    from models.tags import train_probe

    x, _, groups = _separable(seed=1)
    noise = np.random.default_rng(2).random(len(x)) < 0.3  # labels unrelated to the shots
    probe = train_probe("noise", x[:120], noise[:120], groups[:120])
    scores = probe.scores(x[120:])
    assert abs(scores.mean() - noise[:120].mean()) < 0.15 and scores.max() < 0.8


def test_a_probe_needs_positives_and_negatives_and_one_title_allows_no_cross_validation():
    from models.tags import train_probe

    x, y, groups = _separable()
    with pytest.raises(ValueError, match="at least 2"):
        train_probe("rare", x, np.eye(len(x), dtype=bool)[0], groups)
    one = train_probe("tag", x[:30], y[:30], groups[:30])
    assert one.cv_ap is None and one.c == 1.0


# The label file ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ("title,start,end,tag\nx,0,1,a\n", "the header must be title,start_s,end_s,tag"),
    ("title,start_s,end_s,tag\n", "no label rows"),
    ("title,start_s,end_s,tag\nx,zero,1,a\n", "row 2: start_s and end_s must be numbers"),
    ("title,start_s,end_s,tag\nx,0,1,a\nx,3,2,a\n", "row 3: need 0 <= start_s < end_s"),
    ("title,start_s,end_s,tag\nx,0,1,has space\n", "row 2: tag 'has space'"),
    ("title,start_s,end_s,tag\nx,0,1\n", "row 2: 3 fields"),
])
def test_a_malformed_label_file_is_refused_with_its_row(tmp_path, text, message):
    from reelhouse.pipeline.tags import LabelError, parse_label_file

    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(LabelError, match=message):
        parse_label_file(path)


# The pipeline on a store ---------------------------------------------------------------------------------
def _labels(ids, titles, which) -> str:
    """Scene spans of titles ``which`` tagged with their mood (``mood_<m>``)."""
    lines = ["title,start_s,end_s,tag"]
    for i in which:
        t = titles[i]
        ends = np.cumsum(t.durations_s)
        starts = ends - t.durations_s
        for s in range(int(t.scene.max()) + 1):
            rows = np.flatnonzero(t.scene == s)
            lines.append(f"{ids[i]},{float(starts[rows[0]])!r},{float(ends[rows[-1]])!r},mood_{int(t.mood[rows[0]])}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """Ten scene-structured titles in a real store; labels on the first six written to a file."""
    from models.contextual.config import DEFAULT_MODALITY_DIMS
    from reelhouse.config import get_settings
    from reelhouse.samples.scene_catalog import make_scene_catalog, write_scene_catalog

    home = tmp_path_factory.mktemp("tags")
    mp = pytest.MonkeyPatch()
    mp.setenv("REELHOUSE_HOME", str(home))
    get_settings.cache_clear()
    settings = Settings(home=home)
    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    titles = make_scene_catalog(10, seed=9, dims=dict(DEFAULT_MODALITY_DIMS), shots_per_title=(30, 60))
    ids = write_scene_catalog(store, settings, titles, new_run_id(), seed=9)
    labels = home / "labels.csv"
    labels.write_text(_labels(ids, titles, range(6)))
    yield settings, store, titles, ids, labels
    mp.undo()
    get_settings.cache_clear()


def _point_cli_at(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's settings come from the environment, which every test points at its own home."""
    from reelhouse.config import get_settings

    monkeypatch.setenv("REELHOUSE_HOME", str(settings.home))
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def trained(catalog):
    """``reelhouse tags train`` run once on the catalog's labels."""
    from reelhouse.cli import main

    settings, store, titles, ids, labels = catalog
    assert main(["tags", "train", str(labels), "--json"]) == 0
    return catalog


def test_training_scores_every_shot_of_every_title_for_every_tag(trained, capsys):
    from reelhouse.features.specs import tags_spec
    from reelhouse.features.tag_models import current_tags

    settings, store, titles, ids, _ = trained
    current = current_tags(settings)
    moods = sorted({f"mood_{int(m)}" for t in titles[:6] for m in t.mood})
    assert current is not None and current.tags == moods
    spec = tags_spec(settings)
    assert spec.params["probes"] == current.content_version
    rows = store.read("shot_tags", EqualTo("feature_version", spec.version)).to_pandas()
    assert set(rows.video_id) == set(ids)  # unlabelled titles are scored too
    for vid, t in zip(ids, titles):
        mine = rows[rows.video_id == vid]
        assert len(mine) == t.n_shots * len(moods)
        assert sorted(set(zip(mine.shot_index, mine.tag))) == sorted((s, m) for s in range(t.n_shots) for m in moods)
    assert ((rows.score >= 0) & (rows.score <= 1)).all()


def test_held_out_titles_rank_their_own_moods_above_chance(trained):
    from models.tags import average_precision
    from reelhouse.search.tags import title_tags

    settings, store, titles, ids, _ = trained
    aps = []
    for tag_index, tag in enumerate(title_tags(store, settings, ids[6]).tags):
        mood = int(tag.split("_")[1])
        scores, truth = [], []
        for vid, t in zip(ids[6:], titles[6:]):  # never labelled
            found = title_tags(store, settings, vid)
            scores.append(found.scores[:, tag_index])
            truth.append(t.mood == mood)
        y = np.concatenate(truth)
        if y.any():
            aps.append(average_precision(np.concatenate(scores), y) - y.mean())
    assert aps and np.mean(aps) > 0.1  # better than the base rate, on titles no label touched


def test_cli_tags_and_search_tag_agree_with_the_table(trained, capsys, monkeypatch):
    from reelhouse.cli import main

    settings, store, titles, ids, _ = trained
    _point_cli_at(settings, monkeypatch)
    capsys.readouterr()
    assert main(["tags", ids[7], "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["video_id"] == ids[7] and len(out["shots"]) == titles[7].n_shots
    tag = out["tags"][0]
    best = max(out["shots"], key=lambda s: (s["scores"][tag], -s["shot_index"]))
    assert main(["search-tag", tag, "--k", "5", "--titles", ids[7], "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["results"]
    assert len(hits) == 5 and hits[0]["shot_index"] == best["shot_index"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert main(["search-tag", "no_such_tag", "--json"]) == 2
    assert "the current probes have: mood_" in capsys.readouterr().err
    assert main(["tags", "no-such-title"]) == 2


def test_retraining_the_same_labels_is_memoized_and_new_labels_rescore(trained, capsys, monkeypatch):
    from reelhouse.cli import main
    from reelhouse.features.specs import tags_spec
    from reelhouse.features.tag_models import current_tags

    settings, store, titles, ids, labels = trained
    _point_cli_at(settings, monkeypatch)
    before, snapshot = current_tags(settings), store.snapshot_id("shot_tags")
    assert main(["tags", "train", str(labels), "--json"]) == 0
    assert current_tags(settings) == before and store.snapshot_id("shot_tags") == snapshot
    fewer = labels.with_name("fewer.csv")
    fewer.write_text(_labels(ids, titles, range(5)))
    assert main(["tags", "train", str(fewer), "--json"]) == 0
    after = current_tags(settings)
    assert after.content_version != before.content_version
    rows = store.read("shot_tags", EqualTo("feature_version", tags_spec(settings).version))
    assert set(rows.column("video_id").to_pylist()) == set(ids)
    assert main(["tags", "train", str(labels), "--json"]) == 0  # back: the first artifact is current again
    assert current_tags(settings).content_version == before.content_version


def test_backfill_scores_a_title_that_lost_its_scores(trained, capsys, monkeypatch):
    from reelhouse.cli import main
    from reelhouse.features.specs import tags_spec
    from reelhouse.lakehouse import FeatureSlice

    settings, store, titles, ids, _ = trained
    _point_cli_at(settings, monkeypatch)
    spec = tags_spec(settings)
    slice_ = FeatureSlice(ids[9], spec.name, spec.version)
    kept = store.read_slice("shot_tags", slice_).sort_by([("shot_index", "ascending"), ("tag", "ascending")])
    store.replace_slice("shot_tags", slice_, kept.slice(0, 0), new_run_id())
    capsys.readouterr()
    assert main(["backfill", "--feature", "tags", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["computed"]) == [ids[9]] and len(report["memoized"]) == len(ids) - 1
    again = store.read_slice("shot_tags", slice_).sort_by([("shot_index", "ascending"), ("tag", "ascending")])
    assert again.select(["shot_index", "tag", "score"]).equals(kept.select(["shot_index", "tag", "score"]))
    assert main(["backfill", "--feature", "tags", "--titles", ids[0]]) == 2


def test_a_bad_label_file_changes_nothing(trained, capsys, tmp_path, monkeypatch):
    from reelhouse.cli import main
    from reelhouse.features.tag_models import current_tags, labels_file

    settings, store, titles, ids, labels = trained
    _point_cli_at(settings, monkeypatch)
    before, installed = current_tags(settings), labels_file(settings).read_text()
    cases = {
        "unknown.csv": ("title,start_s,end_s,tag\nnope.mp4,0,5,calm\n", "row 2: title 'nope.mp4' matches no"),
        "tiny.csv": (f"title,start_s,end_s,tag\n{ids[0]},0,0.01,calm\n{ids[1]},0,1000,calm\n", "covers no shot"),
        "one_tag.csv": (f"title,start_s,end_s,tag\n{ids[0]},0,100000,calm\n", "tag 'calm' labels"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        capsys.readouterr()
        assert main(["tags", "train", str(path)]) == 2, name
        assert message in capsys.readouterr().err, name
    assert main(["tags", "train"]) == 2
    assert current_tags(settings) == before and labels_file(settings).read_text() == installed


def test_the_api_serves_the_same_answers(trained):
    from fastapi.testclient import TestClient

    from reelhouse.api.app import create_app
    from reelhouse.search.tags import search_tag, title_tags

    settings, store, titles, ids, _ = trained
    with TestClient(create_app(settings)) as client:
        got = client.get(f"/titles/{ids[8]}/tags").json()
        assert got == json.loads(json.dumps(title_tags(store, settings, ids[8]).as_json()))
        tagset = client.get("/tags").json()
        tag = tagset["tags"][0]["tag"]
        assert all(0 <= t["cv_ap"] <= 1 for t in tagset["tags"])
        hits = client.get(f"/tags/{tag}/shots", params={"k": 4}).json()["results"]
        assert hits == [h.as_json() for h in search_tag(store, settings, tag, 4)]
        assert client.get("/tags/nope/shots").status_code == 404
        assert client.get(f"/tags/{tag}/shots", params={"k": 0}).status_code == 422


def test_the_check_fails_when_a_title_lacks_its_scores(trained):
    from reelhouse.features.specs import tags_spec
    from reelhouse.lakehouse import FeatureSlice
    from reelhouse.quality.checks import tags_complete

    settings, store, titles, ids, _ = trained
    assert tags_complete(store, settings).passed
    spec = tags_spec(settings)
    slice_ = FeatureSlice(ids[9], spec.name, spec.version)
    kept = store.read_slice("shot_tags", slice_)
    store.replace_slice("shot_tags", slice_, kept.slice(0, kept.num_rows - 1), new_run_id())
    try:
        result = tags_complete(store, settings)
        assert not result.passed and f"title {ids[9]} lacks 1 (shot, tag) score" in result.description
    finally:
        store.replace_slice("shot_tags", slice_, kept, new_run_id())
    assert tags_complete(store, settings).passed


def test_without_labels_the_assets_skip_and_the_check_passes(tmp_path, monkeypatch):
    import dagster as dg

    from dagster_project.assets import TAG_ASSETS
    from dagster_project.checks import tags_complete
    from dagster_project.resources import resources_for

    settings = Settings(home=tmp_path)
    FeatureStore.from_settings(settings).ensure_tables()
    res = dg.materialize([*TAG_ASSETS, tags_complete], resources=resources_for(settings),
                         instance=dg.DagsterInstance.ephemeral())
    assert res.success and not res.get_asset_materialization_events()
    assert all(e.passed for e in res.get_asset_check_evaluations())


def test_the_shipped_sample_labels_are_the_sample_library_construction():
    from reelhouse.pipeline.tags import parse_label_file
    from reelhouse.samples.library import sample_library_labels

    shipped = ROOT / "reelhouse" / "samples" / "sample_library_tags.csv"
    assert shipped.read_text() == sample_library_labels()
    rows = parse_label_file(shipped)
    assert {r[4] for r in rows} == {"blobs", "stripes", "blocks", "horizon"}
    assert {r[1] for r in rows} == {"title_00.mp4", "title_01.mp4", "title_02.mp4"}
