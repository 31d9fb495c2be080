"""Which tag probe set is current, where the label set and the probe artifacts live.

Layout under ``Settings.model_root`` (``$REELHOUSE_HOME/models``)::

    tags/
        labels.csv                      the current label set (``reelhouse tags train``), titles resolved
                                        to content ids: video_id,start_s,end_s,tag
        artifacts/<content_version>/    probes.npz (weights per tag) and meta.json (what they were
                                        trained on, per-tag cross-validated AP)
        current.json                    the current probe set

An artifact folder is immutable once written: its name is its content version (a hash of the label
set, the embedding versions and the weights). ``labels.csv`` and ``current.json`` are replaced
atomically. Light: Dagster, the CLI and the feature specs read it without scikit-learn.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from reelhouse.config import Settings
from reelhouse.features.model_registry import replace_atomically

PROBES_FILE = "probes.npz"
META_FILE = "meta.json"


class CurrentTags(BaseModel):
    """Contents of ``current.json``.

    Attributes:
        content_version: the current artifact (``artifacts/<content_version>``).
        labels_digest: sha256 of the canonical label set trained on.
        data_fingerprint: the labelled titles and the feature versions of their shots and embeddings.
        tags: the tags, in the artifact's order.
        trained_at: UTC ISO-8601 time the artifact became current.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    content_version: str
    labels_digest: str
    data_fingerprint: str
    tags: list[str]
    trained_at: str


def tags_root(settings: Settings) -> Path:
    """The tags' folder under the model root."""
    return settings.model_root / "tags"


def labels_file(settings: Settings) -> Path:
    """The current label set (may not exist)."""
    return tags_root(settings) / "labels.csv"


def artifact_dir(settings: Settings, content_version: str) -> Path:
    """Folder of the probe set with ``content_version``."""
    return tags_root(settings) / "artifacts" / content_version


def current_tags(settings: Settings) -> CurrentTags | None:
    """The current probe set, or None when none was trained (or its artifact folder is gone)."""
    path = tags_root(settings) / "current.json"
    if not path.is_file():
        return None
    current = CurrentTags.model_validate_json(path.read_text())
    if not (artifact_dir(settings, current.content_version) / META_FILE).is_file():
        return None
    return current


class NoTagProbes(LookupError):
    """No tag probes are trained yet (``reelhouse tags train LABELS.csv``)."""


def require_current_tags(settings: Settings) -> CurrentTags:
    """The current probe set.

    Raises:
        NoTagProbes: none is trained.
    """
    current = current_tags(settings)
    if current is None:
        raise NoTagProbes("no tag probes are trained yet: run `reelhouse tags train LABELS.csv`")
    return current


def read_meta(settings: Settings, content_version: str) -> dict:
    """A probe set's ``meta.json``: what it was trained on and, per tag, ``positives``, ``negatives``, ``c``
    and ``cv_ap``."""
    return json.loads((artifact_dir(settings, content_version) / META_FILE).read_text())


def set_current_tags(settings: Settings, current: CurrentTags) -> None:
    """Make ``current`` the current probe set.

    Raises:
        FileNotFoundError: its artifact folder does not exist.
    """
    if not (artifact_dir(settings, current.content_version) / META_FILE).is_file():
        raise FileNotFoundError(f"no tag probes {current.content_version} in {tags_root(settings) / 'artifacts'}")
    replace_atomically(tags_root(settings) / "current.json", current.model_dump_json(indent=2) + "\n")
