"""End to end on real parts: landing -> Dagster assets -> Spark -> Iceberg -> SQL -> faiss.

One small library (two generated titles with known cuts, one real clip, one bad file) is run through
the main job twice; the second run must be memoized and leave identical tables.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore

pytestmark = pytest.mark.slow

TABLES = ("media", "encodes", "shots", "shot_frames", "shot_embeddings", "shot_dedup", "shot_audio", "subtitle_cues",
          "match_cuts")


def _snapshot_of_tables(store: FeatureStore) -> dict[str, list[tuple]]:
    """Content of every table minus run_id/written_at, sorted: what 'identical tables' compares."""
    out = {}
    for name in TABLES:
        rows = store.read(name).to_pylist()
        keyed = []
        for r in rows:
            r.pop("run_id"), r.pop("written_at")
            if r.get("embedding") is not None:
                r["embedding"] = tuple(round(x, 5) for x in r["embedding"])
            keyed.append(tuple(sorted(r.items())))
        out[name] = sorted(keyed, key=repr)
    return out


@pytest.fixture(scope="module")
def library_home(tmp_path_factory) -> Path:
    from reelhouse.samples import build_sample_library, generate_clip, make_not_video, real_clips, title_spec

    home = tmp_path_factory.mktemp("e2e")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("REELHOUSE_HOME", str(home))
    landing = home / "landing"
    build_sample_library(landing, seconds_per_title=6.0, n_titles=2, seed=7)
    make_not_video(landing / "notes.mp4")
    shutil.copyfile(real_clips()["bikes"], landing / "bikes.mp4")
    # A title registered with `reelhouse ingest` from outside the landing folder is part of the library too.
    elsewhere = home / "elsewhere"
    elsewhere.mkdir()
    generate_clip(title_spec(5, 3.0, seed=9), elsewhere / "registered.mkv")
    from reelhouse.cli import main
    from reelhouse.config import get_settings

    get_settings.cache_clear()
    try:
        assert main(["ingest", str(elsewhere / "registered.mkv"), "--json"]) == 0
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    return home


@pytest.fixture(scope="module")
def first_and_second_run(library_home: Path):
    from dagster_project.library_run import run_library

    settings = Settings(home=library_home, spark_master="local[2]")
    first = run_library(settings, progress=lambda m: None)
    store = FeatureStore.from_settings(settings)
    before = _snapshot_of_tables(store)
    snaps_before = {t: store.snapshot_id(t) for t in TABLES}
    second = run_library(settings, progress=lambda m: None)
    after = _snapshot_of_tables(store)
    snaps_after = {t: store.snapshot_id(t) for t in TABLES}
    return settings, store, first, second, before, after, snaps_before, snaps_after


def test_good_titles_land_and_the_bad_file_is_quarantined(first_and_second_run):
    settings, store, first, *_ = first_and_second_run
    assert len(first.titles) == 5
    assert len(first.ok) == 4 and not first.failed
    assert any(p.endswith("registered.mkv") for p in first.titles.values())
    [(bad_id, reason)] = first.quarantined.items()
    assert reason.startswith("not_video")
    media = {r["video_id"]: r for r in store.read("media").to_pylist()}
    assert media[bad_id]["status"] == "quarantined"
    # the quarantined title has no downstream rows at all
    for name in ("encodes", "shots", "shot_embeddings"):
        assert bad_id not in set(store.read(name).column("video_id").to_pylist())


def test_shots_match_the_generated_ground_truth(first_and_second_run, library_home: Path):
    from reelhouse.samples import GroundTruth

    settings, store, first, *_ = first_and_second_run
    shots = store.read("shots").to_pylist()
    for truth_file in sorted((library_home / "landing").glob("title_*.truth.json")):
        truth = GroundTruth.from_json(truth_file.read_text())
        vid = next(v for v, p in first.titles.items() if Path(p).stem == truth_file.name.split(".")[0])
        mine = sorted((r for r in shots if r["video_id"] == vid), key=lambda r: r["shot_index"])
        # shots tile the title with no gaps or overlaps
        assert mine[0]["start_frame"] == 0
        assert all(a["end_frame"] == b["start_frame"] for a, b in zip(mine, mine[1:]))
        # every true hard cut (in seconds) is found within one frame of the 24 fps encode
        cut_times = [b["frame"] / truth.fps for b in truth.boundaries if b["type"] == "cut"]
        starts = [r["start_s"] for r in mine]
        for t in cut_times:
            assert min(abs(t - s) for s in starts) <= 1.0 / 24 + 1e-6, (t, starts)


@pytest.mark.parametrize(("feature", "dim"), [("visual", 1280), ("colour", 128),
                                            ("layout", 144)])
def test_every_shot_has_one_unit_vector_per_visual_feature(first_and_second_run, feature, dim):
    import numpy as np

    settings, store, *_ = first_and_second_run
    shots = {(r["video_id"], r["shot_index"]) for r in store.read("shots").to_pylist()}
    emb = [r for r in store.read("shot_embeddings").to_pylist() if r["feature"] == feature]
    assert {(r["video_id"], r["shot_index"]) for r in emb} == shots
    assert len(emb) == len(shots)  # one row per shot, no duplicates
    for r in emb:
        v = np.asarray(r["embedding"], dtype=np.float32)
        assert r["dim"] == dim and v.shape == (dim,)
        assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-3


def _stored_vectors(store: FeatureStore, spec, video_id: str) -> dict[int, object]:
    """``shot_index -> float32 vector or None`` of one title's stored slice of ``spec``."""
    import numpy as np

    from reelhouse.lakehouse import FeatureSlice

    rows = store.read_slice("shot_embeddings", FeatureSlice(video_id, spec.name, spec.version)).to_pylist()
    return {r["shot_index"]: np.asarray(r["embedding"], np.float32) if r["has_embedding"] else None for r in rows}


def _assert_same_vectors(stored: dict, expected: dict, what: str) -> None:
    """Same shots, same absent vectors, and every vector equal to float32 rounding (batching differs)."""
    import numpy as np

    assert sorted(stored) == sorted(expected), what
    for shot, vec in expected.items():
        if vec is None:
            assert stored[shot] is None, f"{what} shot {shot}: stored a vector, expected none"
            continue
        assert stored[shot] is not None, f"{what} shot {shot}: stored none"
        np.testing.assert_allclose(stored[shot], vec, atol=2e-4, err_msg=f"{what} shot {shot}")


def test_spark_vectors_equal_the_models_predict_on_the_same_inputs(first_and_second_run):
    """Each Spark-computed vector equals what the model computes in this process from the same stored
    inputs: the shot's representative frames (visual, colour, layout), its span of the encode's audio,
    its subtitle text. A shot/frame or shot/audio misalignment, or a wrong pooling, fails here."""
    import io

    import numpy as np
    from PIL import Image

    from models.audio.embedding import AUDIO_RATE, is_silent, make_audio_predict
    from models.text import make_text_predict
    from models.visual import colour_histogram, layout_map, make_visual_predict
    from reelhouse.features.coverage import ok_titles
    from reelhouse.features.rows import encoded_shots, shot_frame_rows, title_cues
    from reelhouse.features.specs import audio_spec, text_spec
    from reelhouse.media.audio import read_audio
    from reelhouse.media.location import localize
    from reelhouse.media.subtitles import shot_text
    from reelhouse.features.registry import specs_computed_together

    settings, store, *_ = first_and_second_run
    frame_models = {"visual": make_visual_predict(device="cpu"),
                    "colour": colour_histogram, "layout": layout_map}
    audio_predict, text_predict = make_audio_predict(device="cpu"), make_text_predict("cpu")
    titles = ok_titles(store)
    assert len(titles) >= 3
    checked = {"frames": 0, "audio": 0, "text": 0}
    for vid in titles:
        enc, shots = encoded_shots(store, settings, vid)
        frames: dict[int, list[np.ndarray]] = {}
        for r in shot_frame_rows(store, settings, vid, with_thumbnails=True):
            with Image.open(io.BytesIO(r["thumbnail"])) as img:
                frames.setdefault(r["shot_index"], []).append(np.asarray(img.convert("RGB")))
        for spec in specs_computed_together("visual", settings):
            predict = frame_models[spec.name]
            expected = {}
            for shot, images in frames.items():  # one image at a time: other batches than Spark's
                mean = np.mean([predict(image[None])[0] for image in images], axis=0)
                expected[shot] = (mean / np.linalg.norm(mean)).astype(np.float32)
            _assert_same_vectors(_stored_vectors(store, spec, vid), expected, f"{vid[:8]} {spec.name}")
            checked["frames"] += len(expected)
        audio = read_audio(localize(enc["uri"]), rate=AUDIO_RATE) if enc["has_audio"] else np.zeros(0, np.float32)
        expected = {}
        for s in shots:
            clip = audio[int(round(s["start_s"] * AUDIO_RATE)):int(round(s["end_s"] * AUDIO_RATE))]
            expected[s["shot_index"]] = None if is_silent(clip) else audio_predict([clip])[0]
        _assert_same_vectors(_stored_vectors(store, audio_spec(settings), vid), expected, f"{vid[:8]} audio")
        checked["audio"] += sum(v is not None for v in expected.values())
        cues = title_cues(store, vid)
        texts = {s["shot_index"]: shot_text(cues, s["start_s"], s["end_s"]) for s in shots}
        expected = {shot: None if not text else text_predict([text])[0] for shot, text in texts.items()}
        _assert_same_vectors(_stored_vectors(store, text_spec(settings), vid), expected, f"{vid[:8]} text")
        checked["text"] += sum(v is not None for v in expected.values())
    assert all(checked.values()), checked  # every modality had real vectors to compare


def test_every_shot_has_representative_frames_inside_it(first_and_second_run):
    settings, store, *_ = first_and_second_run
    shots = {(r["video_id"], r["shot_index"]): r for r in store.read("shots").to_pylist()}
    frames = store.read("shot_frames", selected_fields=("video_id", "shot_index", "rank", "frame_index")).to_pylist()
    per_shot: dict[tuple, list] = {}
    for f in frames:
        per_shot.setdefault((f["video_id"], f["shot_index"]), []).append(f)
    assert per_shot.keys() == shots.keys()
    for key, fs in per_shot.items():
        assert 1 <= len(fs) <= 3 and sorted(f["rank"] for f in fs) == list(range(1, len(fs) + 1))
        assert all(shots[key]["start_frame"] <= f["frame_index"] < shots[key]["end_frame"] for f in fs)


def test_dedup_groups_every_shot_under_an_earlier_kept_shot(first_and_second_run):
    settings, store, *_ = first_and_second_run
    rows = store.read("shot_dedup").to_pylist()
    shots = {(r["video_id"], r["shot_index"]) for r in store.read("shots").to_pylist()}
    assert {(r["video_id"], r["shot_index"]) for r in rows} == shots and len(rows) == len(shots)
    kept = {(r["video_id"], r["shot_index"]) for r in rows if r["is_kept"]}
    for r in rows:
        assert r["group_shot_index"] <= r["shot_index"]
        assert (r["video_id"], r["group_shot_index"]) in kept
        assert r["is_kept"] == (r["group_shot_index"] == r["shot_index"])


def _truth_by_video(first, library_home: Path) -> dict:
    from reelhouse.samples import GroundTruth

    out = {}
    for truth_file in sorted((library_home / "landing").glob("title_*.truth.json")):
        vid = next(v for v, p in first.titles.items() if Path(p).stem == truth_file.name.split(".")[0])
        out[vid] = GroundTruth.from_json(truth_file.read_text())
    return out


def test_audio_features_follow_the_generated_tones_and_silences(first_and_second_run, library_home):
    settings, store, first, *_ = first_and_second_run
    shots = {(r["video_id"], r["shot_index"]): r for r in store.read("shots").to_pylist()}
    audio = {(r["video_id"], r["shot_index"]): r for r in store.read("shot_audio").to_pylist()}
    emb = {(r["video_id"], r["shot_index"]): r for r in store.read("shot_embeddings").to_pylist()
           if r["feature"] == "audio"}
    assert audio.keys() == shots.keys() == emb.keys()
    for vid, truth in _truth_by_video(first, library_home).items():
        tones = [(a["start_s"], a["end_s"]) for a in truth.audio_segments if a.get("kind", "tone") == "tone"]
        for (v, i), row in audio.items():
            if v != vid:
                continue
            s = shots[(v, i)]
            toned = sum(max(0.0, min(e, s["end_s"]) - max(b, s["start_s"])) for b, e in tones)
            assert 0.0 <= row["speech_ratio"] <= 1.0 and row["speech_ratio"] < 0.3  # tones are not speech
            if toned > 0.2:  # a shot with a clearly audible tone is not silent and has an embedding
                assert not row["is_silent"] and emb[(v, i)]["has_embedding"]
            assert emb[(v, i)]["has_embedding"] == (emb[(v, i)]["embedding"] is not None)
            assert row["is_silent"] == (not emb[(v, i)]["has_embedding"])


def test_text_embeddings_exist_exactly_for_shots_under_subtitles(first_and_second_run, library_home):
    import numpy as np

    settings, store, first, *_ = first_and_second_run
    shots = {(r["video_id"], r["shot_index"]): r for r in store.read("shots").to_pylist()}
    emb = {(r["video_id"], r["shot_index"]): r for r in store.read("shot_embeddings").to_pylist()
           if r["feature"] == "text"}
    assert emb.keys() == shots.keys()
    cues = store.read("subtitle_cues").to_pylist()
    for vid, truth in _truth_by_video(first, library_home).items():
        stored = sorted((c for c in cues if c["video_id"] == vid), key=lambda c: c["cue_index"])
        assert [(round(c["start_s"], 2), c["text"]) for c in stored] == [(round(c["start_s"], 2), c["text"]) for c in truth.subtitles]
        for (v, i), r in emb.items():
            if v != vid:
                continue
            s = shots[(v, i)]
            overlapped = any(c["start_s"] < s["end_s"] and c["end_s"] > s["start_s"] for c in truth.subtitles)
            assert r["has_embedding"] == overlapped
            if overlapped:
                assert abs(np.linalg.norm(r["embedding"]) - 1) < 1e-3
            else:
                assert r["embedding"] is None
    # bikes.mp4 has no subtitles: recorded once, memoized, and every shot has a null text embedding
    bikes = next(v for v, p in first.titles.items() if p.endswith("bikes.mp4"))
    assert [c["source"] for c in cues if c["video_id"] == bikes] == ["none"]
    assert not any(r["has_embedding"] for (v, _), r in emb.items() if v == bikes)


def test_second_run_is_memoized_and_tables_are_identical(first_and_second_run):
    settings, store, first, second, before, after, snaps_before, snaps_after = first_and_second_run
    assert second.ok == first.ok and second.quarantined.keys() == first.quarantined.keys()
    assert first.memoized == [] and second.memoized == second.ok  # the re-run starts no feature run at all
    assert before == after
    assert snaps_before == snaps_after  # nothing was even committed


def test_encodes_are_standardized(first_and_second_run):
    settings, store, *_ = first_and_second_run
    sources = {m["video_id"]: m for m in store.read("media").to_pylist()}
    for r in store.read("encodes").to_pylist():
        source_height = sources[r["video_id"]]["height"]  # every sample is upright with square pixels
        assert r["height"] == min(settings.encode.height, source_height // 2 * 2) and r["width"] % 2 == 0
        assert r["fps"] == settings.encode.fps
        assert Path(r["uri"].removeprefix("file://")).is_file()
        assert r["uri"].startswith(settings.resolved_warehouse_uri)


def test_sql_query_from_sql_folder_answers(first_and_second_run, capsys):
    from reelhouse.cli.sql import run_sql, sql_text

    settings, store, first, *_ = first_and_second_run
    run_sql(settings, sql_text("shots_per_title.sql"), {}, "json")
    rows = json.loads(capsys.readouterr().out)
    shots = store.read("shots").to_pylist()
    assert {r["video_id"] for r in rows} == set(first.ok)
    for r in rows:
        assert r["shot_count"] == sum(1 for s in shots if s["video_id"] == r["video_id"])


def test_similar_returns_other_shots_ranked(first_and_second_run, monkeypatch, capsys):
    from reelhouse.cli import main

    settings, store, first, *_ = first_and_second_run
    monkeypatch.setenv("REELHOUSE_HOME", str(settings.home))
    from reelhouse.config import get_settings

    get_settings.cache_clear()
    shots = store.read("shots").to_pylist()
    vid = max(first.ok, key=lambda v: sum(r["video_id"] == v for r in shots))
    assert main(["similar", vid, "1", "--k", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    hits = doc["results"]
    assert 1 <= len(hits) <= 5
    assert (vid, 1) not in {(h["video_id"], h["shot_index"]) for h in hits}
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    # restricted to one other title, only that title comes back
    other = next(v for v in first.ok if v != vid)
    assert main(["similar", vid, "1", "--k", "3", "--titles", other, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["results"] and {h["video_id"] for h in doc["results"]} == {other}
    # a bad shot is a clear error, not a traceback
    assert main(["similar", vid, "9999", "--json"]) == 2


def test_the_main_job_trains_the_contextual_encoder_and_embeds_every_shot(first_and_second_run, monkeypatch, capsys):
    from pyiceberg.expressions import EqualTo

    from reelhouse.cli import main
    from reelhouse.features.model_registry import current_model
    from reelhouse.features.specs import contextual_spec, shots_spec
    from reelhouse.features.coverage import eligible_titles

    settings, store, first, *_ = first_and_second_run
    current = current_model(settings)
    assert current is not None and current.n_titles == len(first.ok)
    assert sorted(eligible_titles(store, settings)) == sorted(first.ok)
    spec, shots = contextual_spec(settings), shots_spec(settings)
    rows = store.read("shot_embeddings", EqualTo("feature_version", spec.version)).to_pylist()
    shot_keys = {(r["video_id"], r["shot_index"]) for r in store.read("shots", EqualTo("feature_version", shots.version)).to_pylist()}
    assert {(r["video_id"], r["shot_index"]) for r in rows} == shot_keys and len(rows) == len(shot_keys)
    assert all(r["has_embedding"] and abs(sum(x * x for x in r["embedding"]) - 1) < 1e-3 for r in rows)
    monkeypatch.setenv("REELHOUSE_HOME", str(settings.home))
    from reelhouse.config import get_settings

    get_settings.cache_clear()
    vid = first.ok[0]
    assert main(["similar", vid, "0", "--k", "3", "--embedding", "contextual", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["feature"] == "contextual" and len(doc["results"]) == 3


def test_definitions_load():
    from dagster_project.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"media", "standardized_encode", "shots", "shot_frames", "visual", "colour",
            "layout", "shot_dedup", "visual_shot_index"} <= keys
    assert defs.resolve_assets_def("shots").code_versions_by_key


def test_definitions_wire_sensor_schedule_automation_and_pools():
    from dagster_project.definitions import defs

    assert defs.resolve_sensor_def("landing_sensor").job_name == "title_features"
    assert defs.resolve_schedule_def("nightly_fill").cron_schedule == "0 2 * * *"
    assert defs.resolve_sensor_def("feature_automation")
    graph = defs.resolve_asset_graph()
    for key in ("standardized_encode", "shots", "visual", "text", "audio"):
        node = graph.get(dg_key(key))
        assert node.automation_condition is not None and node.pools == {"spark"}, key
    assert set(defs.resources) == {"reelhouse", "catalog", "spark", "sql_engine", "ann_store"}


def dg_key(name: str):
    import dagster as dg

    return dg.AssetKey(name)


def _latest_metadata(settings: Settings, key: str, partition: str | None) -> dict:
    import dagster as dg

    from dagster_project.instance import dagster_instance

    instance = dagster_instance(settings)
    flt = dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[partition] if partition else None)
    [record] = instance.fetch_materializations(flt, limit=1).records
    return {k: v.value for k, v in record.event_log_entry.asset_materialization.metadata.items()}


def test_materializations_show_rows_snapshot_and_previews(first_and_second_run):
    settings, store, first, *_ = first_and_second_run
    vid = first.ok[0]
    shots = [r for r in store.read("shots").to_pylist() if r["video_id"] == vid]
    meta = _latest_metadata(settings, "shots", vid)
    assert meta["rows"] == meta["shots"] == len(shots) and meta["memoized"] is False
    assert int(meta["iceberg_snapshot_id"]) > 0 and meta["feature_version"]
    assert meta["shot_length_histogram"].startswith("![shot-length histogram](data:image/png;base64,")
    frames = _latest_metadata(settings, "shot_frames", vid)
    assert frames["contact_sheet"].startswith("![representative frames](data:image/png;base64,")
    emb = _latest_metadata(settings, "visual", vid)
    assert emb["rows"] == len(shots) and emb["compute_s"] >= 0
    index = _latest_metadata(settings, "visual_shot_index", None)
    assert index["vectors"] == len(store.read("shots").to_pylist())
    flavors = _latest_metadata(settings, "flavor_shot_indexes", None)
    assert flavors["colour_vectors"] == index["vectors"] and flavors["colour_kind"] == "flat"
    assert 0 < flavors["text_vectors"] < index["vectors"]  # only shots under subtitles have text


def _schedule_requests(settings: Settings):
    import datetime as dt

    import dagster as dg

    from dagster_project.instance import dagster_instance
    from dagster_project.resources import resources_for
    from dagster_project.schedules import nightly_fill

    when = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)
    with dg.build_schedule_context(instance=dagster_instance(settings), resources=resources_for(settings),
                                   scheduled_execution_time=when) as ctx:
        return nightly_fill(ctx)


def test_nightly_schedule_skips_a_current_catalog_and_fills_a_changed_recipe(first_and_second_run, monkeypatch):
    import dagster as dg

    from dagster_project.batches import RANGE_END, RANGE_START
    from dagster_project.instance import dagster_instance

    settings, store, first, *_ = first_and_second_run
    assert isinstance(_schedule_requests(settings), dg.SkipReason)

    monkeypatch.setenv("REELHOUSE_ENCODE__CRF", "30")  # a new encode recipe: every feature computed from it is stale
    requests = _schedule_requests(settings)
    order = dagster_instance(settings).get_dynamic_partitions("titles")
    covered = []
    for r in requests:  # one run per batch of consecutive titles (a partition range), not one per title
        start = r.partition_key or r.tags[RANGE_START]
        end = r.partition_key or r.tags[RANGE_END]
        covered += order[order.index(start):order.index(end) + 1]
        assert r.run_key == f"nightly-2026-11-24:{start}" + (f"..{end}" if end != start else "")
    assert sorted(covered) == sorted(first.ok)
    assert len(requests) <= 1 + len(first.quarantined)  # only a quarantined title splits the range
    from reelhouse.features import registry

    def downstream_of_encode(spec) -> bool:
        return spec.name == "standardized_encode" or any(downstream_of_encode(u) for u in spec.upstream)

    expected = {f.name for f in registry.title_features() if downstream_of_encode(f.spec(Settings()))}
    assert {"standardized_encode", "shots", "visual", "text", "shot_dedup"} <= expected
    assert not {"media", "subtitles"} & expected
    for r in requests:
        assert {k.to_user_string() for k in r.asset_selection} == expected  # not media, not subtitles


def _cli(monkeypatch, home: Path, *args: str) -> int:
    from reelhouse.cli import main
    from reelhouse.config import get_settings

    monkeypatch.setenv("REELHOUSE_HOME", str(home))
    monkeypatch.setenv("REELHOUSE_SPARK_MASTER", "local[2]")
    get_settings.cache_clear()
    try:
        return main(list(args))
    finally:
        get_settings.cache_clear()


def test_match_cuts_stay_in_the_picked_titles_and_draw_the_right_frames(first_and_second_run, monkeypatch, capsys, tmp_path):
    import io

    import numpy as np
    from PIL import Image

    from reelhouse.features.rows import shot_frame_rows
    from reelhouse.viz.match_sheet import PICTURE_HEIGHT

    settings, store, first, *_ = first_and_second_run
    picked = sorted(first.ok)[:2]
    sheet = tmp_path / "mc.png"
    assert _cli(monkeypatch, settings.home, "match-cuts", "--titles", ",".join(picked), "--flavor", "colour",
                "--k", "4", "--json", "--sheet", str(sheet)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["flavor"] == "colour" and sorted(doc["titles"]) == picked and 1 <= len(doc["pairs"]) <= 4
    scores = [p["score"] for p in doc["pairs"]]
    assert scores == sorted(scores, reverse=True)
    for p in doc["pairs"]:
        assert {p["out"]["video_id"], p["in"]["video_id"]} <= set(picked)
        if p["out"]["video_id"] == p["in"]["video_id"]:
            assert abs(p["out"]["shot_index"] - p["in"]["shot_index"]) > 1
    # Row 1 shows the outgoing shot's last representative frame on the left, the incoming's first on the right.
    img = np.asarray(Image.open(sheet).convert("RGB"), dtype=np.float32)
    top = doc["pairs"][0]

    def stored(shot: dict, rank_pick) -> np.ndarray:
        reps = [r for r in shot_frame_rows(store, settings, shot["video_id"], with_thumbnails=True)
                if r["shot_index"] == shot["shot_index"]]
        thumb = Image.open(io.BytesIO(rank_pick(reps, key=lambda r: r["rank"])["thumbnail"])).convert("RGB")
        return np.asarray(thumb.resize((round(thumb.width * PICTURE_HEIGHT / thumb.height), PICTURE_HEIGHT)), dtype=np.float32)

    left, right = stored(top["out"], max), stored(top["in"], min)
    shown_left = img[28:28 + PICTURE_HEIGHT, 8:8 + left.shape[1]]
    assert np.abs(shown_left - left).mean() < 3.0
    x = 8 + left.shape[1] + 8
    shown_right = img[28:28 + PICTURE_HEIGHT, x:x + right.shape[1]]
    assert np.abs(shown_right - right).mean() < 3.0
    assert _cli(monkeypatch, settings.home, "match-cuts", "--titles", "nope", "--json") == 2
    assert "matches no ingested ok title" in capsys.readouterr().err
    assert _cli(monkeypatch, settings.home, "match-cuts", "--titles", picked[0], "--flavor", "smell") == 2
    assert "unknown flavor 'smell'" in capsys.readouterr().err


def test_stored_match_cuts_rank_each_shots_candidates_across_the_catalog(first_and_second_run):
    from reelhouse.features import registry, specs

    settings, store, first, *_ = first_and_second_run
    rows = store.read("match_cuts").to_pylist()
    source = store.snapshot_id("shot_embeddings")
    shots = {(r["video_id"], r["shot_index"]) for r in store.read("shots").to_pylist() if r["video_id"] in first.ok}
    for flavor in registry.flavors():
        spec = specs.match_cuts_spec(settings, flavor)
        mine = [r for r in rows if r["feature"] == spec.name and r["feature_version"] == spec.version]
        assert mine, flavor
        assert {r["source_snapshot_id"] for r in mine} == {source}
        by_query: dict[tuple, list[dict]] = {}
        for r in mine:
            by_query.setdefault((r["video_id"], r["shot_index"]), []).append(r)
            assert (r["other_video_id"], r["other_shot_index"]) in shots
            if r["other_video_id"] == r["video_id"]:
                assert abs(r["other_shot_index"] - r["shot_index"]) > 1
        for cands in by_query.values():
            cands.sort(key=lambda r: r["rank"])
            assert [r["rank"] for r in cands] == list(range(1, len(cands) + 1)) and len(cands) <= 10
            # ranked by the hub-aware score, which never exceeds twice the cosine minus both densities (>= -1 each)
            assert [r["csls"] for r in cands] == sorted((r["csls"] for r in cands), reverse=True)
            assert all(r["csls"] <= 2 * r["score"] + 2 + 1e-6 and 0 <= r["percentile"] <= 100 for r in cands)
    meta = _latest_metadata(settings, "match_cut_candidates", None)
    for name in ("before", "after"):
        assert meta[f"visual_match_cuts_{name}"].startswith(f"![visual match cuts, {name} hub-aware ranking](data:image/png;base64,")


def test_shots_between_returns_the_overlapping_shots(first_and_second_run, monkeypatch, capsys):
    settings, store, first, *_ = first_and_second_run
    rows = store.read("shots").to_pylist()
    vid = max(first.ok, key=lambda v: sum(r["video_id"] == v for r in rows))
    shots = sorted((r for r in rows if r["video_id"] == vid), key=lambda r: r["shot_index"])
    s1 = shots[1]
    assert _cli(monkeypatch, settings.home, "shots-between", vid[:10], str(s1["start_s"] + 0.01), str(s1["end_s"] - 0.01), "--json") == 0
    assert [r["shot_index"] for r in json.loads(capsys.readouterr().out)["shots"]] == [1]
    assert _cli(monkeypatch, settings.home, "shots-between", vid, "0", str(shots[-1]["end_s"]), "--json") == 0
    assert len(json.loads(capsys.readouterr().out)["shots"]) == len(shots)
    assert _cli(monkeypatch, settings.home, "shots-between", vid, "5", "2") == 2


def test_search_text_finds_the_shot_under_a_subtitle(first_and_second_run, monkeypatch, capsys):
    settings, store, first, *_ = first_and_second_run
    cues = [c for c in store.read("subtitle_cues").to_pylist() if c["cue_index"] >= 0]
    cue = max(cues, key=lambda c: len(c["text"]))
    for mode in ([], ["--literal"]):
        assert _cli(monkeypatch, settings.home, "search-text", cue["text"], "--k", "3", "--json", *mode) == 0
        hits = json.loads(capsys.readouterr().out)["results"]
        assert hits, mode
        best = hits[0]
        assert best["video_id"] == cue["video_id"] and cue["text"] in best["text"], mode
        assert best["start_s"] < cue["end_s"] and best["end_s"] > cue["start_s"]


def test_backfill_rejects_unknown_features_and_foreign_versions(first_and_second_run, monkeypatch, capsys):
    settings, *_ = first_and_second_run
    assert _cli(monkeypatch, settings.home, "backfill", "--feature", "no_such_feature") == 2
    assert "unknown feature 'no_such_feature'" in capsys.readouterr().err
    assert _cli(monkeypatch, settings.home, "backfill", "--feature", "shots", "--version", "0-deadbeef") == 2
    assert "version 0-deadbeef is computed by other code" in capsys.readouterr().err


def test_backfill_of_a_current_feature_is_memoized_for_every_title(first_and_second_run, monkeypatch, capsys):
    from reelhouse.features import specs

    settings, store, first, *_ = first_and_second_run
    version = specs.dedup_spec(settings).version
    assert _cli(monkeypatch, settings.home, "backfill", "--feature", "shot_dedup", "--version", version, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["computed"] == {} and sorted(doc["memoized"]) == sorted(first.ok) and doc["version"] == version


def test_backfill_computes_a_new_version_through_dagster(first_and_second_run, monkeypatch, capsys):
    """Last on purpose: it adds a second encode version for one title (current-version reads are unaffected)."""
    from reelhouse.features import coverage, specs

    settings, store, first, *_ = first_and_second_run
    monkeypatch.setenv("REELHOUSE_ENCODE__CRF", "30")
    vid = first.ok[0]
    assert _cli(monkeypatch, settings.home, "backfill", "--feature", "shots", "--dry-run", "--json") == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["computed"] == {v: ["shots", "standardized_encode"] for v in first.ok}

    assert _cli(monkeypatch, settings.home, "backfill", "--feature", "standardized_encode", "--titles", vid, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["computed"] == {vid: ["standardized_encode"]} and doc["failed"] == {}
    bumped = Settings(home=settings.home, spark_master="local[2]")
    assert bumped.encode.crf == 30
    spec = specs.encode_spec(bumped)
    assert coverage.feature_coverage(store, spec, first.ok).present == {vid}
    assert _cli(monkeypatch, settings.home, "backfill", "--feature", "standardized_encode", "--titles", vid, "--json") == 0
    assert json.loads(capsys.readouterr().out)["memoized"] == [vid]
