"""Subtitle search: shots whose subtitle text matches words, by meaning or literally.

``semantic`` embeds the query with the same MiniLM model as the shots' text embeddings and searches
their faiss index (cosine, the index of the current ``shot_embeddings`` snapshot). ``literal`` keeps
shots whose text contains every word of the query (case-insensitive) and scores them 1.0. Times are
seconds of the standardized encode, ``[start_s, end_s)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from reelhouse.config import Settings
from reelhouse.features.coverage import ok_titles
from reelhouse.features.rows import shot_rows, title_cues
from reelhouse.features.specs import text_spec
from reelhouse.lakehouse import FeatureStore
from reelhouse.media.subtitles import shot_text
from reelhouse.search import ann


@dataclass(frozen=True)
class TextHit:
    """A shot whose subtitle text matched, with that text and the score (cosine, or 1.0 when literal)."""

    video_id: str
    shot_index: int
    start_s: float
    end_s: float
    text: str
    score: float


def _shot_texts(store: FeatureStore, settings: Settings, video_id: str) -> list[tuple[dict, str | None]]:
    cues = title_cues(store, video_id)
    return [(s, shot_text(cues, s["start_s"], s["end_s"])) for s in shot_rows(store, settings, video_id)]


def search_text(store: FeatureStore, settings: Settings, index_root: Path, query: str, k: int = 10,
                titles: Sequence[str] | None = None, mode: Literal["semantic", "literal"] = "semantic") -> list[TextHit]:
    """The ``k`` best shots for ``query`` among ``titles`` (default: every ok title).

    Raises:
        ValueError: an empty query or ``k < 1``.
        LookupError: ``semantic`` before the text embeddings are materialized (materialized with no
            text anywhere is an empty answer, not an error).
    """
    words = re.findall(r"\w+", query.lower())
    if not words:
        raise ValueError("the query has no words")
    if k < 1:
        raise ValueError("k must be >= 1")
    ids = list(titles) if titles is not None else ok_titles(store)
    if mode == "literal":
        hits = []
        for vid in ids:
            for shot, text in _shot_texts(store, settings, vid):
                if text and all(w in re.findall(r"\w+", text.lower()) for w in words):
                    hits.append(TextHit(vid, shot["shot_index"], shot["start_s"], shot["end_s"], text, 1.0))
        return hits[:k]
    from models.text import make_text_predict

    try:
        index, _ = ann.load_or_build(store, index_root, text_spec(settings))
    except ann.NoVectors:
        return []  # text embeddings are stored, and no shot has text
    vector = make_text_predict(settings.device)([query])
    found = index.search(np.asarray(vector, dtype=np.float32), k, titles)[0]
    texts: dict[str, dict[int, tuple[dict, str | None]]] = {}
    out = []
    for hit in found:
        by_shot = texts.setdefault(hit.video_id, {s["shot_index"]: (s, t) for s, t in _shot_texts(store, settings, hit.video_id)})
        shot, text = by_shot.get(hit.shot_index, ({"start_s": float("nan"), "end_s": float("nan")}, None))
        out.append(TextHit(hit.video_id, hit.shot_index, shot["start_s"], shot["end_s"], text or "", round(hit.score, 6)))
    return out
