"""The Store: an engine, its sessions and the blob store, opened from a database URL and a data dir."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ocr_service.errors import StoreError
from ocr_service.service.store import db
from ocr_service.service.store.blobs import BlobStore


@dataclass
class Store:
    engine: Engine
    blobs: BlobStore
    url: str
    _read: sessionmaker = field(init=False, repr=False)
    _write: sessionmaker = field(init=False, repr=False)

    def __post_init__(self):
        self._read = db.sessions(self.engine)
        # On SQLite a writing session takes the write lock at BEGIN (BEGIN IMMEDIATE): its reads and
        # writes are one atomic unit, and waiting for the lock uses the busy timeout. Elsewhere the
        # option is ignored.
        self._write = db.sessions(self.engine.execution_options(**{db.IMMEDIATE: True}))

    @contextlib.contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on an exception. Database
        failures (unreachable, locked too long, disk full, read-only) come out as StoreError,
        constraint violations as ConflictError. Use ``write=False`` for read-only work."""
        s: Session = (self._write if write else self._read)()
        try:
            with db.translated(self.url):
                try:
                    yield s
                    s.commit()
                except BaseException:
                    with contextlib.suppress(DBAPIError):
                        s.rollback()
                    raise
        finally:
            with contextlib.suppress(DBAPIError):
                s.close()

    def check(self) -> None:
        db.check_schema(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(url: str | None = None, data_dir: str | Path | None = None, *, blob_dir: str | Path | None = None,
               create: bool = False, check: bool = True, max_blob_bytes: int | None = None) -> Store:
    """Open the store. ``url`` None means the embedded SQLite file ``<data_dir>/ocr-service.db``;
    blobs go to ``blob_dir`` (default ``<data_dir>/blobs``). With ``create``, a database with no
    tables yet is migrated to the current schema; otherwise (``check``) an older schema raises
    SchemaOutdatedError: existing data is only migrated by ``upgrade`` (``ocr-service db upgrade``)."""
    if url is None and data_dir is None:
        raise StoreError("no database: give a database URL or a data directory")
    if blob_dir is None:
        if data_dir is None:
            raise StoreError("no blob directory: give a data directory or a blob directory")
        blob_dir = Path(data_dir) / "blobs"
    url = url or db.default_url(data_dir)
    engine = db.make_engine(url)
    try:
        if create and db.is_empty(engine):
            db.upgrade(engine)
        if check:
            db.check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, BlobStore(blob_dir, max_bytes=max_blob_bytes), url)
