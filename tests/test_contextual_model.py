"""Contextual shot encoder (models.contextual): masking, loss, missing modalities, training,
determinism, checkpoint resume, windowing, inference and the artifact round trip. Tiny configs
(cpu_small) on small synthetic titles with scene structure, so the file runs in seconds on CPU."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydantic
import pytest
import torch

from models.contextual.artifact import load_artifact, save_artifact
from models.contextual.batching import collate, prepare_titles, title_windows
from models.contextual.config import ContextualConfig, cpu_small, gpu_default
from models.contextual.inference import embed_titles, make_contextual_predict
from models.contextual.meta import read_artifact_meta
from models.contextual.model import ContextualShotEncoder
from models.contextual.objective import choose_masked_shots, mask_count, masked_shot_loss
from models.contextual.titles import TitleShots, shot_windows, stack_modality, title_metadata
from models.contextual.training import train_contextual

DIMS = {"visual": 1280, "audio": 512, "text": 384}


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def make_titles(n_titles: int, seed: int, lengths: tuple[int, int] = (20, 48)) -> list[TitleShots]:
    """Titles whose shots share a scene vector for runs of 3-8 shots, plus per-shot noise; some
    shots miss audio or text."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_titles):
        n = int(rng.integers(*lengths))
        scene = np.cumsum(rng.random(n) < 0.2)
        centres = rng.standard_normal((scene.max() + 1, 16))
        latent = centres[scene] + 0.7 * rng.standard_normal((n, 16))
        emb = {m: _unit(latent @ rng.standard_normal((16, d)) + 0.5 * rng.standard_normal((n, d))) for m, d in DIMS.items()}
        present = {"audio": rng.random(n) > 0.2, "text": rng.random(n) > 0.4}
        for m, mask in present.items():
            emb[m][~mask] = 0.0
        meta = title_metadata(rng.uniform(0.5, 8.0, n), present, tuple(DIMS))
        out.append(TitleShots(embeddings=emb, metadata=meta, present=present))
    return out


def tiny(**overrides) -> ContextualConfig:
    base = dict(d_model=32, n_layers=2, n_heads=4, ff_dim=64, out_dim=24, max_shots=32, batch_size=4, steps=20,
                warmup_steps=2, seed=3)
    return cpu_small(**{**base, **overrides})


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """One intra-op thread: these models are tiny, and on a shared 2-core machine two OpenMP threads
    competing with other processes make each step 10-25x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def titles() -> list[TitleShots]:
    return make_titles(10, seed=0)


@pytest.fixture(scope="module")
def trained(titles):
    return train_contextual(titles, tiny(), device="cpu")


# --- config ----------------------------------------------------------------------------------


def test_config_rejects_unknown_keys_and_is_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        ContextualConfig(d_modle=64)
    with pytest.raises(pydantic.ValidationError):
        cpu_small(unknown_knob=1)
    with pytest.raises(pydantic.ValidationError):
        cpu_small(d_model=30, n_heads=4)  # not divisible
    with pytest.raises(pydantic.ValidationError):
        cpu_small(mask_ratio=0.0)
    config = cpu_small()
    with pytest.raises(pydantic.ValidationError):
        config.d_model = 8  # type: ignore[misc]
    assert config.modality_dims == DIMS and config.max_shots == 128 and config.mask_ratio == 0.2
    assert gpu_default().max_shots == 512 and gpu_default().autocast_bf16
    assert ContextualConfig.model_validate_json(config.model_dump_json()) == config
    assert config.digest() == cpu_small().digest() != cpu_small(seed=1).digest()


def test_planning_modules_do_not_import_torch() -> None:
    code = ("import sys\nfrom models.contextual import cpu_small, read_artifact_meta, title_metadata, TitleShots\n"
            "cpu_small().digest()\nprint('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- inputs ----------------------------------------------------------------------------------


def test_title_metadata_and_nullable_columns() -> None:
    meta = title_metadata(np.array([1.0, 3.0]), {"audio": np.array([True, False])}, ("visual", "audio", "text"))
    expected = [math.log1p(4.0) / 10, math.log1p(2) / 10, math.log1p(2.0) / 10,
                np.std([math.log1p(1.0), math.log1p(3.0)]), 1.0, 0.5, 1.0]
    np.testing.assert_allclose(meta, expected, rtol=1e-6)
    assert title_metadata(np.zeros(0), {}).tolist() == [0.0] * 7
    x, present = stack_modality([np.ones(3), None, [np.nan] * 3, [0.0, 2.0, 0.0]], 3)
    assert present.tolist() == [True, False, False, True] and x[1:3].sum() == 0 and x[3, 1] == 2.0
    with pytest.raises(ValueError):
        stack_modality([np.ones(4)], 3)
    title = TitleShots.from_columns({"visual": [np.ones(1280)] * 2, "audio": [None, np.ones(512)], "text": [None, None]},
                                    DIMS, np.array([2.0, 2.0]))
    assert title.presence("text").tolist() == [False, False] and title.metadata[5:].tolist() == [0.5, 0.0]


@pytest.mark.parametrize(("n", "max_shots", "expected"), [
    pytest.param(0, 512, [], id="empty"),
    pytest.param(512, 512, [(0, 512)], id="exactly-one-window"),
    pytest.param(513, 512, [(0, 257), (257, 513)], id="one-over"),
    pytest.param(1100, 512, [(0, 367), (367, 734), (734, 1100)], id="three-near-equal"),
])
def test_shot_windows(n: int, max_shots: int, expected: list[tuple[int, int]]) -> None:
    assert shot_windows(n, max_shots) == expected


# --- masking and loss ------------------------------------------------------------------------


def test_masking_picks_20_percent_of_valid_shots_and_never_padding() -> None:
    lengths = [50, 10, 7, 3, 1, 0]
    valid = torch.arange(60)[None, :] < torch.tensor(lengths)[:, None]
    masked = choose_masked_shots(valid, 0.2, torch.Generator().manual_seed(1))
    assert masked.sum(dim=1).tolist() == [10, 2, 1, 1, 1, 0]
    assert mask_count(torch.tensor(lengths), 0.2).tolist() == [10, 2, 1, 1, 1, 0]
    assert not (masked & ~valid).any()
    again = choose_masked_shots(valid, 0.2, torch.Generator().manual_seed(1))
    other = choose_masked_shots(valid, 0.2, torch.Generator().manual_seed(2))
    assert torch.equal(masked, again) and not torch.equal(masked, other)
    # Uniform over valid shots: over many draws each position of a 10-shot window is picked ~20% of the time.
    gen = torch.Generator().manual_seed(0)
    freq = torch.stack([choose_masked_shots(valid[1:2], 0.2, gen)[0, :10] for _ in range(2000)]).float().mean(0)
    assert torch.allclose(freq, torch.full((10,), 0.2), atol=0.04)


def test_loss_is_zero_for_perfect_predictions_and_matches_a_hand_computed_case() -> None:
    mods = ("a", "b")
    targets = {"a": torch.tensor([[[0.0, 1.0], [0.0, 0.0], [5.0, 5.0]]]),
               "b": torch.tensor([[[1.0, 0.0], [-1.0, 0.0], [5.0, 5.0]]])}
    present = torch.tensor([[[True, True], [False, True], [True, True]]])
    masked = torch.tensor([[True, True, False]])
    assert float(masked_shot_loss({k: 3.0 * v for k, v in targets.items()}, targets, present, masked, mods)) == \
        pytest.approx(0.0, abs=1e-6)
    preds = {"a": torch.tensor([[[1.0, 0.0], [9.0, 9.0], [1.0, 2.0]]]),  # shot 1's "a" is absent: not scored
             "b": torch.tensor([[[1.0, 1.0], [1.0, 0.0], [3.0, -1.0]]])}  # shot 2 is not masked: not scored
    # shot 0: mean(1 - cos([1,0],[0,1]), 1 - cos([1,1],[1,0])) = (1 + 1 - 1/sqrt 2) / 2; shot 1: 1 - cos = 2.
    expected = ((1.0 + 1.0 - 1 / math.sqrt(2)) / 2 + 2.0) / 2
    assert float(masked_shot_loss(preds, targets, present, masked, mods)) == pytest.approx(expected, rel=1e-6)
    assert float(masked_shot_loss(preds, targets, present, torch.zeros_like(masked), mods)) == 0.0


# --- model -----------------------------------------------------------------------------------


def test_missing_modality_is_masked_not_faked(titles) -> None:
    config = tiny()
    torch.manual_seed(0)
    model = ContextualShotEncoder(config).eval()
    data = prepare_titles(titles[:3], config)
    batch = collate(data, title_windows(data, config.max_shots)[:3], config.modalities)
    absent = ~batch.present
    assert absent[..., 1].any() and absent[..., 2].any()
    scribbled = {m: torch.where(absent[..., j:j + 1], torch.randn_like(x) * 7, x)
                 for j, (m, x) in enumerate(batch.features.items())}
    with torch.no_grad():
        before = model.embed(batch)
        after = model.embed(type(batch)(scribbled, batch.present, batch.valid, batch.metadata))
        # The presence bit itself reaches the model: a zero vector marked present is not "absent".
        all_present = model.embed(type(batch)(batch.features, batch.present | batch.valid[..., None], batch.valid,
                                              batch.metadata))
    assert torch.equal(before, after)
    assert not torch.allclose(before[batch.valid], all_present[batch.valid])


def test_padding_does_not_change_embeddings(trained, titles) -> None:
    model, _ = trained
    alone = embed_titles(model, titles[:1], batch_size=1, device="cpu")[0]
    batched = embed_titles(model, titles[:6], batch_size=6, device="cpu")[0]
    np.testing.assert_allclose(alone, batched, atol=1e-5)


# --- training --------------------------------------------------------------------------------


def test_training_lowers_the_loss(titles) -> None:
    _, history = train_contextual(titles, tiny(steps=100, seed=5, lr=5e-3), device="cpu")
    assert history.steps == len(history.losses) == 100 and history.shots_per_s > 0
    assert np.mean(history.losses[-10:]) < np.mean(history.losses[:10]) - 0.08
    assert all(0.0 <= v <= 2.0 for v in history.losses)


def test_training_is_deterministic_given_the_seed(titles, trained) -> None:
    model, history = trained
    again, history2 = train_contextual(titles, tiny(), device="cpu")
    other, _ = train_contextual(titles, tiny(seed=4), device="cpu")
    for (name, a), b, c in zip(model.state_dict().items(), again.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b), name
    assert history.losses == history2.losses
    assert not all(torch.equal(a, c) for a, c in zip(model.state_dict().values(), other.state_dict().values()))


def test_resumed_training_ends_with_the_weights_of_a_straight_run(titles, tmp_path: Path) -> None:
    config = tiny(steps=16, dropout=0.2)
    straight, straight_history = train_contextual(titles, config, device="cpu")

    def kill_at_8(step: int, loss: float) -> None:
        if step == 8:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        train_contextual(titles, config, device="cpu", checkpoint_dir=tmp_path, checkpoint_every=4, on_step=kill_at_8)
    torch.manual_seed(12345)  # the caller's RNG must not matter
    resumed, history = train_contextual(titles, config, device="cpu", checkpoint_dir=tmp_path, checkpoint_every=4)
    assert history.resumed_from_step == 8 and history.steps == 16
    np.testing.assert_allclose(history.losses, straight_history.losses, rtol=1e-6)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7, msg=name)
    # A finished checkpoint resumes to the same model with no further steps; other configs are refused.
    done, done_history = train_contextual(titles, config, device="cpu", checkpoint_dir=tmp_path)
    assert done_history.resumed_from_step == 16 and done_history.shots_per_s == 0.0
    assert all(torch.equal(a, b) for a, b in zip(done.state_dict().values(), resumed.state_dict().values()))
    with pytest.raises(ValueError, match="different config"):
        train_contextual(titles, tiny(steps=17), device="cpu", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="different training titles"):
        train_contextual(titles[:5], config, device="cpu", checkpoint_dir=tmp_path)


# --- inference and windowing ------------------------------------------------------------------


def test_inference_shapes_and_unit_norms(trained, titles) -> None:
    model, _ = trained
    empty = TitleShots(embeddings={m: np.zeros((0, d), np.float32) for m, d in DIMS.items()}, metadata=np.zeros(7, np.float32))
    out = embed_titles(model, [*titles[:4], empty], batch_size=3, device="cpu")
    assert [o.shape for o in out] == [(t.n_shots, 24) for t in titles[:4]] + [(0, 24)]
    assert all(o.dtype == np.float32 for o in out)
    np.testing.assert_allclose(np.linalg.norm(np.concatenate(out), axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="modalities"):
        embed_titles(model, [TitleShots(embeddings={"visual": np.zeros((2, 1280), np.float32)}, metadata=np.zeros(7))],
                     device="cpu")


def test_long_titles_are_windowed_and_stitched_in_order(trained) -> None:
    model, _ = trained  # max_shots = 32
    (long,) = make_titles(1, seed=9, lengths=(90, 91))
    assert long.n_shots == 90 and shot_windows(90, 32) == [(0, 30), (30, 60), (60, 90)]
    out = embed_titles(model, [long], batch_size=2, device="cpu")[0]
    assert out.shape == (90, 24)
    parts = [TitleShots(embeddings={m: x[s:e] for m, x in long.embeddings.items()}, metadata=long.metadata,
                        present={m: x[s:e] for m, x in long.present.items()}) for s, e in shot_windows(90, 32)]
    np.testing.assert_allclose(out, np.concatenate(embed_titles(model, parts, batch_size=1, device="cpu")), atol=1e-5)
    # Training takes long titles too (as windows).
    _, history = train_contextual([long], tiny(steps=2), device="cpu")
    assert history.steps == 2


# --- artifact --------------------------------------------------------------------------------


def test_artifact_round_trip_gives_identical_embeddings(trained, titles, tmp_path: Path) -> None:
    model, history = trained
    folder = tmp_path / "mediafm"
    snapshots = {"shot_embeddings": 1234567890123, "note": "opaque"}
    meta = save_artifact(model, folder, training_snapshots=snapshots, history=history, n_train_titles=len(titles))
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "meta.json", "weights.safetensors"]
    on_disk = json.loads((folder / "meta.json").read_text())
    assert on_disk["training_snapshots"] == snapshots and on_disk["seed"] == 3 and on_disk["steps"] == 20
    assert on_disk["final_loss"] == pytest.approx(history.losses[-1])
    assert on_disk["content_version"] == meta.content_version == read_artifact_meta(folder).content_version
    assert meta.content_version.startswith("reelhouse-mediafm-v1-")

    loaded, loaded_meta = load_artifact(folder, device="cpu")
    assert loaded_meta == meta and loaded.config == model.config
    expected = embed_titles(model, titles, device="cpu")
    for a, b in zip(expected, embed_titles(loaded, titles, device="cpu")):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(expected, make_contextual_predict(folder, device="cpu")(titles)):
        np.testing.assert_array_equal(a, b)

    # Same weights, same version; refuse to overwrite silently; a tampered artifact is rejected.
    again = save_artifact(loaded, tmp_path / "copy", training_snapshots=snapshots, history=history, n_train_titles=10)
    assert again.content_version == meta.content_version
    with pytest.raises(FileExistsError):
        save_artifact(model, folder, training_snapshots={}, history=history, n_train_titles=10)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "dropout": 0.3}))
    with pytest.raises(ValueError, match="config"):
        load_artifact(folder)
