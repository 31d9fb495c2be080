"""Tags trained from labels: reelhouse's per-tag probes (``models.tags``) against a nearest-neighbour
baseline, scored by average precision on labels held out from training.

Run: ``python -m benchmarks.tags`` (a few minutes on 2 cores; the real part decodes the real sources and
embeds about 1,000 frames with EfficientNet-Lite0; the first run also fetches Debian's ``opencv-doc``,
about 96 MB).

Catalogs (reported apart)
    *Generated*: the scene-structured catalog (``reelhouse.samples.scene_catalog``), whose scenes each
    have one of 6 moods (known parameters: a shot's latent holds its scene's mood vector under heavy
    per-shot noise, projected into visual, audio and text embeddings). Labels are the scenes' spans,
    tagged ``mood_0`` .. ``mood_5``. One catalog (seed ``SEED``: the moods and projections are drawn per
    catalog) is split by title: probes are trained on the first ``--train-titles`` titles and scored on
    the other ``--test-titles``, so no held-out title's shot is seen in training. The generator is linear in its latent
    mood, which favours a linear probe: read the real figures too.
    *Real*: shots of REAL footage (the sources of ``reelhouse.samples.composed_real``: 1-2.5 s stretches
    at random times, embedded as the pipeline does: EfficientNet-Lite0 on 3 frames evenly over the
    stretch, mean-pooled). Each shot is shown as is or, by construction (a third each, drawn at random),
    with one edit: ``monochrome`` (luma only) or ``night`` (dark and blue), the kind of style tag a team
    labels (flashbacks, night scenes). Each shot is also tagged by what its source is, a published fact
    about the film, not read off any model: ``animated`` (bigbuckbunny, the Blender open movie;
    megamind, the DreamWorks film's trailer; dagster_world, a rendered globe) or ``live_action`` (bikes,
    carphone_pristine, vtest, box, cup, tree). Held out by SOURCE: each source's shots are scored by
    probes trained on the other sources' shots only (leave one source out; the per-source scores
    pooled), so a tag must be recognised in footage never seen. ``tag_map_real`` is the edit tags'
    mean AP; the source tags are reported apart (``..._source_tags``): with three animated sources,
    two are all a held-out one is learnt from. Visual only (the sources' audio is not composed and
    they have no subtitles).

Methods (both see the same features, :func:`models.tags.shot_features`, and the same labels)
    - ``reelhouse``: ``models.tags.train_probe`` as the product runs it (logistic regression, ``C``
      chosen by cross-validation over titles on the training labels alone);
    - ``knn``: each shot scored by the similarity-weighted share of the tag among its ``k`` most
      similar labelled shots (cosine); ``k`` chosen from ``K_GRID`` by the same cross-validation folds
      (``models.tags.cv_folds``) on the training labels alone, per tag. The sceptic's baseline: no
      training, every label kept.

Agreement check: both methods score the same held-out shots with the same labels (asserted), and each
AP is recomputed from the raw ranking with a hand-written average precision (asserted equal to
scikit-learn's).

Last line: ``{"tag_map", "tag_map_knn_baseline", "tag_map_real", "tag_map_knn_baseline_real",
"tag_map_real_source_tags", "tag_map_knn_baseline_real_source_tags", "base_rate_real", "per_tag", ...}``
(``tag_map``/``tag_map_knn_baseline``: the generated catalog's mean AP over its tags).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.tags import MODALITIES, average_precision, cv_folds, shot_features, shot_tag_matrix, train_probe

SEED = 21
REAL_SEED = 7
K_GRID = (1, 3, 5, 10, 20, 50)
SHOT_FRAMES = 3
WORK = Path(".reelhouse") / "bench-tags"
ANIMATED = ("bigbuckbunny", "megamind", "dagster_world")
LIVE_ACTION = ("bikes", "carphone_pristine", "vtest", "box", "cup", "tree")


@dataclass
class Labelled:
    """Shots with features, their titles and which tags they carry."""

    features: np.ndarray  # (n, d)
    groups: np.ndarray  # (n,) title (or source) of each shot
    truth: np.ndarray  # bool (n, tags)
    tags: list[str]


Scorer = Callable[[Labelled, int, np.ndarray], np.ndarray]  # (train, tag column, test features) -> scores


def probe_scorer(train: Labelled, j: int, x: np.ndarray) -> np.ndarray:
    return train_probe(train.tags[j], train.features, train.truth[:, j], train.groups).scores(x)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn_scores(train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """Similarity-weighted share of positives among each row's ``k`` most similar training rows."""
    sims = _unit(x) @ _unit(train_x).T
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    s = np.take_along_axis(sims, top, axis=1)
    w = np.clip(s, 1e-6, None)
    return (w * train_y[top]).sum(axis=1) / w.sum(axis=1)


def knn_scorer(train: Labelled, j: int, x: np.ndarray) -> np.ndarray:
    y = train.truth[:, j]
    best_k, best = K_GRID[0], -1.0
    for k in K_GRID:
        rows, scores = [], []
        for a, b in cv_folds(y, train.groups):
            rows.append(b)
            scores.append(knn_scores(train.features[a], y[a].astype(np.float64), train.features[b], k))
        if rows:
            ap = average_precision(np.concatenate(scores), y[np.concatenate(rows)])
            if ap > best + 1e-12:
                best_k, best = k, ap
    return knn_scores(train.features, y.astype(np.float64), x, best_k)


def hand_ap(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision written out: mean over positives of the precision at their rank, tied scores
    taken as one block (scikit-learn's step-wise definition)."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order].astype(np.float64)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # end of each block of tied scores
    tp, seen = np.cumsum(y)[last], last + 1.0
    recall_gain = np.diff(np.r_[0.0, tp]) / y.sum()
    return float((recall_gain * tp / seen).sum())


def evaluate(train: Labelled, test: Labelled, scorers: dict[str, Scorer]) -> dict[str, dict[str, float]]:
    """Per method, per tag: AP of the held-out shots' scores."""
    out: dict[str, dict[str, float]] = {}
    for name, scorer in scorers.items():
        per_tag = {}
        for j, tag in enumerate(test.tags):
            scores = scorer(train, j, test.features)
            ap = average_precision(scores, test.truth[:, j])
            assert abs(ap - hand_ap(scores, test.truth[:, j])) < 1e-9, (tag, ap, hand_ap(scores, test.truth[:, j]))
            per_tag[tag] = round(ap, 4)
        out[name] = per_tag
    return out


# Generated ----------------------------------------------------------------------------------------------
def generated(n_titles: int, seed: int) -> tuple[Labelled, np.ndarray]:
    """The scene catalog of ``seed``, labelled from its scenes' moods through the product's span rule,
    and each shot's title number."""
    from models.contextual.config import DEFAULT_MODALITY_DIMS
    from reelhouse.samples.scene_catalog import MOODS, make_scene_catalog

    tags = [f"mood_{m}" for m in range(MOODS)]
    feats, groups, truth, title = [], [], [], []
    for i, t in enumerate(make_scene_catalog(n_titles, seed, dict(DEFAULT_MODALITY_DIMS))):
        ends = np.cumsum(t.durations_s)
        starts = ends - t.durations_s
        spans = []
        for s in range(int(t.scene.max()) + 1):  # a label row per scene: its span and its mood
            rows = np.flatnonzero(t.scene == s)
            spans.append((float(starts[rows[0]]), float(ends[rows[-1]]), tags[int(t.mood[rows[0]])]))
        truth.append(shot_tag_matrix(starts, ends, spans, tags))
        assert (truth[-1].argmax(axis=1) == t.mood).all() and (truth[-1].sum(axis=1) == 1).all()
        present = {"visual": np.ones(t.n_shots, bool), "audio": t.audio_present, "text": t.text_present}
        feats.append(shot_features({"visual": t.visual, "audio": t.audio, "text": t.text}, present))
        groups += [f"{seed}:{i}"] * t.n_shots
        title += [i] * t.n_shots
    return Labelled(np.concatenate(feats), np.asarray(groups), np.concatenate(truth), tags), np.asarray(title)


def _rows(data: Labelled, keep: np.ndarray) -> Labelled:
    return Labelled(data.features[keep], data.groups[keep], data.truth[keep], data.tags)


# Real ---------------------------------------------------------------------------------------------------
#: Tags of the real shots: two edits applied by construction, then what the source is.
EDIT_TAGS = ("monochrome", "night")
SOURCE_TAGS = ("animated", "live_action")


def edit(frames: np.ndarray, look: str) -> np.ndarray:
    """``frames`` (uint8 RGB) as ``look``: ``monochrome`` (BT.601 luma in every channel), ``night`` (dark and
    blue: channels scaled by 0.25, 0.3 and 0.45), or unchanged (``none``)."""
    x = frames.astype(np.float32)
    if look == "monochrome":
        x = np.repeat((x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None], 3, axis=-1)
    elif look == "night":
        x = x * np.array([0.25, 0.3, 0.45], np.float32)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def real(shots_per_source: int, seed: int, log) -> Labelled:
    """Shots of the real sources (module docstring), each shown as is or with one edit, tagged with the
    edit (``monochrome``, ``night``) and with what its source is (``animated`` / ``live_action``)."""
    from benchmarks.scenes import _decode
    from models.contextual.config import DEFAULT_MODALITY_DIMS
    from models.visual.efficientnet import make_visual_predict
    from reelhouse.samples.composed_real import composed_sources

    paths = composed_sources(WORK / "cache")
    names = [*ANIMATED, *LIVE_ACTION]
    missing = [n for n in names if n not in paths]
    if missing:
        raise SystemExit(f"real sources missing: {missing}")
    predict = make_visual_predict("cpu")
    rng = np.random.default_rng(seed)
    vectors, groups, truth = [], [], []
    t0, count = time.perf_counter(), 0
    for name in names:
        video, fps = _decode(paths[name], first=1 if name == "megamind" else 0, end=49 if name == "tree" else None)
        for _ in range(shots_per_source):
            length = min(len(video), max(SHOT_FRAMES, int(round(rng.uniform(1.0, 2.5) * fps))))
            first = int(rng.integers(0, len(video) - length + 1))
            idx = np.linspace(first, first + length - 1, SHOT_FRAMES).round().astype(int)
            look = ("none", *EDIT_TAGS)[int(rng.integers(3))]
            vectors.append(predict(edit(video[idx], look)).mean(axis=0))
            groups.append(name)
            truth.append([look == t for t in EDIT_TAGS] + [name in ANIMATED, name in LIVE_ACTION])
            count += len(idx)
    n = len(vectors)
    dims = dict(DEFAULT_MODALITY_DIMS)
    emb = {"visual": np.asarray(vectors), **{m: np.zeros((n, dims[m]), np.float32) for m in MODALITIES[1:]}}
    present = {"visual": np.ones(n, bool), **{m: np.zeros(n, bool) for m in MODALITIES[1:]}}
    log(f"real: {n} shots from {len(names)} sources; {count} frames embedded in {time.perf_counter() - t0:.0f} s")
    return Labelled(shot_features(emb, present), np.asarray(groups), np.asarray(truth), [*EDIT_TAGS, *SOURCE_TAGS])


def leave_one_source_out(data: Labelled, scorers: dict[str, Scorer], log) -> dict[str, dict[str, float]]:
    """Per method, per tag: AP over every shot, each scored by a model that never saw its source (the
    held-out scores of the per-source models pooled, as cross-validation pools them)."""
    pooled = {name: np.zeros((len(data.groups), len(data.tags))) for name in scorers}
    for source in sorted(set(data.groups)):
        held = data.groups == source
        train = _rows(data, ~held)
        for name, scorer in scorers.items():
            for j in range(len(data.tags)):
                pooled[name][held, j] = scorer(train, j, data.features[held])
    for name in scorers:  # where each method goes wrong: the mean score of each held-out source's shots
        j = data.tags.index(SOURCE_TAGS[0])
        means = {s: round(float(pooled[name][data.groups == s, j].mean()), 3) for s in sorted(set(data.groups))}
        log(f"  {name}: mean {data.tags[j]} score per held-out source {json.dumps(means)}")
    out: dict[str, dict[str, float]] = {}
    for name in scorers:
        out[name] = {}
        for j, tag in enumerate(data.tags):
            ap = average_precision(pooled[name][:, j], data.truth[:, j])
            assert abs(ap - hand_ap(pooled[name][:, j], data.truth[:, j])) < 1e-9
            out[name][tag] = round(ap, 4)
    return out


def _mean(per_tag: dict[str, float]) -> float:
    return round(float(np.mean(list(per_tag.values()))), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-titles", type=int, default=16)
    parser.add_argument("--test-titles", type=int, default=16)
    parser.add_argument("--shots-per-source", type=int, default=24)
    parser.add_argument("--skip-real", action="store_true", help="generated catalog only (no decoding)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f}s] {msg}", flush=True)

    scorers: dict[str, Scorer] = {"reelhouse": probe_scorer, "knn": knn_scorer}
    catalog, title = generated(args.train_titles + args.test_titles, SEED)
    train, test = _rows(catalog, title < args.train_titles), _rows(catalog, title >= args.train_titles)
    assert not set(train.groups) & set(test.groups)
    log(f"generated: {len(train.groups)} training shots ({args.train_titles} titles), {len(test.groups)} held-out "
        f"shots ({args.test_titles} titles), tags {train.tags}; positives held out per tag "
        f"{test.truth.sum(axis=0).tolist()}")
    gen = evaluate(train, test, scorers)
    log(f"generated AP per tag: {json.dumps(gen)}")
    result: dict[str, object] = {"tag_map": _mean(gen["reelhouse"]), "tag_map_knn_baseline": _mean(gen["knn"])}
    per_tag = {f"generated/{tag}": {m: gen[m][tag] for m in scorers} for tag in train.tags}
    if not args.skip_real:
        data = real(args.shots_per_source, REAL_SEED, log)
        rl = leave_one_source_out(data, scorers, log)
        log(f"real AP per tag (leave one source out): {json.dumps(rl)}")
        def part(m: str, tags: Sequence[str]) -> float:
            return _mean({t: rl[m][t] for t in tags})

        result |= {"tag_map_real": part("reelhouse", EDIT_TAGS), "tag_map_knn_baseline_real": part("knn", EDIT_TAGS),
                   "tag_map_real_source_tags": part("reelhouse", SOURCE_TAGS),
                   "tag_map_knn_baseline_real_source_tags": part("knn", SOURCE_TAGS),
                   "base_rate_real": {t: round(float(data.truth[:, j].mean()), 4) for j, t in enumerate(data.tags)}}
        per_tag |= {f"real/{tag}": {m: rl[m][tag] for m in scorers} for tag in data.tags}
    result |= {"per_tag": per_tag, "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
