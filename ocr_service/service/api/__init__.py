"""The HTTP API (FastAPI): ``create_app(settings, store=None)``. See docs/api.md."""

from ocr_service.service.api.app import create_app

__all__ = ["create_app"]
