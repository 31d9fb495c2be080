"""Text encoders: strings in, float32 sentence embeddings out."""

from models.text.minilm import (
    TEXT_EMBEDDING_DIM,
    TEXT_MODEL_NAME,
    TEXT_MODEL_VERSION,
    load_minilm,
    make_text_predict,
)

__all__ = ["TEXT_EMBEDDING_DIM", "TEXT_MODEL_NAME", "TEXT_MODEL_VERSION", "load_minilm", "make_text_predict"]
