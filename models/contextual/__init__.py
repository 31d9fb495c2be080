"""Contextual shot embeddings (MediaFM-style): a transformer over a title's shot sequence, trained by
masked shot modelling on the platform's visual, audio and text shot embeddings.

Names load on first access (``models.lazy``): importing the package, ``config``, ``titles`` or
``meta`` never imports torch.
"""

from models.lazy import lazy_getattr

_EXPORTS = {
    "ALGORITHM_VERSION": "models.contextual.config",
    "MODEL_NAME": "models.contextual.config",
    "ContextualConfig": "models.contextual.config",
    "cpu_small": "models.contextual.config",
    "gpu_default": "models.contextual.config",
    "TitleShots": "models.contextual.titles",
    "shot_windows": "models.contextual.titles",
    "stack_modality": "models.contextual.titles",
    "title_metadata": "models.contextual.titles",
    "ContextualShotEncoder": "models.contextual.model",
    "choose_masked_shots": "models.contextual.objective",
    "masked_shot_loss": "models.contextual.objective",
    "TrainingHistory": "models.contextual.training",
    "train_contextual": "models.contextual.training",
    "ArtifactMeta": "models.contextual.meta",
    "content_version": "models.contextual.meta",
    "read_artifact_meta": "models.contextual.meta",
    "load_artifact": "models.contextual.artifact",
    "save_artifact": "models.contextual.artifact",
    "embed_titles": "models.contextual.inference",
    "load_contextual": "models.contextual.inference",
    "make_contextual_predict": "models.contextual.inference",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
