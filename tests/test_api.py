"""The HTTP API on a SQLite store: batches, uploads, listings, the review queue, files served by id,
problem details, authentication and roles, the OpenAPI document."""

from __future__ import annotations

import logging

import pytest
from api_fixtures import SAMPLES, Api, api, bearer, fast_hashing, files_part, settings  # noqa: F401
from store_fixtures import field, result

from ocr_service.errors import EXIT_CODES, SchemaOutdatedError
from ocr_service.service import auth
from ocr_service.service.api import create_app, problems
from ocr_service.service.store import db, open_store
from ocr_service.service.store import repository as repo

JPG2 = (SAMPLES / "dc01" / "0002.jpg").read_bytes()  # 232 kB
JPG3 = (SAMPLES / "dc01" / "0003.jpg").read_bytes()  # 311 kB
JPG5 = (SAMPLES / "dc01" / "0005.jpg").read_bytes()
BIG = (SAMPLES / "dc01" / "0000.jpg").read_bytes()  # 471 kB: over the tests' 400 kB limit
TRUNCATED = (SAMPLES / "bad" / "truncated.pdf").read_bytes()
NOT_IMAGE = (SAMPLES / "bad" / "not-an-image.png").read_bytes()
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code"}


def assert_problem(res, status: int, code: str) -> dict:
    assert res.status_code == status, res.text
    assert res.headers["content-type"] == "application/problem+json"
    body = res.json()
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status and body["code"] == code and body["type"] == f"urn:ocr-service:problem:{code}"
    assert body["instance"].startswith("/") and body["title"] and body["detail"]
    return body


# -- batches and uploads --------------------------------------------------------------------------

def test_create_and_get_a_batch(api: Api):
    b = api.batch(name=None, commune="Xã Hải Bắc", village="Xóm 3", box_label="hộp 12", officer="Lê Thị Hoa",
                  expected_sheets=400, template="dc01")
    assert b["name"] == "Xã Hải Bắc / Xóm 3 / hộp 12" and b["template"] == "dc01@tt66-2015"
    assert b["officer"] == "Lê Thị Hoa" and b["created_by"] == "clerk"
    got = api.get(f"/api/v1/batches/{b['id']}", as_="reviewer").json()
    assert got["status"] == {"batch": b["name"], "expected": 400, "files": 0, "pages": 0,
                             "sheets": {"auto_accepted": 0, "needs_review": 0, "verified": 0}, "rescan": 0,
                             "failed": 0, "duplicates": 0, "jobs": {"queued": 0, "running": 0, "done": 0, "failed": 0}}
    assert api.get(f"/api/v1/batches/{b['id']}/status", as_="exporter").json() == got["status"]
    assert_problem(api.post("/api/v1/batches", as_="clerk", json={"name": b["name"]}), 409, "conflict")
    body = assert_problem(api.post("/api/v1/batches", json={"name": "x", "template": "../../etc/passwd"}),
                          422, "invalid_request")
    assert "unknown template" in body["detail"]
    assert api.batch(name="auto box", template="auto")["template"] is None
    assert_problem(api.get("/api/v1/batches/999"), 404, "not_found")


def test_upload_many_files_with_per_file_results(api: Api):
    b = api.batch()
    url = f"/api/v1/batches/{b['id']}/files"
    res = api.post(url, as_="clerk", files=files_part(
        ("0002.jpg", JPG2, "image/jpeg"), ("0003.jpg", JPG3, "image/jpeg"),
        ("truncated.pdf", TRUNCATED, "application/pdf"),  # a file; it fails later, in processing
        ("not-an-image.png", NOT_IMAGE, "image/png"),  # refused: not an image whatever its name
        ("../../x.pdf", JPG5, "application/pdf"),  # refused: a path
    ))
    assert res.status_code == 207, res.text
    report = res.json()
    assert (report["accepted"], report["refused"]) == (3, 2)
    by_name = {r["name"]: r for r in report["items"]}
    assert [r["name"] for r in report["items"]] == ["0002.jpg", "0003.jpg", "truncated.pdf", "not-an-image.png",
                                                    "../../x.pdf"]
    assert {by_name[n]["status"] for n in ("0002.jpg", "0003.jpg", "truncated.pdf")} == {"created"}
    assert by_name["truncated.pdf"]["media_type"] == "application/pdf"
    assert by_name["not-an-image.png"]["status"] == "refused"
    assert "not a PDF, TIFF, JPEG or PNG" in by_name["not-an-image.png"]["detail"]
    assert "directory part" in by_name["../../x.pdf"]["detail"]
    assert by_name["../../x.pdf"]["code"] == "input_unreadable" and by_name["../../x.pdf"]["file_id"] is None
    # nothing stored for the refused ones: three blobs, three file rows, three split jobs
    assert len(api.blob_files()) == 3
    files = api.get(f"/api/v1/batches/{b['id']}/files", as_="clerk").json()
    assert sorted(f["original_name"] for f in files["items"]) == ["0002.jpg", "0003.jpg", "truncated.pdf"]
    status = api.get(f"/api/v1/batches/{b['id']}", as_="clerk").json()["status"]
    assert status["files"] == 3 and status["jobs"]["queued"] == 3
    jobs = api.get(f"/api/v1/batches/{b['id']}/jobs", as_="clerk").json()["items"]
    assert [j["kind"] for j in jobs] == ["file"] * 3 and {j["file_id"] for j in jobs} == {
        by_name[n]["file_id"] for n in ("0002.jpg", "0003.jpg", "truncated.pdf")}

    # the same files again: all accepted as duplicates, nothing new
    again = api.post(url, as_="admin", files=files_part(("copy.jpg", JPG2, "image/jpeg"),
                                                        ("0003.jpg", JPG3, "image/jpeg")))
    assert again.status_code == 201, again.text
    assert [r["status"] for r in again.json()["items"]] == ["duplicate", "duplicate"]
    assert again.json()["items"][0]["file_id"] == by_name["0002.jpg"]["file_id"]
    assert len(api.blob_files()) == 3
    assert api.get(f"/api/v1/batches/{b['id']}/status").json()["files"] == 3


def test_an_upload_over_the_limit_is_a_problem_naming_the_file(api: Api, settings):
    b = api.batch()
    url = f"/api/v1/batches/{b['id']}/files"
    assert len(BIG) > settings.max_file_bytes
    body = assert_problem(api.post(url, as_="clerk", files=files_part(("hộp 12 - tờ 1.jpg", BIG, "image/jpeg"))),
                          422, "input_unreadable")
    assert body["file"] == "hộp 12 - tờ 1.jpg" and str(settings.max_file_bytes) in body["detail"]
    assert body["files"][0]["status"] == "refused"
    assert api.blob_files() == [] and not list((api.store.blobs.root / ".tmp").iterdir())
    # beside a good file: the good one is stored, the big one is refused, the rest of its body skipped
    res = api.post(url, as_="clerk", files=files_part(("big.jpg", BIG, "image/jpeg"), ("0002.jpg", JPG2, "image/jpeg")))
    assert res.status_code == 207 and [r["status"] for r in res.json()["items"]] == ["refused", "created"]
    assert len(api.blob_files()) == 1


def test_uploads_that_are_not_uploads(api: Api):
    b = api.batch()
    url = f"/api/v1/batches/{b['id']}/files"
    assert_problem(api.post(url, as_="clerk", json={"files": []}), 422, "invalid_request")
    body = assert_problem(api.post(url, as_="clerk", data={"note": "no files"},
                                   files=[("x", ("", b"", "application/octet-stream"))]), 422, "invalid_request")
    assert "no files" in body["detail"]  # a part without a filename is a form field, not a file
    body = assert_problem(api.post(url, as_="clerk", files=files_part(("empty.pdf", b"", "application/pdf"))),
                          422, "input_unreadable")
    assert "empty file" in body["detail"] and body["file"] == "empty.pdf"
    assert_problem(api.post("/api/v1/batches/999/files", as_="clerk", files=files_part(("a.jpg", JPG2, "image/jpeg"))),
                   404, "not_found")
    # a body that ends inside a part (its Content-Length honest): the file is refused, nothing kept
    boundary = "b0undary"
    cut = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cut.jpg\"\r\n"
           f"Content-Type: image/jpeg\r\n\r\n").encode() + JPG2[:50_000]
    res = api.post(url, as_="clerk", content=cut, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    body = assert_problem(res, 422, "invalid_request")
    assert "cut off" in body["detail"] and body["files"][0]["status"] == "refused"
    assert api.blob_files() == [] and not list((api.store.blobs.root / ".tmp").iterdir())
    assert api.get(f"/api/v1/batches/{b['id']}/status").json()["files"] == 0


# -- listings -------------------------------------------------------------------------------------

def test_pagination_returns_every_item_once(api: Api):
    made = [api.batch(name=f"box {i:02}")["id"] for i in range(7)]
    seen, after, pages = [], None, 0
    while True:
        res = api.get("/api/v1/batches", as_="reviewer", params={"limit": 3, **({"after": after} if after else {})})
        assert res.status_code == 200, res.text
        body = res.json()
        assert set(body) == {"items", "next"} and len(body["items"]) <= 3
        seen += [b["id"] for b in body["items"]]
        pages += 1
        after = body["next"]
        if after is None:
            break
    assert seen == made and pages == 3
    for bad in ("not-a-cursor", "WzEsMl0", "%%%"):  # garbage; a two-key cursor where one key is expected
        body = assert_problem(api.get("/api/v1/batches", params={"after": bad}), 422, "invalid_request")
        assert "cursor" in body["detail"]
    body = assert_problem(api.get("/api/v1/batches", params={"limit": 5000}), 422, "invalid_request")
    assert body["errors"][0]["loc"] == ["query", "limit"] and "limit" in body["detail"]


def _sheet_with_review(api: Api, batch_id: int, data: bytes, name: str, n_fields: int = 3) -> int:
    """A file through the API, then its page's result written straight into the store (no OCR)."""
    res = api.post(f"/api/v1/batches/{batch_id}/files", as_="clerk", files=files_part((name, data, "image/jpeg")))
    file_id = res.json()["items"][0]["file_id"]
    fields = [field("full_name", value="TRẦN THỊ MINH CHÂU", kind="name")]
    fields += [dict(field(f"id_{i}", "needs_review", "03619000123", "digits"),
                    reasons=["low_confidence", "invalid:id_number: 11 digits"]) for i in range(n_fields)]
    with api.store.session() as s:
        repo.add_pages(s, file_id, [{"page": 1, "sha256": f"{file_id:064x}"}])
        return repo.write_result(s, file_id, result(1, fields=fields)).sheet_id


def test_review_queue_with_vietnamese_reasons(api: Api):
    low = api.batch(name="low")
    high = api.batch(name="high", priority=5)
    s_low = _sheet_with_review(api, low["id"], JPG2, "a.jpg")
    s_high = _sheet_with_review(api, high["id"], JPG3, "b.jpg")
    items, after = [], None
    while True:
        body = api.get("/api/v1/review", as_="reviewer", params={"limit": 2, **({"after": after} if after else {})}).json()
        items += body["items"]
        if (after := body["next"]) is None:
            break
    assert [f["sheet_id"] for f in items] == [s_high] * 3 + [s_low] * 3  # higher priority first, each once
    assert len({f["id"] for f in items}) == 6 and all(f["status"] == "needs_review" for f in items)
    reasons = items[0]["reasons"]
    assert reasons == [
        {"reason": "low_confidence", "code": "low_confidence", "text": "Độ tin cậy thấp"},
        {"reason": "invalid:id_number: 11 digits", "code": "invalid", "text": "Giá trị không hợp lệ: id_number: 11 digits"},
    ]
    assert items[0]["value"] == "03619000123" and items[0]["kind"] == "digits"
    only = api.get("/api/v1/review", as_="supervisor", params={"batch": low["id"]}).json()["items"]
    assert {f["sheet_id"] for f in only} == {s_low}
    assert_problem(api.get("/api/v1/review", params={"after": "WzFd"}), 422, "invalid_request")  # one key, not two

    sheet = api.get(f"/api/v1/sheets/{s_low}", as_="exporter").json()
    assert sheet["status"] == "needs_review" and sheet["fields_review"] == 3 and sheet["template"] == "dc01@tt66-2015"
    assert [f["name"] for f in sheet["fields"]] == ["full_name", "id_0", "id_1", "id_2"]
    assert sheet["fields"][0]["value"] == "TRẦN THỊ MINH CHÂU" and sheet["fields"][0]["reasons"] == []
    listed = api.get(f"/api/v1/batches/{low['id']}/sheets", as_="reviewer", params={"status": "needs_review"}).json()
    assert [x["id"] for x in listed["items"]] == [s_low]
    assert api.get(f"/api/v1/batches/{low['id']}/sheets", params={"status": "verified"}).json()["items"] == []
    fields = api.get(f"/api/v1/sheets/{s_low}/fields", params={"status": "needs_review", "limit": 2}).json()
    assert len(fields["items"]) == 2 and fields["next"]
    one = api.get(f"/api/v1/fields/{fields['items'][0]['id']}", as_="reviewer").json()
    assert one == {**fields["items"][0], "confidence": None}  # a reviewer never sees a score (blind QA)
    status = api.get(f"/api/v1/batches/{low['id']}").json()["status"]
    assert status["sheets"]["needs_review"] == 1 and status["pages"] == 1


def test_files_and_pages_served_by_id(api: Api):
    b = api.batch()
    got = api.post(f"/api/v1/batches/{b['id']}/files", as_="clerk",
                   files=files_part(("<img src=x onerror=alert(1)>.jpg", JPG2, "text/html"))).json()["items"][0]
    assert got["status"] == "created" and got["media_type"] == "image/jpeg"
    with api.store.session() as s:
        (page,) = repo.add_pages(s, got["file_id"], [{"page": 1, "sha256": "ab" * 32}])
        page_id = page.id
    res = api.get(f"/api/v1/files/{got['file_id']}/content", as_="reviewer")
    assert res.status_code == 200 and res.content == JPG2
    assert res.headers["content-type"] == "image/jpeg"  # from the store, not the upload's claim
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["content-disposition"] == f'attachment; filename="file-{got["file_id"]}.jpg"'
    meta = api.get(f"/api/v1/files/{got['file_id']}", as_="clerk").json()
    assert meta["original_name"] == "<img src=x onerror=alert(1)>.jpg"  # JSON data, never HTML
    pages = api.get(f"/api/v1/files/{got['file_id']}/pages", as_="clerk").json()
    assert [p["id"] for p in pages["items"]] == [page_id] and pages["items"][0]["status"] == "queued"
    assert api.get(f"/api/v1/pages/{page_id}", as_="clerk").json()["page_no"] == 1
    img = api.get(f"/api/v1/pages/{page_id}/image", as_="reviewer")
    assert img.status_code == 200 and img.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert img.headers["content-type"] == "image/png" and img.headers["x-content-type-options"] == "nosniff"
    assert img.headers["content-disposition"].startswith("attachment")
    assert_problem(api.get(f"/api/v1/pages/{page_id}/image", as_="clerk"), 403, "forbidden")
    assert_problem(api.get("/api/v1/files/999/content"), 404, "not_found")
    assert_problem(api.get("/api/v1/files/..%2F..%2Fetc%2Fpasswd/content"), 404, "not_found")  # no such route


# -- errors, authentication, roles ----------------------------------------------------------------

def test_every_error_code_has_a_status():
    assert set(EXIT_CODES) <= set(problems.STATUS)
    assert problems.STATUS["input_unreadable"] == 422 and problems.STATUS["schema_outdated"] == 503


def test_exit_codes_tell_errors_apart():
    """A script can tell every error from the exit code alone; only the usage errors share 2."""
    by_code: dict[int, list[str]] = {}
    for code, exit_code in EXIT_CODES.items():
        by_code.setdefault(exit_code, []).append(code)
    shared = {k: v for k, v in by_code.items() if len(v) > 1}
    assert shared == {2: ["config_invalid", "invalid_request"]}


def test_missing_bad_and_revoked_tokens_are_401(api: Api):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic YWRtaW46YWRtaW4="},
                    {"Authorization": "Bearer " + "x" * 5000}):
        res = api.client.get("/api/v1/batches", headers=headers)
        assert_problem(res, 401, "unauthenticated")
        assert res.headers["www-authenticate"].startswith("Bearer")
    assert api.get("/api/v1/me", as_="clerk").json() == {"user_id": 1, "username": "clerk", "role": "clerk"}
    with api.store.session() as s:
        token, row = auth.create_token(s, "clerk", name="laptop", actor="test")
    assert api.client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with api.store.session() as s:
        auth.revoke_token(s, row.id, actor="test")
    body = assert_problem(api.client.get("/api/v1/me", headers=bearer(token)), 401, "unauthenticated")
    assert "revoked" in body["detail"]
    assert api.get("/api/v1/me", as_="clerk").status_code == 200  # the user's other token still works
    assert api.client.get("/health").json() == {"status": "ok", "schema": db.head_revision()}  # no auth


def test_roles(api: Api):
    b = api.batch(as_="admin")
    upload = files_part(("0002.jpg", JPG2, "image/jpeg"))
    for role in ("reviewer", "supervisor", "exporter"):
        body = assert_problem(api.post(f"/api/v1/batches/{b['id']}/files", as_=role, files=upload), 403, "forbidden")
        assert role in body["detail"] and "clerk or admin" in body["detail"]
        assert_problem(api.post("/api/v1/batches", as_=role, json={"name": f"by {role}"}), 403, "forbidden")
    assert api.blob_files() == []
    assert api.post(f"/api/v1/batches/{b['id']}/files", as_="clerk", files=upload).status_code == 201
    for role in ("clerk", "exporter"):
        assert_problem(api.get("/api/v1/review", as_=role), 403, "forbidden")
    assert_problem(api.get(f"/api/v1/batches/{b['id']}/sheets", as_="clerk"), 403, "forbidden")
    for role in auth.ROLES:  # everybody reads batches and their status
        assert api.get("/api/v1/batches", as_=role).status_code == 200
        assert api.get(f"/api/v1/batches/{b['id']}", as_=role).status_code == 200
    for role in ("reviewer", "supervisor", "admin"):
        assert api.get("/api/v1/review", as_=role).status_code == 200
    assert_problem(api.get("/api/v1/exports", as_="clerk"), 403, "forbidden")
    for role in ("clerk", "reviewer"):
        body = assert_problem(api.post("/api/v1/exports", as_=role, json={"template": "dc01", "format": "csv"}), 403,
                              "forbidden")
        assert "export records" in body["detail"]
    assert api.get("/api/v1/exports", as_="exporter").json() == {"items": [], "next": None}
    assert_problem(api.post("/api/v1/exports", as_="admin", json={"format": "csv"}), 422, "invalid_request")


def test_validation_and_unexpected_errors_are_problems(api: Api, monkeypatch, caplog):
    body = assert_problem(api.post("/api/v1/batches", as_="clerk", json={"name": "b", "expected_sheets": "many",
                                                                         "colour": "red"}), 422, "invalid_request")
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "expected_sheets"), ("body", "colour")}
    assert "body.expected_sheets" in body["detail"]
    assert_problem(api.client.delete("/api/v1/batches", headers=bearer(api.tokens["admin"])), 405,
                   "method_not_allowed")

    def boom(*a, **k):
        raise RuntimeError("NGUYỄN VĂN A 036190001234")  # personal data in an exception message

    monkeypatch.setattr(repo, "list_batches", boom)
    with caplog.at_level(logging.ERROR, logger="ocr_service.api"):
        body = assert_problem(api.get("/api/v1/batches"), 500, "internal_error")
    assert "NGUYỄN" not in str(body) and "RuntimeError" not in str(body)
    assert body["error_id"] in body["detail"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert body["error_id"] in logged and "RuntimeError" in logged and "NGUYỄN" not in logged


def test_store_errors_are_503_without_internals(api: Api, monkeypatch):
    from ocr_service.errors import StoreError

    def down(*a, **k):
        raise StoreError("database postgresql://ocr@db.internal/ocr: connection refused")

    monkeypatch.setattr(repo, "list_batches", down)
    body = assert_problem(api.get("/api/v1/batches"), 503, "store_unavailable")
    assert "db.internal" not in body["detail"] and body["error_id"] in body["detail"]


def test_an_outdated_schema_is_refused_at_start(settings):
    store = open_store(settings.database, settings.data_dir, create=True)
    try:
        db.stamp(store.engine, "base")
        with pytest.raises(SchemaOutdatedError, match="db upgrade"):
            create_app(settings, store)
    finally:
        store.close()
    with pytest.raises(SchemaOutdatedError):
        create_app(settings)


def test_openapi_lists_the_routes(api: Api):
    doc = api.client.get("/api/openapi.json").json()
    paths = doc["paths"]
    for path, method in [("/health", "get"), ("/api/v1/batches", "get"), ("/api/v1/batches", "post"),
                         ("/api/v1/batches/{batch_id}", "get"), ("/api/v1/batches/{batch_id}/files", "post"),
                         ("/api/v1/batches/{batch_id}/files", "get"), ("/api/v1/files/{file_id}/pages", "get"),
                         ("/api/v1/pages/{page_id}/image", "get"), ("/api/v1/batches/{batch_id}/sheets", "get"),
                         ("/api/v1/sheets/{sheet_id}", "get"), ("/api/v1/fields/{field_id}", "get"),
                         ("/api/v1/review", "get"), ("/api/v1/batches/{batch_id}/jobs", "get"),
                         ("/api/v1/exports", "post")]:
        assert method in paths[path], (path, method)
    upload = paths["/api/v1/batches/{batch_id}/files"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"] and "207" in upload["responses"]
    assert "Problem" in doc["components"]["schemas"] and "token" in doc["components"]["securitySchemes"]
    assert api.client.get("/api/docs").status_code == 404 and api.client.get("/docs").status_code == 404  # no CDN UI


def test_json_bodies_are_small_uploads_are_not(api: Api):
    body = assert_problem(api.post("/api/v1/batches", as_="clerk", json={"name": "x" * 2_000_000}), 413, "too_large")
    assert "over" in body["detail"]

    def chunked():  # no Content-Length: refused when it crosses the limit
        yield b'{"name": "'
        yield from (b"x" * 100_000 for _ in range(15))
        yield b'"}'

    assert_problem(api.post("/api/v1/batches", as_="clerk", content=chunked(),
                            headers={"Content-Type": "application/json"}), 413, "too_large")
    b = api.batch()
    res = api.post(f"/api/v1/batches/{b['id']}/files", as_="clerk",
                   files=files_part(("a.jpg", JPG2, "image/jpeg"), ("b.jpg", JPG3, "image/jpeg"),
                                    ("c.jpg", JPG5, "image/jpeg"), ("d.pdf", TRUNCATED, "application/pdf")))
    assert res.status_code == 201 and res.json()["accepted"] == 4  # a 1 MB request of files under the file limit


def test_an_upload_names_the_rescan_page_it_replaces(api: Api):
    b = api.batch()
    url = f"/api/v1/batches/{b['id']}/files"
    body = assert_problem(api.post(url + "?replaces=999", as_="clerk", files=files_part(("r.jpg", JPG2, "image/jpeg"))),
                          404, "not_found")
    assert "page 999" in body["detail"]
    assert api.get(url, as_="clerk").json()["items"] == []  # nothing stored
