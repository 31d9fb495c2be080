"""Audio encoders: mono float32 PCM in, sound embeddings and speech activity out.

Names load on first access (``models.lazy``), so importing the package never imports torch.
"""

from models.lazy import lazy_getattr

_EXPORTS = {
    "AUDIO_EMBEDDING_DIM": "models.audio.embedding",
    "AUDIO_MODEL_NAME": "models.cards",
    "AUDIO_MODEL_VERSION": "models.cards",
    "AUDIO_RATE": "models.audio.embedding",
    "is_silent": "models.audio.embedding",
    "load_aisfx": "models.audio.embedding",
    "make_audio_predict": "models.audio.embedding",
    "SPEECH_MODEL_NAME": "models.cards",
    "SPEECH_MODEL_VERSION": "models.cards",
    "VAD_RATE": "models.audio.speech",
    "SpeechDetector": "models.audio.speech",
    "SpeechTimeline": "models.audio.speech",
    "speech_ratio": "models.audio.speech",
    "speech_ratios": "models.audio.speech",
    "speech_timeline": "models.audio.speech",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
