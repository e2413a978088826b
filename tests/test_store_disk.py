"""The blob store, and what happens when the disk under the store fills up (SQLite embedded default)."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess

import pytest
from sqlalchemy import select

from ocr_service.errors import InputFileError, NotFoundError, StoreError
from ocr_service.service.store import BlobStore, open_store, repository as repo
from ocr_service.service.store.models import FieldRow
from store_fixtures import field, result, sha


def leftovers(root) -> list[str]:
    tmp = root / ".tmp"
    return sorted(os.listdir(tmp)) if tmp.exists() else []


def test_blob_write_is_content_addressed_and_never_rewritten(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    data = os.urandom(3 * (1 << 20) + 17)
    h = hashlib.sha256(data).hexdigest()
    info = blobs.put(io.BytesIO(data))  # a file object, read in chunks
    assert (info.sha256, info.size, info.created) == (h, len(data), True)
    path = tmp_path / "blobs" / h[:2] / h[2:]
    assert path.is_file() and blobs.path(h) == path
    mtime = path.stat().st_mtime_ns
    again = blobs.put(iter([data[:10], data[10:]]))  # an iterator of chunks
    assert (again.sha256, again.created) == (h, False) and path.stat().st_mtime_ns == mtime
    assert blobs.read(h, verify=True) == data and blobs.put(b"").size == 0
    assert leftovers(blobs.root) == []


def test_blobs_are_read_by_hash_only(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    for bad in ("../../etc/passwd", "AB" * 32, sha(1)[:63], "/etc/passwd", sha(1) + "/x"):
        with pytest.raises(NotFoundError):
            blobs.open(bad)
    with pytest.raises(NotFoundError, match="no blob"):
        blobs.read(sha(1))


def test_corruption_is_caught_when_reading_with_verify(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    h = blobs.put(b"original bytes").sha256
    blobs.path(h).write_bytes(b"flipped bytes!")
    assert blobs.read(h) == b"flipped bytes!"
    with pytest.raises(StoreError, match="corrupt"):
        blobs.read(h, verify=True)


def test_size_limit_aborts_and_leaves_nothing(tmp_path):
    blobs = BlobStore(tmp_path / "blobs", max_bytes=1000)
    sent = []

    def chunks():
        for i in range(10):
            sent.append(i)
            yield b"x" * 300

    with pytest.raises(InputFileError, match="larger than the limit of 1000 bytes"):
        blobs.put(chunks())
    assert len(sent) == 4  # stopped reading at the chunk that went over
    assert leftovers(blobs.root) == [] and [p.name for p in blobs.root.iterdir()] == [".tmp"]
    assert blobs.put(b"y" * 1000).size == 1000  # at the limit is fine
    with pytest.raises(InputFileError):
        blobs.put(b"z" * 2000, max_bytes=1999)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB tmpfs (needs root / CAP_SYS_ADMIN)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if proc.returncode != 0:
        why = f"cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode}): needs root"
        if os.environ.get("CI") or os.geteuid() == 0:
            pytest.fail(why + "; CI runs as root, so the full-disk test must run there")
        pytest.skip(why + " (a developer's unprivileged run; CI runs it as root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_fails_writes_cleanly_and_keeps_what_was_stored(tiny_disk):
    st = open_store(data_dir=tiny_disk, create=True)
    with st.session() as s:
        b = repo.create_batch(s, "b", expected_sheets=2)
        f = repo.add_file(s, b.id, sha256=st.blobs.put(b"%PDF-1.4 small").sha256, original_name="a.pdf",
                          size_bytes=14).row
        repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(1)}])
        repo.write_result(s, f.id, result(1, fields=[field("full_name", value="TRẦN THỊ MINH CHÂU")]))
    before = None
    with st.session(write=False) as s:
        before = repo.batch_status(s, b.id)

    with pytest.raises(StoreError, match="blob store .*cannot write"):  # a 3 MB upload on a 2 MB disk
        st.blobs.put(iter([os.urandom(1 << 16)] * 48))
    assert leftovers(st.blobs.root) == []

    # fill what is left with results until the database refuses
    big = {"pad": os.urandom(60_000).hex()}
    stored = 0
    with pytest.raises(StoreError, match="full") as e:
        for n in range(2, 200):
            with st.session() as s:
                fn = repo.add_file(s, b.id, sha256=sha(5000 + n), original_name=f"{n}.pdf", size_bytes=1).row
                repo.write_result(s, fn.id, result(1, fields=[dict(field("x"), features=big)]))
            stored += 1
    assert e.value.code == "store_unavailable" and "database" in str(e.value)
    assert stored > 3  # the disk did take some rows first

    with st.session(write=False) as s:  # every row committed before the failure is still there
        after = repo.batch_status(s, b.id)
        assert after["sheets"]["auto_accepted"] == before["sheets"]["auto_accepted"] + stored
        assert after["files"] == before["files"] + stored
        name = s.scalars(select(FieldRow.value).where(FieldRow.name == "full_name")).one()
        assert name == "TRẦN THỊ MINH CHÂU"
    assert st.blobs.read(f.sha256, verify=True) == b"%PDF-1.4 small"
    st.close()
    reopened = open_store(data_dir=tiny_disk)  # and it opens again afterwards
    with reopened.session(write=False) as s:
        assert repo.get_batch(s, "b").expected_sheets == 2
    reopened.close()


def test_a_read_only_database_refuses_writes_with_store_error(tmp_path):
    open_store(data_dir=tmp_path, create=True).close()
    url = f"sqlite:///file:{tmp_path / 'ocr-service.db'}?mode=ro&uri=true"
    st = open_store(url, tmp_path)
    with pytest.raises(StoreError, match="readonly"):
        with st.session() as s:
            repo.create_batch(s, "b")
    with st.session(write=False) as s:
        assert repo.list_batches(s).items == []
    st.close()


def test_an_unreachable_database_is_a_store_error(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreError) as e:
        open_store(f"postgresql+psycopg://u:secret@127.0.0.1:{port}/x?connect_timeout=2", tmp_path)
    assert e.value.exit_code == 7 and f"127.0.0.1:{port}" in str(e.value) and "secret" not in str(e.value)


def test_concurrent_first_runs_migrate_once(tmp_path):
    import threading

    errors = []

    def first_run():
        try:
            open_store(data_dir=tmp_path, create=True).close()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=first_run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
