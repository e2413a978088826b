"""Uploads: many files in one multipart/form-data request, each streamed into the batch.

Each part with a filename is one file. Its bytes go chunk by chunk from the network into the blob
store (``intake.receive_file``: type from the bytes, hostile names refused, at most
``max_file_bytes``), never held whole in memory or spooled first. Each file stands alone: a refused
file gets a per-file entry and leaves nothing behind, the good ones are stored. Response: 201 when
every file was accepted (``created`` or ``duplicate``), 207 when some were refused, and a 422 problem
(with the per-file ``files``) when none was.
"""

from __future__ import annotations

from typing import Annotated, Iterator

import anyio.from_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ocr_service.errors import InputFileError, InvalidRequestError
from ocr_service.service import auth, intake
from ocr_service.service.api import problems
from ocr_service.service.api.deps import SettingsDep, StoreDep, require
from ocr_service.service.api.multipart import BodyCutOff, MultipartReader, boundary_of
from ocr_service.service.api.schemas import UploadReport, UploadResult
from ocr_service.service.auth import Principal
from ocr_service.service.jobs import runner
from ocr_service.service.store import repository as repo

router = APIRouter(tags=["uploads"])
Intake = Annotated[Principal, Depends(require(*auth.CAN_INTAKE, action="upload files"))]
MAX_FILES = 500  # per request
MAX_SHOWN_NAME = 255

UPLOAD_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["files"],
        "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"},
                                 "description": "PDF, TIFF, JPEG or PNG scans; each part's filename is kept as "
                                                "display text only"}}}}},
}


def _body(request: Request) -> Iterator[bytes]:
    """The request body as the network delivers it, read from this worker thread."""
    stream = request.stream()

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    try:
        while (chunk := anyio.from_thread.run(next_chunk)) is not None:
            yield chunk
    finally:
        anyio.from_thread.run(stream.aclose)


def _shown(filename: bytes) -> str:
    return filename.decode("utf-8", "replace")[:MAX_SHOWN_NAME]


@router.post("/batches/{batch_id}/files", status_code=201, response_model=UploadReport,
             summary="Upload files into a batch (clerk, admin)", openapi_extra={"requestBody": UPLOAD_BODY},
             responses={207: {"model": UploadReport, "description": "some files were refused (see each item)"},
                        422: problems.PROBLEM_SCHEMA})
def upload_files(batch_id: int, request: Request, store: StoreDep, settings: SettingsDep,
                 principal: Intake, replaces: int | None = None) -> JSONResponse:
    """``replaces``: with one file, the id of a page waiting for a rescan that the file's first page
    replaces (the old page stays, as history)."""
    with store.session(write=False) as s:
        repo.get_batch(s, batch_id)  # 404 before a byte of the body is read
    boundary = boundary_of(request.headers.get("content-type"))
    body = _body(request)
    results: list[UploadResult] = []
    try:
        reader = MultipartReader(body, boundary)
        try:
            for part in reader.parts():
                if part.filename is None:
                    continue  # a plain form field: skipped, never buffered
                if len(results) >= MAX_FILES:
                    raise InvalidRequestError(f"more than {MAX_FILES} files in one upload: send them in several")
                if replaces is not None and results:
                    raise InvalidRequestError("replaces takes one file: send the rescan of each page on its own")
                results.append(_receive(store, batch_id, part.filename, part.chunks(), principal.username,
                                        settings.max_file_bytes, replaces))
        except BodyCutOff as exc:
            return _report_problem(request, f"the upload was cut off ({exc}); the files before it were "
                                            f"stored, see files", results)
    finally:
        body.close()
    if not results:
        raise InvalidRequestError("no files in the upload: send each file as a multipart part with a filename")
    runner.dispatch(store, settings, [r.job_id for r in results if r.status == "created" and r.job_id])
    accepted = sum(r.status != "refused" for r in results)
    if not accepted:
        one = results[0] if len(results) == 1 else None
        return _report_problem(request, one.detail if one else f"none of the {len(results)} files was accepted",
                               results, code=one.code if one else "input_unreadable", file=one.name if one else None)
    report = UploadReport(accepted=accepted, refused=len(results) - accepted, items=results)
    return JSONResponse(report.model_dump(mode="json"), status_code=201 if accepted == len(results) else 207)


def _receive(store, batch_id: int, filename: bytes, chunks: Iterator[bytes], actor: str, max_bytes: int,
             replaces: int | None = None) -> UploadResult:
    try:
        got = intake.receive_file(store, batch_id, filename, chunks, actor=actor, max_bytes=max_bytes,
                                  replaces=replaces)
    except InputFileError as exc:
        return UploadResult(name=_shown(filename), status="refused", code=exc.code, detail=exc.message)
    return UploadResult(name=got.name, status="duplicate" if got.duplicate else "created", file_id=got.file_id,
                        job_id=got.job_id, sha256=got.sha256, size_bytes=got.size, media_type=got.media_type)


def _report_problem(request: Request, detail: str | None, results: list[UploadResult], *, code: str = "invalid_request",
                    file: str | None = None) -> JSONResponse:
    return problems.problem(request, code, detail or "upload refused", file=file,
                            files=[r.model_dump(mode="json") for r in results])
