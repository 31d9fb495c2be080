"""Contextual shot embeddings benchmark: the MediaFM-style encoder (``models.contextual``) against the
non-contextual concatenation of its inputs, on a synthetic catalog with scene and mood structure.

Run: ``python -m benchmarks.mediafm`` (about 3-4 minutes on one CPU thread; ``--steps 200
--titles 80`` for a quick run). One torch thread by default: on a 2-core machine shared with other
work, two OpenMP threads are many times slower than one; pass ``--threads 2`` on an idle machine.

Catalog (``--titles``, default 200; seed ``--seed``): each title is a sequence of scenes of
``2 + Poisson(6)`` consecutive shots (60-200 shots per title). Latent space of ``LATENT`` dimensions:
``MOODS`` unit mood vectors shared by the whole catalog; per title a unit "style" vector; per scene
a unit scene vector and a mood label (the title's own mood with probability 0.6, else uniform).
A shot's latent is ``SCENE_W * scene + MOOD_W * mood + STYLE_W * style + SHOT_W * shot`` (each term a
unit vector; ``shot`` is drawn per shot). Each modality embedding (1280-d visual, 512-d audio,
384-d text) is ``normalize(P_m @ latent + NOISE_W * |latent| * n)`` with a fixed random projection
``P_m`` (orthonormal columns) and per-shot, per-modality isotropic noise ``n`` of unit expected
norm, so a single shot carries only a weak scene and mood signal and its neighbours carry the rest.
Missing modalities: 15% of shots have no audio (independently); a scene has dialogue with
probability 0.6 and then each of its shots has text with probability 0.8. Absent vectors are zero
and flagged absent. Shot lengths are log-normal (median 3 s) and independent of scenes. Nothing in
the inputs marks scene boundaries, and the encoder never sees a scene or mood label: labels are
used only to score the embeddings.

Protocol: titles are split 75/25 into training and held-out titles. The encoder (128-wide, 3
layers, 4 heads, ``out_dim`` 128) is trained from scratch on the training titles only, on CPU, for
``--steps`` steps of ``--batch`` windows with masked shot modelling. Then, on held-out titles only:
- contextual: ``embed_titles`` (no masking), L2-normalized 128-d;
- concat: the L2-normalized visual, audio and text inputs side by side (zeros for an absent
  modality), L2-normalized (2176-d);
- moving avg (printed for reference, not in the JSON): concat averaged over the shots within +-3
  positions, normalized. It is not learned; it is told that context is temporal and local, which is
  exactly how this catalog is built, so it shows how much the data allows.
Figures:
- mood probe accuracy: standardized features, multinomial logistic regression (scikit-learn, L2,
  C picked from ``PROBE_C`` on a by-title validation split), trained on the shots of half of the
  held-out titles and scored on the shots of the other half (the probe never sees a test title);
- same-scene recall@10: for each held-out shot, its 10 nearest neighbours by cosine among all
  held-out shots (itself excluded; exact search); recall = neighbours from the same scene of the same
  title / min(10, scene size - 1), averaged over shots;
- training throughput: real shots per second through batch assembly, forward, backward and
  optimizer steps (``TrainingHistory.shots_per_s``).
Chance for the probe is about 1/MOODS (the majority class is printed). The last line printed is one
JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from reelhouse.samples.scene_catalog import MOODS, SceneTitle, unit_rows, make_scene_catalog

K = 10
TRAIN_FRACTION = 0.75
SMOOTH_HALF_WIDTH = 3
PROBE_C = (0.0001, 0.001, 0.01, 0.1, 1.0)


def to_inputs(titles: list[SceneTitle], modalities: tuple[str, ...]):
    from models.contextual.titles import TitleShots, title_metadata

    out = []
    for t in titles:
        present = {"audio": t.audio_present, "text": t.text_present}
        out.append(TitleShots(embeddings={"visual": t.visual, "audio": t.audio, "text": t.text},
                              metadata=title_metadata(t.durations_s, present, modalities), present=present))
    return out


def concat_embeddings(t: SceneTitle) -> np.ndarray:
    """Non-contextual baseline: the normalized inputs side by side (zeros where absent), normalized."""
    return unit_rows(np.concatenate([t.visual, t.audio, t.text], axis=1))


def moving_average(x: np.ndarray, half_width: int) -> np.ndarray:
    """Each row replaced by the mean of rows ``i - half_width .. i + half_width`` (clipped), normalized."""
    c = np.concatenate([np.zeros((1, x.shape[1]), x.dtype), np.cumsum(x, axis=0, dtype=np.float64)])
    i = np.arange(len(x))
    lo, hi = np.maximum(0, i - half_width), np.minimum(len(x), i + half_width + 1)
    return unit_rows((c[hi] - c[lo]).astype(np.float32))


def probe_accuracy(x_train: np.ndarray, y_train: np.ndarray, groups: np.ndarray, x_test: np.ndarray,
                   y_test: np.ndarray, seed: int) -> tuple[float, float]:
    """Logistic-regression probe; C from a grid on a by-title validation split. Returns (accuracy, C)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def probe(c: float):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))

    uniq = np.unique(groups)
    val_titles = np.random.default_rng(seed).choice(uniq, size=max(1, len(uniq) // 4), replace=False)
    val = np.isin(groups, val_titles)
    best_c, best = 1.0, -1.0
    for c in PROBE_C:
        clf = probe(c).fit(x_train[~val], y_train[~val])
        acc = float((clf.predict(x_train[val]) == y_train[val]).mean())
        if acc > best:
            best, best_c = acc, c
    clf = probe(best_c).fit(x_train, y_train)
    return float((clf.predict(x_test) == y_test).mean()), best_c


def scene_recall_at_k(x: np.ndarray, scene_key: np.ndarray, k: int = K, block: int = 1024) -> float:
    """Mean over shots of (top-k cosine neighbours from the same scene) / min(k, scene size - 1); exact search."""
    _, inverse, counts = np.unique(scene_key, return_inverse=True, return_counts=True)
    size = counts[inverse]
    out = np.empty(len(x))
    for lo in range(0, len(x), block):
        sims = x[lo:lo + block] @ x.T
        rows = np.arange(lo, min(lo + block, len(x)))
        sims[rows - lo, rows] = -np.inf
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        hits = (inverse[top] == inverse[rows, None]).sum(axis=1)
        out[rows] = hits / np.minimum(k, size[rows] - 1)
    return float(out[size > 1].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--titles", type=int, default=200)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--batch", type=int, default=8, help="windows (titles here) per step")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (2 helps only on an otherwise idle 2-core machine)")
    args = parser.parse_args()

    import torch

    from models.contextual.config import ContextualConfig, cpu_small
    from models.contextual.inference import embed_titles
    from models.contextual.training import train_contextual

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    config: ContextualConfig = cpu_small(d_model=128, n_layers=3, n_heads=4, ff_dim=256, out_dim=128, max_shots=256,
                                         batch_size=args.batch, steps=args.steps, warmup_steps=max(1, args.steps // 40),
                                         lr=2e-3, weight_decay=0.05, dropout=0.0, seed=args.seed)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cores {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    catalog = make_scene_catalog(args.titles, args.seed, dict(config.modality_dims))
    n_train = int(round(TRAIN_FRACTION * len(catalog)))
    train, held = catalog[:n_train], catalog[n_train:]
    shots = sum(len(t.scene) for t in catalog)
    print(f"catalog: {len(catalog)} titles, {shots} shots, {sum(t.scene.max() + 1 for t in catalog)} scenes, "
          f"{MOODS} moods; audio present {np.mean(np.concatenate([t.audio_present for t in catalog])):.0%}, "
          f"text present {np.mean(np.concatenate([t.text_present for t in catalog])):.0%}; "
          f"{len(train)} training / {len(held)} held-out titles; generated in {time.perf_counter() - t0:.1f} s")
    print(f"model: d_model {config.d_model}, {config.n_layers} layers, {config.n_heads} heads, out {config.out_dim}, "
          f"{config.steps} steps x {config.batch_size} windows, mask ratio {config.mask_ratio}")

    t0 = time.perf_counter()
    model, history = train_contextual(to_inputs(train, config.modalities), config, device="cpu")
    train_s = time.perf_counter() - t0
    losses = history.losses
    print(f"training: {train_s:.1f} s, {history.shots_per_s:.0f} shots/s; loss {np.mean(losses[:10]):.4f} (first 10 "
          f"steps) -> {history.smoothed_final_loss():.4f} (last 20)")

    t0 = time.perf_counter()
    contextual = embed_titles(model, to_inputs(held, config.modalities), batch_size=8, device="cpu")
    embed_s = time.perf_counter() - t0
    n_held = sum(len(t.scene) for t in held)
    print(f"inference: {n_held} held-out shots in {embed_s:.1f} s ({n_held / embed_s:.0f} shots/s)")

    concat = [concat_embeddings(t) for t in held]
    title_of = np.concatenate([np.full(len(t.scene), i) for i, t in enumerate(held)])
    mood = np.concatenate([t.mood for t in held])
    scene_key = np.concatenate([i * 10_000 + t.scene for i, t in enumerate(held)])
    probe_titles = np.arange(len(held)) < len(held) // 2
    tr = probe_titles[title_of]
    smoothed = [moving_average(x, SMOOTH_HALF_WIDTH) for x in concat]
    results = {}
    for name, emb in (("contextual", contextual), ("concat", concat), ("moving avg", smoothed)):
        x = np.concatenate(emb)
        t0 = time.perf_counter()
        acc, c = probe_accuracy(x[tr], mood[tr], title_of[tr], x[~tr], mood[~tr], args.seed)
        recall = scene_recall_at_k(x, scene_key)
        results[name] = (acc, recall)
        print(f"{name:<11} dim {x.shape[1]:>5}: mood probe accuracy {acc:.4f} (C={c:g}; {tr.sum()} train / "
              f"{(~tr).sum()} test shots), same-scene recall@10 {recall:.4f}  [{time.perf_counter() - t0:.1f} s]")
    print(f"('moving avg' is a reference, not learned: concat averaged over +-{SMOOTH_HALF_WIDTH} shots; it knows "
          "that context is temporal and local, which is how this catalog is built)")
    print(f"contextual vs concat: probe {results['contextual'][0] - results['concat'][0]:+.4f}, "
          f"recall@10 x{results['contextual'][1] / results['concat'][1]:.2f}")
    print(f"chance: mood probe ~{np.bincount(mood[~tr]).max() / (~tr).sum():.4f} (majority class)")
    total = time.perf_counter() - started
    print(f"total {total:.0f} s; load average {os.getloadavg()[0]:.2f}")
    print(json.dumps({
        "probe_acc_contextual": round(results["contextual"][0], 4), "probe_acc_concat": round(results["concat"][0], 4),
        "recall10_contextual": round(results["contextual"][1], 4), "recall10_concat": round(results["concat"][1], 4),
        "train_shots_per_s": round(history.shots_per_s, 1),
    }))


if __name__ == "__main__":
    main()
