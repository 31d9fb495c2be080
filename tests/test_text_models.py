"""Text model: packaged all-MiniLM-L6-v2 loaded offline; shapes, norms, determinism, semantics,
and per-shot subtitle text from a generated title."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.text import TEXT_EMBEDDING_DIM, make_text_predict
from reelhouse.media.subtitles import read_srt, shot_text
from reelhouse.samples import title_spec, write_srt


@pytest.fixture(scope="module")
def text_predict():
    return make_text_predict("cpu")


def test_shapes_norms_and_determinism(text_predict) -> None:
    texts = ["The harbour lights came on one by one.", "Bring the red notebook to the meeting.", "Hé, ça va ?"]
    first, second = text_predict(texts), text_predict(texts)
    assert first.shape == (3, TEXT_EMBEDDING_DIM) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first, second)
    # Batching (and its padding) does not change a text's embedding.
    np.testing.assert_allclose(text_predict(texts[:1])[0], first[0], atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_sentences(text_predict) -> None:
    cat, kitten, revenue, keys = text_predict(
        [
            "The cat is sleeping on the sofa.",
            "A kitten naps on the couch.",
            "Quarterly revenue grew by ten percent.",
            "Where did you put the car keys?",
        ]
    )
    assert float(cat @ kitten) > 0.5
    assert float(cat @ kitten) > float(cat @ revenue) + 0.3
    assert float(cat @ kitten) > float(cat @ keys) + 0.3


def test_empty_batch_and_missing_text(text_predict) -> None:
    assert text_predict([]).shape == (0, TEXT_EMBEDDING_DIM)
    for bad in ["", "   \n", None]:
        with pytest.raises(ValueError, match="no text embedding"):
            text_predict([bad])  # type: ignore[list-item]


def test_long_text_is_truncated_not_rejected(text_predict) -> None:
    long = " ".join(["word"] * 2000)
    assert np.all(np.isfinite(text_predict([long])))


def test_shot_text_embeddings_on_a_generated_title(tmp_path: Path, text_predict) -> None:
    spec = title_spec(0, seconds=12.0)
    cues = read_srt(write_srt(spec.subtitles, tmp_path / "title.srt"))
    shots = [(0.0, cues[0].start_s), (cues[0].start_s, cues[0].end_s), (cues[1].start_s, cues[1].end_s)]
    texts = [shot_text(cues, a, b) for a, b in shots]
    assert texts[0] is None  # before the first cue: null embedding, has_embedding False
    with_text = [t for t in texts if t is not None]
    emb = text_predict(with_text)
    assert emb.shape == (2, TEXT_EMBEDDING_DIM)
    if with_text[0] == with_text[1]:
        np.testing.assert_allclose(emb[0], emb[1], atol=1e-5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        make_text_predict("cuda")


def test_auto_device_and_bad_arguments() -> None:
    assert make_text_predict("auto")(["hello"]).shape == (1, TEXT_EMBEDDING_DIM)
    with pytest.raises(ValueError):
        make_text_predict("cpu", batch_size=0)
    with pytest.raises(ValueError):
        make_text_predict("tpu")  # type: ignore[arg-type]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_embeddings_match_cpu(text_predict) -> None:
    texts = ["The sun sets late here in summer.", "Every map of this city is wrong."]
    np.testing.assert_allclose(make_text_predict("cuda")(texts), text_predict(texts), atol=1e-3)
