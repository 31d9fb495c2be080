"""Asset checks on a real Iceberg store: a valid synthetic title passes every check, and each check fails,
naming the problem, on a copy of that title broken on purpose (one title per break, all in one store).

The last tests run the checks through Dagster: the real per-title assets (memoized, since the store
already holds their current versions, so no Spark job starts) plus the checks, for one partition.
"""

from __future__ import annotations

import dataclasses

import copy
import hashlib
import io
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pytest

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec, specs
from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id, table_def
from reelhouse.quality import checks as q

#: (table, feature, feature_version) -> rows (audit columns left to the writer).
Title = dict[tuple[str, str, str], list[dict]]
Check = Callable[[FeatureStore, Settings, str], q.CheckResult]

FPS = 24.0
SHOTS = [(0, 30), (30, 50), (50, 80), (80, 96)]  # [start_frame, end_frame) of a 96-frame encode
FRAMES = {0: [5, 15], 1: [40], 2: [60, 70], 3: [88]}  # representative frames per shot, in rank order
SILENT_SHOT = 2  # no audio embedding
CUE = (0.1, 1.5)  # one subtitle cue in seconds: overlaps shots 0 and 1 only
FLAT_SHOT = 3  # a featureless frame: all-zero layout map, has_embedding false


def tiny_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 24), (90, 120, 150)).save(out, format="JPEG")
    return out.getvalue()


JPEG = tiny_jpeg()  # every representative frame's thumbnail (the shot_frames asset previews them)


def key(spec: FeatureSpec, version: str | None = None) -> tuple[str, str, str]:
    return spec.table, spec.name, version or spec.version


def unit_vectors(n: int, dim: int, seed: int) -> list[list[float]]:
    x = np.random.default_rng(seed).normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32).tolist()


def embedding_rows(contract: q.EmbeddingContract, absent: set[int], seed: int) -> list[dict]:
    vectors = unit_vectors(len(SHOTS), contract.dim, seed)
    blank = None if contract.absent_as == "null" else [0.0] * contract.dim
    return [{"shot_index": i, "model": contract.spec.name, "dim": contract.dim, "has_embedding": i not in absent,
             "embedding": blank if i in absent else vectors[i]} for i in range(len(SHOTS))]


def valid_title(s: Settings) -> Title:
    """A consistent 4-shot title at the current feature versions."""
    contracts = q.embedding_contracts(s)
    shots = [{"shot_index": i, "start_frame": a, "end_frame": b, "start_s": a / FPS, "end_s": b / FPS, "fps": FPS,
              "transition": "cut", "confidence": 1.0, "detector": "synthetic"} for i, (a, b) in enumerate(SHOTS)]
    frames = [{"shot_index": i, "rank": r, "frame_index": f, "t_s": f / FPS, "brightness": 100.0, "sharpness": 50.0,
               "is_black": False, "is_blurred": False, "is_flash": False, "thumbnail": JPEG}
              for i, fs in FRAMES.items() for r, f in enumerate(fs, 1)]
    text_shots = {i for i, (a, b) in enumerate(SHOTS) if a / FPS < CUE[1] and b / FPS > CUE[0]}
    absent = {specs.layout_spec(s).name: {FLAT_SHOT}, specs.audio_spec(s).name: {SILENT_SHOT},
              specs.text_spec(s).name: set(range(len(SHOTS))) - text_shots}
    title: Title = {
        key(specs.encode_spec(s)): [{"uri": "file:///encode.mp4", "width": 640, "height": 360, "fps": FPS,
                                     "frame_count": SHOTS[-1][1], "duration_s": SHOTS[-1][1] / FPS, "has_audio": True,
                                     "audio_rate": 16000, "size_bytes": 1, "recipe_json": "{}"}],
        key(specs.shots_spec(s)): shots,
        key(specs.shot_frames_spec(s)): frames,
        key(specs.shot_audio_spec(s)): [{"shot_index": i, "speech_ratio": 0.0, "rms_dbfs": -120.0 if i == SILENT_SHOT else -20.0,
                                     "is_silent": i == SILENT_SHOT} for i in range(len(SHOTS))],
        key(specs.subtitles_spec()): [{"cue_index": 0, "start_s": CUE[0], "end_s": CUE[1], "text": "hello there",
                                       "source": "sidecar"}],
    }
    for seed, (name, contract) in enumerate(contracts.items()):
        title[key(contract.spec)] = embedding_rows(contract, absent.get(name, set()), seed)
    return title


def write_titles(store: FeatureStore, titles: dict[str, Title]) -> None:
    """Write every title's slices, one commit per table."""
    by_table: dict[str, dict[FeatureSlice, pa.Table]] = {}
    for vid, title in titles.items():
        for (table, feature, version), rows in title.items():
            schema = table_def(table).arrow_schema
            sub = pa.schema([schema.field(n) for n in schema.names if n in rows[0]])
            by_table.setdefault(table, {})[FeatureSlice(vid, feature, version)] = pa.Table.from_pylist(rows, schema=sub)
    for table, slices in by_table.items():
        store.replace_slices(table, slices, new_run_id())


def title_id(name: str) -> str:
    return hashlib.md5(name.encode()).hexdigest()


# The breaks ---------------------------------------------------------------------------------------------
def rows(title: Title, spec: FeatureSpec) -> list[dict]:
    return title[key(spec)]


def shots_of(s: Settings, t: Title) -> list[dict]:
    return rows(t, specs.shots_spec(s))


def set_field(spec_of: Callable[[Settings], FeatureSpec], shot: int, **values) -> Callable[[Title, Settings], None]:
    """A break setting fields of one shot's row of a feature."""
    def brk(t: Title, s: Settings) -> None:
        next(r for r in rows(t, spec_of(s)) if r["shot_index"] == shot).update(values)
    return brk


def duplicate_row(t: Title, s: Settings) -> None:
    visual = rows(t, specs.visual_spec(s))
    visual.append(dict(visual[1]))


def drop_shot_audio_row(t: Title, s: Settings) -> None:
    t[key(specs.shot_audio_spec(s))] = [r for r in rows(t, specs.shot_audio_spec(s)) if r["shot_index"] != SILENT_SHOT]


def drop_frames_of_last_shot(t: Title, s: Settings) -> None:
    t[key(specs.shot_frames_spec(s))] = [r for r in rows(t, specs.shot_frames_spec(s)) if r["shot_index"] != 3]


def shorten_colour_vector(t: Title, s: Settings) -> None:
    row = rows(t, specs.colour_spec(s))[0]
    row["embedding"] = row["embedding"][:-1]


def set_layout_dims(t: Title, s: Settings) -> None:
    for r in rows(t, specs.layout_spec(s)):
        r["dim"] = 100


def halve_visual_vector(t: Title, s: Settings) -> None:
    row = rows(t, specs.visual_spec(s))[1]
    row["embedding"] = [x * 0.5 for x in row["embedding"]]


def nan_in_text_vector(t: Title, s: Settings) -> None:
    rows(t, specs.text_spec(s))[0]["embedding"][7] = float("nan")


def lengthen_the_cue(t: Title, s: Settings) -> None:
    rows(t, specs.subtitles_spec())[0]["end_s"] = 2.5  # now also over shot 2, whose text embedding is null


def only_an_older_visual_version(t: Title, s: Settings) -> None:
    t[key(specs.visual_spec(s), "0-00000000")] = t.pop(key(specs.visual_spec(s)))


def no_text_feature(t: Title, s: Settings) -> None:
    del t[key(specs.text_spec(s))]


def rows_check(spec_of: Callable[[Settings], FeatureSpec]) -> Check:
    return lambda store, s, vid: q.one_row_per_shot(store, s, vid, spec_of(s))


def dims_check(spec_of: Callable[[Settings], FeatureSpec]) -> Check:
    return lambda store, s, vid: q.embedding_dims_and_norms(store, vid, q.embedding_contracts(s)[spec_of(s).name])


def current_check(spec_of: Callable[[Settings], FeatureSpec]) -> Check:
    return lambda store, s, vid: q.feature_is_current(store, vid, spec_of(s))


EMBEDDING_SPECS = [specs.visual_spec, specs.colour_spec, specs.layout_spec, specs.audio_spec, specs.text_spec]
PER_TITLE_SPECS = [specs.shots_spec, specs.shot_frames_spec, *EMBEDDING_SPECS, specs.shot_audio_spec]
EVERY_CHECK: list[Check] = [
    q.shots_tile_title, q.frames_inside_shots, q.audio_null_iff_silent, q.text_null_iff_no_subtitle_text,
    *(rows_check(f) for f in [*EMBEDDING_SPECS, specs.shot_audio_spec]),
    *(dims_check(f) for f in EMBEDDING_SPECS),
    *(current_check(f) for f in PER_TITLE_SPECS),
]

#: name -> (break, the check that must fail, what its description must say)
BREAKS: dict[str, tuple[Callable[[Title, Settings], None], Check, str]] = {
    "gap": (set_field(specs.shots_spec, 1, start_frame=32), q.shots_tile_title,
            "gap between shot 0 (ends at frame 30) and shot 1 (starts at 32)"),
    "overlap": (set_field(specs.shots_spec, 1, end_frame=52), q.shots_tile_title,
                "overlap between shot 1 (ends at frame 52) and shot 2 (starts at 50)"),
    "last shot short of the end": (set_field(specs.shots_spec, 3, end_frame=90), q.shots_tile_title,
                                   "last shot 3 ends at frame 90, 6 short of the encode's 96 frames"),
    "first shot late": (set_field(specs.shots_spec, 0, start_frame=2), q.shots_tile_title,
                        "first shot 0 starts at frame 2, not 0"),
    "empty shot": (set_field(specs.shots_spec, 2, end_frame=50), q.shots_tile_title, "shot 2 is empty or reversed: [50, 50)"),
    "skipped shot index": (set_field(specs.shots_spec, 3, shot_index=4), q.shots_tile_title,
                           "shot index(es) 3 missing (indexes must run 0..n-1)"),
    "duplicate row": (duplicate_row, rows_check(specs.visual_spec), "shot 1 has 2 rows"),
    "missing shot row": (drop_shot_audio_row, rows_check(specs.shot_audio_spec), "no row for shot(s) 2"),
    "frame outside its shot": (set_field(specs.shot_frames_spec, 1, frame_index=55), q.frames_inside_shots,
                               "frame 55 (shot 1, rank 1) is outside shot 1 [30, 50)"),
    "shot without frames": (drop_frames_of_last_shot, q.frames_inside_shots, "shot(s) 3 have no representative frame"),
    "wrong dimension": (shorten_colour_vector, dims_check(specs.colour_spec), "shot 0: vector has 127 values, expected 128"),
    "wrong dim column": (set_layout_dims, dims_check(specs.layout_spec), "shot 0: dim column says 100, expected 144"),
    "non-unit norm": (halve_visual_vector, dims_check(specs.visual_spec), "shot 1: L2 norm 0.5, expected 1 ± 0.001"),
    "NaN": (nan_in_text_vector, dims_check(specs.text_spec), "shot 0: vector has 1 non-finite value(s) (NaN or inf)"),
    "null vector without its flag": (set_field(specs.audio_spec, 0, embedding=None), dims_check(specs.audio_spec),
                                     "shot 0: has_embedding is true but the embedding is null"),
    "flag without a null vector": (set_field(specs.text_spec, 3, embedding=[0.0] * 383 + [1.0]), dims_check(specs.text_spec),
                                   "shot 3: has_embedding is false but a vector is stored"),
    "null visual vector": (set_field(specs.layout_spec, FLAT_SHOT, embedding=None), dims_check(specs.layout_spec),
                           "shot 3: null embedding (layout stores an absent vector as 144 zeros"),
    "silent flag disagrees": (set_field(specs.shot_audio_spec, SILENT_SHOT, is_silent=False), q.audio_null_iff_silent,
                              "shot 2 has no audio embedding but shot_audio says it is not silent"),
    "subtitle text without embedding": (lengthen_the_cue, q.text_null_iff_no_subtitle_text,
                                        "shot 2 has subtitle text but no text embedding"),
    "stale version only": (only_an_older_visual_version, current_check(specs.visual_spec),
                           "holds visual version 0-00000000, code is at 1-"),
    "feature missing": (no_text_feature, current_check(specs.text_spec), "holds no text rows"),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> tuple[FeatureStore, Settings]:
    """One store holding the valid title and one broken copy per entry of ``BREAKS``."""
    settings = Settings(home=tmp_path_factory.mktemp("quality"))
    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    titles = {title_id("valid"): valid_title(settings)}
    for name, (brk, _, _) in BREAKS.items():
        titles[title_id(name)] = copy.deepcopy(titles[title_id("valid")])
        brk(titles[title_id(name)], settings)
    write_titles(store, titles)
    return store, settings


def test_a_valid_title_passes_every_check(library):
    store, settings = library
    for check in EVERY_CHECK:
        result = check(store, settings, title_id("valid"))
        assert result.passed, result.description
        assert result.metadata.get("problems", 0) == 0


@pytest.mark.parametrize("name", list(BREAKS))
def test_each_check_fails_on_purpose_broken_data(library, name):
    store, settings = library
    _, check, expected = BREAKS[name]
    result = check(store, settings, title_id(name))
    assert not result.passed
    assert expected in result.description, result.description


def test_batch_reads_give_every_check_the_same_verdicts_in_a_few_scans(library):
    """Checking a batch reads each (table, feature, version, columns) once for all its titles, and every
    check's verdict, description and metadata are the ones the title's own scans give."""
    from reelhouse.lakehouse.title_reads import BatchReads

    store, settings = library
    vids = [title_id("valid"), *(title_id(n) for n in BREAKS), title_id("never written")]
    scans = []

    class CountingStore(FeatureStore):
        def read(self, *args, **kwargs):
            scans.append(args[0])
            return super().read(*args, **kwargs)

    counting = CountingStore(store.catalog, store.namespace)
    reads = BatchReads(counting, vids)
    for check in EVERY_CHECK:
        for vid in vids:
            alone, batched = check(store, settings, vid), check(reads, settings, vid)
            assert (batched.passed, batched.description, batched.metadata) == (alone.passed, alone.description,
                                                                               alone.metadata), vid
    with pytest.raises(KeyError, match="not one of this batch"):
        reads.slice_table("shots", FeatureSlice("f" * 32, "shots", "1"), ("shot_index",))
    assert len(scans) <= 40 < len(EVERY_CHECK) * len(vids)  # a few scans per table, not one per title and check


def test_a_title_without_shots_fails_the_shot_checks(library):
    store, settings = library
    absent = title_id("never written")
    for check in (q.shots_tile_title, q.frames_inside_shots, rows_check(specs.visual_spec)):
        result = check(store, settings, absent)
        assert not result.passed and f"title {absent} has no shots at shots version" in result.description


def test_the_index_check_follows_the_shot_embeddings_snapshot(store, settings):
    from reelhouse.search.ann import load_or_build

    spec = specs.visual_spec(settings)
    feature = spec.name
    write_titles(store, {title_id("a"): valid_title(settings)})
    missing = q.ann_index_is_current(settings.index_root, store, spec)
    assert not missing.passed and f"no persisted {feature} index" in missing.description
    index, _ = load_or_build(store, settings.index_root, spec)
    current = q.ann_index_is_current(settings.index_root, store, spec)
    assert current.passed and current.metadata["vectors"] == len(SHOTS), current.description
    bumped = dataclasses.replace(spec, algorithm_version="2")  # a new encoder: the code's current version moves
    other = q.ann_index_is_current(settings.index_root, store, bumped)
    assert not other.passed and f"holds version {spec.version}, but the current version is {bumped.version}" in other.description
    write_titles(store, {title_id("b"): valid_title(settings)})  # shot_embeddings moves to a new snapshot
    stale = q.ann_index_is_current(settings.index_root, store, spec)
    assert not stale.passed
    assert (f"built from shot_embeddings snapshot {index.snapshot_id}, but the table is at snapshot "
            f"{store.snapshot_id('shot_embeddings')}") in stale.description


# Through Dagster ---------------------------------------------------------------------------------------
def _materialize_title(settings: Settings, vid: str):
    import dagster as dg

    from dagster_project.assets import STEP_ASSETS, titles
    from dagster_project.checks import TITLE_CHECKS
    from dagster_project.resources import resources_for

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(titles.name, [vid])
    from reelhouse.features import registry

    # Every step whose features have checks, all of them stored already (no Spark job starts).
    wanted = {f.name for f in registry.title_features() if f.checks}
    assets = [a for a in STEP_ASSETS if {k.to_user_string() for k in a.keys} & wanted]
    return dg.materialize([*assets, *TITLE_CHECKS], partition_key=vid, instance=instance,
                          resources=resources_for(settings), raise_on_error=False)


def test_checks_run_with_their_assets_in_one_dagster_run(store, settings):
    import dagster as dg

    from dagster_project.assets import visual_shot_index
    from dagster_project.checks import CATALOG_CHECKS, TITLE_CHECKS
    from dagster_project.resources import resources_for

    vid = title_id("dagster")
    write_titles(store, {vid: valid_title(settings)})
    result = _materialize_title(settings, vid)  # every asset is memoized: no Spark job starts
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == sum(len(c.check_keys) for c in TITLE_CHECKS) >= 23
    assert all(e.passed and e.partition == vid for e in evaluations), [e.description for e in evaluations if not e.passed]

    catalog = dg.materialize([visual_shot_index, *CATALOG_CHECKS], resources=resources_for(settings))
    [index_check] = catalog.get_asset_check_evaluations()
    assert index_check.passed and index_check.severity == dg.AssetCheckSeverity.WARN, index_check.description


def test_a_failed_tiling_check_blocks_the_downstream_assets(store, settings):
    vid = title_id("dagster gap")
    title = valid_title(settings)
    set_field(specs.shots_spec, 1, start_frame=32)(title, settings)
    write_titles(store, {vid: title})
    result = _materialize_title(settings, vid)
    assert not result.success
    [tiling] = [e for e in result.get_asset_check_evaluations() if e.check_name == "tiles_title"]
    assert not tiling.passed and tiling.partition == vid
    assert "gap between shot 0 (ends at frame 30) and shot 1 (starts at 32)" in tiling.description
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"shots"}  # frames, embeddings and audio never ran on broken shots
