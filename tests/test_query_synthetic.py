"""The analyst queries in sql/ against a catalog written by the real feature store, checked in pandas.

The catalog (``reelhouse.samples.synthetic_catalog``) holds every table the pipeline writes, with
known structure: stale shots versions, near-duplicate shots, subtitle words, match cuts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore
from reelhouse.query.duckdb_engine import DuckDBEngine
from reelhouse.samples.synthetic_catalog import (
    CURRENT_VERSION,
    OLD_VERSION,
    VISUAL_FEATURE,
    SyntheticCatalog,
    SyntheticCatalogSpec,
    title_name,
    write_synthetic_catalog,
)

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
SPEC = SyntheticCatalogSpec(titles=24, shots_per_title=30, dim=16, cues_per_title=12, match_cuts_per_shot=2,
                            stale_share=0.25, quarantined_share=0.1, seed=3)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[FeatureStore, SyntheticCatalog]:
    home = tmp_path_factory.mktemp("synthetic-catalog")
    store = FeatureStore.from_settings(Settings(home=home))
    return store, write_synthetic_catalog(store, SPEC, titles_per_commit=10)


@pytest.fixture(scope="module")
def synthetic_engine(synthetic) -> Iterator[DuckDBEngine]:
    store, _ = synthetic
    with DuckDBEngine(store.catalog) as engine:
        yield engine


@pytest.fixture(scope="module")
def tables(synthetic) -> dict[str, pd.DataFrame]:
    store, _ = synthetic
    return {name: store.read(name).to_pandas() for name in
            ("media", "shots", "shot_embeddings", "subtitle_cues", "shot_dedup", "match_cuts", "scenes", "artwork", "regions",
             "shot_tags")}


@pytest.fixture(scope="module")
def sample_params(synthetic, tables) -> dict[str, dict[str, object]]:
    """Parameters that select rows in each query (others default to NULL)."""
    _, cat = synthetic
    shots = tables["shots"]
    vid = shots.video_id.iloc[0]
    return {
        "shots_in_time_range": {"title": vid, "start_s": 10.0, "end_s": 40.0},
        "scenes_of_title": {"title": vid},
        "artwork_candidates": {"title": vid, "top_n": 4},
        "regions_search": {"label": "face", "min_area": 0.1, "x_min": 0.0, "x_max": 0.5, "y_min": 0.0, "y_max": 1.0,
                           "top_n": 200},
        "shots_by_tag": {"tag": "night", "min_score": 0.5, "top_n": 100},
        "subtitle_search": {"phrase": "RIVER"},
        "similar_shots": {"feature": VISUAL_FEATURE, "video_id": vid, "shot_index": 8},
    }


def run(engine: DuckDBEngine, name: str, **params) -> pd.DataFrame:
    text = (SQL_DIR / f"{name}.sql").read_text()
    from reelhouse.query import required_params

    return engine.execute(text, {p: params.get(p) for p in required_params(text)}).to_pandas()


def names(tables) -> dict[str, str]:
    media = tables["media"]
    return dict(zip(media.video_id, media.source_uri.str.rsplit("/", n=1).str[-1]))


def timecode(seconds: float) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:06.3f}"


def test_feature_coverage_reports_stale_and_missing_titles(synthetic_engine, tables):
    got = run(synthetic_engine, "feature_coverage")
    media, shots = tables["media"], tables["shots"]
    ok = set(media.video_id[media.status == "ok"])
    by_version = shots.groupby("feature_version").video_id.unique().map(set)
    old, new = by_version[OLD_VERSION], by_version[CURRENT_VERSION]
    assert old and new, "the synthetic catalog holds both shots versions"

    rows = got[got.feature == "shots"].set_index("feature_version")
    assert list(rows.index) == [CURRENT_VERSION, OLD_VERSION]  # newest first
    assert rows.loc[CURRENT_VERSION, "is_newest"] and not rows.loc[OLD_VERSION, "is_newest"]
    assert rows.loc[CURRENT_VERSION, "titles"] == len(new)
    assert rows.loc[CURRENT_VERSION, "ok_titles"] == len(ok)
    assert rows.loc[CURRENT_VERSION, "coverage"] == pytest.approx(len(new & ok) / len(ok))
    assert rows.loc[CURRENT_VERSION, "missing_titles"] == len(ok - new)
    assert rows.loc[OLD_VERSION, "stale_titles"] == len(old - new)
    assert rows.loc[CURRENT_VERSION, "row_count"] == (shots.feature_version == CURRENT_VERSION).sum()
    assert (got.age_hours >= 0).all() and (got.age_hours < 1).all()
    # every table that holds rows is covered
    assert set(got.table_name) == {"media", "shots", "shot_embeddings", "subtitle_cues", "shot_dedup", "match_cuts"}
    only = run(synthetic_engine, "feature_coverage", feature="shots")
    assert list(only.feature_version) == [CURRENT_VERSION, OLD_VERSION]


def test_top_match_cuts_merges_mirrors_and_names_titles(synthetic_engine, tables):
    got = run(synthetic_engine, "top_match_cuts", flavor="visual", top_n=15)
    cuts = tables["match_cuts"]
    a = np.where(cuts.video_id + cuts.shot_index.map("{:09d}".format) <= cuts.other_video_id + cuts.other_shot_index.map("{:09d}".format), 1, 0)
    key = pd.DataFrame({
        "a_vid": np.where(a, cuts.video_id, cuts.other_video_id), "a_shot": np.where(a, cuts.shot_index, cuts.other_shot_index),
        "b_vid": np.where(a, cuts.other_video_id, cuts.video_id), "b_shot": np.where(a, cuts.other_shot_index, cuts.shot_index),
        "score": cuts.score,
    })
    expected = key.groupby(["a_vid", "a_shot", "b_vid", "b_shot"]).score.max().sort_values(ascending=False).head(15)
    assert list(got.pair_rank) == list(range(1, 16))
    assert got.score.to_numpy() == pytest.approx(expected.to_numpy())
    assert set(zip(got.video_id, got.shot_index, got.other_video_id, got.other_shot_index)) == set(expected.index)
    title = names(tables)
    assert list(got.title) == [title[v] for v in got.video_id]
    assert list(got.other_title) == [title[v] for v in got.other_video_id]
    shots = tables["shots"].set_index(["video_id", "shot_index"])
    for row in got.itertuples():
        if (row.video_id, row.shot_index) in shots.index:
            assert row.start_tc == timecode(shots.loc[(row.video_id, row.shot_index), "start_s"])
    one = got.video_id.iloc[0]
    mine = run(synthetic_engine, "top_match_cuts", flavor="visual", video_id=one, min_score=0.9, top_n=100)
    assert len(mine) and ((mine.video_id == one) | (mine.other_video_id == one)).all() and (mine.score >= 0.9).all()


def test_shots_in_time_range_by_id_prefix_and_file_name(synthetic_engine, tables):
    shots, cues = tables["shots"], tables["subtitle_cues"]
    vid = shots.video_id.iloc[0]
    mine = shots[shots.video_id == vid]
    expected = mine[(mine.start_s < 40.0) & (mine.end_s > 10.0)].sort_values("start_s")
    for title in (vid, vid[:8], names(tables)[vid]):
        got = run(synthetic_engine, "shots_in_time_range", title=title, start_s=10.0, end_s=40.0)
        assert list(got.shot_index) == list(expected.shot_index)
        assert (got.video_id == vid).all()
    first = expected.iloc[0]
    overlapping = cues[(cues.video_id == vid) & (cues.start_s < first.end_s) & (cues.end_s > first.start_s)
                       & (cues.start_s < 40.0) & (cues.end_s > 10.0)].sort_values("start_s")
    text = got.subtitle_text.iloc[0]
    assert text == (" ".join(overlapping.text) if len(overlapping) else None)
    assert run(synthetic_engine, "shots_in_time_range", title="no_such_title.mp4", start_s=0.0, end_s=1e6).empty


def test_scenes_of_title_lists_chapters_then_their_scenes(synthetic_engine, tables):
    scenes = tables["scenes"]
    vid = scenes.video_id.iloc[0]
    mine = scenes[scenes.video_id == vid]
    for title in (vid, vid[:8], names(tables)[vid]):
        got = run(synthetic_engine, "scenes_of_title", title=title)
        assert (got.video_id == vid).all() and len(got) == len(mine)
    chapters, in_scenes = got[got.level == "chapter"], got[got.level == "scene"]
    table_chapters = mine[mine.level == "chapter"].sort_values("group_index")
    assert list(chapters.chapter) == list(table_chapters.group_index)
    assert list(in_scenes.scene) == sorted(mine[mine.level == "scene"].group_index)
    assert list(in_scenes.shots) == list(in_scenes.end_shot - in_scenes.start_shot)
    for c in table_chapters.itertuples():  # a scene's chapter is the chapter holding it; a chapter row precedes them
        rows = got[(got.level == "scene") & (got.scene >= c.start_scene) & (got.scene < c.end_scene)]
        assert (rows.chapter == c.group_index).all()
        assert got.index[got.level.eq("chapter") & got.chapter.eq(c.group_index)][0] < rows.index.min()
    assert run(synthetic_engine, "scenes_of_title", title="no_such_title.mp4").empty


def test_artwork_candidates_best_first_per_title(synthetic_engine, tables):
    art = tables["artwork"]
    vid = art.video_id.iloc[0]
    got = run(synthetic_engine, "artwork_candidates", title=names(tables)[vid], top_n=4)
    mine = art[art.video_id == vid].sort_values("rank")
    assert list(got["rank"]) == list(range(1, 5)) and list(got.shot_index) == list(mine.shot_index[:4])
    every = run(synthetic_engine, "artwork_candidates", title=None, top_n=None)
    assert len(every) == len(art) and list(every.video_id) == sorted(every.video_id)


def test_regions_search_matches_the_boxes(synthetic_engine, tables):
    reg = tables["regions"]
    got = run(synthetic_engine, "regions_search", label="face", min_area=0.1, x_min=0.0, x_max=0.5, y_min=0.0,
              y_max=1.0, top_n=None)
    faces = reg[(reg.label == "face") & (reg.area >= 0.1) & ((reg.x0 + reg.x1) / 2 <= 0.5)]
    assert len(got) == len(faces) > 0 and list(got.area) == sorted(got.area, reverse=True)
    assert set(zip(got.video_id, got.shot_index)) == set(zip(faces.video_id, faces.shot_index))


def test_shots_by_tag_ranks_the_current_probes_scores(synthetic_engine, tables):
    tags, shots = tables["shot_tags"], tables["shots"]
    got = run(synthetic_engine, "shots_by_tag", tag="night", min_score=0.5, top_n=None)
    want = tags[(tags.tag == "night") & (tags.score >= 0.5)]
    assert len(got) == len(want) > 0 and list(got.score) == sorted(want.score, reverse=True)
    assert set(zip(got.video_id, got.shot_index)) == set(zip(want.video_id, want.shot_index))
    first = got.iloc[0]
    shot = shots[(shots.video_id == first.video_id) & (shots.shot_index == first.shot_index)]
    assert first.start_s in set(shot.start_s) and first.probes == "1-tags0000000"
    assert len(run(synthetic_engine, "shots_by_tag", tag="night", min_score=0.0, top_n=7)) == 7
    assert run(synthetic_engine, "shots_by_tag", tag="no-such-tag", min_score=0.0, top_n=None).empty


def test_near_duplicate_groups_match_the_dedup_table(synthetic_engine, tables):
    got = run(synthetic_engine, "near_duplicate_groups")
    dedup = tables["shot_dedup"]
    sizes = dedup.groupby(["video_id", "group_shot_index"]).size()
    expected = sizes[sizes >= 2]
    assert len(got) == len(expected) > 0
    assert dict(zip(zip(got.video_id, got.group_shot_index), got.group_size)) == expected.to_dict()
    row = got.iloc[0]
    members = dedup[(dedup.video_id == row.video_id) & (dedup.group_shot_index == row.group_shot_index)]
    assert list(row.shot_indexes) == sorted(members.shot_index)
    assert row.min_similarity == pytest.approx(members.similarity.min())
    assert run(synthetic_engine, "near_duplicate_groups", min_size=3).empty


def test_subtitle_search_is_case_insensitive_and_finds_the_shot(synthetic_engine, tables):
    got = run(synthetic_engine, "subtitle_search", phrase="RIVER")
    cues, shots = tables["subtitle_cues"], tables["shots"]
    hits = cues[cues.text.str.lower().str.contains("river")]
    assert set(zip(got.video_id, got.cue_index)) == set(zip(hits.video_id, hits.cue_index)) and len(got)
    for row in got.itertuples():
        mine = shots[(shots.video_id == row.video_id) & (shots.start_s <= row.start_s) & (shots.end_s > row.start_s)]
        assert row.shot_index == (mine.shot_index.iloc[0] if len(mine) else None) or pd.isna(row.shot_index)
        assert row.title == names(tables)[row.video_id]
    one = got.video_id.iloc[0]
    assert set(run(synthetic_engine, "subtitle_search", phrase="river", video_id=one).video_id) == {one}


def test_similar_shots_is_exact_cosine(synthetic_engine, tables):
    emb = tables["shot_embeddings"]
    vid = emb.video_id.iloc[0]
    mine = emb[emb.video_id == vid].sort_values("shot_index")
    vectors = np.stack(mine.embedding.to_numpy()).astype(np.float64)
    query = vectors[mine.shot_index.to_list().index(8)]
    sims = vectors @ query / np.linalg.norm(vectors, axis=1) / np.linalg.norm(query)
    order = [i for i in np.argsort(-sims) if mine.shot_index.iloc[i] != 8][:5]
    got = run(synthetic_engine, "similar_shots", feature=VISUAL_FEATURE, video_id=vid, shot_index=8, top_n=5)
    assert list(got.other_shot_index) == [int(mine.shot_index.iloc[i]) for i in order]
    assert got.similarity.to_numpy() == pytest.approx(sims[order], abs=1e-6)
    assert got.other_shot_index.iloc[0] == 9  # the synthetic near-duplicate of shot 8
    other = emb.video_id[emb.video_id != vid].iloc[0]
    across = run(synthetic_engine, "similar_shots", feature=VISUAL_FEATURE, video_id=vid, shot_index=8, other_video_id=other)
    assert (across.other_video_id == other).all() and len(across) == 10


def test_quarantined_titles_are_named_but_not_counted_ok(synthetic_engine, tables):
    media = tables["media"]
    quarantined = media[media.status != "ok"]
    assert len(quarantined), "the synthetic catalog quarantines some titles"
    coverage = run(synthetic_engine, "feature_coverage", feature="media")
    assert coverage.titles.iloc[0] == len(media) and coverage.ok_titles.iloc[0] == len(media) - len(quarantined)
    assert title_name(0) in set(names(tables).values())
