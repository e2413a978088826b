"""Who am I: the authenticated caller (a cheap way for a client to check its token)."""

from __future__ import annotations

from fastapi import APIRouter

from ocr_service.service.api.deps import CurrentPrincipal
from ocr_service.service.api.schemas import Me

router = APIRouter(tags=["auth"])


@router.get("/me", response_model=Me, summary="The authenticated user and role")
def me(principal: CurrentPrincipal) -> Me:
    return Me(user_id=principal.user_id, username=principal.username, role=principal.role)
