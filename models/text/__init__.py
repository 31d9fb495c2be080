"""Text encoders: strings in, float32 sentence embeddings out.

Names load on first access (``models.lazy``), so importing the package never imports torch.
"""

from models.lazy import lazy_getattr

_EXPORTS = {
    "TEXT_EMBEDDING_DIM": "models.text.minilm",
    "TEXT_MODEL_NAME": "models.cards",
    "TEXT_MODEL_VERSION": "models.cards",
    "load_minilm": "models.text.minilm",
    "make_text_predict": "models.text.minilm",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
