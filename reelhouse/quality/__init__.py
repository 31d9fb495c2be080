"""Data-quality checks of the feature mesh: pure, read-only functions over the feature store."""

from reelhouse.quality.checks import (
    CheckResult,
    EmbeddingContract,
    ann_index_is_current,
    audio_null_iff_silent,
    embedding_contracts,
    embedding_dims_and_norms,
    feature_is_current,
    frames_inside_shots,
    one_row_per_shot,
    shots_tile_title,
    text_null_iff_no_subtitle_text,
)

__all__ = [
    "CheckResult",
    "EmbeddingContract",
    "ann_index_is_current",
    "audio_null_iff_silent",
    "embedding_contracts",
    "embedding_dims_and_norms",
    "feature_is_current",
    "frames_inside_shots",
    "one_row_per_shot",
    "shots_tile_title",
    "text_null_iff_no_subtitle_text",
]
