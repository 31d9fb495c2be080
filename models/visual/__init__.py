"""Visual encoders and descriptors: RGB uint8 frames in, float32 vectors out."""

from models.visual.descriptors import colour_histogram, layout_map
from models.visual.efficientnet import (
    EMBEDDING_DIM,
    MODEL_NAME,
    MODEL_VERSION,
    load_efficientnet_lite0,
    make_visual_predict,
    pool_shot_embeddings,
)

__all__ = [
    "EMBEDDING_DIM",
    "MODEL_NAME",
    "MODEL_VERSION",
    "colour_histogram",
    "layout_map",
    "load_efficientnet_lite0",
    "make_visual_predict",
    "pool_shot_embeddings",
]
