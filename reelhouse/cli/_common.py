"""Helpers every command shares: the rich console, one-line failures, the opened store."""

from __future__ import annotations

import sys

from reelhouse.config import Settings


def _console(stderr: bool = False):
    """Rich console for human-readable output (``stderr=True`` keeps stdout clean for ``--json``)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _fail(command: str, message: str) -> int:
    print(f"reelhouse {command}: {message}", file=sys.stderr)
    return 2


def _store(settings: Settings):
    from reelhouse.lakehouse import FeatureStore

    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    return store
