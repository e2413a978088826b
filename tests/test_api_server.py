"""The API for real: `ocr-service serve` as a subprocess on a free 127.0.0.1 port (an upload cut off
mid-stream leaves nothing), and the batch + upload + status path on PostgreSQL."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from serve_helpers import running_serve, wait_until
from api_fixtures import SAMPLES, TestClient, bearer, fast_hashing, files_part, make_tokens  # noqa: F401
from store_fixtures import pg_cluster  # noqa: F401

from ocr_service.service.api import create_app
from ocr_service.service.store import open_store, upgrade
from ocr_service.settings import Settings

JPG2 = (SAMPLES / "dc01" / "0002.jpg").read_bytes()
JPG3 = (SAMPLES / "dc01" / "0003.jpg").read_bytes()


@pytest.fixture
def server(tmp_path, fast_hashing):
    data = tmp_path / "data"
    store = open_store(None, data, create=True)
    tokens = make_tokens(store)
    store.close()
    with running_serve(tmp_path, data, OCR_SERVICE_MAX_FILE_BYTES="400000", OCR_SERVICE_ENGINES="fake",
                       OCR_SERVICE_WORKERS="1") as url:
        yield url, tokens, data, tmp_path / "server.log"


def test_serve_answers_and_a_cut_off_upload_leaves_nothing(server):
    url, tokens, data, log = server
    health = httpx.get(url + "/health").json()
    assert health["status"] == "ok" and health["schema"]
    assert httpx.get(url + "/api/v1/batches").status_code == 401
    me = httpx.get(url + "/api/v1/me", headers=bearer(tokens["clerk"]))
    assert me.status_code == 200 and me.json()["role"] == "clerk"
    batch = httpx.post(url + "/api/v1/batches", headers=bearer(tokens["clerk"]), json={"name": "hộp 1"}).json()
    assert "serving the API at http://127.0.0.1:" in log.read_text() and "Bearer" in log.read_text()

    # one complete file, then a second one cut off: its Content-Length promises more than is sent
    boundary = "----cutoff"
    def part(name: str, data: bytes) -> bytes:
        return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
                f"Content-Type: image/jpeg\r\n\r\n").encode() + data + b"\r\n"
    full = part("whole.jpg", JPG2) + part("cut.jpg", JPG3) + f"--{boundary}--\r\n".encode()
    sent = part("whole.jpg", JPG2) + part("cut.jpg", JPG3)[:150_000]
    head = (f"POST /api/v1/batches/{batch['id']}/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {tokens['clerk']}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(full)}\r\n\r\n").encode()
    tmp = data / "blobs" / ".tmp"
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head + sent)
        # the server is writing the second file's bytes into a temporary blob, waiting for the rest
        wait_until(lambda: tmp.is_dir() and any(tmp.iterdir()), 30, "the cut file's temporary blob")
    # connection closed mid-file: the temporary blob goes, no row is written for it
    wait_until(lambda: not any(tmp.iterdir()), 30, "the temporary blob to be removed")
    time.sleep(0.2)
    files = httpx.get(url + f"/api/v1/batches/{batch['id']}/files", headers=bearer(tokens["admin"])).json()["items"]
    assert [f["original_name"] for f in files] == ["whole.jpg"]
    blobs = [p for p in (data / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1 and blobs[0].read_bytes() == JPG2
    def status():
        return httpx.get(url + f"/api/v1/batches/{batch['id']}/status", headers=bearer(tokens["reviewer"])).json()

    # serve runs a local worker pool beside the API: the whole file is split and its page read
    wait_until(lambda: status()["jobs"]["done"] == 2, 120, "the file and page jobs to be done by serve's pool")
    got = status()
    assert got["files"] == 1 and got["pages"] == 1 and sum(got["sheets"].values()) == 1
    assert "NGUY" not in log.read_text() and "cut.jpg" not in log.read_text()  # no file names in the log


def test_batch_upload_and_status_on_postgresql(pg_cluster, tmp_path, fast_hashing):  # noqa: F811
    url = pg_cluster.create_database()
    upgrade(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, max_file_bytes=400_000)
    store = open_store(settings.database, settings.data_dir)
    try:
        tokens = make_tokens(store)
        client = TestClient(create_app(settings, store))
        batch = client.post("/api/v1/batches", headers=bearer(tokens["clerk"]),
                            json={"commune": "Xã Hải Bắc", "box_label": "hộp 12", "expected_sheets": 40,
                                  "template": "dc01@tt66-2015"}).json()
        assert batch["name"] == "Xã Hải Bắc / hộp 12"
        res = client.post(f"/api/v1/batches/{batch['id']}/files", headers=bearer(tokens["clerk"]),
                          files=files_part(("a.jpg", JPG2, "image/jpeg"), ("b.jpg", JPG3, "image/jpeg"),
                                           ("a-again.jpg", JPG2, "image/jpeg"),
                                           ("../x.jpg", JPG2, "image/jpeg")))
        assert res.status_code == 207, res.text
        assert [r["status"] for r in res.json()["items"]] == ["created", "created", "duplicate", "refused"]
        got = client.get(f"/api/v1/batches/{batch['id']}", headers=bearer(tokens["exporter"])).json()
        assert got["status"]["files"] == 2 and got["status"]["jobs"] == {"queued": 2, "running": 0, "done": 0,
                                                                        "failed": 0}
        assert client.get("/health").json()["status"] == "ok"
    finally:
        store.close()
