"""Device selection: CPU when no GPU, CUDA when present, a clear error when CUDA is missing."""

from __future__ import annotations

import pytest
import torch

from models.device import default_batch_size, inference_dtype, select_device


def test_auto_picks_cuda_exactly_when_available() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device().type == expected
    assert select_device("auto").type == expected


def test_cpu_is_always_available() -> None:
    device = select_device("cpu")
    assert device == torch.device("cpu")
    assert inference_dtype(device) is torch.float32
    assert default_batch_size(device) >= 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
@pytest.mark.parametrize("preference", [pytest.param("cuda", id="cuda"), pytest.param("cuda:0", id="cuda-0")])
def test_cuda_requested_without_a_gpu_raises(preference: str) -> None:
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        select_device(preference)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_uses_half_precision() -> None:
    device = select_device("cuda")
    assert inference_dtype(device) is torch.float16
    assert default_batch_size(device) > default_batch_size(torch.device("cpu"))


@pytest.mark.parametrize("preference", [pytest.param("tpu", id="unknown"), pytest.param("mps", id="unsupported")])
def test_unknown_preferences_are_rejected(preference: str) -> None:
    with pytest.raises(ValueError):
        select_device(preference)  # type: ignore[arg-type]
