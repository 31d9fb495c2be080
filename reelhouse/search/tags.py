"""Reading stored tag scores (the read side of ``reelhouse.pipeline.tags``): a title's shots with their
scores, and the catalog's shots that best carry a tag.

Scores are the current probe set's (``reelhouse.features.tag_models``), probabilities in ``[0, 1]``;
shot times are ``[start_s, end_s)`` seconds of the standardized encode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import And, EqualTo

from reelhouse.config import Settings
from reelhouse.features import specs, tag_models
from reelhouse.features.tag_models import NoTagProbes
from reelhouse.lakehouse import FeatureStore


class NoTags(NoTagProbes):
    """The title holds no scores from the current probes yet (a :class:`NoTagProbes`, so one ``except``
    answers both "not ready" cases)."""


class UnknownTag(LookupError):
    """The current probe set has no such tag (the message lists its tags)."""


@dataclass(frozen=True)
class TagInfo:
    """One tag of the current probe set: labelled shots it was trained on and its cross-validated
    average precision over titles (None when the labels allowed no cross-validation)."""

    tag: str
    positives: int
    negatives: int
    cv_ap: float | None


@dataclass(frozen=True)
class ProbeSet:
    """The current probe set: its content version, the ``tags`` feature version and its tags."""

    content_version: str
    feature_version: str
    tags: list[TagInfo]


def probe_set(settings: Settings) -> ProbeSet:
    """The current probe set.

    Raises:
        NoTagProbes: none is trained.
    """
    current = tag_models.require_current_tags(settings)
    per_tag = tag_models.read_meta(settings, current.content_version)["per_tag"]
    return ProbeSet(current.content_version, specs.tags_spec(settings, current.content_version).version,
                    [TagInfo(t, per_tag[t]["positives"], per_tag[t]["negatives"], per_tag[t]["cv_ap"]) for t in current.tags])


@dataclass(frozen=True)
class TitleTags:
    """A title's shots, in order, each with its score per tag (``scores[i][j]``: shot ``i``, tag ``tags[j]``)."""

    video_id: str
    feature_version: str
    tags: list[str]
    shots: list[dict]  # {"shot_index", "start_s", "end_s"}
    scores: np.ndarray

    def as_json(self) -> dict:
        """``{"video_id", "feature_version", "tags", "shots": [{"shot_index", "start_s", "end_s", "scores": {tag: score}}]}``."""
        return {"video_id": self.video_id, "feature_version": self.feature_version, "tags": self.tags,
                "shots": [{**s, "scores": {t: round(float(v), 6) for t, v in zip(self.tags, row)}}
                          for s, row in zip(self.shots, self.scores)]}


def title_tags(store: FeatureStore, settings: Settings, video_id: str) -> TitleTags:
    """The title's tag scores from the current probes.

    Raises:
        NoTagProbes: no probes are trained (``NoTags``: the title holds no scores from them yet).
    """
    from reelhouse.search.shot_lookup import shot_spans

    probes = probe_set(settings)
    rows = store.read("shot_tags", And(And(EqualTo("video_id", video_id), EqualTo("feature", "tags")),
                                       EqualTo("feature_version", probes.feature_version)),
                      selected_fields=("shot_index", "tag", "score"))
    if not rows.num_rows:
        raise NoTags(f"title {video_id} has no tag scores from the current probes yet (run `reelhouse tags train "
                     "LABELS.csv` again, or `reelhouse run`)")
    tags = [t.tag for t in probes.tags]
    spans = shot_spans(store, settings, [video_id])
    order = sorted({int(i) for i in rows.column("shot_index").to_pylist()})
    at = {s: i for i, s in enumerate(order)}
    scores = np.full((len(order), len(tags)), np.nan)
    col = {t: j for j, t in enumerate(tags)}
    for s, t, v in zip(rows.column("shot_index").to_pylist(), rows.column("tag").to_pylist(), rows.column("score").to_pylist()):
        scores[at[int(s)], col[t]] = v
    shots = [{"shot_index": s, "start_s": spans[(video_id, s)]["start_s"], "end_s": spans[(video_id, s)]["end_s"]}
             for s in order]
    return TitleTags(video_id, probes.feature_version, tags, shots, scores)


@dataclass(frozen=True)
class TaggedShot:
    """A shot and its score for one tag; ``[start_s, end_s)`` seconds."""

    video_id: str
    shot_index: int
    start_s: float
    end_s: float
    score: float

    def as_json(self) -> dict:
        return {**asdict(self), "score": round(self.score, 6)}


def search_tag(store: FeatureStore, settings: Settings, tag: str, k: int,
               video_ids: Sequence[str] | None = None) -> list[TaggedShot]:
    """The ``k`` shots (of ``video_ids``, default every title) scoring highest for ``tag``, best first
    (ties: by title, then shot).

    Raises:
        NoTagProbes: no probes are trained.
        UnknownTag: the current probes have no such tag.
        ValueError: ``k < 1``.
    """
    from reelhouse.search.shot_lookup import shot_spans

    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    probes = probe_set(settings)
    known = [t.tag for t in probes.tags]
    if tag not in known:
        raise UnknownTag(f"no tag {tag!r}; the current probes have: {', '.join(known)}")
    rows = store.read("shot_tags", And(And(EqualTo("feature", "tags"), EqualTo("feature_version", probes.feature_version)),
                                       EqualTo("tag", tag)), selected_fields=("video_id", "shot_index", "score"))
    if video_ids is not None:
        rows = rows.filter(pc.is_in(rows.column("video_id"), value_set=pa.array(list(video_ids), pa.string())))
    ranked = sorted(zip(rows.column("score").to_pylist(), rows.column("video_id").to_pylist(),
                        rows.column("shot_index").to_pylist()), key=lambda r: (-r[0], r[1], r[2]))[:k]
    spans = shot_spans(store, settings, sorted({v for _, v, _ in ranked}))
    return [TaggedShot(v, int(s), spans[(v, s)]["start_s"], spans[(v, s)]["end_s"], float(score)) for score, v, s in ranked]
