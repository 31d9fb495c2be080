"""The contextual shot encoder: a transformer over a title's shot sequence (MediaFM-style).

Token sequence of one window: ``[CLS] [GLOBAL] shot_0 ... shot_{L-1}``.
- A shot token is the concatenation of its modality embeddings (absent modalities zeroed), linearly
  projected to ``d_model``, plus a learned "missing" vector for each absent modality, layer-normed,
  plus a learned position embedding (position within the window, initialized sinusoidally). A shot hidden by masked shot
  modelling is replaced by the learned ``[MASK]`` vector (its position embedding is kept).
- ``[GLOBAL]`` is a small MLP of the title-metadata vector; ``[CLS]`` is a learned vector.
- A pre-norm ``nn.TransformerEncoder`` with a key padding mask, then per shot a linear head to
  ``out_dim``: that vector, L2-normalized, is the contextual shot embedding. Per-modality linear heads
  on top of it predict a masked shot's input embeddings (training only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from models.contextual.batching import ShotBatch
from models.contextual.config import ContextualConfig

N_SPECIAL_TOKENS = 2
"""``[CLS]`` and ``[GLOBAL]`` precede the shots in every sequence."""


@dataclass(frozen=True)
class EncoderOutput:
    """Encoder outputs before normalization.

    Attributes:
        shots: float ``(B, L, out_dim)`` per-shot vectors (garbage at padding positions).
        title: float ``(B, out_dim)`` the ``[CLS]`` token's vector, a window-level summary.
    """

    shots: torch.Tensor
    title: torch.Tensor


def sinusoidal_positions(n: int, d: int) -> torch.Tensor:
    """The fixed sine/cosine position table of "Attention is all you need", ``(n, d)``.

    Used to initialize the learned position embedding: nearby positions start out similar, so
    attention to neighbouring shots (most of a shot's context: its scene) is there from step one
    instead of having to be discovered from random vectors.
    """
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    freq = torch.exp(-math.log(10_000.0) * torch.arange(0, d, 2, dtype=torch.float64) / d)
    table = torch.zeros(n, d, dtype=torch.float64)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: d // 2])
    return table.float()


class ContextualShotEncoder(nn.Module):
    """Transformer encoder over windows of up to ``config.max_shots`` shots; see the module docstring.

    Args:
        config: architecture; ``config.modality_dims`` fixes the modality order everywhere.
    """

    def __init__(self, config: ContextualConfig) -> None:
        super().__init__()
        self.config = config
        self.modalities = config.modalities
        d = config.d_model
        self.input_proj = nn.Linear(sum(config.modality_dims.values()), d)
        self.missing_embedding = nn.Parameter(torch.empty(len(self.modalities), d))
        self.input_norm = nn.LayerNorm(d)
        self.mask_embedding = nn.Parameter(torch.empty(d))
        self.cls_embedding = nn.Parameter(torch.empty(d))
        self.position = nn.Embedding(config.max_shots, d)
        self.global_proj = nn.Sequential(nn.Linear(config.metadata_dim, d), nn.GELU(), nn.Linear(d, d))
        layer = nn.TransformerEncoderLayer(d, config.n_heads, config.ff_dim, config.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.n_layers, norm=nn.LayerNorm(d), enable_nested_tensor=False)
        self.embed_head = nn.Linear(d, config.out_dim)
        self.predict_heads = nn.ModuleDict(
            {m: nn.Sequential(nn.GELU(), nn.Linear(config.out_dim, dim)) for m, dim in config.modality_dims.items()})
        for p in (self.missing_embedding, self.mask_embedding, self.cls_embedding):
            nn.init.normal_(p, std=0.02)
        with torch.no_grad():
            self.position.weight.copy_(sinusoidal_positions(config.max_shots, d))


    def fuse(self, batch: ShotBatch) -> torch.Tensor:
        """Shot input tokens ``(B, L, d_model)`` before masking and positions.

        Absent modalities (and padding) enter as exact zeros whatever the batch holds there, and the
        model is told through the per-modality missing vectors: masked, never imputed.
        """
        parts = [torch.where(batch.present[..., j:j + 1], batch.features[m], 0.0) for j, m in enumerate(self.modalities)]
        x = self.input_proj(torch.cat(parts, dim=-1))
        missing = (~batch.present).to(x.dtype) @ self.missing_embedding.to(x.dtype)
        return self.input_norm(x + missing)

    def forward(self, batch: ShotBatch, masked: torch.Tensor | None = None) -> EncoderOutput:
        """Encode a batch.

        Args:
            batch: padded windows of at most ``config.max_shots`` shots.
            masked: optional bool ``(B, L)``: shots whose input is replaced by ``[MASK]``.

        Returns:
            The un-normalized per-shot and ``[CLS]`` vectors.

        Raises:
            ValueError: a window longer than ``config.max_shots``.
        """
        b, length = batch.valid.shape
        if length > self.config.max_shots:
            raise ValueError(f"window of {length} shots exceeds max_shots={self.config.max_shots}")
        tokens = self.fuse(batch)
        if masked is not None:
            tokens = torch.where(masked[..., None], self.mask_embedding.to(tokens.dtype), tokens)
        tokens = tokens + self.position.weight[:length].to(tokens.dtype)
        special = torch.stack([self.cls_embedding.expand(b, -1), self.global_proj(batch.metadata)], dim=1)
        seq = torch.cat([special.to(tokens.dtype), tokens], dim=1)
        padding = torch.cat([torch.zeros(b, N_SPECIAL_TOKENS, dtype=torch.bool, device=seq.device), ~batch.valid], dim=1)
        hidden = self.encoder(seq, src_key_padding_mask=padding)
        out = self.embed_head(hidden)
        return EncoderOutput(shots=out[:, N_SPECIAL_TOKENS:], title=out[:, 0])

    def predict_inputs(self, shots: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-modality predictions of the shots' input embeddings from encoder outputs ``(B, L, out_dim)``."""
        return {m: head(shots) for m, head in self.predict_heads.items()}

    def embed(self, batch: ShotBatch) -> torch.Tensor:
        """L2-normalized contextual shot embeddings ``(B, L, out_dim)``, float32, no masking."""
        shots = self.forward(batch).shots.float()
        return nn.functional.normalize(shots, dim=-1)
