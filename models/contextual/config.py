"""Typed configuration of the contextual shot encoder (architecture, objective and training).

Torch-free: the process that plans work (Dagster, the Spark driver) can read and hash a config
without importing torch.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.cards import AUDIO_EMBEDDING_DIM, TEXT_EMBEDDING_DIM, VISUAL_EMBEDDING_DIM

MODEL_NAME = "reelhouse-mediafm"
"""Name of the contextual shot embedding model (the feature's model column)."""

ALGORITHM_VERSION = "1"
"""Bumped when code changes what a given config and weights compute; part of every content version."""

DEFAULT_MODALITY_DIMS: dict[str, int] = {
    "visual": VISUAL_EMBEDDING_DIM,
    "audio": AUDIO_EMBEDDING_DIM,
    "text": TEXT_EMBEDDING_DIM,
}


class ContextualConfig(BaseModel):
    """Architecture, objective and training hyper-parameters of a contextual shot encoder.

    Every field changes what a trained model computes, so all of them go into the artifact's
    content version; operational knobs (checkpoint interval, device) are function arguments instead.

    Attributes:
        modality_dims: Input embedding size per modality, in the order they are concatenated.
            Inputs are expected L2-normalized; any modality may be absent for a shot.
        d_model: Transformer width.
        n_layers: Transformer encoder layers.
        n_heads: Attention heads (``d_model`` must be divisible by it).
        ff_dim: Hidden size of each feed-forward block.
        dropout: Dropout probability inside the encoder (training only).
        max_shots: Longest shot sequence the encoder sees at once (its positional table size);
            longer titles are cut into near-equal windows of at most this many shots.
        mask_ratio: Fraction of a window's valid shots hidden by masked shot modelling, in (0, 1).
        metadata_dim: Length of the title-metadata vector that builds the global token
            (``models.contextual.titles.title_metadata`` makes 4 + number of modalities).
        out_dim: Size of the contextual embedding returned per shot.
        lr: Peak AdamW learning rate (linear warm-up for ``warmup_steps``, then cosine decay to 10%).
        weight_decay: AdamW weight decay (not applied to biases, norms and embeddings).
        warmup_steps: Steps of linear learning-rate warm-up.
        batch_size: Windows (shot sequences) per optimizer step.
        steps: Optimizer steps of a full training run.
        grad_clip: Global gradient-norm clip (0 disables it).
        seed: Seed of initialization, window order, masking and dropout.
        autocast_bf16: Run forward passes under bfloat16 autocast on CUDA (never on CPU).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    modality_dims: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_MODALITY_DIMS))
    d_model: int = Field(256, ge=8)
    n_layers: int = Field(4, ge=1)
    n_heads: int = Field(4, ge=1)
    ff_dim: int = Field(1024, ge=8)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    max_shots: int = Field(512, ge=2)
    mask_ratio: float = Field(0.2, gt=0.0, lt=1.0)
    metadata_dim: int = Field(7, ge=1)
    out_dim: int = Field(256, ge=2)
    lr: float = Field(3e-4, gt=0.0)
    weight_decay: float = Field(0.05, ge=0.0)
    warmup_steps: int = Field(100, ge=0)
    batch_size: int = Field(16, ge=1)
    steps: int = Field(2_000, ge=1)
    grad_clip: float = Field(1.0, ge=0.0)
    seed: int = Field(0, ge=0)
    autocast_bf16: bool = True

    @field_validator("modality_dims")
    @classmethod
    def _check_modalities(cls, dims: dict[str, int]) -> dict[str, int]:
        if not dims:
            raise ValueError("at least one modality is needed")
        for name, dim in dims.items():
            if not name or not name.isidentifier():
                raise ValueError(f"modality name {name!r} must be a Python identifier")
            if dim < 1:
                raise ValueError(f"modality {name!r} has dimension {dim}; expected >= 1")
        return dims

    @model_validator(mode="after")
    def _check_heads(self) -> ContextualConfig:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        return self

    @property
    def modalities(self) -> tuple[str, ...]:
        """Modality names in concatenation order."""
        return tuple(self.modality_dims)

    def with_overrides(self, **changes: Any) -> ContextualConfig:
        """A validated copy with ``changes`` applied (``model_copy(update=...)`` skips validation).

        Raises:
            pydantic.ValidationError: an unknown key or an invalid value.
        """
        return type(self).model_validate({**self.model_dump(), **changes})

    def canonical_json(self) -> str:
        """The config as JSON with sorted keys and no whitespace: the form that is hashed."""
        import json

        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """SHA-256 (hex) of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def cpu_small(**overrides: Any) -> ContextualConfig:
    """A tiny encoder that trains in seconds on 2 CPU cores: for tests and laptops.

    64-wide, 2 layers, 4 heads, windows of up to 128 shots, 8 windows per step, 60 steps.
    ``overrides`` replace any field (validated).
    """
    base = ContextualConfig(
        d_model=64, n_layers=2, n_heads=4, ff_dim=128, dropout=0.1, max_shots=128, out_dim=64,
        lr=2e-3, weight_decay=0.01, warmup_steps=5, batch_size=8, steps=60, autocast_bf16=False,
    )
    return base.with_overrides(**overrides) if overrides else base


def gpu_default(**overrides: Any) -> ContextualConfig:
    """The production-size encoder for one CUDA GPU.

    512-wide, 8 layers, 8 heads, 2048 feed-forward, windows of 512 shots (a 2k-shot title is four
    windows), 32 windows (up to 16k shots) per step, 20k steps with 1k warm-up at peak lr 3e-4.
    Forward passes run under bfloat16 autocast on CUDA (weights, optimizer state and the loss stay
    float32); on CPU the same config runs in float32. About 27.6M parameters (25M in the encoder
    layers, 1.1M in the 2176 -> 512 input projection, 0.6M in the prediction heads).
    """
    base = ContextualConfig(
        d_model=512, n_layers=8, n_heads=8, ff_dim=2048, dropout=0.1, max_shots=512, out_dim=256,
        lr=3e-4, weight_decay=0.05, warmup_steps=1_000, batch_size=32, steps=20_000, autocast_bf16=True,
    )
    return base.with_overrides(**overrides) if overrides else base
