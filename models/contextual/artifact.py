"""A trained contextual encoder as a self-contained folder, loadable offline.

Layout of ``<dir>/``:
- ``config.json``: the ``ContextualConfig`` (rebuilds the architecture);
- ``weights.safetensors`` (``weights.pt``, a plain ``torch.save`` state dict, when safetensors is
  not installed): float32 weights;
- ``meta.json``: ``meta.ArtifactMeta`` (provenance, training snapshot ids, content version).
The folder is written next to its final place and renamed into it, so readers never see half an
artifact.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from models.contextual.config import ContextualConfig
from models.contextual.meta import CONFIG_FILE, META_FILE, ArtifactMeta, content_version, read_artifact_meta
from models.contextual.model import ContextualShotEncoder
from models.contextual.training import TrainingHistory
from models.device import DevicePreference, select_device

SAFETENSORS_FILE = "weights.safetensors"
TORCH_FILE = "weights.pt"


def weights_digest(state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over the tensors' names, dtypes, shapes and raw bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _has_safetensors() -> bool:
    try:
        import safetensors.torch  # noqa: F401
    except ImportError:
        return False
    return True


def save_artifact(
    model: ContextualShotEncoder,
    directory: str | os.PathLike[str],
    *,
    training_snapshots: Mapping[str, Any],
    history: TrainingHistory,
    n_train_titles: int,
    overwrite: bool = False,
) -> ArtifactMeta:
    """Write ``model`` as an artifact folder (see the module docstring).

    Args:
        model: the trained encoder (any device; weights are saved as float32 on CPU).
        directory: the folder to create.
        training_snapshots: opaque JSON-serializable provenance, e.g. Iceberg snapshot ids of the
            tables the training titles came from; stored verbatim in ``meta.json``.
        history: the training history (steps, final loss, throughput).
        n_train_titles: how many titles it was trained on.
        overwrite: replace an existing folder instead of raising.

    Returns:
        The metadata written, including ``content_version``.

    Raises:
        FileExistsError: ``directory`` exists and ``overwrite`` is false.
        TypeError: ``training_snapshots`` is not JSON-serializable.
    """
    target = Path(directory)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    snapshots = json.loads(json.dumps(dict(training_snapshots)))
    config = model.config
    state = {k: v.detach().to("cpu", torch.float32).contiguous() if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    weights_sha = weights_digest(state)
    meta = ArtifactMeta(
        content_version=content_version(config.digest(), weights_sha), config_sha256=config.digest(),
        weights_sha256=weights_sha, weights_file=SAFETENSORS_FILE if _has_safetensors() else TORCH_FILE,
        training_snapshots=snapshots, seed=config.seed, steps=history.steps, final_loss=history.final_loss,
        final_loss_smoothed=history.smoothed_final_loss(), shots_seen=history.shots_seen,
        train_shots_per_s=history.shots_per_s, n_train_titles=n_train_titles, device=history.device,
        torch_version=torch.__version__, created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        if meta.weights_file == SAFETENSORS_FILE:
            from safetensors.torch import save_file

            save_file(state, str(tmp / SAFETENSORS_FILE), metadata={"content_version": meta.content_version})
        else:
            torch.save(state, tmp / TORCH_FILE)
        (tmp / CONFIG_FILE).write_text(config.model_dump_json(indent=2) + "\n")
        (tmp / META_FILE).write_text(meta.model_dump_json(indent=2) + "\n")
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def load_artifact(
    directory: str | os.PathLike[str],
    device: DevicePreference | torch.device | str = "cpu",
    verify: bool = True,
) -> tuple[ContextualShotEncoder, ArtifactMeta]:
    """Load an artifact folder: nothing is downloaded.

    Args:
        directory: a folder written by :func:`save_artifact`.
        device: where to put the model (``models.device.select_device``).
        verify: recompute the config and weights digests and check them against ``meta.json``.

    Returns:
        ``(model, meta)``, the model in eval mode on ``device``.

    Raises:
        FileNotFoundError: no artifact at ``directory``.
        ValueError: a digest does not match (a corrupted or edited artifact).
    """
    path = Path(directory)
    meta = read_artifact_meta(path)
    config = ContextualConfig.model_validate_json((path / CONFIG_FILE).read_text())
    if meta.weights_file == SAFETENSORS_FILE:
        from safetensors.torch import load_file

        state = load_file(str(path / SAFETENSORS_FILE), device="cpu")
    else:
        state = torch.load(path / meta.weights_file, map_location="cpu", weights_only=True)
    if verify:
        if config.digest() != meta.config_sha256:
            raise ValueError(f"{path}: config.json does not match meta.json's config_sha256")
        if weights_digest(state) != meta.weights_sha256:
            raise ValueError(f"{path}: weights do not match meta.json's weights_sha256")
    model = ContextualShotEncoder(config)
    model.load_state_dict(state)
    return model.to(select_device(device)).eval(), meta
