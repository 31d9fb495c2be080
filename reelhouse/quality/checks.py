"""Data-quality checks of one title's features: pure, read-only, Dagster-free.

Every check reads through the :class:`~reelhouse.lakehouse.FeatureStore` read API (never writes) at
the feature versions the code is at now (``reelhouse.features.specs`` for the given settings), and
returns a :class:`CheckResult` whose description names exactly what is wrong, e.g. ``gap between
shot 3 (ends at frame 120) and shot 4 (starts at 125)``.

Conventions (docs/ARCHITECTURE.md): shots are frame ranges ``[start_frame, end_frame)`` of the
standardized encode, 0-based, end exclusive; seconds are ``[start_s, end_s)``; shot indexes run
``0..n-1`` in time order. Every ``shot_embeddings`` vector is L2-normalized; a shot without the
modality has ``has_embedding = false`` and either a null vector (audio: silent shot; text: no
subtitle text) or, for the visual features, the all-zero mean their pooling leaves.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
from pyiceberg.expressions import And, EqualTo

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec, registry
from reelhouse.features.specs import (
    audio_spec,
    encode_spec,
    shot_audio_spec,
    shot_frames_spec,
    shots_spec,
    subtitles_spec,
    text_spec,
)
from reelhouse.lakehouse import FeatureSlice, FeatureStore
from reelhouse.lakehouse.title_reads import TitleReads
from reelhouse.search.ann import index_folder

#: Largest allowed distance of a stored vector's L2 norm from 1.
NORM_TOLERANCE = 1e-3
#: Problems (and shot numbers) a description lists before summarizing the rest as a count.
MAX_LISTED = 5

Metadata = dict[str, int | float | str]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        passed: the data satisfies the check.
        description: what was verified, or precisely what is wrong (the first ``MAX_LISTED`` problems).
        metadata: counts and versions behind the verdict (``problems`` is the number of problems found).
    """

    passed: bool
    description: str
    metadata: Metadata = field(default_factory=dict)


@dataclass(frozen=True)
class EmbeddingContract:
    """What a ``shot_embeddings`` feature stores.

    Attributes:
        spec: the feature at its current version.
        dim: length of every stored vector (and the value of the ``dim`` column).
        absent_as: how a shot without the modality (``has_embedding = false``) stores its vector:
            ``"null"``, or ``"zeros"`` (a ``dim``-long all-zero vector, what mean-pooling leaves).
    """

    spec: FeatureSpec
    dim: int
    absent_as: Literal["null", "zeros"]


def embedding_contracts(settings: Settings) -> dict[str, EmbeddingContract]:
    """The contract of every per-title ``shot_embeddings`` feature at its current version, keyed by
    feature name: its registry declaration's ``Search.dim`` and ``Search.absent``."""
    contracts = {}
    for f in registry.title_features():
        if f.search is not None and f.search.dim is not None:
            spec = f.spec(settings)
            contracts[f.name] = EmbeddingContract(spec, f.search.dim(spec), f.search.absent)
    return contracts


# Tiling and rows ----------------------------------------------------------------------------------
def shots_tile_title(store: TitleReads, settings: Settings, video_id: str) -> CheckResult:
    """The title's current shots tile its standardized encode with no gap or overlap.

    Shot indexes are ``0..n-1`` with one row each; every shot is non-empty (``start < end``); the first
    starts at frame 0; each ends where the next starts; the last ends at the encode's ``frame_count``;
    and every shot counts frames at the encode's frame rate.
    """
    spec, shots = _shots(store, settings, video_id, ("shot_index", "start_frame", "end_frame", "fps"))
    if not shots:
        return _no_shots(video_id, spec)
    problems = _index_problems([s["shot_index"] for s in shots])
    shots = sorted(shots, key=lambda s: (s["shot_index"], s["start_frame"]))
    problems += [f"shot {s['shot_index']} is empty or reversed: [{s['start_frame']}, {s['end_frame']})"
                 for s in shots if s["start_frame"] >= s["end_frame"]]
    if shots[0]["start_frame"] != 0:
        problems.append(f"first shot {shots[0]['shot_index']} starts at frame {shots[0]['start_frame']}, not 0")
    for a, b in zip(shots, shots[1:]):
        if a["end_frame"] != b["start_frame"]:
            kind = "gap" if a["end_frame"] < b["start_frame"] else "overlap"
            problems.append(f"{kind} between shot {a['shot_index']} (ends at frame {a['end_frame']}) "
                            f"and shot {b['shot_index']} (starts at {b['start_frame']})")
    enc_spec = encode_spec(settings)
    encode = _slice(store, video_id, enc_spec, ("frame_count", "fps"))
    last = shots[-1]
    metadata: Metadata = {"shots": len(shots), "feature_version": spec.version, "last_end_frame": last["end_frame"]}
    if not encode:
        problems.append(f"no standardized encode at version {enc_spec.version} to compare the last shot's end with")
    else:
        frames, fps = encode[0]["frame_count"], encode[0]["fps"]
        metadata["encode_frames"] = frames
        if last["end_frame"] != frames:
            side = "short of" if last["end_frame"] < frames else "past"
            problems.append(f"last shot {last['shot_index']} ends at frame {last['end_frame']}, "
                            f"{abs(frames - last['end_frame'])} {side} the encode's {frames} frames")
        off_rate = [s["shot_index"] for s in shots if not math.isclose(s["fps"], fps, rel_tol=1e-9)]
        if off_rate:
            problems.append(f"shot(s) {_listing(off_rate)} count frames at another rate than the encode's {fps:g} fps")
    ok = f"{len(shots)} shots tile frames [0, {last['end_frame']}) of the standardized encode"
    return _verdict(problems, ok, metadata)


def one_row_per_shot(store: TitleReads, settings: Settings, video_id: str, spec: FeatureSpec) -> CheckResult:
    """A per-shot feature (``spec``, current version) has exactly one row for each of the title's current shots."""
    shots_of, shots = _shots(store, settings, video_id, ("shot_index",))
    if not shots:
        return _no_shots(video_id, shots_of)
    expected = {s["shot_index"] for s in shots}
    counts = Counter(r["shot_index"] for r in _slice(store, video_id, spec, ("shot_index",)))
    problems = [f"shot {i} has {n} rows" for i, n in sorted(counts.items()) if n > 1]
    if missing := sorted(expected - counts.keys()):
        problems.append(f"no row for shot(s) {_listing(missing)}")
    if extra := sorted(counts.keys() - expected):
        problems.append(f"rows for shot(s) {_listing(extra)} that the title does not have")
    metadata: Metadata = {"feature": spec.name, "feature_version": spec.version, "shots": len(expected),
                          "rows": sum(counts.values())}
    return _verdict(problems, f"one {spec.name} row for each of the {len(expected)} shots", metadata)


def frames_inside_shots(store: TitleReads, settings: Settings, video_id: str) -> CheckResult:
    """Every current shot has representative frames ranked ``1..k``, each frame inside its shot's ``[start, end)``."""
    shots_of, shots = _shots(store, settings, video_id, ("shot_index", "start_frame", "end_frame"))
    if not shots:
        return _no_shots(video_id, shots_of)
    spec = shot_frames_spec(settings)
    span = {s["shot_index"]: (s["start_frame"], s["end_frame"]) for s in shots}
    frames = sorted(_slice(store, video_id, spec, ("shot_index", "rank", "frame_index")),
                    key=lambda f: (f["shot_index"], f["rank"]))
    ranks: dict[int, list[int]] = {}
    problems = []
    for f in frames:
        ranks.setdefault(f["shot_index"], []).append(f["rank"])
        if f["shot_index"] in span:
            start, end = span[f["shot_index"]]
            if not start <= f["frame_index"] < end:
                problems.append(f"frame {f['frame_index']} (shot {f['shot_index']}, rank {f['rank']}) "
                                f"is outside shot {f['shot_index']} [{start}, {end})")
    problems += [f"shot {i} has ranks {r}, not 1..{len(r)}" for i, r in sorted(ranks.items())
                 if r != list(range(1, len(r) + 1))]
    if missing := sorted(span.keys() - ranks.keys()):
        problems.append(f"shot(s) {_listing(missing)} have no representative frame")
    if extra := sorted(ranks.keys() - span.keys()):
        problems.append(f"frames for shot(s) {_listing(extra)} that the title does not have")
    metadata: Metadata = {"feature_version": spec.version, "shots": len(span), "frames": len(frames)}
    return _verdict(problems, f"{len(frames)} frames, each inside its shot, cover all {len(span)} shots", metadata)


# Embeddings ------------------------------------------------------------------------------------------
def embedding_dims_and_norms(store: TitleReads, video_id: str, contract: EmbeddingContract,
                             tolerance: float = NORM_TOLERANCE) -> CheckResult:
    """Every row of the feature (current version) has the right dimension, finite values and a unit norm.

    A row with ``has_embedding = true`` holds a vector of ``contract.dim`` finite values whose L2 norm is
    within ``tolerance`` of 1; a row with ``has_embedding = false`` holds what ``contract.absent_as``
    says (null, or ``dim`` zeros). The ``dim`` column equals ``contract.dim`` on every row.
    """
    spec, dim = contract.spec, contract.dim
    rows = _slice_table(store, video_id, spec, ("shot_index", "dim", "has_embedding", "embedding")).sort_by("shot_index")
    if rows.num_rows == 0:
        return CheckResult(False, f"title {video_id} has no {spec.name} rows at version {spec.version}",
                           {"feature": spec.name, "feature_version": spec.version, "rows": 0, "problems": 1})
    problems: list[str] = []
    norms: list[float] = []
    shots, dims, flags = (rows.column(c).to_pylist() for c in ("shot_index", "dim", "has_embedding"))
    for shot, dim_column, present, vector in zip(shots, dims, flags, _vectors(rows.column("embedding"))):
        if dim_column != dim:
            problems.append(f"shot {shot}: dim column says {dim_column}, expected {dim}")
        if present:
            problem, norm = _vector_problem(vector, dim, tolerance)
            norms += [norm] if norm is not None else []
        else:
            problem = _absent_problem(vector, contract)
        if problem:
            problems.append(f"shot {shot}: {problem}")
    absent = flags.count(False)
    metadata: Metadata = {"feature": spec.name, "feature_version": spec.version, "dim": dim, "rows": rows.num_rows,
                          "absent": absent}
    if norms:
        metadata.update(min_norm=min(norms), max_norm=max(norms))
    ok = (f"{rows.num_rows - absent} vectors of {dim} finite values with unit L2 norm (±{tolerance:g}); "
          f"{absent} shot(s) without one, stored as {contract.absent_as}")
    return _verdict(problems, ok, metadata)


def audio_null_iff_silent(store: TitleReads, settings: Settings, video_id: str) -> CheckResult:
    """A shot has an audio embedding exactly when ``shot_audio`` says it is not silent (current versions)."""
    emb, speech = audio_spec(settings), shot_audio_spec(settings)
    present = {r["shot_index"]: r["has_embedding"] for r in _slice(store, video_id, emb, ("shot_index", "has_embedding"))}
    silent = {r["shot_index"]: r["is_silent"] for r in _slice(store, video_id, speech, ("shot_index", "is_silent"))}
    problems = [f"no {s.name} rows at version {s.version}" for s, rows in ((emb, present), (speech, silent)) if not rows]
    for shot in sorted(present.keys() & silent.keys()):
        if present[shot] == silent[shot]:
            problems.append(f"shot {shot} is silent but has an audio embedding" if silent[shot]
                            else f"shot {shot} has no audio embedding but shot_audio says it is not silent")
    metadata: Metadata = {"shots_compared": len(present.keys() & silent.keys()), "silent": sum(silent.values())}
    return _verdict(problems, f"audio embeddings are null exactly for the {sum(silent.values())} silent shot(s)", metadata)


def text_null_iff_no_subtitle_text(store: TitleReads, settings: Settings, video_id: str) -> CheckResult:
    """A shot has a text embedding exactly when a subtitle cue with text overlaps its ``[start_s, end_s)``."""
    from reelhouse.features.rows import title_cues
    from reelhouse.media.subtitles import shot_text

    shots_of, shots = _shots(store, settings, video_id, ("shot_index", "start_s", "end_s"))
    if not shots:
        return _no_shots(video_id, shots_of)
    emb, subs = text_spec(settings), subtitles_spec()
    if not _slice(store, video_id, subs, ("cue_index",)):
        return CheckResult(False, f"title {video_id} has no subtitle_cues rows at version {subs.version} "
                                  "(not even the no-subtitles marker) to compare with", {"problems": 1})
    present = {r["shot_index"]: r["has_embedding"] for r in _slice(store, video_id, emb, ("shot_index", "has_embedding"))}
    cues = title_cues(store, video_id)
    with_text = {s["shot_index"] for s in shots if shot_text(cues, s["start_s"], s["end_s"]) is not None}
    problems = []
    for shot in sorted(present):
        if present[shot] and shot not in with_text:
            problems.append(f"shot {shot} has no subtitle text but has a text embedding")
        elif not present[shot] and shot in with_text:
            problems.append(f"shot {shot} has subtitle text but no text embedding")
    metadata: Metadata = {"cues": len(cues), "shots_with_text": len(with_text), "shots_compared": len(present)}
    return _verdict(problems, f"text embeddings exist exactly for the {len(with_text)} shot(s) with subtitle text", metadata)


# Freshness -------------------------------------------------------------------------------------------
def feature_is_current(store: TitleReads, video_id: str, spec: FeatureSpec) -> CheckResult:
    """The title holds ``spec`` at its current version (the code's), not only at older versions."""
    versions = store.versions_held(spec.table, video_id, spec.name)
    metadata: Metadata = {"feature": spec.name, "current_version": spec.version, "versions_held": ", ".join(versions)}
    if spec.version in versions:
        older = [v for v in versions if v != spec.version]
        also = f" (also older: {', '.join(older)})" if older else ""
        return CheckResult(True, f"holds {spec.name} at the current version {spec.version}{also}", metadata)
    if not versions:
        return CheckResult(False, f"holds no {spec.name} rows; code is at {spec.version}", metadata)
    return CheckResult(False, f"holds {spec.name} version {', '.join(versions)}, code is at {spec.version}", metadata)


def ann_index_is_current(index_root: Path, store: FeatureStore, spec: FeatureSpec) -> CheckResult:
    """The persisted faiss index of ``spec``'s feature holds its current version (``spec.version``) and
    was built from the current ``shot_embeddings`` snapshot.

    Reads the index's provenance (``meta.json`` under ``<index_root>/<feature>/<version>/<snapshot_id>/``),
    not the index itself; the same test as ``reelhouse.search.ann.is_stale``.
    """
    feature = spec.name
    snapshot = store.snapshot_id("shot_embeddings")
    metadata: Metadata = {"feature": feature, "feature_version": spec.version, "current_snapshot_id": str(snapshot)}
    if snapshot is None:
        return CheckResult(False, "shot_embeddings has no snapshot yet, so no index can be current", metadata)
    meta_path = index_folder(index_root, spec, snapshot) / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if (meta["snapshot_id"], meta["feature"], meta.get("feature_version")) == (snapshot, feature, spec.version):
            metadata.update(vectors=meta["size"], dim=meta["dim"], kind=meta["kind"])
            return CheckResult(True, f"the {feature} index ({meta['size']} vectors of version {spec.version}) was built "
                                     f"from shot_embeddings snapshot {snapshot}, the current one", metadata)
        return CheckResult(False, f"{meta_path} records {meta['feature']} version {meta.get('feature_version')} at snapshot "
                                  f"{meta['snapshot_id']}, not {feature} version {spec.version} at {snapshot}", metadata)
    built = sorted((p for p in (index_root / feature).glob("*/*/meta.json") if not p.parent.name.endswith(".tmp")),
                   key=lambda p: p.stat().st_mtime)
    if not built:
        return CheckResult(False, f"no persisted {feature} index under {index_root / feature}; "
                                  f"shot_embeddings is at snapshot {snapshot}", metadata)
    newest = json.loads(built[-1].read_text())
    metadata["index_snapshot_id"] = str(newest["snapshot_id"])
    metadata["index_feature_version"] = str(newest.get("feature_version"))
    if newest.get("feature_version") != spec.version:
        return CheckResult(False, f"the newest persisted {feature} index holds version {newest.get('feature_version')}, "
                                  f"but the current version is {spec.version}", metadata)
    return CheckResult(False, f"the newest persisted {feature} index was built from shot_embeddings snapshot "
                              f"{newest['snapshot_id']}, but the table is at snapshot {snapshot}", metadata)


def contextual_embeddings_complete(store: FeatureStore, settings: Settings, tolerance: float = NORM_TOLERANCE) -> CheckResult:
    """Every eligible title holds the current encoder's embeddings: one row per current shot, each a unit
    vector of the encoder's output size (catalog-wide; one scan of each table).

    Eligible titles are those ``reelhouse.features.coverage.eligible_titles`` names (ok, with every
    modality's embeddings at its current version).
    """
    from reelhouse.features.specs import contextual_spec
    from reelhouse.features.coverage import eligible_titles
    from reelhouse.features.model_registry import current_model_config
    from reelhouse.search.ann import embedding_matrix

    current, config = current_model_config(settings)
    spec = contextual_spec(settings, current.content_version)
    titles = set(eligible_titles(store, settings))
    shots = shots_spec(settings)
    shot_keys = {(r["video_id"], r["shot_index"]) for r in store.read(
        "shots", And(EqualTo("feature", shots.name), EqualTo("feature_version", shots.version)),
        selected_fields=("video_id", "shot_index")).to_pylist() if r["video_id"] in titles}
    rows = store.read("shot_embeddings", And(EqualTo("feature", spec.name), EqualTo("feature_version", spec.version)),
                      selected_fields=("video_id", "shot_index", "dim", "has_embedding", "embedding"))
    keys = list(zip(rows.column("video_id").to_pylist(), rows.column("shot_index").to_pylist()))
    problems: list[str] = []
    counts = Counter(keys)
    doubled = sorted(k for k, c in counts.items() if c > 1)
    if doubled:
        problems.append(f"{len(doubled)} shot(s) with more than one row, e.g. title {doubled[0][0]} shot {doubled[0][1]}")
    missing = sorted(shot_keys - set(counts))
    by_title = Counter(v for v, _ in missing)
    problems += [f"title {v} lacks {n} shot(s) of {spec.name} {spec.version}" for v, n in sorted(by_title.items())]
    extra = sorted(set(counts) - shot_keys)
    if extra:
        problems.append(f"{len(extra)} row(s) for shots that are not current shots of eligible titles, "
                        f"e.g. title {extra[0][0]} shot {extra[0][1]}")
    metadata: Metadata = {"feature": spec.name, "feature_version": spec.version, "model": current.content_version,
                          "titles": len(titles), "rows": rows.num_rows, "dim": config.out_dim}
    if rows.num_rows:
        if not all(rows.column("has_embedding").to_pylist()):
            problems.append("rows without a vector (every shot of an eligible title has one)")
        dims = set(rows.column("dim").to_pylist())
        vectors = embedding_matrix(rows.filter(rows.column("has_embedding")).column("embedding"))
        if dims != {config.out_dim} or vectors.shape[1:] != (config.out_dim,):
            problems.append(f"dimensions {sorted(dims)} / {vectors.shape[1:]}, the encoder outputs {config.out_dim}")
        elif vectors.size:
            norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
            bad = int(np.sum(~np.isfinite(norms) | (np.abs(norms - 1.0) > tolerance)))
            metadata.update(min_norm=float(np.nanmin(norms)), max_norm=float(np.nanmax(norms)))
            if bad:
                problems.append(f"{bad} vector(s) without unit L2 norm (±{tolerance:g}) or with non-finite values")
    return _verdict(problems, f"{len(titles)} title(s), {rows.num_rows} shots: one unit {config.out_dim}-d vector each "
                              f"from encoder {current.content_version}", metadata)


def tags_complete(store: FeatureStore, settings: Settings) -> CheckResult:
    """Every eligible title holds the current tag probes' scores: exactly one row per current shot and
    tag, each score finite and in ``[0, 1]`` (catalog-wide; one scan of each table). Passes, saying so,
    while no probes are trained."""
    from reelhouse.features.coverage import eligible_titles
    from reelhouse.features.specs import tags_spec
    from reelhouse.features.tag_models import current_tags

    current = current_tags(settings)
    if current is None:
        return _verdict([], "no tag probes are trained (no label set): nothing to check", {})
    spec = tags_spec(settings, current.content_version)
    titles = set(eligible_titles(store, settings))
    shots = shots_spec(settings)
    wanted = {(r["video_id"], r["shot_index"], t) for r in store.read(
        "shots", And(EqualTo("feature", shots.name), EqualTo("feature_version", shots.version)),
        selected_fields=("video_id", "shot_index")).to_pylist() if r["video_id"] in titles for t in current.tags}
    rows = store.read("shot_tags", And(EqualTo("feature", spec.name), EqualTo("feature_version", spec.version)),
                      selected_fields=("video_id", "shot_index", "tag", "score"))
    counts = Counter(zip(rows.column("video_id").to_pylist(), rows.column("shot_index").to_pylist(),
                         rows.column("tag").to_pylist()))
    problems: list[str] = []
    doubled = sorted(k for k, c in counts.items() if c > 1)
    if doubled:
        problems.append(f"{len(doubled)} (shot, tag) pair(s) with more than one row, e.g. title {doubled[0][0]} shot "
                        f"{doubled[0][1]} tag {doubled[0][2]!r}")
    missing = Counter(v for v, _, _ in wanted - set(counts))
    problems += [f"title {v} lacks {n} (shot, tag) score(s) of {spec.name} {spec.version}" for v, n in sorted(missing.items())]
    extra = sorted(set(counts) - wanted)
    if extra:
        problems.append(f"{len(extra)} row(s) for shots or tags that are not current, e.g. title {extra[0][0]} shot "
                        f"{extra[0][1]} tag {extra[0][2]!r}")
    scores = rows.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
    bad = int(np.sum(~np.isfinite(scores) | (scores < 0) | (scores > 1)))
    if bad:
        problems.append(f"{bad} score(s) outside [0, 1] or not finite")
    metadata: Metadata = {"feature": spec.name, "feature_version": spec.version, "probes": current.content_version,
                          "titles": len(titles), "tags": len(current.tags), "rows": rows.num_rows}
    return _verdict(problems, f"{len(titles)} title(s), {len(current.tags)} tag(s): one score in [0, 1] per shot and tag",
                    metadata)


def scenes_tile_title(store: TitleReads, settings: Settings, video_id: str) -> CheckResult:
    """The title's current scenes, and its chapters, each tile its current shots ``[0, n)`` in order with
    no gap or overlap, numbered ``0..k-1``; their times are their first and last shots' times; and every
    chapter is a run of whole scenes (its shots and its ``[start_scene, end_scene)`` agree)."""
    from reelhouse.features.specs import scenes_spec

    spec = scenes_spec(settings)
    rows = _slice(store, video_id, spec, ("level", "group_index", "start_shot", "end_shot", "start_s", "end_s",
                                          "start_scene", "end_scene"))
    shots_spec_, shots = _shots(store, settings, video_id, ("shot_index", "start_s", "end_s"))
    if not shots:
        return _no_shots(video_id, shots_spec_)
    if not rows:
        return CheckResult(False, f"title {video_id} has no scenes rows at version {spec.version}",
                           {"feature_version": spec.version})
    spans = {s["shot_index"]: (s["start_s"], s["end_s"]) for s in shots}
    n = len(shots)
    problems: list[str] = []
    edges: dict[str, list[int]] = {}
    for level in ("scene", "chapter"):
        groups = sorted((r for r in rows if r["level"] == level), key=lambda r: r["group_index"])
        if [g["group_index"] for g in groups] != list(range(len(groups))):
            problems.append(f"{level} numbers are not 0..{len(groups) - 1}")
            continue
        edges[level] = [g["start_shot"] for g in groups] + [n]
        if not groups or edges[level][0] != 0 or any(g["end_shot"] != e for g, e in zip(groups, edges[level][1:])) \
                or any(g["start_shot"] >= g["end_shot"] for g in groups):
            problems.append(f"its {level}s do not tile its {n} shots [0, {n})")
            continue
        off = [g["group_index"] for g in groups if spans.get(g["start_shot"], (None,))[0] != g["start_s"]
               or spans.get(g["end_shot"] - 1, (None, None))[1] != g["end_s"]]
        if off:
            problems.append(f"{level}(s) {_listing(off)}: times are not their shots' times")
    scene_edges, chapter_rows = edges.get("scene"), [r for r in rows if r["level"] == "chapter"]
    if scene_edges is not None and "chapter" in edges:
        bad = [c["group_index"] for c in chapter_rows
               if not 0 <= c["start_scene"] < c["end_scene"] < len(scene_edges)
               or scene_edges[c["start_scene"]] != c["start_shot"] or scene_edges[c["end_scene"]] != c["end_shot"]]
        if bad:
            problems.append(f"chapter(s) {_listing(bad)} are not runs of whole scenes")
    scenes = len(scene_edges or [0]) - 1
    return _verdict(problems, f"{scenes} scenes and {len(chapter_rows)} chapters tile the title's {n} shots",
                    {"feature_version": spec.version, "scenes": scenes, "chapters": len(chapter_rows), "shots": n})


def artwork_frames_usable(store: TitleReads, settings: Settings, video_id: str) -> CheckResult:
    """The title's artwork candidates are ranked ``1..n``, each a stored representative frame of its shot
    that is not black, blurred or a flash and is clear of its shot's transitions (``models.artwork``'s
    guards), and no two are the same frame."""
    from models.artwork import eligible
    from reelhouse.features.specs import artwork_spec, shot_frames_spec

    spec = artwork_spec(settings)
    held = _slice(store, video_id, spec, ("rank", "shot_index", "frame_index"))
    rows = [r for r in held if r["rank"] != 0]
    if held and not rows and len(held) == 1 and held[0]["shot_index"] == -1:
        return CheckResult(True, "no usable frame for artwork (recorded as such)", {"feature_version": spec.version,
                                                                                      "candidates": 0})
    frames = {(r["shot_index"], r["frame_index"]): r for r in _slice(
        store, video_id, shot_frames_spec(settings), ("shot_index", "frame_index", "is_black", "is_blurred", "is_flash"))}
    _, shots = _shots(store, settings, video_id, ("shot_index", "start_frame", "end_frame", "fps", "transition"))
    by_index = {s["shot_index"]: s for s in shots}
    problems: list[str] = []
    if sorted(r["rank"] for r in rows) != list(range(1, len(rows) + 1)):
        problems.append(f"ranks are not 1..{len(rows)}")
    if len({r["frame_index"] for r in rows}) != len(rows):
        problems.append("a frame is a candidate twice")
    for r in sorted(rows, key=lambda r: r["rank"]):
        frame, shot = frames.get((r["shot_index"], r["frame_index"])), by_index.get(r["shot_index"])
        where = f"candidate {r['rank']} (shot {r['shot_index']}, frame {r['frame_index']})"
        if frame is None or shot is None:
            problems.append(f"{where} is not a stored representative frame of a current shot")
            continue
        if frame["is_black"] or frame["is_blurred"] or frame["is_flash"]:
            problems.append(f"{where} is black, blurred or a flash")
        nxt = by_index.get(r["shot_index"] + 1)
        clear = eligible(np.array([r["frame_index"]]), np.array([shot["start_frame"]]), np.array([shot["end_frame"]]),
                         np.array([shot["transition"] == "gradual"]),
                         np.array([nxt is not None and nxt["transition"] == "gradual"]), np.array([True]), shot["fps"])
        if not clear[0]:
            problems.append(f"{where} is inside or next to a transition")
    return _verdict(problems, f"{len(rows)} artwork candidate(s), each a usable frame clear of transitions",
                    {"feature_version": spec.version, "candidates": len(rows)})


def regions_in_frame(store: TitleReads, settings: Settings, video_id: str) -> CheckResult:
    """Every stored representative frame of the title has regions rows, each either a box inside the frame
    (``0 <= x0 < x1 <= 1``, ``0 <= y0 < y1 <= 1``, ``area`` its share of the frame, ``score`` in ``[0, 1]``)
    or the one ``none`` row of a frame where nothing was found."""
    from reelhouse.features.specs import regions_spec, shot_frames_spec

    spec = regions_spec(settings)
    rows = _slice(store, video_id, spec, ("shot_index", "frame_index", "label", "x0", "y0", "x1", "y1", "area", "score"))
    frames = {(r["shot_index"], r["frame_index"]) for r in _slice(store, video_id, shot_frames_spec(settings),
                                                                  ("shot_index", "frame_index"))}
    problems: list[str] = []
    per_frame = Counter((r["shot_index"], r["frame_index"]) for r in rows)
    seen = set(per_frame)
    if seen != frames:
        problems.append(f"{len(frames - seen)} frame(s) without regions rows, {len(seen - frames)} row(s) for frames "
                        "that are not stored representatives")
    for r in rows:
        where = f"shot {r['shot_index']} frame {r['frame_index']}"
        if r["label"] == "none":
            if per_frame[(r["shot_index"], r["frame_index"])] != 1:
                problems.append(f"{where}: a 'none' row beside other regions")
            continue
        inside = 0 <= r["x0"] < r["x1"] <= 1 and 0 <= r["y0"] < r["y1"] <= 1
        if not inside or abs(r["area"] - (r["x1"] - r["x0"]) * (r["y1"] - r["y0"])) > 1e-9 or not 0 <= r["score"] <= 1:
            problems.append(f"{where}: {r['label']} box ({r['x0']:.3f}, {r['y0']:.3f}, {r['x1']:.3f}, {r['y1']:.3f}) "
                            "is not a normalized box inside the frame with its area and a score in [0, 1]")
    found = sum(r["label"] != "none" for r in rows)
    return _verdict(problems, f"{len(frames)} frame(s) searched, {found} region(s), every box inside its frame",
                    {"feature_version": spec.version, "frames": len(frames), "regions": found})


# Helpers ---------------------------------------------------------------------------------------------
def _slice_table(store: TitleReads, video_id: str, spec: FeatureSpec, fields: tuple[str, ...]) -> pa.Table:
    """``fields`` of the title's rows of ``spec`` at its current version."""
    return store.slice_table(spec.table, FeatureSlice(video_id, spec.name, spec.version), fields)


def _slice(store: TitleReads, video_id: str, spec: FeatureSpec, fields: tuple[str, ...]) -> list[dict]:
    return _slice_table(store, video_id, spec, fields).to_pylist()


def _shots(store: TitleReads, settings: Settings, video_id: str, fields: tuple[str, ...]) -> tuple[FeatureSpec, list[dict]]:
    """The shots spec at its current version and ``fields`` of the title's shots at that version."""
    spec = shots_spec(settings)
    return spec, _slice(store, video_id, spec, fields)


def _no_shots(video_id: str, shots: FeatureSpec) -> CheckResult:
    return CheckResult(False, f"title {video_id} has no shots at shots version {shots.version}",
                       {"shots": 0, "feature_version": shots.version, "problems": 1})


def _index_problems(indexes: Sequence[int]) -> list[str]:
    """What keeps shot indexes from being ``0..n-1`` with one row each."""
    counts = Counter(indexes)
    problems = [f"shot {i} has {n} rows" for i, n in sorted(counts.items()) if n > 1]
    if negative := sorted(i for i in counts if i < 0):
        problems.append(f"negative shot index(es) {_listing(negative)}")
    if missing := sorted(set(range(max(counts) + 1)) - counts.keys()):
        problems.append(f"shot index(es) {_listing(missing)} missing (indexes must run 0..n-1)")
    return problems


def _vectors(column: pa.ChunkedArray) -> list[np.ndarray | None]:
    """Each row's vector as float64 (a null element becomes NaN), or None for a null vector."""
    out: list[np.ndarray | None] = []
    for chunk in column.chunks:
        offsets = chunk.offsets.to_numpy()
        values = chunk.values.to_numpy(zero_copy_only=False).astype(np.float64)
        valid = chunk.is_valid().to_numpy(zero_copy_only=False)
        out += [values[offsets[i]:offsets[i + 1]] if valid[i] else None for i in range(len(chunk))]
    return out


def _vector_problem(vector: np.ndarray | None, dim: int, tolerance: float) -> tuple[str | None, float | None]:
    """``(problem or None, L2 norm when it could be measured)`` of a vector that should be present."""
    if vector is None:
        return "has_embedding is true but the embedding is null", None
    if len(vector) != dim:
        return f"vector has {len(vector)} values, expected {dim}", None
    if bad := int((~np.isfinite(vector)).sum()):
        return f"vector has {bad} non-finite value(s) (NaN or inf)", None
    norm = float(np.linalg.norm(vector))
    if abs(norm - 1.0) > tolerance:
        return f"L2 norm {norm:.6g}, expected 1 ± {tolerance:g}", norm
    return None, norm


def _absent_problem(vector: np.ndarray | None, contract: EmbeddingContract) -> str | None:
    """The problem of a vector stored with ``has_embedding = false``, or None when it matches the contract."""
    name = contract.spec.name
    if contract.absent_as == "null":
        return None if vector is None else f"has_embedding is false but a vector is stored ({name} stores absent vectors as null)"
    if vector is None:
        return f"null embedding ({name} stores an absent vector as {contract.dim} zeros with has_embedding false)"
    if len(vector) != contract.dim or np.any(vector != 0):
        return f"has_embedding is false but the vector is not {contract.dim} zeros"
    return None


def _listing(numbers: Iterable[int]) -> str:
    """``"2"``, ``"2, 5"``, or the first ``MAX_LISTED`` numbers and how many there are in all."""
    items = list(numbers)
    head = ", ".join(str(i) for i in items[:MAX_LISTED])
    return head if len(items) <= MAX_LISTED else f"{head}, ... ({len(items)} in all)"


def _verdict(problems: Sequence[str], ok: str, metadata: Metadata) -> CheckResult:
    """Pass with ``ok`` when there are no problems, else fail listing the first ``MAX_LISTED`` of them."""
    if not problems:
        return CheckResult(True, ok, {**metadata, "problems": 0})
    listed = "; ".join(problems[:MAX_LISTED])
    more = f"; and {len(problems) - MAX_LISTED} more problem(s)" if len(problems) > MAX_LISTED else ""
    return CheckResult(False, listed + more, {**metadata, "problems": len(problems)})
