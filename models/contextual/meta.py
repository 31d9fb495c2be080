"""The artifact's ``meta.json``: provenance and the content version, readable without torch.

The content version is the feature version of the contextual embeddings: a hash of the algorithm
version, the config and the exact weights, so retraining (even with identical settings on other
data) gives a new version and an unchanged artifact keeps its version.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from models.contextual.config import ALGORITHM_VERSION, MODEL_NAME

META_FILE = "meta.json"
CONFIG_FILE = "config.json"
ARTIFACT_FORMAT = 1


def content_version(config_sha256: str, weights_sha256: str, algorithm_version: str = ALGORITHM_VERSION) -> str:
    """``"reelhouse-mediafm-v<algorithm>-<16 hex>"``: the first 64 bits of SHA-256 over the algorithm
    version, the config digest and the weights digest."""
    h = hashlib.sha256(f"{algorithm_version}:{config_sha256}:{weights_sha256}".encode()).hexdigest()
    return f"{MODEL_NAME}-v{algorithm_version}-{h[:16]}"


class ArtifactMeta(BaseModel):
    """Contents of ``meta.json``.

    Attributes:
        format: layout version of the artifact folder.
        model_name: ``config.MODEL_NAME``.
        algorithm_version: ``config.ALGORITHM_VERSION`` of the code that trained it.
        content_version: see :func:`content_version`; the feature version of its embeddings.
        config_sha256: digest of ``config.json``'s canonical form (``ContextualConfig.digest``).
        weights_sha256: digest of the weights (tensor names, dtypes, shapes and bytes, sorted by name).
        weights_file: ``weights.safetensors`` or ``weights.pt``.
        training_snapshots: opaque, caller-provided provenance, e.g. the Iceberg snapshot ids the
            training titles were read from (``{"shot_embeddings": 123456789}``).
        seed: the training seed.
        steps: optimizer steps completed.
        final_loss: masked-shot loss of the last step.
        final_loss_smoothed: mean loss of the last 20 steps.
        shots_seen: real shots through training (forward and backward).
        train_shots_per_s: training throughput of the last training call.
        n_train_titles: number of training titles.
        device: device it trained on.
        torch_version: torch that trained it.
        created_at: UTC ISO-8601 time the artifact was written (not part of the content version).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = ARTIFACT_FORMAT
    model_name: str = MODEL_NAME
    algorithm_version: str = ALGORITHM_VERSION
    content_version: str
    config_sha256: str
    weights_sha256: str
    weights_file: str
    training_snapshots: dict[str, Any]
    seed: int
    steps: int
    final_loss: float
    final_loss_smoothed: float
    shots_seen: int
    train_shots_per_s: float
    n_train_titles: int
    device: str
    torch_version: str
    created_at: str


def read_artifact_meta(directory: str | os.PathLike[str]) -> ArtifactMeta:
    """Read ``<directory>/meta.json`` (no torch import).

    Raises:
        FileNotFoundError: no artifact there.
        pydantic.ValidationError: a malformed ``meta.json``.
    """
    path = Path(directory) / META_FILE
    if not path.exists():
        raise FileNotFoundError(f"no contextual model artifact at {directory} (missing {META_FILE})")
    return ArtifactMeta.model_validate(json.loads(path.read_text()))
