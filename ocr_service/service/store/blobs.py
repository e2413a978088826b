"""A content-addressed blob store on disk: ``<root>/ab/cdef…`` (the sha256 of the bytes).

A blob is written to a temporary file under ``<root>/.tmp`` (same filesystem), fsynced, and renamed
into place atomically; its directory is fsynced too. Once there it is never modified or deleted by
processing. Blobs are read by hash only, never by a user-supplied path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from ocr_service.errors import InputFileError, NotFoundError, StoreError

CHUNK = 1 << 20
HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int
    created: bool  # False: the same bytes were already stored


def _chunks(data: bytes | BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        yield bytes(data)
    elif hasattr(data, "read"):
        while chunk := data.read(CHUNK):
            yield chunk
    else:
        yield from data


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    def __init__(self, root: str | Path, *, max_bytes: int | None = None):
        self.root = Path(root)
        self.max_bytes = max_bytes

    def _check(self, sha256: str) -> str:
        if not isinstance(sha256, str) or not HEX64.fullmatch(sha256):
            raise NotFoundError(f"not a blob id (64 lowercase hex digits): {str(sha256)[:80]!r}")
        return sha256

    def path(self, sha256: str) -> Path:
        """Where the blob with this hash lives (for the pipeline to read; the hash is validated)."""
        h = self._check(sha256)
        return self.root / h[:2] / h[2:]

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, data: bytes | BinaryIO | Iterable[bytes], *, max_bytes: int | None = None) -> BlobInfo:
        """Store ``data`` (bytes, a binary file object or an iterator of chunks), streaming. Over
        ``max_bytes`` → InputFileError and nothing left behind; a full or read-only disk → StoreError."""
        limit = max_bytes if max_bytes is not None else self.max_bytes
        tmp_dir = self.root / ".tmp"
        tmp_path: str | None = None
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_path = tempfile.mkstemp(dir=tmp_dir, prefix="blob-")
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(data):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise InputFileError(f"file is larger than the limit of {limit} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            h = digest.hexdigest()
            final = self.root / h[:2] / h[2:]
            if final.is_file():
                return BlobInfo(h, size, created=False)  # same bytes already there: never rewritten
            final.parent.mkdir(exist_ok=True)
            os.replace(tmp_path, final)
            tmp_path = None
            _fsync_dir(final.parent)
            return BlobInfo(h, size, created=True)
        except OSError as exc:
            raise StoreError(f"blob store {self.root}: cannot write: {exc.strerror or exc}") from exc
        finally:
            if tmp_path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_path)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self.path(sha256), "rb")
        except FileNotFoundError:
            raise NotFoundError(f"no blob {sha256}") from None
        except OSError as exc:
            raise StoreError(f"blob store {self.root}: cannot read {sha256}: {exc.strerror or exc}") from exc

    def read(self, sha256: str, *, verify: bool = False) -> bytes:
        """The blob's bytes; with ``verify``, StoreError if they no longer hash to ``sha256``."""
        with self.open(sha256) as f:
            data = f.read()
        if verify and hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(f"blob store {self.root}: blob {sha256} is corrupt (its content hash differs)")
        return data

