"""Audio encoders: mono float32 PCM in, sound embeddings and speech activity out."""

from models.audio.embedding import (
    AUDIO_EMBEDDING_DIM,
    AUDIO_MODEL_NAME,
    AUDIO_MODEL_VERSION,
    AUDIO_RATE,
    is_silent,
    load_aisfx,
    make_audio_predict,
)
from models.audio.speech import (
    SPEECH_MODEL_NAME,
    SPEECH_MODEL_VERSION,
    VAD_RATE,
    SpeechDetector,
    SpeechTimeline,
    speech_ratio,
    speech_ratios,
    speech_timeline,
)

__all__ = [
    "AUDIO_EMBEDDING_DIM",
    "AUDIO_MODEL_NAME",
    "AUDIO_MODEL_VERSION",
    "AUDIO_RATE",
    "SPEECH_MODEL_NAME",
    "SPEECH_MODEL_VERSION",
    "VAD_RATE",
    "SpeechDetector",
    "SpeechTimeline",
    "is_silent",
    "load_aisfx",
    "make_audio_predict",
    "speech_ratio",
    "speech_ratios",
    "speech_timeline",
]
