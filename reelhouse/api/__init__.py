"""The read-only HTTP API (``reelhouse serve``): ``create_app(settings)`` builds the FastAPI app."""

from reelhouse.api.app import create_app

__all__ = ["create_app"]
