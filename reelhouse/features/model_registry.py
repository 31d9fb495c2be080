"""Which trained contextual shot encoder is current, and where its artifacts live.

Layout under ``Settings.model_root`` (``$REELHOUSE_HOME/models``)::

    contextual/
        artifacts/<content_version>/    weights, config.json, meta.json (``models.contextual.artifact``)
        checkpoints/<config>-<data>/    resumable state of a training run (removed once it finishes)
        current.json                    the current artifact and what it was trained on

An artifact folder is immutable once written: its name is its content version (the hash of its
config, weights and algorithm version). ``current.json`` is replaced atomically, so a reader sees
the old model or the new one, never a mix. Torch-free: Dagster, the CLI and the feature specs read
it without importing torch.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from reelhouse.config import Settings


class CurrentModel(BaseModel):
    """Contents of ``current.json``.

    Attributes:
        content_version: the current artifact (``artifacts/<content_version>``).
        config_sha256: digest of the config it was trained with (``ContextualConfig.digest``).
        data_fingerprint: identity of the training data: the titles and the feature versions of
            their shots and per-modality embeddings (see ``reelhouse.pipeline.contextual``).
        training_snapshots: Iceberg snapshot id of each table the training data was read from.
        n_titles: titles trained on.
        n_shots: shots trained on.
        trained_at: UTC ISO-8601 time the artifact became current.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    content_version: str
    config_sha256: str
    data_fingerprint: str
    training_snapshots: dict[str, int | None]
    n_titles: int
    n_shots: int
    trained_at: str


def contextual_root(settings: Settings) -> Path:
    """The contextual encoder's folder under the model root."""
    return settings.model_root / "contextual"


def artifact_dir(settings: Settings, content_version: str) -> Path:
    """Folder of the artifact with ``content_version``."""
    return contextual_root(settings) / "artifacts" / content_version


def checkpoint_dir(settings: Settings, config_sha256: str, data_fingerprint: str) -> Path:
    """Checkpoint folder of a training run of this config on this data (so a re-run resumes it)."""
    return contextual_root(settings) / "checkpoints" / f"{config_sha256[:16]}-{data_fingerprint[:16]}"


def current_model(settings: Settings) -> CurrentModel | None:
    """The current model, or ``None`` when none was trained (or its artifact folder is gone)."""
    path = contextual_root(settings) / "current.json"
    if not path.is_file():
        return None
    current = CurrentModel.model_validate_json(path.read_text())
    if not (artifact_dir(settings, current.content_version) / "meta.json").is_file():
        return None
    return current


def set_current(settings: Settings, current: CurrentModel) -> None:
    """Make ``current`` the current model (atomic replace of ``current.json``).

    Raises:
        FileNotFoundError: its artifact folder does not exist.
    """
    if not (artifact_dir(settings, current.content_version) / "meta.json").is_file():
        raise FileNotFoundError(f"no artifact {current.content_version} in {contextual_root(settings) / 'artifacts'}")
    replace_atomically(contextual_root(settings) / "current.json", current.model_dump_json(indent=2) + "\n")


def replace_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: readers see the old or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


class NoContextualModel(RuntimeError):
    """No contextual encoder has been trained yet (materialize ``contextual_model`` first)."""


def current_model_config(settings: Settings):
    """The current encoder's config (read from its artifact; no torch).

    Raises:
        NoContextualModel: none is trained.
    """
    from models.contextual.config import ContextualConfig
    from models.contextual.meta import CONFIG_FILE

    current = current_model(settings)
    if current is None:
        raise NoContextualModel("no contextual model is trained yet: materialize the contextual_model asset "
                                "(or run `reelhouse run`)")
    return current, ContextualConfig.model_validate_json(
        (artifact_dir(settings, current.content_version) / CONFIG_FILE).read_text())
