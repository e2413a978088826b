"""Intake: files into a batch through the blob store, idempotent, refusing bad input with nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocr_service.errors import InputFileError, NotFoundError
from ocr_service.service import intake
from ocr_service.service.store import open_store
from ocr_service.service.store import repository as repo

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
JPG = (SAMPLES / "dc01" / "0000.jpg").read_bytes()
PDF = (SAMPLES / "dc01" / "0001.pdf").read_bytes()


@pytest.fixture
def store(tmp_path):
    st = open_store(None, tmp_path, create=True)
    with st.session() as s:
        repo.create_batch(s, "box-1", expected_sheets=10, template="dc01@tt66-2015", created_by="clerk")
        repo.create_batch(s, "box-2", template="auto", created_by="clerk")
    yield st
    st.close()


def blob_files(st) -> list[Path]:
    return [p for p in st.blobs.root.rglob("*") if p.is_file()]


def test_a_file_is_stored_once_with_its_split_job(store):
    first = intake.receive_file(store, "box-1", "0000.jpg", JPG, actor="clerk", max_bytes=10**8)
    again = intake.receive_file(store, "box-1", "0000.jpg", iter([JPG[:100], JPG[100:]]), actor="clerk",
                                max_bytes=10**8)
    assert not first.duplicate and again.duplicate
    assert (again.file_id, again.job_id, again.sha256) == (first.file_id, first.job_id, first.sha256)
    assert first.media_type == "image/jpeg" and store.blobs.read(first.sha256) == JPG
    other = intake.receive_file(store, "box-2", "copy.jpg", JPG, actor="clerk", max_bytes=10**8)
    assert other.file_id != first.file_id and other.sha256 == first.sha256  # one blob, two batches
    assert len(blob_files(store)) == 1
    with store.session(write=False) as s:
        assert repo.get_job(s, first.job_id).kind == "file"
        assert [e.action for e in repo.list_audit(s, entity_type="file").items] == ["file.received"] * 2


def test_type_comes_from_the_bytes_not_the_name(store):
    got = intake.receive_file(store, "box-1", "looks-like.png", PDF, actor="clerk", max_bytes=10**8)
    assert got.media_type == "application/pdf"
    with pytest.raises(InputFileError, match="not a PDF, TIFF, JPEG or PNG") as err:
        intake.receive_file(store, "box-1", "evil.pdf", b"<html><script>alert(1)</script>", actor="c",
                            max_bytes=10**8)
    assert "evil.pdf" in err.value.message
    with pytest.raises(InputFileError, match="empty file"):
        intake.receive_file(store, "box-1", "empty.pdf", b"", actor="c", max_bytes=10**8)
    assert len(blob_files(store)) == 1


@pytest.mark.parametrize("name, why", [
    ("../../etc/passwd", "directory part"),
    ("/abs/scan.pdf", "directory part"),
    ("a\\b.pdf", "directory part"),
    ("x" * 300 + ".pdf", "longer than 255"),
    (b"scan\xff\xfe.pdf", "not valid UTF-8"),
    ("scan\x00.pdf", "NUL or control"),
    ("..", "only dots"),
    ("...", "only dots"),
    ("", "empty"),
])
def test_hostile_names_are_refused_and_leave_nothing(store, name, why):
    with pytest.raises(InputFileError, match=why):
        intake.receive_file(store, "box-1", name, JPG, actor="clerk", max_bytes=10**8)
    assert blob_files(store) == []
    with store.session(write=False) as s:
        assert repo.batch_status(s, "box-1")["files"] == 0


def test_over_the_limit_and_cut_off_uploads_leave_nothing(store):
    with pytest.raises(InputFileError, match="larger than the limit") as err:
        intake.receive_file(store, "box-1", "big.jpg", JPG, actor="clerk", max_bytes=1000)
    assert err.value.file == "big.jpg"

    def cut_off():
        yield JPG[:5000]
        raise ConnectionResetError("client went away")

    with pytest.raises(InputFileError, match="cut off mid-stream"):
        intake.receive_file(store, "box-1", "half.jpg", cut_off(), actor="clerk", max_bytes=10**8)
    assert blob_files(store) == []
    with store.session(write=False) as s:
        assert repo.batch_status(s, "box-1")["files"] == 0


def test_unknown_batch(store):
    with pytest.raises(NotFoundError):
        intake.receive_file(store, "no-such-box", "0000.jpg", JPG, actor="clerk", max_bytes=10**8)


def test_nfc_names(store):
    nfd = "Nguye\u0302\u0303n.jpg"
    got = intake.receive_file(store, "box-1", nfd, JPG, actor="clerk", max_bytes=10**8)
    assert got.name == "Nguyễn.jpg"
