"""The contextual shot-embedding feature: train the encoder on the catalog, then embed every title with it.

Training (:func:`train_catalog_model`) reads every eligible title's visual, audio and text shot
embeddings from one ``shot_embeddings`` snapshot, trains ``models.contextual`` (resumable checkpoints,
deterministic given the config's seed), saves the artifact with the snapshots it read, and makes it
current (``reelhouse.features.model_registry``). It is memoized on (config, training data): the same
titles at the same feature versions reuse the current artifact.

Inference (:func:`embed_catalog`) runs the Spark job ``spark_jobs.contextual_embeddings`` over the
eligible titles lacking the current encoder's embeddings and commits them all in one Iceberg commit.

A title is *eligible* when it is ``ok`` and holds the current version of all three modality features.
Silent shots and shots without subtitles have null audio or text vectors: that modality is masked
for them, never filled in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reelhouse.config import Settings
from reelhouse.features import coverage, model_registry, registry, specs
from reelhouse.features.coverage import eligible_titles
from reelhouse.features.model_registry import current_model_config
from reelhouse.features.outcome import StageOutcome
from reelhouse.lakehouse import FeatureSlice, FeatureStore, slices_filter


class NoTrainingData(RuntimeError):
    """Too few titles hold every modality's embeddings to train the contextual encoder."""


@dataclass(frozen=True)
class CatalogShots:
    """Titles' per-shot inputs for the contextual encoder, read from one snapshot.

    Attributes:
        video_ids: the titles, sorted; entry ``i`` of every list belongs to ``video_ids[i]``.
        shot_indices: per title, int32 ``(n,)`` shot numbers in row order (ascending).
        durations_s: per title, float64 ``(n,)`` shot lengths in seconds (``end_s - start_s``).
        embeddings: per title, modality -> float32 ``(n, dim)``; zero rows where absent.
        present: per title, modality -> bool ``(n,)``.
        snapshots: Iceberg snapshot id of each table read.
    """

    video_ids: list[str]
    shot_indices: list[np.ndarray]
    durations_s: list[np.ndarray]
    embeddings: list[dict[str, np.ndarray]]
    present: list[dict[str, np.ndarray]]
    snapshots: dict[str, int | None] = field(default_factory=dict)

    @property
    def n_shots(self) -> int:
        return int(sum(len(s) for s in self.shot_indices))

    def title_shots(self, modality_dims: Mapping[str, int]) -> list:
        """The titles as ``models.contextual.TitleShots`` (with their metadata vectors)."""
        from models.contextual.titles import TitleShots, title_metadata

        return [TitleShots(embeddings=e, present=p, metadata=title_metadata(d, p, tuple(modality_dims)))
                for e, p, d in zip(self.embeddings, self.present, self.durations_s)]


def data_fingerprint(settings: Settings, video_ids: Sequence[str]) -> str:
    """Identity of a training set: its titles and the feature versions of their shots and embeddings.

    Feature versions hash everything upstream (encode recipe, detector, models), so the same
    fingerprint means the same inputs, whatever other tables did meanwhile.
    """
    versions = {m: s.version for m, s in registry.modality_specs(settings).items()}
    versions["shots"] = specs.shots_spec(settings).version
    blob = json.dumps({"titles": sorted(video_ids), "versions": versions}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def read_catalog_shots(store: FeatureStore, settings: Settings, modality_dims: Mapping[str, int],
                       video_ids: Sequence[str], snapshot_id: int | None = None) -> CatalogShots:
    """Read ``video_ids``' shots and modality vectors (current versions) into per-title arrays.

    Args:
        modality_dims: modality name -> dimension (the encoder config's ``modality_dims``); names
            must be names of ``registry.modalities``.
        snapshot_id: the ``shot_embeddings`` snapshot to read (default: the current one).

    Raises:
        ValueError: a stored vector of the wrong size.
    """
    from reelhouse.search.ann import embedding_matrix

    modality_specs = registry.modality_specs(settings)
    shots_spec = specs.shots_spec(settings)
    ids = sorted(set(video_ids))
    snapshot_id = snapshot_id if snapshot_id is not None else store.snapshot_id("shot_embeddings")
    snapshots = {"shot_embeddings": snapshot_id, "shots": store.snapshot_id("shots")}
    if not ids:
        return CatalogShots([], [], [], [], [], snapshots)
    shots = store.read("shots", slices_filter(FeatureSlice(v, shots_spec.name, shots_spec.version) for v in ids),
                       selected_fields=("video_id", "shot_index", "start_s", "end_s"), snapshot_id=snapshots["shots"])
    shots = shots.sort_by([("video_id", "ascending"), ("shot_index", "ascending")])
    n = shots.num_rows
    keys = shots.select(["video_id", "shot_index"]).append_column("row", pa.array(np.arange(n, dtype=np.int64)))
    wanted = [FeatureSlice(v, s.name, s.version) for s in (modality_specs[m] for m in modality_dims) for v in ids]
    emb = store.read("shot_embeddings", slices_filter(wanted), snapshot_id=snapshot_id,
                     selected_fields=("video_id", "feature", "shot_index", "has_embedding", "embedding"))
    matrices: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for name, dim in modality_dims.items():
        rows = emb.filter(pc.and_(pc.equal(emb.column("feature"), modality_specs[name].name), emb.column("has_embedding")))
        x, present = np.zeros((n, dim), dtype=np.float32), np.zeros(n, dtype=bool)
        if rows.num_rows:
            vectors = embedding_matrix(rows.column("embedding"))
            if vectors.ndim != 2 or vectors.shape[1] != dim:
                raise ValueError(f"{modality_specs[name].name} vectors have shape {vectors.shape}, the encoder expects {dim}")
            located = rows.select(["video_id", "shot_index"]).append_column("vrow", pa.array(np.arange(rows.num_rows, dtype=np.int64)))
            joined = keys.join(located, ["video_id", "shot_index"], join_type="inner")
            at, src = joined.column("row").to_numpy(), joined.column("vrow").to_numpy()
            x[at], present[at] = vectors[src], True
        matrices[name], masks[name] = x, present
    video_col = shots.column("video_id").to_numpy(zero_copy_only=False)
    bounds = np.flatnonzero(np.r_[True, video_col[1:] != video_col[:-1], True]) if n else np.array([0])
    out = CatalogShots([], [], [], [], [], snapshots)
    index = shots.column("shot_index").to_numpy().astype(np.int32)
    length = (shots.column("end_s").to_numpy() - shots.column("start_s").to_numpy()).clip(min=0.0)
    for a, b in zip(bounds[:-1], bounds[1:]):
        out.video_ids.append(str(video_col[a]))
        out.shot_indices.append(index[a:b])
        out.durations_s.append(length[a:b])
        out.embeddings.append({m: matrices[m][a:b] for m in modality_dims})
        out.present.append({m: masks[m][a:b] for m in modality_dims})
    return out


def training_config(settings: Settings, device: str):
    """The encoder config the settings ask for (``settings.contextual``) on ``device`` (``cpu``/``cuda``)."""
    from models.contextual.config import cpu_small, gpu_default

    preset = settings.contextual.preset
    if preset == "auto":
        preset = "gpu_default" if device == "cuda" else "cpu_small"
    make = gpu_default if preset == "gpu_default" else cpu_small
    return make(**settings.contextual.overrides)


@dataclass(frozen=True)
class TrainingOutcome:
    """What training (or reusing) the contextual encoder did.

    Attributes:
        memoized: the current artifact was trained with this config on this data; nothing was trained.
        resumed_from_step: the step a checkpoint of an interrupted run of this config and data
            resumed from (0: trained from scratch, or memoized).
        losses: the masked-shot loss of every step run now (empty when memoized or resumed at the end).
    """

    content_version: str
    memoized: bool
    titles: int
    shots: int
    steps: int
    final_loss: float
    train_shots_per_s: float
    device: str
    training_snapshots: dict[str, int | None]
    resumed_from_step: int = 0
    losses: list[float] = field(default_factory=list)


def train_catalog_model(settings: Settings, store: FeatureStore,
                        on_step: Callable[[int, float], None] | None = None) -> TrainingOutcome:
    """Train the contextual encoder on every eligible title and make it current (memoized).

    Raises:
        NoTrainingData: fewer than ``settings.contextual.min_titles`` eligible titles.
    """
    from models.contextual.artifact import save_artifact
    from models.contextual.meta import read_artifact_meta
    from models.contextual.training import train_contextual
    from models.device import select_device

    device = select_device(settings.device)
    config = training_config(settings, device.type)
    titles = eligible_titles(store, settings)
    if len(titles) < settings.contextual.min_titles:
        raise NoTrainingData(f"{len(titles)} title(s) hold visual, audio and text shot embeddings; "
                             f"training needs at least {settings.contextual.min_titles}")
    fingerprint = data_fingerprint(settings, titles)
    current = model_registry.current_model(settings)
    if current is not None and current.config_sha256 == config.digest() and current.data_fingerprint == fingerprint:
        meta = read_artifact_meta(model_registry.artifact_dir(settings, current.content_version))
        return TrainingOutcome(current.content_version, True, current.n_titles, current.n_shots, meta.steps, meta.final_loss,
                               meta.train_shots_per_s, meta.device, dict(current.training_snapshots))
    data = read_catalog_shots(store, settings, config.modality_dims, titles)
    losses: list[float] = []

    def step_hook(step: int, loss: float) -> None:
        losses.append(float(loss))
        if on_step is not None:
            on_step(step, loss)

    checkpoints = model_registry.checkpoint_dir(settings, config.digest(), fingerprint)
    model, history = train_contextual(data.title_shots(config.modality_dims), config, device, checkpoints,
                                      settings.contextual.checkpoint_every, step_hook)
    staging = model_registry.contextual_root(settings) / "artifacts" / f".staging-{fingerprint[:16]}"
    meta = save_artifact(model, staging, training_snapshots=data.snapshots, history=history,
                         n_train_titles=len(data.video_ids), overwrite=True)
    final = model_registry.artifact_dir(settings, meta.content_version)
    if final.exists():  # the same weights again (training is deterministic): keep the first copy
        shutil.rmtree(staging)
    else:
        staging.rename(final)
    model_registry.set_current(settings, model_registry.CurrentModel(
        content_version=meta.content_version, config_sha256=config.digest(), data_fingerprint=fingerprint,
        training_snapshots=data.snapshots, n_titles=len(data.video_ids), n_shots=data.n_shots,
        trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds")))
    shutil.rmtree(checkpoints, ignore_errors=True)
    return TrainingOutcome(meta.content_version, False, len(data.video_ids), data.n_shots, history.steps, history.final_loss,
                           history.shots_per_s, str(device), data.snapshots, history.resumed_from_step, losses)


def needs_training(settings: Settings) -> bool:
    """True when no encoder of the configured architecture is current. (Retraining on newer data is
    the ``contextual_model`` asset's and its weekly schedule's job, not every ``reelhouse run``'s.)"""
    from models.device import select_device

    current = model_registry.current_model(settings)
    return current is None or current.config_sha256 != training_config(settings, select_device(settings.device).type).digest()


def embedding_todo(store: FeatureStore, settings: Settings, video_ids: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """``(done, todo)``: eligible titles holding the current encoder's embeddings, and those lacking them."""
    spec = specs.contextual_spec(settings)
    titles = eligible_titles(store, settings, video_ids)
    present = coverage.feature_coverage(store, spec, titles).present
    return [v for v in titles if v in present], [v for v in titles if v not in present]


def _title_chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i:i + size])


def embed_catalog(settings: Settings, store: FeatureStore, run_id: str, video_ids: Sequence[str] | None = None,
                  progress: Callable[[str], None] | None = None) -> list[StageOutcome]:
    """Contextual embeddings of the eligible titles (of ``video_ids``, default all) lacking the current
    encoder's, in chunks of ``settings.backfill_chunk_titles`` titles: per chunk, one read of its inputs,
    one Spark job and one Iceberg commit.

    Memory is bounded by the chunk, not the catalog, and a killed run loses at most its chunk in flight:
    the next run finds the committed titles current and embeds only the rest.

    Raises:
        NoContextualModel: no encoder is trained yet.
    """
    from spark_jobs.contextual_embeddings import embed_title_inputs
    from spark_jobs.session import get_spark

    current, config = current_model_config(settings)
    spec = specs.contextual_spec(settings, current.content_version)
    done, todo = embedding_todo(store, settings, video_ids)
    outcomes = [StageOutcome(v, spec.name, spec.version, True, 0) for v in done]
    if not todo:
        return outcomes
    spark = get_spark(settings.spark_master, settings.spark_conf)
    writer = store.file_writer("shot_embeddings", run_id)
    artifact = model_registry.artifact_dir(settings, current.content_version)
    size = settings.backfill_chunk_titles
    for n, chunk in enumerate(_title_chunks(todo, size), 1):
        data = read_catalog_shots(store, settings, config.modality_dims, chunk)
        written = embed_title_inputs(spark, writer, data, (spec.name, spec.version), str(artifact), settings.device)
        files = {FeatureSlice(vid, spec.name, spec.version): [path] for vid, (path, _shots) in written.items()}
        result = store.commit_files("shot_embeddings", files, run_id)
        outcomes += [StageOutcome(v, spec.name, spec.version, False, shots, result.snapshot_id)
                     for v, (_path, shots) in written.items()]
        if progress is not None:
            progress(f"contextual embeddings: {min(n * size, len(todo))}/{len(todo)} titles committed")
    return outcomes
