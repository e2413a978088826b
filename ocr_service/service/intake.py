"""Intake: one uploaded or named file into a batch, the way every front end does it.

The bytes are streamed into the content-addressed blob store (never to a path the user names), the
type is told from the bytes themselves, and the file and its split job are recorded in one
transaction. Re-sending the same bytes to the same batch creates nothing new. A refused file (not an
image or PDF, over the size limit, cut off mid-stream, a hostile name) leaves nothing behind.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

from ocr_service.errors import InputFileError
from ocr_service.service.store import repository as repo
from ocr_service.service.store.store import Store

# Told from the first bytes, never from the name.
MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
MAX_NAME_BYTES = 255
CHUNK = 1 << 20


@dataclass(frozen=True)
class Received:
    """What became of one file: its row, whether it was already in the batch, and its split job."""

    file_id: int
    sha256: str
    size: int
    media_type: str
    duplicate: bool
    job_id: int
    name: str


def check_name(name: str | bytes) -> str:
    """The file name as display text, NFC; InputFileError for names that are paths or hostile:
    directory parts, absolute paths, NUL or control characters, not UTF-8, over 255 bytes, only dots."""
    if isinstance(name, bytes):
        try:
            name = name.decode("utf-8")
        except UnicodeDecodeError:
            raise InputFileError("file name is not valid UTF-8", file=repr(name)[:80]) from None
    shown = repr(name)[:80]
    if not name or not name.strip():
        raise InputFileError("file name is empty", file=shown)
    if any(ch in name for ch in "/\\") or name.startswith("~"):
        raise InputFileError("file name must not contain a directory part", file=shown)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise InputFileError("file name contains NUL or control characters", file=shown)
    if set(name) <= {"."}:
        raise InputFileError("file name is only dots", file=shown)
    name = unicodedata.normalize("NFC", name)
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise InputFileError(f"file name is longer than {MAX_NAME_BYTES} bytes", file=shown)
    return name


def media_type_of(head: bytes) -> str | None:
    """The media type told by a file's first bytes, or None for anything but PDF, PNG, JPEG, TIFF."""
    for magic, media_type in MAGIC:
        if head.startswith(magic):
            return media_type
    return None


def _chunks(data: bytes | BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(data, (bytes, bytearray)):
        yield bytes(data)
    elif hasattr(data, "read"):
        while chunk := data.read(CHUNK):  # type: ignore[union-attr]
            yield chunk
    else:
        yield from data  # type: ignore[misc]


def _guarded(chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    """The chunks; a source that fails mid-stream (the sender went away) becomes InputFileError, so
    the blob store drops what it had written and nothing is mistaken for a store failure."""
    try:
        yield from chunks
    except InputFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the transport raised
        raise InputFileError(f"upload cut off mid-stream ({type(exc).__name__}: {exc})", file=name) from None


def _typed(name: str, chunks: Iterator[bytes]) -> tuple[str, Iterator[bytes]]:
    """The media type from the first bytes, and the whole stream again."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= 8:
            break
    media_type = media_type_of(head)
    if media_type is None:
        reason = "empty file (0 bytes)" if not head else "not a PDF, TIFF, JPEG or PNG file"
        raise InputFileError(reason, file=name)

    def again() -> Iterator[bytes]:
        yield head
        yield from chunks

    return media_type, again()


def receive_file(store: Store, batch: int | str, name: str | bytes, data: bytes | BinaryIO | Iterable[bytes], *,
                 actor: str, max_bytes: int, replaces: int | None = None) -> Received:
    """Put one file into a batch: checked name, bytes to the blob store (at most ``max_bytes``), the
    file row and its split job in one transaction, and an audit event. Idempotent per batch and
    content. ``replaces``: the id of a page waiting for a rescan that this file's first page
    replaces (the old page stays, as history). Raises InputFileError (bad name, type, size, stream
    cut off) naming the file, with nothing stored; NotFoundError for an unknown batch or page;
    ConflictError for a page that is not waiting for a rescan; StoreError when the store refuses."""
    shown = check_name(name)
    with store.session(write=False) as s:
        batch_id = repo.get_batch(s, batch).id
        if replaces is not None:
            repo.rescan_target(s, batch_id, replaces)
    media_type, chunks = _typed(shown, _guarded(_chunks(data), shown))
    try:
        blob = store.blobs.put(chunks, max_bytes=max_bytes)
    except InputFileError as exc:
        raise InputFileError(exc.reason, file=shown) from None
    with store.session() as s:
        added = repo.add_file(s, batch_id, sha256=blob.sha256, original_name=shown, size_bytes=blob.size,
                              media_type=media_type, created_by=actor)
        if replaces is not None and added.created:
            repo.rescan_target(s, batch_id, replaces)  # again, inside the transaction that records it
        job = repo.enqueue_job(s, "file", key=f"file:{added.row.id}", batch_id=batch_id, file_id=added.row.id,
                               payload={"replaces": replaces} if replaces is not None else None)
        if added.created:
            repo.add_audit(s, actor=actor, action="file.received", entity_type="file", entity_id=added.row.id,
                           new={"batch": batch_id, "sha256": blob.sha256, "size": blob.size, "replaces": replaces},
                           source="intake")
        return Received(added.row.id, blob.sha256, blob.size, media_type, not added.created, job.row.id, shown)
