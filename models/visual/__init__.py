"""Visual encoders and descriptors: RGB uint8 frames in, float32 vectors out.

Names load on first access (``models.lazy``), so importing the package never imports torch.
"""

from models.lazy import lazy_getattr

_EXPORTS = {
    "colour_histogram": "models.visual.descriptors",
    "layout_map": "models.visual.descriptors",
    "EMBEDDING_DIM": "models.visual.efficientnet",
    "MODEL_NAME": "models.visual.efficientnet",
    "load_efficientnet_lite0": "models.visual.efficientnet",
    "make_visual_predict": "models.visual.efficientnet",
    "pool_shot_embeddings": "models.visual.efficientnet",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
