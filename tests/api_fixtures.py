"""Fixtures for the API tests: an app on a SQLite store in tmp_path, one user and token per role."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ocr_service.service import auth
from ocr_service.service.store import open_store
from ocr_service.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's "use httpx2" notice
    from fastapi.testclient import TestClient

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
PASSWORD = "correct horse battery staple"


def make_tokens(store) -> dict[str, str]:
    """A user per role (named after it) and an API token for each."""
    tokens = {}
    with store.session() as s:
        for role in auth.ROLES:
            auth.add_user(s, role, PASSWORD, role=role, actor="test")
            tokens[role], _ = auth.create_token(s, role, actor="test")
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Api:
    """A TestClient with a token per role: ``api.get(path, as_="clerk")``."""

    def __init__(self, app, tokens: dict[str, str]):
        self.app, self.tokens = app, tokens
        self.store = app.state.store
        self.client = TestClient(app)

    def _h(self, as_: str | None, headers: dict | None) -> dict:
        return {**(bearer(self.tokens[as_]) if as_ else {}), **(headers or {})}

    def get(self, path: str, as_: str | None = "admin", **kw):
        return self.client.get(path, headers=self._h(as_, kw.pop("headers", None)), **kw)

    def post(self, path: str, as_: str | None = "admin", **kw):
        return self.client.post(path, headers=self._h(as_, kw.pop("headers", None)), **kw)

    def batch(self, as_: str = "clerk", **body) -> dict:
        res = self.post("/api/v1/batches", as_=as_, json={"name": "box", **body})
        assert res.status_code == 201, res.text
        return res.json()

    def blob_files(self) -> list[Path]:
        return [p for p in self.store.blobs.root.rglob("*") if p.is_file()]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", max_file_bytes=400_000)


@pytest.fixture
def fast_hashing(monkeypatch):
    """Cheap Argon2 parameters for tests that only need users to exist (the real ones take ~0.2 s)."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def api(settings, fast_hashing):
    from ocr_service.service.api import create_app

    store = open_store(settings.database, settings.data_dir, create=True)
    tokens = make_tokens(store)
    app = create_app(settings, store)
    yield Api(app, tokens)
    store.close()


def files_part(*items: tuple[str, bytes, str]) -> list:
    return [("files", (name, data, ctype)) for name, data, ctype in items]
