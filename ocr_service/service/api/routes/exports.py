"""Exports: placeholders until the export issue fills them (501 problems, after the role check)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ocr_service.service import auth
from ocr_service.service.api import problems
from ocr_service.service.api.deps import require
from ocr_service.service.auth import Principal

router = APIRouter(tags=["exports"])
Exporter = Annotated[Principal, Depends(require(*auth.CAN_EXPORT, action="export records"))]
NOT_YET = {501: problems.PROBLEM_SCHEMA}


def _not_yet(request: Request) -> JSONResponse:
    return problems.problem(request, "not_implemented", "exports are not implemented yet")


@router.get("/exports", summary="List exports (not implemented yet)", responses=NOT_YET)
def list_exports(request: Request, _: Exporter) -> JSONResponse:
    return _not_yet(request)


@router.post("/exports", summary="Start an export (not implemented yet)", responses=NOT_YET)
def create_export(request: Request, _: Exporter) -> JSONResponse:
    return _not_yet(request)


@router.get("/exports/{export_id}", summary="An export and its files (not implemented yet)", responses=NOT_YET)
def get_export(export_id: int, request: Request, _: Exporter) -> JSONResponse:
    return _not_yet(request)
