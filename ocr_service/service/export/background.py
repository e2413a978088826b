"""Exports started from the API or the page run in a background thread of the server process, so
a request never waits for (or times out on) a large export: the request creates the export row
(checking the request and the mapping at once) and returns its id; the page and the API show its
progress from the row. The files go to ``<data_dir>/exports/<id>/`` and are served by export id.

They run in the server, not on the OCR workers, because the server serves the files. A server
stopped mid-export leaves the row ``running`` with its process gone: shown as interrupted, its
sheets not counted as exported, nothing complete-looking on disk (see ``run``).
"""

from __future__ import annotations

import logging
import threading

from ocr_service.service.export import run
from ocr_service.service.store.store import Store
from ocr_service.settings import Settings

log = logging.getLogger(__name__)


def start(store: Store, settings: Settings, req: run.ExportRequest, *, actor: str, source: str) -> int:
    """Create the export (errors raised here: a bad request, mapping, batch, or a running export of
    the template) and run it in a daemon thread; returns the export id."""
    prepared = run.prepare(store, settings, req, actor=actor, source=source)
    out = run.export_dir(settings, prepared.export_id) / run.file_name(prepared.export_id, prepared.template_ref,
                                                                        req.format)

    def work() -> None:
        try:
            run.execute(store, prepared, out)
        except Exception:  # noqa: BLE001 - the row records the error; the log has the trace
            log.exception("export %s failed", prepared.export_id)

    threading.Thread(target=work, name=f"export-{prepared.export_id}", daemon=True).start()
    return prepared.export_id
