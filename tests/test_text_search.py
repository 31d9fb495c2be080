"""Subtitle search over a library: a missing feature is an error, a library without any text is an answer."""

from __future__ import annotations

import pyarrow as pa
import pytest

from reelhouse.features.specs import text_spec
from reelhouse.lakehouse import FeatureSlice, new_run_id
from reelhouse.search.text_search import search_text


def _textless_title(store, settings, video_id: str, shots: int) -> None:
    """A title whose text embeddings are materialized and all absent (no subtitles)."""
    spec = text_spec(settings)
    rows = pa.table({"shot_index": pa.array(range(shots), pa.int32()), "model": [spec.name] * shots,
                     "dim": pa.array([384] * shots, pa.int32()), "has_embedding": [False] * shots,
                     "embedding": pa.array([None] * shots, pa.list_(pa.float32()))})
    store.replace_slices("shot_embeddings", {FeatureSlice(video_id, spec.name, spec.version): rows}, new_run_id())


def test_semantic_search_before_the_text_embeddings_exist_is_an_error(store, settings) -> None:
    with pytest.raises(LookupError, match="materialize the embeddings first"):
        search_text(store, settings, settings.index_root, "rain on the roof", titles=["a" * 64])


def test_semantic_search_over_titles_without_text_finds_nothing(store, settings) -> None:
    _textless_title(store, settings, "a" * 64, 4)
    _textless_title(store, settings, "b" * 64, 2)
    assert search_text(store, settings, settings.index_root, "rain on the roof", titles=["a" * 64]) == []
    assert search_text(store, settings, settings.index_root, "rain on the roof", titles=["a" * 64, "b" * 64], k=5) == []
