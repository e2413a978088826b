"""One export run: the records a filter selects, through the template's mapping, into one file of
one format, with a manifest; and a rerun that rebuilds a past export's file byte for byte.

- **Incremental**: by default only sheets no finished export included complete before
  (``export_sheets``); ``include_exported`` takes those too.
- **Verified only** by default: sheets whose every field is auto-accepted or verified;
  ``include_pending`` takes every sheet and appends the status columns.
- **Held, not lost**: a record the mapping cannot export faithfully (no code in the named list, an
  ambiguous post-2025 conversion, …) is left out and listed with the reason in ``FILE.held.csv``;
  it is not marked exported, so a later export takes it once it is fixed.
- **Streaming**: sheets are read ``CHUNK`` at a time, every writer streams, and the sheets written
  are recorded per chunk; memory does not grow with the record count.
- **Nothing complete-looking until complete**: the file is written under a temporary name
  (``.NAME.part-ID``), fsynced, validated (XML against the XSD), the export recorded, and only then
  renamed. An export killed mid-way leaves only the ``.part`` file and an export row still
  ``running`` whose process is gone (shown as interrupted); its sheets count as not exported.
- **Reproducible**: the exported rows go to a snapshot blob (gzip JSON lines) and the layout into
  the manifest, so ``rerun`` writes the same bytes whatever changed since (values, mapping file,
  code lists); the writers embed no clock but the export's own creation time.
"""

from __future__ import annotations

import contextlib
import csv as _csv
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ocr_service.errors import ConflictError, InvalidRequestError, MappingError, NotFoundError, StoreError
from ocr_service.forms import loader
from ocr_service.service.export import formats
from ocr_service.service.export.mapping import FORMATS, Layout, Mapping, load_mapping
from ocr_service.service.export.transform import Held, Record, apply_rows, final_value
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import EXPORT_DONE, EXPORT_FAILED, EXPORT_RUNNING, FIELD_AUTO, FIELD_VERIFIED, utcnow
from ocr_service.service.store.store import Store
from ocr_service.settings import Settings

CHUNK = 500
# Test hook (not a setting): seconds of sleep after each chunk, so a test can kill an export mid-way.
DELAY_ENV = "OCR_TEST_EXPORT_DELAY"
HELD_HEADERS = ["sheet_id", "batch", "file", "page_no", "reason"]


@dataclass(frozen=True)
class ExportRequest:
    """What to export. ``template``: NAME or NAME@VERSION; ``batches``: names (none: all)."""

    template: str
    format: str
    batches: tuple[str, ...] = ()
    since: dt.datetime | None = None
    include_exported: bool = False
    include_pending: bool = False

    def filter(self) -> dict:
        return {"batches": list(self.batches), "since": self.since.isoformat() if self.since else None,
                "all": self.include_exported, "pending": self.include_pending}


@dataclass
class Prepared:
    """An export row created and its mapping loaded: what :func:`execute` runs."""

    export_id: int
    request: ExportRequest
    mapping: Mapping
    template_ref: str
    template_id: int
    batch_ids: list[int]
    created_at: dt.datetime


@dataclass
class ExportResult:
    export_id: int
    path: Path
    manifest_path: Path
    manifest: dict
    held_path: Path | None = None
    matches: bool | None = None  # a rerun: whether the bytes equal the original's
    extra: dict = field(default_factory=dict)


def parse_since(text: str | None) -> dt.datetime | None:
    """``YYYY-MM-DD`` or an ISO date-time (UTC if no zone) → an aware datetime; None for None/''."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(f"--since takes a date (YYYY-MM-DD) or an ISO date-time, not {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def owner_id() -> str:
    from ocr_service.service.jobs.work import owner_id as job_owner

    return job_owner("export")


def interrupted(row) -> bool:
    """An export still marked running whose process is gone (killed, or the server restarted)."""
    from ocr_service.service.jobs.work import owner_gone

    return row.status == EXPORT_RUNNING and owner_gone(row.owner)


def prepare(store: Store, settings: Settings, req: ExportRequest, *, actor: str, source: str,
            owner: str | None = None) -> Prepared:
    """Check the request and the mapping (MappingError names the file and line), then create the
    export row. ConflictError if another export of the template is running."""
    if req.format not in FORMATS:
        raise InvalidRequestError(f"unknown format {req.format!r} (csv, xlsx, jsonl or xml)")
    template = loader.load(req.template, settings.templates_dir)
    mapping = load_mapping(template, pending=req.include_pending)
    if req.format == "xml" and not mapping.xml:
        raise InvalidRequestError(f"the mapping {mapping.path} has no xml section: it cannot export XML")
    if req.format == "xml" and mapping.xml_problems:
        raise MappingError(mapping.xml_problems[0], file=mapping.path)
    now = utcnow().replace(microsecond=0)
    with store.session() as s:
        tpl = repo.template_for(s, template.id)
        batch_ids = [repo.get_batch(s, b).id for b in req.batches]
        for other in repo.running_exports(s, tpl.id):
            if not interrupted(other):
                raise ConflictError(f"export {other.id} of {template.id} is still running: wait for it to finish")
        row = repo.create_export(s, filter=req.filter(), template=template.id, format=req.format,
                                 mapping_version=mapping.version, mapping_sha256=mapping.sha256, created_by=actor,
                                 owner=owner or owner_id(), now=now)
        repo.add_audit(s, actor=actor, action="export.start", entity_type="export", entity_id=row.id,
                       new={"filter": row.filter, "format": req.format, "template": template.id}, source=source)
        export_id, template_id = row.id, tpl.id
    return Prepared(export_id, req, mapping, template.id, template_id, batch_ids, now)


def file_name(export_id: int, template_ref: str, fmt: str) -> str:
    """The default name of an export's file (the API's and the page's)."""
    return f"export-{export_id}-{template_ref.replace('@', '-')}{formats.SUFFIX[fmt]}"


def _note(export_id: int, template: str, version: str | None) -> str:
    return f"ocr-service export {export_id}: {template}, mapping version {version or '?'}"


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _digest(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _part(path: Path, export_id: int) -> Path:
    return path.with_name(f".{path.name}.part-{export_id}")


def _records(chunk, origins: dict, batches: dict) -> list[Record]:
    out = []
    for sheet, fields in chunk:
        o = origins.get(sheet.id, {})
        b = batches[sheet.batch_id]
        meta = {"sheet_id": sheet.id, "page_id": o.get("page_id"), "page_no": o.get("page_no"), "file": o.get("file"),
                "batch": b.name, "commune": b.commune, "village": b.village, "officer": b.officer, "box": b.box_label,
                "sheet_status": sheet.status}
        out.append(Record(sheet.id, sheet.status,
                          {f.name: final_value(f.value, f.verified_value, f.status) for f in fields},
                          {f.name: f.status for f in fields}, meta))
    return out


def execute(store: Store, p: Prepared, out: Path, *,
            on_progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """Run a prepared export into ``out`` (its manifest beside it: ``OUT.manifest.json``; the held
    records, if any, in ``OUT.held.csv``). On any error the export is marked failed, the partial
    files removed, and the error raised."""
    out = Path(out)
    tmp, held_tmp = _part(out, p.export_id), _part(out.with_name(out.name + ".held.csv"), p.export_id)
    snap_dir = store.blobs.root / ".tmp"
    snap_tmp = snap_dir / f"export-{p.export_id}.jsonl.gz"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        snap_dir.mkdir(parents=True, exist_ok=True)
        return _execute(store, p, out, tmp, held_tmp, snap_tmp, on_progress)
    except BaseException as exc:
        for path in (tmp, held_tmp, snap_tmp, tmp.with_name(tmp.name + ".body")):
            with contextlib.suppress(OSError):
                path.unlink()
        if not isinstance(exc, (KeyboardInterrupt, SystemExit)):
            with contextlib.suppress(Exception), store.session() as s:
                row = repo.get_export(s, p.export_id)
                row.status, row.error, row.finished_at = EXPORT_FAILED, str(getattr(exc, "message", exc))[:2000], utcnow()
        raise


def _execute(store, p: Prepared, out: Path, tmp: Path, held_tmp: Path, snap_tmp: Path, on_progress) -> ExportResult:
    req, m = p.request, p.mapping
    layout = m.layout()
    info = {"export_id": p.export_id, "created_at": p.created_at, "note": _note(p.export_id, p.template_ref, m.version)}
    filters = dict(template_id=p.template_id, batch_ids=p.batch_ids, since=req.since,
                   include_exported=req.include_exported, include_pending=req.include_pending)
    with store.session(write=False) as s:
        total = repo.count_export_candidates(s, **filters)
    delay = float(os.environ.get(DELAY_ENV) or 0)
    writer = formats.open_writer(req.format, tmp, layout, info)
    held_file = held_writer = None
    snap_raw = open(snap_tmp, "wb")
    snap = gzip.GzipFile(fileobj=snap_raw, mode="wb", mtime=0)
    snap_text = io.TextIOWrapper(snap, encoding="utf-8", newline="\n")
    exported = held = processed = lines = 0  # sheets exported, held, read; data rows written
    after = 0
    batches: dict = {}
    try:
        while True:
            with store.session(write=False) as s:
                chunk = repo.export_candidates(s, **filters, after_id=after, limit=CHUNK)
                if not chunk:
                    break
                for bid in {sh.batch_id for sh, _ in chunk} - set(batches):
                    batches[bid] = repo.get_batch(s, bid)
                    s.expunge(batches[bid])
                records = _records(chunk, repo.sheet_origins(s, [sh.id for sh, _ in chunk]), batches)
            complete, pending = [], []
            for rec in records:
                row = apply_rows(m, rec)
                if isinstance(row, Held):
                    if held_writer is None:
                        held_file = open(held_tmp, "w", encoding="utf-8-sig", newline="")
                        held_writer = _csv.writer(held_file, quoting=_csv.QUOTE_ALL, lineterminator="\r\n")
                        held_writer.writerow(HELD_HEADERS)
                    held_writer.writerow([rec.sheet_id, rec.meta.get("batch") or "", rec.meta.get("file") or "",
                                          rec.meta.get("page_no") or "", row.reason])
                    held += 1
                    continue
                for line in row:  # one row, or one per table entry (rows: GROUP)
                    writer.write(line)
                    snap_text.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
                lines += len(row)
                done = rec.status in (FIELD_AUTO, FIELD_VERIFIED) and all(
                    st in (FIELD_AUTO, FIELD_VERIFIED) for st in rec.statuses.values())
                (complete if done else pending).append(rec.sheet_id)
                exported += 1
            processed += len(records)
            after = chunk[-1][0].id
            with store.session() as s:
                repo.add_export_sheets(s, p.export_id, complete, complete=True)
                repo.add_export_sheets(s, p.export_id, pending, complete=False)
                row_ = repo.get_export(s, p.export_id)
                row_.processed, row_.record_count, row_.held_count = processed, exported, held
            if on_progress:
                on_progress(processed, total)
            if delay:
                time.sleep(delay)
    finally:
        try:
            writer.close()
        finally:
            snap_text.close()
            snap_raw.close()
            if held_file is not None:
                held_file.close()
    if req.format == "xml":
        from ocr_service.service.export.formats import xml as xml_format

        xml_format.validate(tmp)
    _fsync(tmp)
    sha, size = _digest(tmp)
    with open(snap_tmp, "rb") as f:
        snapshot = store.blobs.put(f)
    snap_tmp.unlink()
    files = [{"name": out.name, "sha256": sha, "size": size, "role": "data"}]
    held_path = out.with_name(out.name + ".held.csv") if held else None
    if held_path is not None:
        _fsync(held_tmp)
        hsha, hsize = _digest(held_tmp)
        files.append({"name": held_path.name, "sha256": hsha, "size": hsize, "role": "held"})
    finished = utcnow()
    with store.session() as s:
        row = repo.get_export(s, p.export_id)
        manifest = {
            "export_id": p.export_id, "template": p.template_ref, "format": req.format, "filter": req.filter(),
            "mapping": {"file": Path(m.path).name, "version": m.version, "sha256": m.sha256,
                        "admin_units": m.admin_units, "date_format": m.date_format},
            "code_lists": {i: c for i, c in zip(layout.ids, layout.code_lists) if c},
            "record_count": exported, "held_count": held, "rows": m.group.name if m.group else None,
            "row_count": lines, "files": files, "snapshot_sha256": snapshot.sha256,
            "created_by": row.created_by, "created_at": p.created_at.isoformat(),
            "finished_at": finished.isoformat(), "layout": layout.to_json(), "note": info["note"]}
        row.status, row.finished_at, row.record_count, row.held_count = EXPORT_DONE, finished, exported, held
        row.files, row.manifest, row.snapshot_sha256, row.processed = files, manifest, snapshot.sha256, processed
        repo.add_audit(s, actor=row.created_by or "?", action="export.done", entity_type="export", entity_id=row.id,
                       new={"record_count": exported, "row_count": lines, "held_count": held, "sha256": sha},
                       source="export")
    manifest_path = out.with_name(out.name + ".manifest.json")
    man_tmp = _part(manifest_path, p.export_id)
    man_tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _fsync(man_tmp)
    os.replace(tmp, out)
    if held_path is not None:
        os.replace(held_tmp, held_path)
    os.replace(man_tmp, manifest_path)
    _fsync_dir(out.parent)
    return ExportResult(p.export_id, out, manifest_path, manifest, held_path)


def rerun(store: Store, export_id: int, out: Path, *, actor: str, source: str) -> ExportResult:
    """Rebuild the file of finished export ``export_id`` into ``out`` from its snapshot and recorded
    layout: the same bytes (``matches`` says whether the sha256 equals the manifest's). Nothing
    is marked exported again."""
    out = Path(out)
    with store.session(write=False) as s:
        row = repo.get_export(s, export_id)
        if row.status != EXPORT_DONE or not row.snapshot_sha256 or not row.manifest.get("layout"):
            raise ConflictError(f"export {export_id} is {row.status}" + ("" if row.status != EXPORT_DONE else
                                ", recorded before reruns were possible") + ": it cannot be rerun")
        manifest, fmt, snapshot = dict(row.manifest), row.format, row.snapshot_sha256
    if not store.blobs.exists(snapshot):
        raise StoreError(f"the snapshot of export {export_id} ({snapshot}) is missing from the blob store")
    layout = Layout.from_json(manifest["layout"])
    info = {"export_id": export_id, "created_at": dt.datetime.fromisoformat(manifest["created_at"]),
            "note": manifest.get("note", "")}
    tmp = _part(out, export_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        writer = formats.open_writer(fmt, tmp, layout, info)
        try:
            with store.blobs.open(snapshot) as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
                for line in lines:
                    writer.write(json.loads(line))
        finally:
            writer.close()
        if fmt == "xml":
            from ocr_service.service.export.formats import xml as xml_format

            xml_format.validate(tmp)
        _fsync(tmp)
        sha, size = _digest(tmp)
        os.replace(tmp, out)
        _fsync_dir(out.parent)
    except BaseException:
        for path in (tmp, tmp.with_name(tmp.name + ".body")):
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    data = next(f for f in manifest["files"] if f.get("role", "data") == "data")
    with store.session() as s:
        repo.add_audit(s, actor=actor, action="export.rerun", entity_type="export", entity_id=export_id,
                       new={"sha256": sha, "matches": sha == data["sha256"]}, source=source)
    return ExportResult(export_id, out, out.with_name(out.name + ".manifest.json"), manifest,
                        matches=sha == data["sha256"], extra={"sha256": sha, "size": size})


def export_dir(settings: Settings, export_id: int) -> Path:
    """Where the service keeps the files of an export it ran (API, page)."""
    return Path(settings.data_dir) / "exports" / str(export_id)


def stored_file(store: Store, settings: Settings, export_id: int, index: int, *, actor: str) -> tuple[Path, dict, str]:
    """The file ``index`` of an export, by id (never by path): the service's copy if it is there
    and intact, else (the data file) rebuilt from the snapshot into the export's directory.
    Returns (path, file entry, format)."""
    with store.session(write=False) as s:
        row = repo.get_export(s, export_id)
        if row.status != EXPORT_DONE:
            raise ConflictError(f"export {export_id} is {row.status}: it has no files yet")
        files, fmt = list(row.files), row.format
    if not 0 <= index < len(files):
        raise NotFoundError(f"export {export_id} has no file {index}")
    entry = files[index]
    path = export_dir(settings, export_id) / Path(entry["name"]).name
    if path.is_file() and _digest(path)[0] == entry["sha256"]:
        return path, entry, fmt
    if entry.get("role", "data") != "data":
        raise NotFoundError(f"the held list of export {export_id} is not on this server (it was written by the CLI "
                            f"beside its output, as {entry['name']})")
    got = rerun(store, export_id, path, actor=actor, source="api")
    if not got.matches:
        raise StoreError(f"export {export_id}: the rebuilt file differs from the recorded one")
    return path, entry, fmt


def describe(row) -> dict:
    """An export row as the API and the page show it (``status`` is ``interrupted`` for a running
    export whose process is gone). Files are named by index, never by path. ``record_count``
    counts sheets; ``row_count`` the data file's rows, one per table entry with a ``rows: GROUP``
    mapping (``rows`` names the group; None without), known once the export is done (None for
    an export recorded before the manifest counted rows)."""
    status = "interrupted" if interrupted(row) else row.status
    manifest = row.manifest or {}
    return {"id": row.id, "status": status, "format": row.format, "template": row.manifest.get("template"),
            "filter": row.filter, "mapping_version": row.mapping_version, "record_count": row.record_count,
            "held_count": row.held_count, "rows": manifest.get("rows"),
            "row_count": manifest.get("row_count"),
            "processed": row.processed,
            "files": [{"index": i, "name": f["name"], "sha256": f["sha256"], "size": f["size"],
                       "role": f.get("role", "data")} for i, f in enumerate(row.files or [])],
            "created_by": row.created_by, "created_at": row.created_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None, "error": row.error,
            "manifest": row.manifest or None}
