"""Masked shot modelling: which shots to hide, and the cosine loss on their reconstruction.

Target: each masked shot's own input embeddings, per modality. The model predicts every modality,
and only the modalities the shot actually has are scored (an absent modality has no target, so it
is never faked); a masked shot's loss is the mean of ``1 - cos`` over its present modalities, and the
batch loss is the mean over masked shots that have at least one modality. Targets are the fixed
input embeddings (not a learned projection), so the objective cannot collapse and needs no
stop-gradient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch.nn import functional as F


def mask_count(n_valid: torch.Tensor, ratio: float) -> torch.Tensor:
    """Shots to mask in a window of ``n_valid`` real shots: ``floor(ratio * n + 0.5)``, at least one
    when ``n >= 1`` (so every window teaches something), never more than ``n``."""
    k = torch.floor(n_valid.to(torch.float64) * ratio + 0.5).to(torch.long)
    return torch.minimum(torch.clamp(k, min=1), n_valid.to(torch.long)) * (n_valid > 0)


def choose_masked_shots(valid: torch.Tensor, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """Pick ``mask_count(n_valid, ratio)`` shots per row uniformly at random among its valid shots.

    Deterministic given ``generator``'s state (a CPU generator: the draw is made on CPU whatever
    device ``valid`` lives on, so CPU and GPU runs mask the same shots).

    Args:
        valid: bool ``(B, L)``, true for real shots (padding is never picked).
        ratio: fraction of valid shots to mask, in (0, 1).
        generator: a CPU ``torch.Generator``; advanced by one ``(B, L)`` draw.

    Returns:
        bool ``(B, L)`` on ``valid``'s device; exactly ``mask_count`` true entries per row, all valid.

    Raises:
        ValueError: ``ratio`` outside (0, 1) or ``valid`` not 2-D.
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"mask ratio must be in (0, 1), got {ratio}")
    if valid.ndim != 2:
        raise ValueError(f"valid must be (B, L), got shape {tuple(valid.shape)}")
    cpu_valid = valid.detach().to("cpu", torch.bool)
    scores = torch.rand(cpu_valid.shape, generator=generator)
    scores = torch.where(cpu_valid, scores, torch.full_like(scores, 2.0))  # padding sorts last
    rank = scores.argsort(dim=1).argsort(dim=1)
    k = mask_count(cpu_valid.sum(dim=1), ratio)
    return ((rank < k[:, None]) & cpu_valid).to(valid.device)


def masked_shot_loss(predictions: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor],
                     present: torch.Tensor, masked: torch.Tensor, modalities: Sequence[str]) -> torch.Tensor:
    """Mean over masked shots of the mean over their present modalities of ``1 - cos(prediction, target)``.

    Args:
        predictions: modality -> ``(B, L, dim)`` predicted input embeddings.
        targets: modality -> ``(B, L, dim)`` the shots' actual input embeddings.
        present: bool ``(B, L, n_modalities)`` in ``modalities`` order.
        masked: bool ``(B, L)``: the shots that were hidden.
        modalities: modality order of ``present``'s last axis.

    Returns:
        A float32 scalar in [0, 2]; 0 when no masked shot has any present modality (nothing to learn).
    """
    distance = torch.stack([1.0 - F.cosine_similarity(predictions[m].float(), targets[m].float(), dim=-1, eps=1e-8)
                            for m in modalities], dim=-1)
    scored = present & masked[..., None]
    per_shot = (distance * scored).sum(-1) / scored.sum(-1).clamp(min=1)
    counted = scored.any(-1)
    return (per_shot * counted).sum() / counted.sum().clamp(min=1)
