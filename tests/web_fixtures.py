"""Fixtures for the review station's tests: a store with users of every role (password PASSWORD),
batches of fields needing review written directly with ``repo.write_result``, and a logged-in
TestClient."""

from __future__ import annotations

import contextlib
import re
import warnings
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest

from api_fixtures import PASSWORD, SAMPLES
from store_fixtures import TEMPLATE, field, result, sha

from ocr_service.service import auth
from ocr_service.service.store import repository as repo

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: F401

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
T = TypeVar("T")
DOB_READS = ["05/11/1990", "12/3/1985", "01/01/2000", "<script>alert(1)</script>", "31/12/1970", "07/07/1977"]


def add_users(store) -> None:
    with store.session() as s:
        for role in auth.ROLES:
            auth.add_user(s, role, PASSWORD, role=role, actor="test")
        auth.add_user(s, "reviewer2", PASSWORD, role="reviewer", actor="test")


def add_batch(store, name: str = "box", *, sheets: int = 6, values: list[str] | None = None,
              names: tuple[str, ...] = ("dob",), offset: int = 0) -> int:
    """A batch of ``sheets`` sheets, each with a full_name (auto-accepted) and the ``names`` fields
    needing review (values from ``values``), as the pipeline would store them. Its batch id."""
    values = values or DOB_READS
    with store.session() as s:
        b = repo.create_batch(s, name, template=TEMPLATE)
        for i in range(sheets):
            n = offset + i
            f = repo.add_file(s, b.id, sha256=sha(1000 + n), original_name=f"scan-{n:03d}.jpg", size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(5000 + n)}], enqueue=False)
            fields = [field("full_name", value="NGUYỄN VĂN AN")]
            for nm in names:
                fd = field(nm, "needs_review", values[i % len(values)], "date")
                fd["candidates"] = [fd["value"], f"0{i + 1}/01/1990"]
                fd["suggestion"] = f"1{i}/02/1991"
                fields.append(fd)
            repo.write_result(s, f.id, result(1, fields=fields))
        return b.id


def add_real_pages(store, settings, batch_id: int, names, edit) -> None:
    """Real sample pages (``samples/dc01/NAME.jpg``) read with the fake engine into batch ``batch_id``,
    so snippets are cut from really registered pages; ``edit(i, fields, truth)`` adjusts each page's
    field records (statuses, values) before they are stored, ``truth`` being the sample's ground truth."""
    import json

    from ocr_service.pipeline.build import build_pipeline
    from ocr_service.pipeline.ingest import load_page

    pipeline = build_pipeline("dc01", engines="fake", settings=settings)
    for i, n in enumerate(names):
        data = (SAMPLES / "dc01" / f"{n}.jpg").read_bytes()
        info = store.blobs.put(data)
        record = pipeline.process_page(load_page(store.blobs.path(info.sha256), 1)).to_record()
        edit(i, record["fields"], json.loads((SAMPLES / "dc01" / f"{n}.json").read_text(encoding="utf-8"))["fields"])
        with store.session() as s:
            f = repo.add_file(s, batch_id, sha256=info.sha256, original_name=f"{n}.jpg", size_bytes=len(data),
                              media_type="image/jpeg").row
            repo.add_pages(s, f.id, [{"page": 1}], enqueue=False)
            repo.write_result(s, f.id, record)


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    token = CSRF_FIELD.search(page.text).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": "/review/group"}, follow_redirects=False)


def csrf_of(html: str) -> str:
    return CSRF_FIELD.search(html).group(1)


def claim_group(client, batch: int | None = None):
    """Claim a group as the page does (GET the claim page, POST its form) and return the group page."""
    page = client.get("/review/group" + (f"?batch={batch}" if batch else ""))
    data = {"csrf_token": csrf_of(page.text), **({"batch": batch} if batch else {})}
    return client.post("/review/group", data=data)


__all__ = ["SAMPLES", "PASSWORD", "add_users", "add_batch", "login", "csrf_of", "claim_group", "add_real_pages", "DOB_READS"]


@contextlib.contextmanager
def served_station(tmp: Path, fill: Callable[..., T], **env: str) -> Iterator[tuple[str, object, T]]:
    """A data dir under ``tmp`` with the users of :func:`add_users` (hashed cheaply) and whatever
    ``fill(store, settings)`` adds, served by a real ``ocr-service serve`` on loopback with the fake
    engine and one worker (``env``: more ``OCR_SERVICE_*`` settings); yields (url, a store open on the
    same data, what ``fill`` returned)."""
    from argon2 import PasswordHasher
    from serve_helpers import running_serve

    from ocr_service.service.store import open_store
    from ocr_service.settings import Settings

    data = tmp / "data"
    settings = Settings(data_dir=data, engines="fake")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        store = open_store(None, data, create=True)
        add_users(store)
    made = fill(store, settings)
    store.close()
    with running_serve(tmp, data, OCR_SERVICE_ENGINES="fake", OCR_SERVICE_WORKERS="1", **env) as url:
        store = open_store(None, data)
        try:
            yield url, store, made
        finally:
            store.close()
