"""Files of a batch and their pages; a file's original bytes and a page's image, served by id only.

Bytes are found by the content hash stored for the id (never by a path or name from the request),
with a fixed content type from the store (the type intake told from the bytes; page images are
always PNG), ``Content-Disposition: attachment`` and ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

from typing import Annotated

import cv2
from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, Response

from ocr_service.errors import InputFileError, NotFoundError
from ocr_service.pipeline import ingest
from ocr_service.service import auth
from ocr_service.service.api.deps import CurrentPrincipal, Paging, SettingsDep, StoreDep, require
from ocr_service.service.api.schemas import FileOut, Page, PageOut
from ocr_service.service.auth import Principal
from ocr_service.service.intake import MAGIC
from ocr_service.service.store import repository as repo

router = APIRouter(tags=["files"])
Records = Annotated[Principal, Depends(require(*auth.CAN_READ_RECORDS, action="read scans"))]
SERVED_TYPES = {media_type for _, media_type in MAGIC}
SUFFIX = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/tiff": "tif"}


def _download_headers(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store"}


@router.get("/batches/{batch_id}/files", response_model=Page[FileOut], summary="The files of a batch")
def list_files(batch_id: int, store: StoreDep, paging: Paging, _: CurrentPrincipal) -> Page[FileOut]:
    with store.session(write=False) as s:
        repo.get_batch(s, batch_id)
        got = repo.list_files(s, batch_id, after=paging.after, limit=paging.limit)
        return Page[FileOut](items=[FileOut.of(f) for f in got.items], next=got.next)


@router.get("/files/{file_id}", response_model=FileOut, summary="A file")
def get_file(file_id: int, store: StoreDep, _: CurrentPrincipal) -> FileOut:
    with store.session(write=False) as s:
        return FileOut.of(repo.get_file(s, file_id))


@router.get("/files/{file_id}/pages", response_model=Page[PageOut], summary="The pages of a file")
def list_pages(file_id: int, store: StoreDep, paging: Paging, _: CurrentPrincipal) -> Page[PageOut]:
    with store.session(write=False) as s:
        repo.get_file(s, file_id)
        got = repo.list_pages(s, file_id, after=paging.after, limit=paging.limit)
        return Page[PageOut](items=[PageOut.of(p) for p in got.items], next=got.next)


@router.get("/files/{file_id}/content", response_class=FileResponse, summary="The file as uploaded (download)",
            responses={200: {"content": {t: {} for t in sorted(SERVED_TYPES)}}})
def file_content(file_id: int, store: StoreDep, _: Records) -> FileResponse:
    with store.session(write=False) as s:
        f = repo.get_file(s, file_id)
        sha, media_type = f.sha256, f.media_type
    if media_type not in SERVED_TYPES:  # only the types intake tells from the bytes are ever served
        media_type = "application/octet-stream"
    path = store.blobs.path(sha)
    if not path.is_file():
        raise NotFoundError(f"the bytes of file {file_id} are missing from the blob store")
    return FileResponse(path, media_type=media_type,
                        headers=_download_headers(f"file-{file_id}.{SUFFIX.get(media_type, 'bin')}"))


@router.get("/pages/{page_id}", response_model=PageOut, summary="A page")
def get_page(page_id: int, store: StoreDep, _: CurrentPrincipal) -> PageOut:
    with store.session(write=False) as s:
        return PageOut.of(repo.get_page(s, page_id))


@router.get("/pages/{page_id}/image", response_class=Response, summary="A page's image (PNG, grayscale)",
            responses={200: {"content": {"image/png": {}}}})
def page_image(page_id: int, store: StoreDep, settings: SettingsDep, _: Records) -> Response:
    """The page as the pipeline decoded it from the original file (PDF pages rendered at 300 dpi)."""
    with store.session(write=False) as s:
        page = repo.get_page(s, page_id)
        page_no, sha = page.page_no, page.file.sha256
    if page_no < 1:
        raise NotFoundError(f"page {page_id} has no image: its file could not be opened")
    path = store.blobs.path(sha)
    if not path.is_file():
        raise NotFoundError(f"the bytes of page {page_id}'s file are missing from the blob store")
    try:
        for p in ingest.load_pages(path, max_bytes=settings.max_file_bytes, max_pixels=settings.max_page_pixels):
            if p.page_no == page_no:
                ok, png = cv2.imencode(".png", p.image)
                break
        else:
            raise NotFoundError(f"page {page_id}: the file has no page {page_no}")
    except InputFileError as exc:
        raise InputFileError(exc.reason, page=page_no) from None  # the blob path is not shown
    if not ok:
        raise InputFileError("could not encode the page image", page=page_no)
    return Response(png.tobytes(), media_type="image/png", headers=_download_headers(f"page-{page_id}.png"))
