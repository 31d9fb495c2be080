"""Tags trained from a team's own labels: the label set, the probes trained on it, every title scored.

Label file (``reelhouse tags train LABELS.csv``)
    CSV, UTF-8, header ``title,start_s,end_s,tag``; one row per labelled span ``[start_s, end_s)``
    seconds of a title (content id, unique id prefix or file name, as every command takes it), tagged
    ``tag`` (letters, digits and ``_ . : -``, at most 64 characters, starting with a letter or digit).
    A title the file names is labelled in full (``models.tags``): its shots outside a tag's spans are
    that tag's negatives. Every problem is reported with its row number, and nothing is installed
    while one remains. :func:`install_labels` resolves the titles and makes the set current
    (``reelhouse.features.tag_models.labels_file``).

Training (:func:`train_tag_probes`)
    One probe per tag (``models.tags.train_probe``) on the labelled titles' visual, audio and text
    embeddings (current versions), saved as an artifact and made current. Memoized on the label set's
    digest and the labelled titles' feature versions: the same labels over the same embeddings reuse the
    current probes.

Scoring (:func:`score_titles`)
    Every eligible title (``ok``, holding every modality's current embeddings) lacking the current
    probes' scores gets one ``shot_tags`` row per shot and tag, in chunks of
    ``settings.backfill_chunk_titles`` titles (one read and one Iceberg commit per chunk: a killed run
    loses at most its chunk in flight). A probe is a dot product, so it runs in this process, not Spark.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.features import specs, tag_models
from reelhouse.features.coverage import eligible_titles, feature_coverage
from reelhouse.features.outcome import StageOutcome
from reelhouse.features.rows import shot_rows
from reelhouse.lakehouse import FeatureSlice, FeatureStore

LABEL_COLUMNS = ("title", "start_s", "end_s", "tag")
TAG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
#: At most this many problems are listed in one error.
MAX_PROBLEMS = 10


class LabelError(ValueError):
    """The label file cannot be used; the message lists every problem found (with row numbers)."""


class NoLabels(RuntimeError):
    """No label set is installed (``reelhouse tags train LABELS.csv``)."""


@dataclass(frozen=True)
class Label:
    """One labelled span: ``[start_s, end_s)`` seconds of title ``video_id`` carry ``tag``.

    ``row`` is the line of the file it came from (2 is the first row after the header; 0 when read
    from the installed set), used in messages only."""

    video_id: str
    start_s: float
    end_s: float
    tag: str
    row: int = 0


def _raise(problems: list[str], what: str) -> None:
    if problems:
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        raise LabelError(f"{what}: " + "; ".join(problems[:MAX_PROBLEMS]) + more)


def parse_label_file(path: str | Path) -> list[tuple[int, str, float, float, str]]:
    """``(row, title, start_s, end_s, tag)`` of every row of a label file, titles unresolved.

    Raises:
        LabelError: the file is missing or unreadable, its header is not ``title,start_s,end_s,tag``,
            it has no rows, or rows are malformed (each listed with its row number).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"cannot read label file {path}: {exc}") from None
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    if tuple(header) != LABEL_COLUMNS:
        raise LabelError(f"{path}: the header must be {','.join(LABEL_COLUMNS)}; found {','.join(header) or 'nothing'}")
    out, problems = [], []
    for row, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(LABEL_COLUMNS):
            problems.append(f"row {row}: {len(fields)} fields, expected {len(LABEL_COLUMNS)}")
            continue
        title, start, end, tag = (f.strip() for f in fields)
        try:
            start_s, end_s = float(start), float(end)
        except ValueError:
            problems.append(f"row {row}: start_s and end_s must be numbers of seconds, got {start!r}, {end!r}")
            continue
        if not (math.isfinite(start_s) and math.isfinite(end_s)) or start_s < 0 or end_s <= start_s:
            problems.append(f"row {row}: need 0 <= start_s < end_s, got [{start}, {end})")
        elif not title:
            problems.append(f"row {row}: no title")
        elif not TAG_PATTERN.fullmatch(tag):
            problems.append(f"row {row}: tag {tag!r} must be 1-64 letters, digits or _ . : - (starting with a "
                            "letter or digit)")
        else:
            out.append((row, title, start_s, end_s, tag))
    _raise(problems, str(path))
    if not out:
        raise LabelError(f"{path}: no label rows")
    return out


def resolve_labels(store: FeatureStore, path: str | Path) -> list[Label]:
    """The label file's rows with their titles resolved to content ids.

    Raises:
        LabelError: as :func:`parse_label_file`, or a title that matches no ingested ``ok`` title.
    """
    from reelhouse.search.shot_lookup import UnknownTitle, title_resolver

    rows = parse_label_file(path)
    resolve = title_resolver(store)
    ids: dict[str, str] = {}
    problems = []
    for row, title, *_ in rows:
        if title not in ids:
            try:
                ids[title] = resolve(title)
            except UnknownTitle as exc:
                ids[title] = ""
                problems.append(f"row {row}: {exc}")
    _raise(problems, str(path))
    return [Label(ids[title], start, end, tag, row) for row, title, start, end, tag in rows]


def canonical_csv(labels: Sequence[Label]) -> str:
    """The label set as the installed file holds it: ``video_id,start_s,end_s,tag``, sorted, deduplicated."""
    keys = sorted({(lb.video_id, lb.start_s, lb.end_s, lb.tag) for lb in labels})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("video_id", "start_s", "end_s", "tag"))
    writer.writerows((v, repr(a), repr(b), t) for v, a, b, t in keys)
    return out.getvalue()


def labels_digest(labels: Sequence[Label]) -> str:
    """sha256 of :func:`canonical_csv`: the label set's identity (row order and title spelling aside)."""
    return hashlib.sha256(canonical_csv(labels).encode()).hexdigest()


def installed_labels(settings: Settings) -> list[Label]:
    """The current label set.

    Raises:
        NoLabels: none is installed.
    """
    path = tag_models.labels_file(settings)
    if not path.is_file():
        raise NoLabels("no tag labels yet: run `reelhouse tags train LABELS.csv` (rows title,start_s,end_s,tag)")
    reader = csv.DictReader(io.StringIO(path.read_text()))
    return [Label(r["video_id"], float(r["start_s"]), float(r["end_s"]), r["tag"]) for r in reader]


@dataclass
class TrainingData:
    """The labelled titles' shots as probe inputs.

    Attributes:
        features: float32 ``(n, d)`` (``models.tags.shot_features``), every shot of every labelled title.
        truth: bool ``(n, len(tags))``.
        groups: ``(n,)`` each shot's title.
        tags: sorted.
    """

    features: np.ndarray
    truth: np.ndarray
    groups: np.ndarray
    tags: list[str]


def training_data(store: FeatureStore, settings: Settings, labels: Sequence[Label]) -> TrainingData:
    """Read the labelled titles' embeddings and label their shots.

    Raises:
        LabelError: a labelled title lacks current visual, audio or text embeddings; a row covers no
            shot (its span is shorter than half of every shot it touches); a tag has too few positive
            or negative shots for a probe.
    """
    from models.contextual.config import DEFAULT_MODALITY_DIMS
    from models.tags import COVER, MIN_SHOTS, shot_features, shot_tag_matrix
    from reelhouse.pipeline.contextual import read_catalog_shots

    titles = sorted({lb.video_id for lb in labels})
    ready = set(eligible_titles(store, settings, titles))
    _raise([f"title {v} does not hold current visual, audio and text embeddings (run `reelhouse run`)"
            for v in titles if v not in ready], "cannot train tags")
    tags = sorted({lb.tag for lb in labels})
    data = read_catalog_shots(store, settings, DEFAULT_MODALITY_DIMS, titles)
    by_title: dict[str, list[Label]] = {}
    for lb in labels:
        by_title.setdefault(lb.video_id, []).append(lb)
    feats, truth, groups, problems = [], [], [], []
    for vid, shot_index, emb, present in zip(data.video_ids, data.shot_indices, data.embeddings, data.present):
        spans = {r["shot_index"]: (r["start_s"], r["end_s"]) for r in shot_rows(store, settings, vid)}
        starts = np.array([spans[int(i)][0] for i in shot_index])
        ends = np.array([spans[int(i)][1] for i in shot_index])
        mine = by_title[vid]
        carried = shot_tag_matrix(starts, ends, [(lb.start_s, lb.end_s, lb.tag) for lb in mine], tags)
        for lb in mine:
            if not shot_tag_matrix(starts, ends, [(lb.start_s, lb.end_s, lb.tag)], [lb.tag]).any():
                problems.append(f"{'row %d' % lb.row if lb.row else 'a row'} [{lb.start_s}, {lb.end_s}) of title "
                                f"{vid[:12]} covers no shot for at least {COVER:.0%} of its length")
        feats.append(shot_features(emb, present))
        truth.append(carried)
        groups += [vid] * len(shot_index)
    _raise(problems, "cannot train tags")
    y = np.concatenate(truth)
    for j, tag in enumerate(tags):
        pos, neg = int(y[:, j].sum()), int((~y[:, j]).sum())
        if pos < MIN_SHOTS or neg < MIN_SHOTS:
            problems.append(f"tag {tag!r} labels {pos} shot(s) of the labelled titles and leaves out {neg}; a probe "
                            f"needs at least {MIN_SHOTS} of each")
    _raise(problems, "cannot train tags")
    return TrainingData(np.concatenate(feats), y, np.asarray(groups), tags)


def install_labels(settings: Settings, store: FeatureStore, path: str | Path) -> list[Label]:
    """Validate a label file (against the store: titles, shots, embeddings) and make it the current set.

    Raises:
        LabelError: the file cannot be used; the current set is left as it was.
    """
    labels = resolve_labels(store, path)
    training_data(store, settings, labels)  # every problem raised here, before anything is replaced
    tag_models.replace_atomically(tag_models.labels_file(settings), canonical_csv(labels))
    return labels


@dataclass(frozen=True)
class TagTraining:
    """What training (or reusing) the probes did.

    Attributes:
        memoized: the current probes were trained on this label set over these embeddings.
        per_tag: tag -> ``{"positives", "negatives", "c", "cv_ap"}`` (``cv_ap`` None when the labels
            allow no cross-validation).
    """

    content_version: str
    memoized: bool
    titles: int
    shots: int
    per_tag: dict[str, dict]
    labels_digest: str


def _fingerprint(settings: Settings, video_ids: Sequence[str]) -> str:
    from models.tags import ALGORITHM_VERSION
    from reelhouse.pipeline.contextual import data_fingerprint

    return hashlib.sha256(f"{ALGORITHM_VERSION}:{data_fingerprint(settings, video_ids)}".encode()).hexdigest()


def _trained_on(settings: Settings, digest: str, fingerprint: str) -> tag_models.CurrentTags | None:
    """The current probes if they were trained on the label set ``digest`` over the embeddings
    ``fingerprint`` names (the memoization key), else None."""
    current = tag_models.current_tags(settings)
    if current is not None and current.labels_digest == digest and current.data_fingerprint == fingerprint:
        return current
    return None


def train_tag_probes(settings: Settings, store: FeatureStore,
                     progress: Callable[[str], None] | None = None) -> TagTraining:
    """Train one probe per tag of the current label set and make them current (memoized).

    Raises:
        NoLabels: no label set is installed.
        LabelError: the label set no longer fits the store (see :func:`training_data`).
    """
    from models.tags import ALGORITHM_VERSION, train_probe

    labels = installed_labels(settings)
    digest = labels_digest(labels)
    titles = sorted({lb.video_id for lb in labels})
    fingerprint = _fingerprint(settings, titles)
    current = _trained_on(settings, digest, fingerprint)
    if current is not None:
        meta = tag_models.read_meta(settings, current.content_version)
        return TagTraining(current.content_version, True, len(meta["titles"]), meta["shots"], meta["per_tag"], digest)
    data = training_data(store, settings, labels)
    probes = []
    for j, tag in enumerate(data.tags):
        probes.append(train_probe(tag, data.features, data.truth[:, j], data.groups))
        if progress is not None:
            p = probes[-1]
            cv = "n/a" if p.cv_ap is None else f"{p.cv_ap:.3f}"
            progress(f"tag {tag}: {p.positives} positive / {p.negatives} negative shots, C={p.c}, cross-validated AP {cv}")
    weights = np.stack([p.weights for p in probes])
    bias = np.array([p.bias for p in probes])
    h = hashlib.sha256(f"{ALGORITHM_VERSION}:{digest}:{fingerprint}".encode())
    h.update(np.ascontiguousarray(weights).tobytes())
    h.update(bias.tobytes())
    content_version = h.hexdigest()[:16]
    per_tag = {p.tag: {"positives": p.positives, "negatives": p.negatives, "c": p.c, "cv_ap": p.cv_ap} for p in probes}
    final = tag_models.artifact_dir(settings, content_version)
    if not (final / tag_models.META_FILE).is_file():
        staging = final.with_name(f".staging-{content_version}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        np.savez(staging / tag_models.PROBES_FILE, tags=np.array(data.tags), weights=weights, bias=bias)
        (staging / "labels.csv").write_text(canonical_csv(labels))
        (staging / tag_models.META_FILE).write_text(json.dumps({
            "algorithm_version": ALGORITHM_VERSION, "labels_digest": digest, "data_fingerprint": fingerprint,
            "titles": titles, "shots": int(len(data.groups)), "tags": data.tags, "per_tag": per_tag}, indent=2) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
    tag_models.set_current_tags(settings, tag_models.CurrentTags(
        content_version=content_version, labels_digest=digest, data_fingerprint=fingerprint, tags=data.tags,
        trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds")))
    return TagTraining(content_version, False, len(titles), int(len(data.groups)), per_tag, digest)


@dataclass(frozen=True)
class TagProbes:
    """A trained probe set: ``scores(features)`` is float64 ``(n, len(tags))``."""

    content_version: str
    tags: list[str]
    weights: np.ndarray
    bias: np.ndarray

    def scores(self, features: np.ndarray) -> np.ndarray:
        from models.tags import probe_scores

        return probe_scores(features, self.weights.T, self.bias)


def current_probes(settings: Settings) -> TagProbes:
    """The current probe set.

    Raises:
        NoTagProbes: none is trained.
    """
    current = tag_models.require_current_tags(settings)
    with np.load(tag_models.artifact_dir(settings, current.content_version) / tag_models.PROBES_FILE) as z:
        return TagProbes(current.content_version, [str(t) for t in z["tags"]], z["weights"], z["bias"])


def tag_todo(store: FeatureStore, settings: Settings, video_ids: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """``(done, todo)``: eligible titles holding the current probes' scores, and those lacking them."""
    spec = specs.tags_spec(settings)
    titles = eligible_titles(store, settings, video_ids)
    present = feature_coverage(store, spec, titles).present
    return [v for v in titles if v in present], [v for v in titles if v not in present]


def tags_current(settings: Settings, store: FeatureStore) -> bool:
    """True when nothing is to do: no label set is installed, or the current probes were trained on it over
    the current embeddings and every eligible title holds their scores."""
    try:
        labels = installed_labels(settings)
    except NoLabels:
        return True
    fingerprint = _fingerprint(settings, sorted({lb.video_id for lb in labels}))
    return _trained_on(settings, labels_digest(labels), fingerprint) is not None and not tag_todo(store, settings)[1]


def score_titles(settings: Settings, store: FeatureStore, run_id: str, video_ids: Sequence[str] | None = None,
                 progress: Callable[[str], None] | None = None) -> list[StageOutcome]:
    """Score every eligible title (of ``video_ids``, default all) lacking the current probes' scores.

    Raises:
        NoTagProbes: none is trained.
    """
    from models.contextual.config import DEFAULT_MODALITY_DIMS
    from models.tags import shot_features
    from reelhouse.pipeline.contextual import read_catalog_shots

    probes = current_probes(settings)
    spec = specs.tags_spec(settings, probes.content_version)
    done, todo = tag_todo(store, settings, video_ids)
    outcomes = [StageOutcome(v, spec.name, spec.version, True, 0) for v in done]
    size = settings.backfill_chunk_titles
    for start in range(0, len(todo), size):
        chunk = todo[start:start + size]
        data = read_catalog_shots(store, settings, DEFAULT_MODALITY_DIMS, chunk)
        rows: dict[FeatureSlice, pa.Table] = {}
        for vid, shot_index, emb, present in zip(data.video_ids, data.shot_indices, data.embeddings, data.present):
            scores = probes.scores(shot_features(emb, present))
            n, t = scores.shape
            rows[FeatureSlice(vid, spec.name, spec.version)] = pa.table({
                "shot_index": pa.array(np.repeat(shot_index, t), pa.int32()),
                "tag": pa.array(probes.tags * n, pa.string()),
                "score": pa.array(scores.reshape(-1), pa.float64()),
            })
        result = store.replace_slices("shot_tags", rows, run_id)
        outcomes += [StageOutcome(s.video_id, spec.name, spec.version, False, r.num_rows, result.snapshot_id)
                     for s, r in rows.items()]
        if progress is not None:
            progress(f"tags: {min(start + size, len(todo))}/{len(todo)} titles scored")
    return outcomes
