"""Self-supervised training of the contextual shot encoder by masked shot modelling.

Each step draws ``batch_size`` windows (titles longer than ``max_shots`` are cut into near-equal
windows, see ``titles.shot_windows``), masks ``mask_ratio`` of each window's shots and minimizes
``objective.masked_shot_loss``. Everything random is a function of the seed:
- window order: epoch ``e`` visits the windows in ``numpy.random.default_rng([seed, e])``'s
  permutation, batches are consecutive slices of that stream (an epoch boundary may fall inside
  a batch);
- masking: step ``s`` uses a CPU generator seeded from ``[seed, s]``;
- initialization and dropout: torch's global RNG seeded with ``seed`` (inside ``fork_rng``, so the
  caller's RNG state is left as it was), saved in every checkpoint.
So on CPU the same seed gives the same weights, and a run resumed from a checkpoint ends with the
weights of an uninterrupted run. CUDA kernels are not bitwise deterministic; there runs agree only
approximately.
"""

from __future__ import annotations

import math
import os
from contextlib import nullcontext
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from models.contextual.batching import collate, prepare_titles, title_windows
from models.contextual.checkpoint import TrainingState, data_fingerprint, load_checkpoint, save_checkpoint
from models.contextual.config import ContextualConfig
from models.contextual.model import ContextualShotEncoder
from models.contextual.objective import choose_masked_shots, masked_shot_loss
from models.contextual.titles import TitleShots
from models.device import DevicePreference, select_device

StepCallback = Callable[[int, float], None]
"""``on_step(step, loss)``, called after each optimizer step (1-based) once its checkpoint, if due, is saved."""


@dataclass
class TrainingHistory:
    """What a training call did.

    Attributes:
        losses: masked-shot loss of every optimizer step of the run, from step 1 (steps done before
            a resume included, restored from the checkpoint).
        steps: optimizer steps completed (``len(losses)``).
        resumed_from_step: step of the checkpoint this call started from (0: a fresh run).
        shots_seen: real (non-padding) shots through forward and backward passes, whole run.
        shots_per_s: this call's training throughput: real shots per wall second of its training
            steps (batch assembly, forward, backward, optimizer; checkpoint writes excluded).
        wall_s: wall seconds of this call's training steps.
        device: the device it trained on.
    """

    losses: list[float] = field(default_factory=list)
    steps: int = 0
    resumed_from_step: int = 0
    shots_seen: int = 0
    shots_per_s: float = 0.0
    wall_s: float = 0.0
    device: str = "cpu"

    @property
    def final_loss(self) -> float:
        """Loss of the last step (NaN before any step)."""
        return self.losses[-1] if self.losses else float("nan")

    def smoothed_final_loss(self, window: int = 20) -> float:
        """Mean loss of the last ``window`` steps (NaN before any step)."""
        return float(np.mean(self.losses[-window:])) if self.losses else float("nan")


def learning_rate(step: int, config: ContextualConfig) -> float:
    """Learning rate of 0-based step ``step``: linear warm-up to ``config.lr``, then cosine decay to 10% of it."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    return config.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def make_optimizer(model: ContextualShotEncoder, config: ContextualConfig) -> torch.optim.Optimizer:
    """AdamW; weight decay on weight matrices only (not biases, norms, embeddings or special vectors)."""
    no_decay_names = {"missing_embedding", "mask_embedding", "cls_embedding", "position.weight"}
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or name in no_decay_names else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.98), eps=1e-8)


def batch_window_indices(step: int, n_windows: int, batch_size: int, seed: int) -> list[int]:
    """Window numbers of 0-based step ``step`` (see the module docstring); a pure function of its arguments."""
    out = []
    for i in range(step * batch_size, (step + 1) * batch_size):
        epoch, pos = divmod(i, n_windows)
        out.append(int(_permutation(seed, epoch, n_windows)[pos]))
    return out


_PERMUTATIONS: dict[tuple[int, int, int], np.ndarray] = {}


def _permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    key = (seed, epoch, n)
    if key not in _PERMUTATIONS:
        if len(_PERMUTATIONS) > 64:
            _PERMUTATIONS.clear()
        _PERMUTATIONS[key] = np.random.default_rng([seed, epoch]).permutation(n)
    return _PERMUTATIONS[key]


def mask_generator(seed: int, step: int) -> torch.Generator:
    """The CPU generator that picks step ``step``'s masked shots."""
    state = np.random.SeedSequence([seed, step]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def train_contextual(
    titles: Sequence[TitleShots],
    config: ContextualConfig,
    device: DevicePreference | torch.device | str = "auto",
    checkpoint_dir: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 200,
    on_step: StepCallback | None = None,
) -> tuple[ContextualShotEncoder, TrainingHistory]:
    """Train a contextual shot encoder on ``titles`` for ``config.steps`` steps.

    All titles' inputs are held in host memory as float32 for the run (about 8.7 KB per shot with
    the default modalities); only the current batch is on the device.

    Args:
        titles: training titles (each validated against ``config``); titles without shots are skipped.
        config: architecture and training hyper-parameters; ``config.seed`` fixes everything random.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` (``models.device.select_device``). bfloat16
            autocast is used on CUDA when ``config.autocast_bf16``; CPU runs are float32.
        checkpoint_dir: where to keep ``checkpoint.pt``. When it already holds a checkpoint of this
            config and data, training resumes from it; the checkpoint is rewritten every
            ``checkpoint_every`` steps and after the last step.
        checkpoint_every: steps between checkpoints (>= 1).
        on_step: optional ``on_step(step, loss)`` progress hook (an exception raised there stops
            training; the checkpoint of that step, if due, is already written).

    Returns:
        ``(model, history)``: the trained model in eval mode on ``device``, and the run's history.

    Raises:
        ValueError: no title has shots, a title does not match ``config``, ``checkpoint_every < 1``,
            or the checkpoint in ``checkpoint_dir`` belongs to another config or data set.
        RuntimeError: ``device="cuda"`` without CUDA.
    """
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    dev = select_device(device)
    data = prepare_titles(titles, config)
    windows = title_windows(data, config.max_shots)
    if not windows:
        raise ValueError("no shots to train on")
    fingerprint = data_fingerprint(data)
    digest = config.digest()
    use_bf16 = dev.type == "cuda" and config.autocast_bf16
    modalities = config.modalities

    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(config.seed)
        model = ContextualShotEncoder(config).to(dev)
        optimizer = make_optimizer(model, config)
        history = TrainingHistory(device=str(dev))
        step = 0
        state = load_checkpoint(checkpoint_dir, digest, fingerprint) if checkpoint_dir is not None else None
        if state is not None:
            model.load_state_dict(state.model)
            optimizer.load_state_dict(state.optimizer)
            step, history.losses, history.shots_seen = state.step, list(state.losses), state.shots_seen
            history.resumed_from_step = step
            torch.set_rng_state(state.torch_rng)
            if dev.type == "cuda" and state.cuda_rng is not None:
                torch.cuda.set_rng_state(state.cuda_rng[0], dev)

        model.train()
        run_shots, run_wall = 0, 0.0
        while step < config.steps:
            t0 = time.perf_counter()
            picked = [windows[i] for i in batch_window_indices(step, len(windows), config.batch_size, config.seed)]
            cpu_batch = collate(data, picked, modalities)
            masked = choose_masked_shots(cpu_batch.valid, config.mask_ratio, mask_generator(config.seed, step)).to(dev)
            batch = cpu_batch.to(dev)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, config)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16) if use_bf16 else nullcontext():
                out = model(batch, masked)
                predictions = model.predict_inputs(out.shots[masked])
            targets = {m: batch.features[m][masked] for m in modalities}
            loss = masked_shot_loss(predictions, targets, batch.present[masked],
                                    torch.ones(predictions[modalities[0]].shape[0], dtype=torch.bool, device=dev),
                                    modalities)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            value = float(loss.item())
            step += 1
            run_wall += time.perf_counter() - t0
            run_shots += cpu_batch.n_shots
            history.losses.append(value)
            history.shots_seen += cpu_batch.n_shots
            if checkpoint_dir is not None and (step % checkpoint_every == 0 or step == config.steps):
                save_checkpoint(checkpoint_dir, TrainingState(
                    step=step, model=model.state_dict(), optimizer=optimizer.state_dict(), losses=history.losses,
                    shots_seen=history.shots_seen, torch_rng=torch.get_rng_state(),
                    cuda_rng=[torch.cuda.get_rng_state(dev)] if dev.type == "cuda" else None), digest, fingerprint)
            if on_step is not None:
                on_step(step, value)

    model.eval()
    history.steps = step
    history.wall_s = run_wall
    history.shots_per_s = run_shots / run_wall if run_wall > 0 else 0.0
    return model, history

