"""The durable store: database models and migrations, the blob store, and the repository functions
the service uses. Plain service code: no web framework, no CLI, no settings (it is given a database
URL and directories). See docs/store.md."""

from ocr_service.service.store.blobs import BlobInfo, BlobStore
from ocr_service.service.store.db import check_schema, head_revision, make_engine, upgrade
from ocr_service.service.store.store import Store, open_store

__all__ = ["BlobInfo", "BlobStore", "Store", "check_schema", "head_revision", "make_engine", "open_store",
           "upgrade"]
