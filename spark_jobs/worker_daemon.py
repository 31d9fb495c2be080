"""The Python worker daemon for reelhouse jobs: PySpark's own daemon, with the heavy libraries imported
once before it forks workers.

Spark starts this module (``spark.python.daemon.module``) on every executor. Each worker is a fork of
it, so torch, the media stack and sentence-transformers are already imported in every worker (their
pages shared copy-on-write) and a worker only loads the small model weights its task needs (0.05-0.2 s).
That lets workers be short-lived (``spark.python.worker.reuse=false``): a worker holds one job's
model while it runs and gives its memory back when the task ends, instead of long-lived workers each
accumulating every model of the pipeline.
"""

from __future__ import annotations

#: Imported before forking: what the jobs' workers would otherwise import for seconds on every start.
PRELOADED_MODULES: tuple[str, ...] = (
    "numpy",
    "pandas",
    "pyarrow",
    "PIL.Image",
    "av",
    "torch",
    "sentence_transformers",
    "reelhouse.lakehouse",
)


def preload(modules: tuple[str, ...] = PRELOADED_MODULES) -> list[str]:
    """Import ``modules``; returns the ones that are not installed (a worker then imports nothing extra)."""
    from importlib import import_module

    missing = []
    for name in modules:
        try:
            import_module(name)
        except ImportError:
            missing.append(name)
    return missing


if __name__ == "__main__":
    preload()
    from pyspark import daemon

    daemon.manager()
