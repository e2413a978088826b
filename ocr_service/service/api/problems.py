"""Problem details (RFC 9457) for every error the API returns, and the one code → HTTP status table.

A problem is ``application/problem+json``: ``type`` (``urn:ocr-service:problem:<code>``), ``title``,
``status``, ``detail``, ``instance`` (the request path), plus ``code`` (the stable code of
``ocr_service.errors``) and, when the error has them, ``file``, ``page``, ``field``. Server-side
failures (5xx) never show internals: the detail names an error id, and the log has the rest (never
request data: no file names, no field values).
"""

from __future__ import annotations

import logging
import secrets
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ocr_service.errors import EXIT_CODES, OcrServiceError

log = logging.getLogger("ocr_service.api")

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:ocr-service:problem:"

# The one mapping from error code to HTTP status (the codes of errors.py, and a few HTTP-only ones).
STATUS: dict[str, int] = {
    "config_invalid": 400,
    "invalid_request": 422,
    "insufficient_data": 422,
    "template_invalid": 422,
    "mapping_invalid": 422,
    "input_unreadable": 422,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "too_large": 413,
    "internal_error": 500,
    "engine_failed": 500,
    "not_implemented": 501,
    "store_unavailable": 503,
    "schema_outdated": 503,
    "no_worker": 503,
}
TITLES: dict[str, str] = {
    "config_invalid": "Invalid setting or option",
    "invalid_request": "Invalid request",
    "insufficient_data": "Too little data",
    "template_invalid": "Invalid template",
    "mapping_invalid": "Invalid export mapping",
    "input_unreadable": "Input file refused",
    "unauthenticated": "Not authenticated",
    "forbidden": "Not allowed for this role",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "conflict": "Conflict with the stored state",
    "too_large": "Request too large",
    "internal_error": "Internal error",
    "engine_failed": "Recognition engine failed",
    "not_implemented": "Not implemented yet",
    "store_unavailable": "Store unavailable",
    "schema_outdated": "Database schema outdated",
    "no_worker": "No worker is running",
}
assert set(EXIT_CODES) <= set(STATUS) and set(STATUS) == set(TITLES)
_BY_STATUS = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 401: "unauthenticated",
              403: "forbidden", 501: "not_implemented"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "description": "Problem details (RFC 9457)",
    "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def status_of(code: str) -> int:
    return STATUS.get(code, 500)


def problem(request: Request | None, code: str, detail: str, *, status: int | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A problem-details response for ``code`` (its status from :data:`STATUS` unless given)."""
    status = status or status_of(code)
    body: dict[str, Any] = {"type": TYPE_PREFIX + code, "title": TITLES.get(code, "Error"), "status": status,
                            "detail": detail, "instance": request.url.path if request is not None else None,
                            "code": code}
    body.update({k: v for k, v in extra.items() if v is not None})
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="ocr-service"', **(headers or {})}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def error_id() -> str:
    return secrets.token_hex(6)


def _where(request: Request | None) -> str:
    return f"{request.method} {request.url.path}" if request is not None else "?"  # paths hold ids only


def log_unexpected(request: Request | None, exc: BaseException) -> str:
    """Log an unexpected exception by a new error id: where, the exception type and the stack (file,
    line, function), but not its message or any values: they may quote personal data."""
    ident = error_id()
    stack = "\n".join(f"  {fs.filename}:{fs.lineno} in {fs.name}" for fs in traceback.extract_tb(exc.__traceback__))
    log.error("error %s in %s: %s.%s\n%s", ident, _where(request), type(exc).__module__, type(exc).__qualname__, stack)
    return ident


def from_error(request: Request | None, exc: OcrServiceError, **extra: Any) -> JSONResponse:
    status = status_of(exc.code)
    if status >= 500:
        ident = error_id()
        log.error("error %s in %s: %s (%s)", ident, _where(request), exc.code, exc.message)
        return problem(request, exc.code, f"{TITLES.get(exc.code, 'Error')}: the server could not complete the "
                                          f"request (error id {ident}; the server log has the details)",
                       error_id=ident, **extra)
    return problem(request, exc.code, exc.message, file=exc.file, page=exc.page, field=exc.field, **extra)


async def _ocr_error(request: Request, exc: OcrServiceError) -> JSONResponse:
    return from_error(request, exc)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
              for e in exc.errors()]
    names = ", ".join(".".join(e["loc"]) for e in errors) or "the request"
    detail = "invalid " + names + ": " + "; ".join(e["msg"] for e in errors[:5])
    return problem(request, "invalid_request", detail, errors=errors)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _BY_STATUS.get(exc.status_code, "internal_error" if exc.status_code >= 500 else "invalid_request")
    detail = exc.detail if isinstance(exc.detail, str) else TITLES[code]
    return problem(request, code, detail, status=exc.status_code, headers=getattr(exc, "headers", None))


class CatchAll:
    """Outermost handler of exceptions nothing else handled: a 500 problem naming an error id, and
    the stack in the log. (Starlette's own server-error middleware would re-raise, and the server
    would log the exception's message.)"""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            request = Request(scope)
            ident = log_unexpected(request, exc)
            if started:
                return  # the response is under way: nothing sensible can be sent
            response = problem(request, "internal_error", f"unexpected server error (error id {ident}; "
                                                          f"the server log has the details)", error_id=ident)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the handlers: project errors, request validation, HTTP errors, and the catch-all."""
    app.add_exception_handler(OcrServiceError, _ocr_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_middleware(CatchAll)
