"""Tags trained from a team's own labels: one linear probe per tag over a shot's embeddings (numpy in,
numpy out).

Conventions
    Times are seconds; a labelled span and a shot are both ``[start_s, end_s)``. Shots are the rows of
    the arrays given, in any order; ``groups`` names the title of each row (cross-validation never
    splits a title).

Labels to shots (:func:`shot_tag_matrix`)
    A shot carries a tag when that tag's spans (merged where they overlap) cover at least
    :data:`COVER` of the shot's length. A title that a label file names is labelled in full: each of
    its shots is a positive of the tags it carries and a negative of every other tag, so a file
    labelling one tag on a few spans still gives the probe negatives.

Features (:func:`shot_features`)
    The shot's visual, audio and text embeddings, each a unit vector (zeros where the shot lacks the
    modality), concatenated, then one 0/1 column per modality saying whether the shot has it.

Probe (:func:`train_probe`)
    L2-regularized logistic regression (scikit-learn, lbfgs) with balanced class weights, so a rare
    tag is not ignored. Its regularization ``C`` is chosen from :data:`C_GRID` by cross-validation on
    the labels alone: folds are whole titles (``StratifiedGroupKFold``, at most :data:`FOLDS`), the
    out-of-fold scores pooled and scored by average precision; that figure is kept as the probe's
    ``cv_ap``, an honest estimate of how well the tag will rank unseen titles. The final probe is fit
    on every labelled shot, then calibrated (Platt scaling): a logistic fit of the labels on the
    out-of-fold decision values maps the probe's output to a probability that the shot carries the
    tag, so 0.5 means "more likely than not" on titles it has not seen, and a tag the labels cannot
    teach scores near its base rate everywhere. The calibration is monotone (it never reorders shots;
    its slope is kept above 0) and folds into the probe's weights, so a probe stays one dot product.
    Without cross-validation (one labelled title) the probe is not calibrated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: Bump when labelling, features or training change: every tag score is recomputed.
ALGORITHM_VERSION = "2"  # 2: Platt-calibrated scores
#: A shot carries a tag when the tag's spans cover at least this share of it.
COVER = 0.5
#: Regularization strengths tried (scikit-learn's ``C``: larger fits the labels more closely).
C_GRID = (0.01, 0.1, 1.0, 10.0)
#: At most this many cross-validation folds (fewer when fewer titles hold a tag's positives).
FOLDS = 5
#: A tag needs at least this many positive and this many negative shots.
MIN_SHOTS = 2
#: Modality blocks of :func:`shot_features`, in order.
MODALITIES = ("visual", "audio", "text")


def _merged(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def shot_tag_matrix(starts_s: np.ndarray, ends_s: np.ndarray, spans: Sequence[tuple[float, float, str]],
                    tags: Sequence[str]) -> np.ndarray:
    """Which of one title's shots carry which tags.

    Args:
        starts_s, ends_s: ``(n,)`` the shots' ``[start_s, end_s)``, seconds.
        spans: the title's labels ``(start_s, end_s, tag)``.
        tags: the columns, in order.

    Returns:
        bool ``(n, len(tags))``: shot ``i`` carries ``tags[j]`` when the tag's spans cover at least
        :data:`COVER` of the shot.
    """
    starts, ends = np.asarray(starts_s, dtype=np.float64), np.asarray(ends_s, dtype=np.float64)
    length = np.maximum(ends - starts, 1e-9)
    out = np.zeros((len(starts), len(tags)), dtype=bool)
    for j, tag in enumerate(tags):
        covered = np.zeros(len(starts))
        for a, b in _merged([(s, e) for s, e, t in spans if t == tag]):
            covered += np.clip(np.minimum(ends, b) - np.maximum(starts, a), 0.0, None)
        out[:, j] = covered >= COVER * length
    return out


def shot_features(embeddings: Mapping[str, np.ndarray], present: Mapping[str, np.ndarray]) -> np.ndarray:
    """The probe's input: float32 ``(n, sum(dims) + len(MODALITIES))``.

    Args:
        embeddings: modality (every name of :data:`MODALITIES`) -> ``(n, dim)`` vectors; rows of absent
            shots are ignored.
        present: modality -> bool ``(n,)``, the shots that have it.
    """
    n = len(next(iter(embeddings.values())))
    blocks, flags = [], []
    for m in MODALITIES:
        x = np.asarray(embeddings[m], dtype=np.float32)
        has = np.asarray(present[m], dtype=bool)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        unit = np.where(has[:, None] & (norms > 0), x / np.maximum(norms, 1e-12), 0.0)
        blocks.append(unit.astype(np.float32))
        flags.append(has.astype(np.float32))
    return np.concatenate([*blocks, np.stack(flags, axis=1)], axis=1) if n else np.zeros((0, 0), np.float32)


@dataclass(frozen=True)
class Probe:
    """One tag's trained probe.

    Attributes:
        tag: the tag.
        weights: float64 ``(d,)`` over :func:`shot_features` columns; ``bias``: the intercept.
        c: the regularization strength chosen.
        cv_ap: average precision of the out-of-fold scores (None when the labels allow no
            cross-validation: fewer than two titles hold the tag's positives).
        positives, negatives: labelled shots of each class it was fit on.
    """

    tag: str
    weights: np.ndarray
    bias: float
    c: float
    cv_ap: float | None
    positives: int
    negatives: int

    def scores(self, features: np.ndarray) -> np.ndarray:
        """float64 ``(n,)`` probabilities in ``[0, 1]`` that each row carries the tag."""
        return probe_scores(features, self.weights, self.bias)


def probe_scores(features: np.ndarray, weights: np.ndarray, bias: float | np.ndarray) -> np.ndarray:
    """Probabilities ``logistic(features @ weights + bias)`` in ``[0, 1]``, float64: ``(n,)`` for one probe's
    ``(d,)`` weights, ``(n, t)`` for ``t`` probes' ``(d, t)`` weights and ``(t,)`` biases."""
    from scipy.special import expit

    return expit(np.asarray(features, dtype=np.float64) @ weights + bias)


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision of ``scores`` ranking the True ``labels`` first (scikit-learn's definition:
    the mean of the precision at each positive's rank, ties broken pessimistically by neither side).

    Raises:
        ValueError: no positive label.
    """
    from sklearn.metrics import average_precision_score

    y = np.asarray(labels, dtype=bool)
    if not y.any():
        raise ValueError("average precision needs at least one positive")
    return float(average_precision_score(y, np.asarray(scores, dtype=np.float64)))


def cv_folds(labels: np.ndarray, groups: Sequence[str] | np.ndarray,
             folds: int = FOLDS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation ``(train_rows, test_rows)`` over whole titles, stratified by ``labels``; none
    when fewer than two titles hold a positive (or a negative). Deterministic."""
    from sklearn.model_selection import StratifiedGroupKFold

    y, g = np.asarray(labels, dtype=bool), np.asarray(groups)
    k = min(folds, len(set(g[y])), len(set(g[~y])))
    if k < 2:
        return
    for train, test in StratifiedGroupKFold(n_splits=k).split(np.zeros(len(y)), y, g):
        if y[train].any() and (~y[train]).any():
            yield train, test


def _fit(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(x, y)


def out_of_fold_scores(x: np.ndarray, labels: np.ndarray, groups: Sequence[str] | np.ndarray, c: float,
                       folds: int = FOLDS) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, decision values)``: each title's shots scored by a probe fit without that title."""
    rows, scores = [], []
    for train, test in cv_folds(labels, groups, folds):
        model = _fit(x[train], labels[train], c)
        rows.append(test)
        scores.append(model.decision_function(x[test]))
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(rows), np.concatenate(scores)


def train_probe(tag: str, features: np.ndarray, labels: np.ndarray, groups: Sequence[str] | np.ndarray,
                c_grid: Sequence[float] = C_GRID, folds: int = FOLDS) -> Probe:
    """Fit ``tag``'s probe on labelled shots (see the module docstring).

    Args:
        features: ``(n, d)`` rows of :func:`shot_features`, the labelled shots only.
        labels: bool ``(n,)``, True where the shot carries the tag.
        groups: ``(n,)`` each row's title.

    Raises:
        ValueError: fewer than :data:`MIN_SHOTS` positives or negatives.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos < MIN_SHOTS or neg < MIN_SHOTS:
        raise ValueError(f"tag {tag!r} has {pos} positive and {neg} negative labelled shots; "
                         f"a probe needs at least {MIN_SHOTS} of each")
    best_c, best_ap, best_oof = 1.0, None, None
    for c in c_grid:
        rows, scores = out_of_fold_scores(x, y, groups, c, folds)
        if len(rows) and y[rows].any():
            ap = average_precision(scores, y[rows])
            if best_ap is None or ap > best_ap + 1e-12:
                best_c, best_ap, best_oof = float(c), ap, (rows, scores)
    model = _fit(x, y, best_c)
    weights, bias = model.coef_[0].astype(np.float64), float(model.intercept_[0])
    if best_oof is not None:
        slope, offset = platt(best_oof[1], y[best_oof[0]])
        weights, bias = slope * weights, slope * bias + offset
    return Probe(tag, weights, bias, best_c, best_ap, pos, neg)


#: The smallest calibration slope kept (a probe that cross-validation finds useless keeps its order).
MIN_SLOPE = 1e-3


def platt(decision: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(slope, offset)`` of Platt scaling (Platt 1999, with his smoothed targets):
    ``P(tag | z) = logistic(slope * z + offset)`` fit on out-of-fold decision values ``z`` (slope at
    least :data:`MIN_SLOPE`)."""
    from sklearn.linear_model import LogisticRegression

    z = np.asarray(decision, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(labels, dtype=bool)
    # Platt's targets: (N+ + 1) / (N+ + 2) for a positive, 1 / (N- + 2) for a negative, so separable
    # scores get a finite slope; a soft target t is a row labelled 1 with weight t plus 0 with 1 - t.
    target = np.where(y, (y.sum() + 1) / (y.sum() + 2), 1 / ((~y).sum() + 2))
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(
        np.concatenate([z, z]), np.r_[np.ones(len(z), bool), np.zeros(len(z), bool)],
        sample_weight=np.r_[target, 1 - target])
    slope = float(fit.coef_[0, 0])
    if slope > MIN_SLOPE:
        return slope, float(fit.intercept_[0])
    rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))  # no usable order: the base rate, order kept
    return MIN_SLOPE, float(np.log(rate / (1 - rate)))
