"""Dependencies shared by the routes: the store, the settings, the caller, roles and page parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Callable

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ocr_service.errors import AuthError
from ocr_service.service import auth
from ocr_service.service.auth import Principal
from ocr_service.service.store.store import Store
from ocr_service.settings import Settings

MAX_TOKEN_CHARS = 200

_bearer = HTTPBearer(auto_error=False, scheme_name="token",
                     description="An API token from `ocr-service tokens create USER`: `Authorization: Bearer TOKEN`.")


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_principal(store: StoreDep,
                      credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The authenticated caller of the API: an API token (``Authorization: Bearer``), checked against
    the store (hashed, revocable). The API takes no cookies (so it needs no CSRF protection); the
    review station's pages take the browser session instead (``web.routes.web_principal``), ending in
    the same Principal."""
    if credentials is None:
        raise AuthError("authentication required: send `Authorization: Bearer TOKEN` "
                        "(a token from `ocr-service tokens create USER`)")
    token = credentials.credentials
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise AuthError("unknown, revoked or inactive API token")
    with store.session(write=False) as s:
        principal = auth.authenticate(s, token)
        stale = bool(s.dirty)  # the token's last use is due to be recorded
        s.rollback()  # a read session never writes
    if stale:
        with store.session() as s:
            auth.authenticate(s, token)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: str, action: str = "do this") -> Callable[..., Principal]:
    """A dependency: the caller, if their role is one of ``roles`` (any role if none are given);
    otherwise a 403 problem. ``Depends(require(*auth.CAN_REVIEW))``."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        return principal.require(*roles, action=action)

    dependency.__name__ = f"require_{'_'.join(roles) or 'any'}"
    return dependency


@dataclass(frozen=True)
class PageParams:
    after: str | None
    limit: int


def page_params(after: Annotated[str | None, Query(max_length=200, description="the `next` cursor of the previous page")] = None,
                limit: Annotated[int, Query(ge=1, le=1000, description="items per page")] = 50) -> PageParams:
    return PageParams(after or None, limit)


Paging = Annotated[PageParams, Depends(page_params)]
