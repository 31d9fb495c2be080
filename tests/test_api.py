"""The read-only HTTP API against a real small library, built once through the real pipeline.

Two generated titles (with subtitles) and one bad file run through the main job; every endpoint is
then asked over FastAPI's TestClient and its answers are compared with the CLI's ``--json`` output.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from reelhouse.config import Settings
from reelhouse.search.match_cuts import FLAVORS

pytestmark = pytest.mark.slow

PAGE_KEYS = {"total", "offset", "limit", "next_offset"}
ENDPOINTS = {"/health", "/titles", "/titles/{title}", "/titles/{title}/shots", "/titles/{title}/scenes",
             "/titles/{title}/artwork", "/titles/{title}/tags", "/tags", "/tags/{tag}/shots", "/regions",
             "/similar/{title}/{shot_index}",
             "/match-cuts", "/match-cuts/sheet.png", "/search/text"}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """``(settings, report)`` of a library of two 5 s titles with subtitles and one quarantined file."""
    from dagster_project.library_run import run_library
    from reelhouse.samples import build_sample_library, make_not_video

    home = tmp_path_factory.mktemp("api")
    landing = home / "landing"
    build_sample_library(landing, seconds_per_title=5.0, n_titles=2, seed=0)
    make_not_video(landing / "notes.mp4")
    settings = Settings(home=home, spark_master="local[2]")
    report = run_library(settings, progress=lambda m: None)
    assert len(report.ok) == 2 and len(report.quarantined) == 1 and not report.failed
    return settings, report


@pytest.fixture(scope="module")
def client(library):
    from fastapi.testclient import TestClient

    from reelhouse.api import create_app

    settings, _ = library
    with TestClient(create_app(settings)) as c:  # runs the lifespan: store and index opened once
        yield c


@pytest.fixture(scope="module")
def store(library):
    from reelhouse.lakehouse import FeatureStore

    return FeatureStore.from_settings(library[0])


def _cli(monkeypatch, capsys, settings: Settings, *args: str) -> dict:
    """Run ``reelhouse ARGS --json`` on the library and return its JSON document."""
    from reelhouse.cli import main
    from reelhouse.config import get_settings

    monkeypatch.setenv("REELHOUSE_HOME", str(settings.home))
    monkeypatch.setenv("REELHOUSE_SPARK_MASTER", "local[2]")
    get_settings.cache_clear()
    capsys.readouterr()
    try:
        assert main([*args, "--json"]) == 0
    finally:
        get_settings.cache_clear()
    return json.loads(capsys.readouterr().out)


def _ok(client, url: str, **params) -> dict:
    r = client.get(url, params=params)
    assert r.status_code == 200, (url, params, r.text)
    return r.json()


def _error(client, url: str, status: int, **params) -> str:
    r = client.get(url, params=params)
    assert r.status_code == status, (url, params, r.status_code, r.text)
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail
    return detail


def _without_page(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in PAGE_KEYS}


def _all_pages(client, url: str, key: str, limit: int, **params) -> tuple[list, int]:
    """Walk ``next_offset`` from offset 0 with page size ``limit``; returns the items and the page count."""
    items, offset, pages = [], 0, 0
    while offset is not None:
        doc = _ok(client, url, limit=limit, offset=offset, **params)
        assert doc["offset"] == offset and doc["limit"] == limit and len(doc[key]) <= limit
        items += doc[key]
        pages += 1
        assert (doc["next_offset"] is None) == (offset + limit >= doc["total"])
        offset = doc["next_offset"]
        assert pages <= 1000
    assert len(items) == doc["total"]
    return items, pages


def _longest_title(store, settings, report) -> str:
    from reelhouse.features.rows import shot_rows

    return max(report.ok, key=lambda v: len(shot_rows(store, settings, v)))


# schema and read-only ------------------------------------------------------------------------
def test_openapi_schema_lists_every_endpoint_as_get_only(client):
    schema = _ok(client, "/openapi.json")
    assert set(schema["paths"]) == ENDPOINTS
    for path, ops in schema["paths"].items():
        assert set(ops) == {"get"}, path
    similar = schema["paths"]["/similar/{title}/{shot_index}"]["get"]
    k = next(p for p in similar["parameters"] if p["name"] == "k")
    assert (k["schema"]["minimum"], k["schema"]["maximum"]) == (1, 1000)
    assert similar["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Similar")
    assert set(similar["responses"]) >= {"200", "404", "422", "503"}
    for path in ("/titles", "/titles/{title}/shots", "/match-cuts", "/search/text"):
        params = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert {"limit", "offset"} <= params, path
    flavor = next(p for p in schema["paths"]["/match-cuts"]["get"]["parameters"] if p["name"] == "flavor")
    assert flavor["schema"]["enum"] == list(FLAVORS) and flavor["schema"]["default"] == "visual"
    assert "image/png" in schema["paths"]["/match-cuts/sheet.png"]["get"]["responses"]["200"]["content"]
    pair = schema["components"]["schemas"]["MatchCutPair"]
    assert set(pair["properties"]) == {"out", "in", "score", "csls", "percentile"}
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/titles", "/match-cuts", "/search/text", "/similar/x/0", "/no/such/path"])
def test_every_write_method_is_refused(client, method, path):
    r = client.request(method, path, json={"anything": 1})
    assert r.status_code == 405
    assert "read-only" in r.json()["detail"] and r.headers["allow"] == "GET"


# titles and shots ------------------------------------------------------------------------------
def test_health_and_titles(client, library, store):
    from reelhouse.features.rows import shot_rows

    settings, report = library
    health = _ok(client, "/health")
    assert health["titles"] == 2 and health["shot_embeddings_snapshot_id"] == store.snapshot_id("shot_embeddings")
    assert health["visual_index_snapshot_id"] == health["shot_embeddings_snapshot_id"]  # warmed in the lifespan
    doc = _ok(client, "/titles")
    assert doc["total"] == 2 and doc["next_offset"] is None
    by_id = {t["video_id"]: t for t in doc["titles"]}
    assert sorted(by_id) == sorted(report.ok)
    for vid, t in by_id.items():
        assert t["file_name"] == Path(report.titles[vid]).name
        assert t["shot_count"] == len(shot_rows(store, settings, vid)) > 0
        assert t["duration_s"] == pytest.approx(5.0, abs=0.1)
        # a title answers to its id, a 6+ character prefix and its file name
        for ref in (vid, vid[:8], t["file_name"]):
            assert _ok(client, f"/titles/{ref}") == t
    assert "matches no ingested ok title" in _error(client, "/titles/nope.mp4", 404)
    assert "matches no ingested ok title" in _error(client, "/titles/notes.mp4", 404)  # quarantined: not ok


def test_scenes_of_a_pipeline_title_tile_its_shots_and_agree_with_the_cli(client, library, store, monkeypatch, capsys):
    from reelhouse.features.rows import shot_rows

    settings, report = library
    for vid in report.ok:  # `reelhouse run` computed every ok title's scenes
        shots = shot_rows(store, settings, vid)
        api = _ok(client, f"/titles/{vid[:10]}/scenes")
        assert api == _cli(monkeypatch, capsys, settings, "scenes", vid)
        edges = [s["start_shot"] for s in api["scenes"]] + [len(shots)]
        assert edges[0] == 0 and [s["end_shot"] for s in api["scenes"]] == edges[1:]
        assert [s["start_s"] for s in api["scenes"]] == [shots[e]["start_s"] for e in edges[:-1]]
        assert api["chapters"][0]["start_shot"] == 0 and api["chapters"][-1]["end_shot"] == len(shots)


def test_artwork_candidates_are_usable_frames_and_agree_across_cli_api_and_sql(client, library, store, monkeypatch,
                                                                               capsys, tmp_path):
    from reelhouse.cli.sql import sql_text
    from reelhouse.features.rows import shot_frame_rows
    from reelhouse.lakehouse.title_reads import BatchReads
    from reelhouse.quality.checks import artwork_frames_usable
    from reelhouse.query import open_engine

    settings, report = library
    vid = _longest_title(store, settings, report)
    cli = _cli(monkeypatch, capsys, settings, "artwork", vid, "--k", "3", "--sheet", str(tmp_path / "art.png"))
    api = _ok(client, f"/titles/{vid[:10]}/artwork", k=3)
    assert api == cli and 1 <= len(api["candidates"]) <= 3 and (tmp_path / "art.png").stat().st_size > 0
    assert set(api["candidates"][0]) == {"shot_index", "time_s", "score"}
    assert len({(c["shot_index"], c["time_s"]) for c in api["candidates"]}) == len(api["candidates"])
    scores_ = [c["score"] for c in api["candidates"]]
    frames = {(r["shot_index"], r["t_s"]): r for r in shot_frame_rows(store, settings, vid)}
    for c in api["candidates"]:  # each a stored representative frame, none flagged
        frame = frames[(c["shot_index"], c["time_s"])]
        assert not (frame["is_black"] or frame["is_blurred"] or frame["is_flash"])
    assert artwork_frames_usable(BatchReads(store, [vid]), settings, vid).passed
    with open_engine(settings, store.catalog) as engine:
        rows = engine.execute(sql_text("artwork_candidates"), {"title": vid, "top_n": 3}).to_pylist()
    assert [(r["shot_index"], r["score"]) for r in rows] == [(c["shot_index"], pytest.approx(c["score"], abs=1e-6))
                                                             for c in api["candidates"]]
    assert client.get(f"/titles/{vid}/artwork", params={"k": 13}).status_code == 422
    assert all(0.0 <= x <= 1.0 for x in scores_)


def test_regions_of_pipeline_titles_cover_every_frame(client, library, store):
    from reelhouse.lakehouse.title_reads import BatchReads
    from reelhouse.quality.checks import regions_in_frame

    settings, report = library
    for vid in report.ok:  # generated titles: no face, a 'none' row for every representative frame
        assert regions_in_frame(BatchReads(store, [vid]), settings, vid).passed
    assert _ok(client, "/regions", min_area=0.2, x_max=0.3333)["results"] == []


def test_clip_and_match_cut_preview_write_frame_exact_playable_files(library, store, monkeypatch, capsys, tmp_path):
    import av

    from reelhouse.features.rows import encode_row, shot_rows
    from reelhouse.media.frames import iter_frames
    from reelhouse.media.location import localize

    settings, report = library
    vid = _longest_title(store, settings, report)
    shot = shot_rows(store, settings, vid)[1]
    doc = _cli(monkeypatch, capsys, settings, "clip", vid[:10], "--shot", "1", str(tmp_path / "shot.mp4"))
    assert (doc["start_frame"], doc["end_frame"]) == (shot["start_frame"], shot["end_frame"])
    enc = encode_row(store, settings, vid)
    source = {f.index: f.rgb.astype(float) for f in iter_frames(localize(enc["uri"]))
              if shot["start_frame"] - 1 <= f.index <= shot["start_frame"] + 1}
    with av.open(str(tmp_path / "shot.mp4")) as c:
        frames = [f.to_ndarray(format="rgb24").astype(float) for f in c.decode(video=0)]
    assert len(frames) == shot["end_frame"] - shot["start_frame"] == doc["frames"]
    diff = {k: np.abs(x - frames[0]).mean() for k, x in source.items()}
    assert min(diff, key=diff.get) == shot["start_frame"], diff  # the clip's first frame is the shot's first
    span = _cli(monkeypatch, capsys, settings, "clip", vid, "0.3", "2.05", str(tmp_path / "span.mp4"))
    assert abs(span["duration_s"] - 1.75) <= 1 / enc["fps"]
    from reelhouse.cli import main

    capsys.readouterr()
    assert main(["clip", vid, "--shot", "999", str(tmp_path / "no.mp4")]) == 2
    assert "no shot 999" in capsys.readouterr().err and not (tmp_path / "no.mp4").exists()
    assert main(["clip", vid, "0", "9999", str(tmp_path / "no.mp4")]) == 2
    assert "past the title's end" in capsys.readouterr().err
    cuts = _cli(monkeypatch, capsys, settings, "match-cuts", "--titles", ",".join(report.ok), "--k", "2",
                "--preview", str(tmp_path / "reel.mp4"))
    with av.open(str(tmp_path / "reel.mp4")) as c:
        reel = sum(1 for _ in c.decode(video=0))
    assert reel == cuts["preview"]["frames"] > 0 and len(cuts["pairs"]) == 2


def test_shots_between_agrees_with_the_cli(client, library, store, monkeypatch, capsys):
    from reelhouse.features.rows import shot_rows

    settings, report = library
    vid = _longest_title(store, settings, report)
    shots = shot_rows(store, settings, vid)
    s1 = shots[1]
    start, end = s1["start_s"] + 0.01, s1["end_s"] - 0.01
    api = _ok(client, f"/titles/{vid[:10]}/shots", start_s=start, end_s=end)
    cli = _cli(monkeypatch, capsys, settings, "shots-between", vid[:10], str(start), str(end))
    assert _without_page(api) == cli and [s["shot_index"] for s in api["shots"]] == [1]
    # without a range: every shot
    whole = _ok(client, f"/titles/{vid}/shots")
    assert [s["shot_index"] for s in whole["shots"]] == [s["shot_index"] for s in shots]
    assert whole["start_s"] is None and whole["end_s"] is None
    assert [s["shot_index"] for s in _ok(client, f"/titles/{vid}/shots", start_s=s1["start_s"])["shots"]] == \
        [s["shot_index"] for s in shots[1:]]
    # bad ranges are 422 with the reason; a bad title is 404
    assert "need 0 <= start_s < end_s, got [5.0, 2.0)" in _error(client, f"/titles/{vid}/shots", 422, start_s=5, end_s=2)
    assert "need 0 <= start_s < end_s" in _error(client, f"/titles/{vid}/shots", 422, start_s=-1, end_s=2)
    assert "'start_s'" in _error(client, f"/titles/{vid}/shots", 422, start_s="nan")
    assert "'end_s'" in _error(client, f"/titles/{vid}/shots", 422, end_s="soon")
    assert "matches no ingested ok title" in _error(client, "/titles/nope/shots", 404, start_s=0, end_s=1)


# pagination ----------------------------------------------------------------------------------
def test_pages_concatenate_to_the_whole_list(client, library, store):
    settings, report = library
    vid = _longest_title(store, settings, report)
    picked = ",".join(report.ok)
    lists = [
        ("/titles", "titles", {}),
        (f"/titles/{vid}/shots", "shots", {}),
        (f"/similar/{vid}/0", "results", {"k": 4}),
        ("/match-cuts", "pairs", {"titles": picked, "flavor": "colour", "k": 5}),
        ("/search/text", "results", {"q": "the", "mode": "literal", "k": 50}),
    ]
    for url, key, params in lists:
        whole = _ok(client, url, limit=1000, **params)
        assert whole["next_offset"] is None and whole["total"] == len(whole[key]) >= 2, url
        items, pages = _all_pages(client, url, key, 1, **params)
        assert items == whole[key] and pages == whole["total"], url
        items, _ = _all_pages(client, url, key, 2, **params)
        assert items == whole[key], url
        past = _ok(client, url, offset=whole["total"] + 5, **params)
        assert past[key] == [] and past["next_offset"] is None and past["total"] == whole["total"], url
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}):
        detail = _error(client, "/titles", 422, **bad)
        assert repr(str(next(iter(bad.values())))) in detail
    assert "query parameter 'limit' must be between 1 and 1000 (got '0')" == _error(client, "/titles", 422, limit=0)


# similar -------------------------------------------------------------------------------------
def test_similar_agrees_with_the_cli(client, library, store, monkeypatch, capsys):
    settings, report = library
    vid = _longest_title(store, settings, report)
    other = next(v for v in report.ok if v != vid)
    api = _ok(client, f"/similar/{vid}/1", k=3)
    cli = _cli(monkeypatch, capsys, settings, "similar", vid, "1", "--k", "3")
    assert _without_page(api) == cli and 1 <= len(api["results"]) <= 3
    assert (vid, 1) not in {(h["video_id"], h["shot_index"]) for h in api["results"]}
    among = _ok(client, f"/similar/{vid[:8]}/1", k=3, titles=Path(report.titles[other]).name)
    assert _without_page(among) == _cli(monkeypatch, capsys, settings, "similar", vid, "1", "--k", "3", "--titles", other)
    assert {h["video_id"] for h in among["results"]} == {other}


def test_similar_rejects_bad_ids_and_k_with_clear_messages(client, library, store):
    settings, report = library
    vid = report.ok[0]
    assert "shot 9999 of title" in _error(client, f"/similar/{vid}/9999", 404)
    assert "title 'nope' matches no ingested ok title" == _error(client, "/similar/nope/0", 404)
    assert "matches no ingested ok title" in _error(client, f"/similar/{vid}/0", 404, titles="nope")
    assert "'shot_index'" in _error(client, f"/similar/{vid}/-1", 422)
    assert "'shot_index'" in _error(client, f"/similar/{vid}/first", 422)
    for k in (0, 1001):
        assert _error(client, f"/similar/{vid}/0", 422, k=k) == f"query parameter 'k' must be between 1 and 1000 (got '{k}')"
    body = client.get(f"/similar/{vid}/0", params={"k": 0}).json()
    assert body["errors"] == [{"loc": ["query", "k"], "msg": "Input should be greater than or equal to 1", "type": "greater_than_equal"}]


def test_a_commit_is_served_after_the_refresh_and_every_answer_names_its_state(client, library, store):
    from reelhouse.features.specs import visual_spec
    from reelhouse.lakehouse import FeatureSlice, new_run_id
    from reelhouse.lakehouse.schemas import AUDIT_COLUMNS

    settings, report = library
    served = client.app.state.served
    before = served.current
    assert served.refresh() is False and served.current is before  # nothing moved: the state is kept
    vid = report.ok[0]
    r = client.get(f"/similar/{vid}/0", params={"k": 2})
    assert r.status_code == 200 and r.headers["x-reelhouse-snapshot"] == before.token
    assert client.get("/titles/nope.mp4").headers["x-reelhouse-snapshot"] == before.token  # errors too
    spec = visual_spec(settings)
    slice_ = FeatureSlice(vid, spec.name, spec.version)
    rows = store.read_slice("shot_embeddings", slice_)
    store.replace_slice("shot_embeddings", slice_, rows.drop_columns(list(AUDIT_COLUMNS)), new_run_id())  # same rows, a new snapshot
    assert client.get("/titles").headers["x-reelhouse-snapshot"] == before.token  # not yet refreshed: the old state answers
    assert served.refresh() is True
    after = served.current
    assert after.token != before.token and after.snapshot_ids["shot_embeddings"] == store.snapshot_id("shot_embeddings")
    r = client.get(f"/similar/{vid}/0", params={"k": 2})
    assert r.headers["x-reelhouse-snapshot"] == after.token and r.json()["snapshot_id"] == store.snapshot_id("shot_embeddings")
    health = _ok(client, "/health")
    assert health["snapshot"] == after.token and health["visual_index_snapshot_id"] == store.snapshot_id("shot_embeddings")
    assert [s["token"] for s in health["recent"]][-2:] == [before.token, after.token]


# match cuts ----------------------------------------------------------------------------------
def test_match_cuts_agree_with_the_cli(client, library, monkeypatch, capsys):
    settings, report = library
    picked = sorted(report.ok)
    names = ",".join(Path(report.titles[v]).name for v in picked)
    for n, flavor in enumerate(["colour", *(f for f in FLAVORS if f != "colour")]):
        scope = ("all", "across", "within")[n % 3]
        api = _ok(client, "/match-cuts", titles=names, flavor=flavor, k=4, scope=scope, min_gap=1)
        cli = _cli(monkeypatch, capsys, settings, "match-cuts", "--titles", names, "--flavor", flavor, "--k", "4",
                   "--scope", scope, "--min-gap", "1")
        assert _without_page(api) == cli, flavor
        assert api["flavor"] == flavor and api["titles"] == picked
        assert api["pairs"] or flavor != "colour"
        # ranked by the hub-aware score, each shot in one pair at most (the defaults)
        assert api["rank_by"] == "csls" and api["per_shot"] == 1
        ranked = [p["csls"] for p in api["pairs"]]
        assert ranked == sorted(ranked, reverse=True)
        ends = [(p[side]["video_id"], p[side]["shot_index"]) for p in api["pairs"] for side in ("out", "in")]
        assert len(ends) == len(set(ends))
        assert all(0 <= p["percentile"] <= 100 for p in api["pairs"])
        if scope != "all":
            assert all((p["out"]["video_id"] == p["in"]["video_id"]) == (scope == "within") for p in api["pairs"])
    # raw cosine, no limit per shot: the same choice on both sides
    api = _ok(client, "/match-cuts", titles=names, flavor="colour", k=6, rank_by="cosine", per_shot=0)
    cli = _cli(monkeypatch, capsys, settings, "match-cuts", "--titles", names, "--flavor", "colour", "--k", "6",
               "--rank-by", "cosine", "--per-shot", "0")
    assert _without_page(api) == cli and api["rank_by"] == "cosine" and api["per_shot"] == 0
    scores = [p["score"] for p in api["pairs"]]
    assert scores and scores == sorted(scores, reverse=True)
    # titles may also be repeated instead of comma-separated
    repeated = client.get("/match-cuts", params=[("titles", picked[0]), ("titles", picked[1]), ("flavor", "colour"), ("k", "4")])
    assert repeated.status_code == 200 and repeated.json() == _ok(client, "/match-cuts", titles=",".join(picked), flavor="colour", k=4)


def test_match_cuts_reject_bad_input_with_clear_messages(client, library):
    settings, report = library
    vid = report.ok[0]
    assert _error(client, "/match-cuts", 422, titles=vid, flavor="smell") == \
        f"unknown flavor 'smell'; flavors: {', '.join(FLAVORS)}"
    assert _error(client, "/match-cuts", 404, titles=f"{vid},nope") == "title 'nope' matches no ingested ok title"
    assert _error(client, "/match-cuts", 422) == "query parameter 'titles' is required"
    assert _error(client, "/match-cuts", 422, titles=" , ") == "query parameter 'titles' names no title (got ' , ')"
    assert _error(client, "/search/text", 422, q="rain", titles="") == "query parameter 'titles' names no title (got '')"
    assert "between 1 and 1000" in _error(client, "/match-cuts", 422, titles=vid, k=5000)
    assert "'scope'" in _error(client, "/match-cuts", 422, titles=vid, scope="sideways")
    assert "'min_gap'" in _error(client, "/match-cuts", 422, titles=vid, min_gap=-1)
    assert "'per_shot'" in _error(client, "/match-cuts", 422, titles=vid, per_shot=-1)
    assert "'rank_by'" in _error(client, "/match-cuts", 422, titles=vid, rank_by="magic")
    assert "unknown flavor" in _error(client, "/match-cuts/sheet.png", 422, titles=vid, flavor="smell")
    assert "between 1 and 200" in _error(client, "/match-cuts/sheet.png", 422, titles=vid, k=201)


def test_match_cut_sheet_is_the_cli_sheet_as_png(client, library, monkeypatch, capsys, tmp_path):
    from PIL import Image

    settings, report = library
    picked = ",".join(sorted(report.ok))
    r = client.get("/match-cuts/sheet.png", params={"titles": picked, "flavor": "colour", "k": 3})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.format == "PNG" and img.width >= 480
    pairs = _ok(client, "/match-cuts", titles=picked, flavor="colour", k=3)["pairs"]
    assert img.height == 28 + len(pairs) * (144 + 42 + 8)
    sheet = tmp_path / "cli.png"
    _cli(monkeypatch, capsys, settings, "match-cuts", "--titles", picked, "--flavor", "colour", "--k", "3", "--sheet", str(sheet))
    assert np.array_equal(np.asarray(img.convert("RGB")), np.asarray(Image.open(sheet).convert("RGB")))


# subtitle search -----------------------------------------------------------------------------
def test_search_text_agrees_with_the_cli(client, library, store, monkeypatch, capsys):
    settings, report = library
    cues = [c for c in store.read("subtitle_cues").to_pylist() if c["cue_index"] >= 0]
    cue = max(cues, key=lambda c: len(c["text"]))
    for mode, flag in (("semantic", []), ("literal", ["--literal"])):
        api = _ok(client, "/search/text", q=cue["text"], k=3, mode=mode)
        cli = _cli(monkeypatch, capsys, settings, "search-text", cue["text"], "--k", "3", *flag)
        assert _without_page(api) == cli, mode
        best = api["results"][0]
        assert best["video_id"] == cue["video_id"] and cue["text"] in best["text"], mode
    other = next(v for v in report.ok if v != cue["video_id"])
    among = _ok(client, "/search/text", q=cue["text"], k=3, titles=other)
    assert among["results"] and {h["video_id"] for h in among["results"]} == {other}
    assert _error(client, "/search/text", 422, q="?!") == "the query has no words"
    assert _error(client, "/search/text", 422) == "query parameter 'q' is required"
    assert "'mode'" in _error(client, "/search/text", 422, q="rain", mode="fuzzy")
    assert "between 1 and 1000" in _error(client, "/search/text", 422, q="rain", k=0)
    assert "matches no ingested ok title" in _error(client, "/search/text", 404, q="rain", titles="nope")


# reelhouse serve -------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_reelhouse_serve_answers_over_http(library):
    from benchmarks.api import stop_server

    settings, report = library
    port = _free_port()
    env = {**os.environ, "REELHOUSE_HOME": str(settings.home), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "reelhouse.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/titles?limit=1", timeout=5) as r:
                    doc = json.loads(r.read())
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
                assert time.monotonic() < deadline, "reelhouse serve did not answer"
                time.sleep(0.5)
        assert doc["total"] == 2 and len(doc["titles"]) == 1 and doc["next_offset"] == 1
        req = urllib.request.Request(f"http://127.0.0.1:{port}/titles", method="DELETE")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 405
    finally:
        stop_server(proc)
