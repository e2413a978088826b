"""The review station: server-rendered pages (FastAPI + Jinja2, htmx vendored under ``static/``),
mounted beside the API by ``create_app``. See docs/review.md."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ocr_service.service.store.store import Store
from ocr_service.settings import Settings

STATIC = Path(__file__).with_name("static")


def mount(app: FastAPI, settings: Settings, store: Store) -> None:
    """Add the pages, /static and their security headers to ``app`` (the API stays under /api)."""
    from ocr_service.service.web import exports, reports, routes, security, sheetmode, supervisor
    from ocr_service.service.web.snippets import Snippets

    app.state.web_secret = security.secret_key(settings.data_dir)
    app.state.snippets = Snippets(settings, store)
    routes.install(app)
    app.include_router(exports.router)  # before routes: /exports/rows is not an export id
    app.include_router(routes.router)
    app.include_router(supervisor.router)
    app.include_router(reports.router)
    app.include_router(sheetmode.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(security.PageHeaders)
