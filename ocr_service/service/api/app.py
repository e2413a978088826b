"""The app factory: ``create_app(settings, store=None)`` → a FastAPI app serving /api/v1.

The store is opened from the settings unless one is given (then the caller closes it), and its
schema is checked before the app exists (the review station's pages are mounted beside /api:
service/web): an outdated database is refused with SchemaOutdatedError
("run `ocr-service db upgrade`"). ``lifespan_hooks`` are what runs beside the server: each is called
with (settings, store) at start-up and returns a context manager held open until shutdown (the jobs
layer's local worker pool goes here). OpenAPI is at /api/openapi.json; no docs UI is served (it
would load assets from a CDN).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, AsyncIterator, Callable, ContextManager, Sequence

from fastapi import APIRouter, FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ocr_service.service.api import problems
from ocr_service.service.api.deps import StoreDep
from ocr_service.service.api.routes import ROUTERS
from ocr_service.service.api.schemas import Health, Problem
from ocr_service.service import web
from ocr_service.service.store import db, open_store
from ocr_service.service.store.store import Store
from ocr_service.settings import Settings

PREFIX = "/api/v1"
OPENAPI_URL = "/api/openapi.json"
JSON_BODY_LIMIT = 1 << 20  # every body but an upload (routes/uploads.py sets its own) is small JSON

LifespanHook = Callable[[Settings, Store], ContextManager[Any]]

# Telemetry off: no spans, metrics or logs leave the process, whatever the environment says.
TELEMETRY_OFF = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False, "auto_configure": False}


def create_app(settings: Settings, store: Store | None = None, *,
               lifespan_hooks: Sequence[LifespanHook] = ()) -> FastAPI:
    owned = store is None
    if store is None:
        store = open_store(settings.database or None, settings.data_dir, create=True)
    else:
        store.check()
    hooks = list(lifespan_hooks)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with contextlib.ExitStack() as stack:
            if owned:
                stack.callback(store.close)
            for hook in hooks:
                stack.enter_context(hook(settings, store))
            yield

    app = FastAPI(title="ocr-service", version="1", summary="Digitized DC01 population sheets: batches, uploads, "
                  "review queue", openapi_url=OPENAPI_URL, docs_url=None, redoc_url=None, lifespan=lifespan,
                  telemetry=TELEMETRY_OFF, responses={"4XX": problems.PROBLEM_SCHEMA, "5XX": problems.PROBLEM_SCHEMA})
    app.state.settings = settings
    app.state.store = store
    app.state.lifespan_hooks = hooks
    problems.install(app)
    app.add_middleware(BodyLimit, limit=JSON_BODY_LIMIT)

    @app.get("/health", response_model=Health, tags=["health"], summary="Liveness and schema revision (no auth)")
    def health(st: StoreDep) -> Health:
        db.check_schema(st.engine)  # unreachable or outdated: a 503 problem
        return Health(status="ok", schema=db.head_revision())

    api = APIRouter(prefix=PREFIX)
    for router in ROUTERS:
        api.include_router(router)
    app.include_router(api)
    web.mount(app, settings, store)  # the review station's pages, /login, /review…, /static
    _add_problem_schema(app)
    return app


UPLOAD_PATH = re.compile(re.escape(PREFIX) + r"/batches/[^/]+/files")


class BodyLimit:
    """Request bodies over ``limit`` bytes get a 413 problem, except uploads (``POST …/files``),
    which stream and are held to ``max_file_bytes`` per file by intake. A declared Content-Length
    over the limit is refused before anything is read; a chunked body when it crosses the limit."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"] == "POST" and UPLOAD_PATH.fullmatch(scope["path"])):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            response = problems.problem(Request(scope), "too_large", f"the request body is over {self.limit} bytes")
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise StarletteHTTPException(413, f"the request body is over {self.limit} bytes")
            return message

        await self.app(scope, limited, send)


def _add_problem_schema(app: FastAPI) -> None:
    """Put the Problem schema into the OpenAPI components (the error responses refer to it)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
