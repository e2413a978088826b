"""The `ocr-service` command line: templates, samples, extract, calibrate, and the service: ingest, serve,
worker, status, export, db, users, tokens.

Progress bars go to stderr and only on a terminal; JSON goes to stdout.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer

from ocr_service.errors import InvalidRequestError, OcrServiceError

app = typer.Typer(help="Digitize Vietnamese paper forms (DC01 and others).", no_args_is_help=True,
                  pretty_exceptions_enable=False)
templates_app = typer.Typer(help="Inspect and draw form templates.", no_args_is_help=True)
samples_app = typer.Typer(help="Generate synthetic filled sheets with ground truth.", no_args_is_help=True)
db_app = typer.Typer(help="The service's database.", no_args_is_help=True)
fields_app = typer.Typer(help="Read images that each hold one field.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")
app.add_typer(samples_app, name="samples")
app.add_typer(db_app, name="db")
app.add_typer(fields_app, name="fields")


_CONFIG_FILE: list[Path] = []  # set by the --config option before any command runs


@app.callback()
def main(config: Optional[Path] = typer.Option(None, "--config", help="A TOML settings file (see docs/configuration.md).")) -> None:
    _CONFIG_FILE[:] = [config] if config else []


def _settings(**overrides):
    """The settings, read once here at the edge: defaults, config file, environment, then options."""
    from ocr_service import settings

    return settings.load(config_file=_CONFIG_FILE[0] if _CONFIG_FILE else None, overrides=overrides)


def fail(exc: OcrServiceError) -> None:
    """Print the error's message (file, page, field, reason) and exit with its code."""
    typer.echo(f"error: {exc.message}", err=True)
    raise typer.Exit(exc.exit_code)


@contextmanager
def progress(total: int, label: str, enabled: bool | None = None) -> Iterator:
    """A progress bar on stderr when it is a terminal; a no-op otherwise."""
    enabled = sys.stderr.isatty() if enabled is None else enabled
    if not enabled:
        yield lambda n=1, **kw: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  TextColumn("{task.fields[note]}"), console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=total, note="")

        def advance(n: int = 1, note: str = "", total: int | None = None) -> None:
            bar.update(task, advance=n, note=note, total=total)

        yield advance


@templates_app.command("list")
def templates_list() -> None:
    """List the available templates."""
    from ocr_service.forms import loader

    try:
        root = _settings().templates_dir
    except OcrServiceError as exc:
        fail(exc)
    for ref in loader.available(root):
        typer.echo(ref)


@templates_app.command("show")
def templates_show(name: str, as_json: bool = typer.Option(False, "--json", help="Print the normalized template as JSON.")) -> None:
    """Show a template (NAME, NAME@VERSION or a template file)."""
    from ocr_service.forms import loader

    try:
        t = loader.load(name, _settings().templates_dir)
    except OcrServiceError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(t.to_json(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"{t.id}: {t.title}\npage {t.width_mm:g}×{t.height_mm:g} mm, registration by {t.registration.method}, "
               f"{len(t.fields)} fields")
    for f in t.fields:
        extra = f" cells={f.cells}" if f.cells else ""
        typer.echo(f"  {f.name:28} {f.kind:9}{'*' if f.required else ' '} {f.label}{extra}")


@templates_app.command("render")
def templates_render(name: str, out: Path = typer.Option(..., "--out", help="Output .png, .tif or .pdf file."),
                     dpi: int = typer.Option(300, "--dpi"),
                     serial: str = typer.Option("000000000", "--serial", help="Sheet serial printed in the QR code.")) -> None:
    """Draw the template's blank form."""
    from ocr_service.forms import loader, render

    try:
        t = loader.load(name, _settings().templates_dir)
        render.save_image(render.render_blank(t, dpi, serial=serial), out, dpi)
    except OcrServiceError as exc:
        fail(exc)
    typer.echo(f"wrote {out}", err=True)


@templates_app.command("author")
def templates_author(blank: Path = typer.Argument(..., help="The printed blank: a PDF page, or a scan or photo of one sheet."),
                     like: Optional[str] = typer.Option(None, "--like", help="The form whose fields to find (NAME, NAME@VERSION or a file)."),
                     out: Optional[Path] = typer.Option(None, "--out", help="The template file to write (VERSION.yaml)."),
                     version: Optional[str] = typer.Option(None, "--version", help="The new version (default: the file's name)."),
                     overlay: Optional[Path] = typer.Option(None, "--overlay", help="The overlay PNG (default: beside --out)."),
                     recheck: Optional[Path] = typer.Option(None, "--recheck", help="Re-check this (edited) template against BLANK instead."),
                     page: int = typer.Option(1, "--page", help="The blank's page in a PDF.")) -> None:
    """Write a template for a printed blank, finding the --like form's labels on it; or --recheck an edited one."""
    from ocr_service.forms import loader
    from ocr_service.pipeline import authoring

    try:
        settings = _settings()
        if recheck is not None:
            rows = authoring.recheck(recheck, blank, tessdata=settings.tessdata, overlay_path=overlay)
            bad = [r for r in rows if r.problems]
            for r in rows:
                off = "   -  " if r.offset_mm is None else f"{r.offset_mm:5.2f}"
                typer.echo(f"  {r.name:28} {off} mm  {'; '.join(r.problems) or 'ok'}")
            typer.echo(f"{recheck}: {len(rows) - len(bad)} of {len(rows)} fields ok, {len(bad)} to fix", err=True)
            raise typer.Exit(1 if bad else 0)
        if like is None or out is None:
            typer.echo("error: --like and --out are needed to author a template (or --recheck FILE)", err=True)
            raise typer.Exit(2)
        done = authoring.author_template(blank, loader.load(like, settings.templates_dir), out, version=version,
                                         page=page, overlay_path=overlay, tessdata=settings.tessdata)
    except OcrServiceError as exc:
        fail(exc)
    for p in done.placements:
        flag = "DOUBTFUL " if p.doubtful else ""
        typer.echo(f"  {p.name:28} {p.method:15} {p.confidence:.2f} {flag}{'; '.join(p.notes)}")
    typer.echo(f"wrote {done.template_path} ({len(done.placements)} fields from the blank's {done.text_source}) "
               f"and {done.overlay_path}", err=True)
    if done.doubtful:
        typer.echo(f"look at: {', '.join(p.name for p in done.doubtful)}", err=True)


@templates_app.command("check")
def templates_check(name: str, against: List[Path] = typer.Option(..., "--against", help="Filled scans to check the boxes on."),
                    as_json: bool = typer.Option(False, "--json")) -> None:
    """Per field: how often writing runs out of its box or the box cuts it, on real scans."""
    from ocr_service.forms import loader
    from ocr_service.pipeline import template_check
    from ocr_service.pipeline.ingest import expand_inputs

    try:
        settings = _settings()
        t = loader.load(name, settings.templates_dir)
        paths = expand_inputs(against)
    except OcrServiceError as exc:
        fail(exc)
    with progress(len(paths), "checking") as advance:
        report = template_check.check(t, paths, on_file=lambda p: advance(),
                                      max_bytes=settings.max_file_bytes, max_pixels=settings.max_page_pixels)
    for problem in report.unreadable:
        typer.echo(f"{problem}", err=True)
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo(template_check.format_table(report))
    typer.echo(f"{report.pages} pages registered, {len(report.unreadable)} not; "
               f"{len(report.flagged())} fields to nudge", err=True)
    raise typer.Exit(1 if report.flagged() or not report.pages else 0)


@samples_app.command("generate")
def samples_generate(template: str = typer.Option(..., "--template"), n: int = typer.Option(10, "-n"),
                     seed: int = typer.Option(0, "--seed"), out: Path = typer.Option(..., "--out"),
                     style: str = typer.Option("mixed", "--style", help="printed, handwriting or mixed"),
                     formats: str = typer.Option("png,jpg,pdf,tiff", "--formats"),
                     font: Optional[str] = typer.Option(None, "--font", help="Use only this font family."),
                     no_rotate: bool = typer.Option(False, "--no-rotate", help="Keep pages upright."),
                     severity: float = typer.Option(1.0, "--severity", help="Scan degradation, 0 (clean) to 2 (poor)."),
                     file_quality: int = typer.Option(85, "--file-quality", help="JPEG quality of .jpg files and PDF pages."),
                     hands: str = typer.Option("varied", "--hands", help="varied: each handwriting sheet gets a writer "
                                               "of its own (jitter, slant, spacing, pen, overruns, corrections); plain: the fonts as they are."),
                     scan_profile: Optional[str] = typer.Option(None, "--scan-profile", help="flatbed, office, adf-low, "
                                                                "poor, or mixed (one per sheet); default: --severity.")) -> None:
    """Fill the blank with synthetic records and simulate scanning; writes images + ground-truth JSON
    (truth.jsonl records each sheet's hand and scan profile)."""
    from ocr_service.forms import loader
    from ocr_service.synth import fill

    try:
        t = loader.load(template)
        with progress(n, f"generating {t.id}") as advance:
            fill.generate(t, n, seed, out, style=style, formats=tuple(formats.split(",")), rotate=not no_rotate,
                          severity=severity, font_family=font, file_quality=file_quality, hand_mode=hands,
                          scan_profile=scan_profile, on_sheet=lambda i: advance())
    except OcrServiceError as exc:
        fail(exc)
    typer.echo(f"wrote {n} sheets to {out}", err=True)


@app.command("extract")
def extract(files: List[Path] = typer.Argument(..., help="Scans: PDF, TIFF, JPEG, PNG, or folders of them."),
            template: str = typer.Option("auto", "--template", help="NAME, NAME@VERSION, a template file, or auto: each page's own form."),
            as_json: bool = typer.Option(False, "--json", help="JSON lines, one per page, on stdout."),
            workers: Optional[int] = typer.Option(None, "--workers", help="Worker processes (default: the workers setting; 0: one per core)."),
            thresholds: Optional[Path] = typer.Option(None, "--thresholds", help="Calibrated thresholds file."),
            engines: Optional[str] = typer.Option(None, "--engines", help="tesseract, cascade (Tesseract + neural engines) or a YAML file."),
            progress_bar: Optional[bool] = typer.Option(None, "--progress/--no-progress")) -> None:
    """Read sheets statelessly; exit code is non-zero if any file or page failed.

    Page lines are printed as their files finish; the household checks over the whole batch follow
    them (one ``{"household_check": …}`` line each with --json)."""
    from ocr_service.pipeline.batch import process_batch
    from ocr_service.pipeline.build import build_pipeline
    from ocr_service.pipeline.ingest import expand_inputs
    from ocr_service.pipeline.sheet import OK

    try:
        settings = _settings(workers=workers, engines=engines)
        reader = build_pipeline(template, settings.engines, thresholds, settings)
        paths = expand_inputs(files)
    except OcrServiceError as exc:
        fail(exc)
    with progress(len(paths), "extracting", progress_bar) as advance:
        run = process_batch(reader, paths, settings.workers or None,
                            on_progress=lambda p: advance(note=f"{p.pages_failed} failed" if p.pages_failed else ""))
        for r in run:
            if r.status != OK:
                typer.echo(f"{r.file}: page {r.page}: {r.status}: {r.reason}", err=True)
            if as_json:
                typer.echo(json.dumps(r.to_json(), ensure_ascii=False))
            else:
                typer.echo(f"{r.file} p{r.page}: {r.status} residual={r.residual_px and round(r.residual_px, 2)} "
                           f"review={r.needs_review}/{len(r.fields)}")
    for finding in run.findings:
        pages = ", ".join(f"{f} page {p}" for f, p in finding.pages)
        typer.echo(f"household check {finding.rule}: {finding.reason} ({pages}; fields {', '.join(finding.fields)})",
                   err=True)
        if as_json:
            typer.echo(json.dumps(finding.to_json(), ensure_ascii=False))
    typer.echo(f"{run.pages} pages, {run.failed} not read", err=True)
    raise typer.Exit(1 if run.failed else 0)


# -- users, API tokens and the HTTP server (the service) ------------------------------------------

users_app = typer.Typer(help="Users of the service (no self-registration: an admin adds them here).", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (shown once when created, stored hashed, revocable).", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")


def _open_store(settings):
    from ocr_service.service.store import open_store

    return open_store(settings.database or None, settings.data_dir, create=True)


def _cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _read_password() -> str:
    """The new password: one line of standard input when it is not a terminal, else asked twice
    with hidden input. There is never a default."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")


@users_app.command("add")
def users_add(username: str, role: str = typer.Option(..., "--role", help="clerk, reviewer, supervisor, exporter or admin.")) -> None:
    """Add a user; the password is read from standard input (or asked for twice on a terminal)."""
    from ocr_service.service import auth

    try:
        auth.check_username(username)
        auth.check_role(role)
        password = _read_password()
        with _open_store(_settings()) as store, store.session() as s:
            user = auth.add_user(s, username, password, role=role, actor=_cli_actor())
            shown = f"added user {user.username!r} (id {user.id}, role {user.role})"
    except OcrServiceError as exc:
        fail(exc)
    typer.echo(shown, err=True)


@users_app.command("list")
def users_list() -> None:
    """List the users: id, name, role, active, created."""
    from ocr_service.service import auth

    try:
        with _open_store(_settings()) as store, store.session(write=False) as s:
            rows = [(u.id, u.username, u.role, "active" if u.active else "inactive", u.created_at.isoformat())
                    for u in auth.list_users(s)]
    except OcrServiceError as exc:
        fail(exc)
    for row in rows:
        typer.echo("\t".join(map(str, row)))


@tokens_app.command("create")
def tokens_create(username: str, name: str = typer.Option("api", "--name", help="What the token is for.")) -> None:
    """Create an API token for a user and print it once on standard output."""
    from ocr_service.service import auth

    try:
        with _open_store(_settings()) as store, store.session() as s:
            token, row = auth.create_token(s, username, name=name, actor=_cli_actor())
            token_id = row.id
    except OcrServiceError as exc:
        fail(exc)
    typer.echo(token)
    typer.echo(f"token {token_id} for {username!r}: send it as `Authorization: Bearer TOKEN`; it is not shown again "
               f"(revoke it with `ocr-service tokens revoke {token_id}`)", err=True)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke an API token by its id."""
    from ocr_service.service import auth

    try:
        with _open_store(_settings()) as store, store.session() as s:
            auth.revoke_token(s, token_id, actor=_cli_actor())
    except OcrServiceError as exc:
        fail(exc)
    typer.echo(f"revoked token {token_id}", err=True)


@app.command("serve")
def serve(host: Optional[str] = typer.Option(None, "--host", help="Address to listen on (default: the bind_host setting, 127.0.0.1)."),
          port: Optional[int] = typer.Option(None, "--port", help="Port (default: the bind_port setting, 8000).")) -> None:
    """Run the HTTP API (uvicorn) and, with no broker configured, a local pool of job workers beside it."""
    import uvicorn

    from ocr_service.service.api import create_app
    from ocr_service.service.jobs.runner import background_jobs

    try:
        settings = _settings(bind_host=host, bind_port=port)
        api = create_app(settings, lifespan_hooks=[background_jobs])
    except OcrServiceError as exc:
        fail(exc)
    shown = f"[{settings.bind_host}]" if ":" in settings.bind_host else settings.bind_host
    typer.echo(f"serving the API at http://{shown}:{settings.bind_port}/api/v1 (OpenAPI: /api/openapi.json, "
               f"health: /health) and the review station at http://{shown}:{settings.bind_port}/review\nauthenticate with `Authorization: Bearer TOKEN`; make a token with "
               f"`ocr-service tokens create USER` (users: `ocr-service users add USER --role ROLE`)", err=True)
    if settings.bind_host not in ("127.0.0.1", "::1", "localhost"):
        typer.echo("warning: listening beyond this machine; put a TLS-terminating proxy in front", err=True)
    uvicorn.run(api, host=settings.bind_host, port=settings.bind_port, server_header=False, proxy_headers=False,
                log_level="info")


@fields_app.command("read")
def fields_read(images: List[Path] = typer.Argument(..., help="Images (PNG, JPEG, TIFF, PDF), each holding one field."),
                template: str = typer.Option(..., "--template", help="NAME, NAME@VERSION or a template file."),
                field: str = typer.Option(..., "--field", help="The template field the images hold."),
                engines: Optional[str] = typer.Option(None, "--engines", help="tesseract, cascade or a YAML file."),
                thresholds: Optional[Path] = typer.Option(None, "--thresholds", help="Calibrated thresholds file."),
                as_json: bool = typer.Option(False, "--json", help="One JSON line per image on stdout.")) -> None:
    """Read each image as the field, as it is, and decide it as the pipeline would on a sheet."""
    from ocr_service.pipeline.build import build_pipeline
    from ocr_service.pipeline.fields import read_field
    from ocr_service.pipeline.ingest import load_pages

    try:
        settings = _settings(engines=engines)
        pipeline = build_pipeline(template, settings.engines, thresholds, settings)
        pipeline.template.field(field)
    except OcrServiceError as exc:
        fail(exc)
    except KeyError:
        typer.echo(f"error: template {template} has no field {field!r}", err=True)
        raise typer.Exit(2)
    failed = 0
    for path in images:
        try:
            page = next(iter(load_pages(path, max_bytes=settings.max_file_bytes, max_pixels=settings.max_page_pixels)))
            r = read_field(pipeline, page.image, field, int(round(page.dpi)) if page.dpi else 300)
        except OcrServiceError as exc:
            failed += 1
            typer.echo(f"{path}: {exc.message}", err=True)
            if as_json:
                typer.echo(json.dumps({"file": str(path), "field": field, "error": exc.reason}, ensure_ascii=False))
            continue
        line = {"file": str(path), "field": field, "value": r.value, "confidence": round(r.confidence, 4),
                "status": r.status, "reasons": list(r.reasons), "candidates": list(r.candidates)}
        typer.echo(json.dumps(line, ensure_ascii=False) if as_json else
                   f"{path}: {r.status} {r.value!r} ({r.confidence:.3f}) {' '.join(r.reasons)}")
    raise typer.Exit(1 if failed else 0)


@app.command("calibrate")
def calibrate(labelled: Optional[List[Path]] = typer.Argument(None, help="Folders of labelled sheets (truth.jsonl + scans)."),
              template: Optional[str] = typer.Option(None, "--template"),
              target: float = typer.Option(0.005, "--target", help="Highest error rate allowed among auto-accepted fields."),
              out: Optional[Path] = typer.Option(None, "--out", help="Thresholds file (default: beside the template)."),
              engines: Optional[str] = typer.Option(None, "--engines"),
              workers: Optional[int] = typer.Option(None, "--workers"),
              from_reviews: bool = typer.Option(False, "--from-reviews", help="Refit from the service's reviewed and "
                                                "QA-answered fields (their stored evidence) instead of labelled folders."),
              min_fields: int = typer.Option(200, "--min-fields", help="With --from-reviews: refuse with fewer "
                                             "labelled fields than this.")) -> None:
    """Learn per-kind score models and thresholds by grouped cross-validation, from labelled sheets
    (groups: the sheets' hands and scan profiles) or, with --from-reviews, from the reviewers'
    decisions (groups: batches); print what they achieve out of group."""
    from ocr_service import calibration
    from ocr_service.pipeline.build import build_pipeline
    from ocr_service.pipeline.scoring import Thresholds, thresholds_path
    from ocr_service.synth import fonts

    if from_reviews:
        if labelled:
            typer.echo("error: --from-reviews reads the service's store: give no labelled folder", err=True)
            raise typer.Exit(2)
        _calibrate_from_reviews(template, target, out, engines, min_fields)
        return
    if not labelled or not template:
        typer.echo("error: give labelled folders and --template NAME (or --from-reviews)", err=True)
        raise typer.Exit(2)
    try:
        settings = _settings(workers=workers, engines=engines)
        pipeline = build_pipeline(template, settings.engines, Thresholds(), settings)
        n = sum(len(calibration.read_labelled_dir(d)) for d in labelled)
        for d in labelled:  # before reading anything: held-out hands never reach a fit
            calibration.refuse_held_out((calibration.sheet_group(e) for _, e in calibration.read_labelled_entries(d)),
                                        fonts.held_out_families(), str(d))
    except OcrServiceError as exc:
        fail(exc)
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    with progress(n, "calibrating") as advance:
        fields = [f for d in labelled
                  for f in calibration.collect(pipeline, d, settings.workers or None, on_file=lambda p, r: advance())]
    if not fields:
        typer.echo("error: no sheet of the labelled folder could be registered", err=True)
        raise typer.Exit(1)
    try:
        data = calibration.fit(fields, target, held_out=fonts.held_out_families())
    except OcrServiceError as exc:
        fail(exc)
    data["engines"] = pipeline.recognition.name
    data["template"] = pipeline.template.id
    path = out or thresholds_path(pipeline.template, pipeline.recognition.name)
    calibration.write(path, data)
    rows = calibration.decide_all(fields, Thresholds.load(path))
    typer.echo("Out of group (each field scored by a model fitted without its hand and scan profile):")
    typer.echo(calibration.format_cv(data))
    typer.echo("In sample:")
    typer.echo(calibration.format_table(calibration.report(rows)))
    typer.echo(f"wrote {path} (fitted on {len(fields)} fields in {data['groups']} groups)", err=True)


# -- the service: ingest, worker, status, db ----------------------------------------------------------

def _calibrate_from_reviews(template: str | None, target: float, out: Path | None, engines: str | None,
                            min_fields: int) -> None:
    from ocr_service.pipeline.build import build_pipeline
    from ocr_service.pipeline.scoring import Thresholds, thresholds_path
    from ocr_service.service import recalibrate

    try:
        settings = _settings(engines=engines)
        store = _store(settings)
        with store.session(write=False) as s:
            by_template = recalibrate.labelled_from_reviews(s, template, settings.templates_dir)
        if not by_template:
            raise recalibrate.InsufficientDataError(
                "no reviewed or QA-answered field is stored" + (f" for template {template}" if template else "")
                + f"; at least {min_fields} are needed to refit thresholds")
        if out is not None and len(by_template) > 1:
            raise InvalidRequestError(f"--out names one file, but reviews cover {len(by_template)} templates "
                                      f"({', '.join(by_template)}): add --template NAME")
        for ref, fields in by_template.items():
            pipeline = build_pipeline(ref, settings.engines, Thresholds(), settings)
            default_path = thresholds_path(pipeline.template, pipeline.recognition.name)
            target_path = out or default_path
            # the thresholds in force: the file being replaced, else the one the service reads now
            old_path = target_path if target_path.exists() else default_path
            got = recalibrate.refit(fields, old_path=old_path, out=target_path, target=target,
                                    template=ref, engines=pipeline.recognition.name, min_fields=min_fields)
            c = got["counts"]
            typer.echo(f"{ref} ({pipeline.recognition.name}): {c['fields']} fields ({c['reviewed']} reviewed, "
                       f"{c['qa']} QA samples, {c['wrong']} wrong as read); same fields, old thresholds vs new:")
            typer.echo(recalibrate.format_report(got["report"]))
            kept = f"; the previous file is kept as {got['kept']}" if got["kept"] else ""
            typer.echo(f"wrote {got['path']} (version {got['version']}, source reviews){kept}. Workers load it "
                       f"for the next page they read (they reload a thresholds file when it changes).", err=True)
    except OcrServiceError as exc:
        fail(exc)


def _store(settings):
    from ocr_service.service.jobs.runner import open_service_store

    return open_service_store(settings)


@app.command("ingest")
def ingest(paths: List[Path] = typer.Argument(..., help="Scans: PDF, TIFF, JPEG, PNG, or folders of them."),
           batch: str = typer.Option(..., "--batch", help="The batch (one box of sheets); created if new."),
           template: str = typer.Option("auto", "--template", help="NAME, NAME@VERSION, or auto: each page's own form."),
           expected: Optional[int] = typer.Option(None, "--expected", help="Sheets expected in the batch."),
           commune: Optional[str] = typer.Option(None, "--commune"),
           village: Optional[str] = typer.Option(None, "--village"),
           box: Optional[str] = typer.Option(None, "--box", help="The box label."),
           officer: Optional[str] = typer.Option(None, "--officer", help="The collecting officer."),
           workers: Optional[int] = typer.Option(None, "--workers", help="Local worker processes (0: one per core)."),
           engines: Optional[str] = typer.Option(None, "--engines", help="tesseract, cascade, fake or a YAML file."),
           replaces: Optional[int] = typer.Option(None, "--replaces", help="With one file: the id of the page waiting "
                                                  "for a rescan that this scan replaces (listed by ingest and status)."),
           progress_bar: Optional[bool] = typer.Option(None, "--progress/--no-progress")) -> None:
    """Put files into a batch and read them; exit code 1 if a file was refused or a page failed or needs rescanning."""
    from ocr_service.pipeline.ingest import expand_inputs
    from ocr_service.service.jobs import runner

    try:
        settings = _settings(workers=workers, engines=engines)
        store = _store(settings)
        batch_id, created = runner.ensure_batch(store, settings, batch, template=template, expected=expected,
                                                commune=commune, village=village, box=box, officer=officer)
        files = expand_inputs(paths)
        if replaces is not None and len(files) != 1:
            raise InvalidRequestError(f"--replaces takes exactly one file, not {len(files)}")
        got = runner.receive_paths(store, settings, batch_id, files, replaces=replaces,
                                   on_refused=lambda name, exc: typer.echo(f"refused: {exc.message}", err=True))
        new = sum(1 for r in got.received if not r.duplicate)
        typer.echo(f"batch {batch!r}{' (new)' if created else ''}: {new} new file(s), "
                   f"{len(got.received) - new} already in it, {len(got.refused)} refused", err=True)
        with progress(0, "reading", progress_bar) as advance:
            seen = [0]

            def on_progress(p) -> None:
                advance(p.finished - seen[0], total=p.total,
                        note=f"{p.counts.get('running', 0)} running")
                seen[0] = p.finished

            runner.run_batch(store, settings, batch_id, on_progress=on_progress)
        with store.session(write=False) as s:
            from ocr_service.service.store import repository as repo

            status = repo.batch_status(s, batch_id)
            problems = repo.problem_pages(s, batch_id)
    except OcrServiceError as exc:
        fail(exc)
    except KeyboardInterrupt:
        typer.echo("interrupted: the jobs left stay queued; run `ocr-service ingest` again or "
                   "`ocr-service worker` to finish them", err=True)
        raise typer.Exit(130)
    for page, name in problems:
        typer.echo(f"{name}: page {page.page_no}: {page.status}: {page.reason} (page id {page.id}: rescan it with "
                   f"`ocr-service ingest SCAN --batch … --replaces {page.id}`)", err=True)
    sheets = status["sheets"]
    typer.echo(f"batch {status['batch']!r}: {status['files']} files, {status['pages']} pages, "
               f"{sum(sheets.values())} sheets ({sheets['auto_accepted']} auto-accepted, "
               f"{sheets['needs_review']} need review, {sheets['verified']} verified), {status['rescan']} to rescan, "
               f"{status['failed']} failed, {status['duplicates']} duplicates"
               + (f" (expected {status['expected']})" if status["expected"] else ""))
    raise typer.Exit(1 if got.refused or status["rescan"] or status["failed"] else 0)


@app.command("worker")
def worker(workers: Optional[int] = typer.Option(None, "--workers", help="Worker processes (0: one per core)."),
           engines: Optional[str] = typer.Option(None, "--engines"),
           reconcile_every: float = typer.Option(30.0, "--reconcile-every",
                                                 help="Seconds between reconciler runs (Celery only)."),
           loglevel: str = typer.Option("INFO", "--loglevel")) -> None:
    """Run jobs until interrupted: a Celery worker with the broker URL set, else a local pool."""
    import signal
    import threading

    try:
        settings = _settings(workers=workers, engines=engines)
        store = _store(settings)
    except OcrServiceError as exc:
        fail(exc)
    n = settings.workers or None
    if settings.broker_url:
        import os

        from celery.signals import worker_ready, worker_shutting_down

        from ocr_service.service.jobs import celery_app

        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        celery_app.configure(settings)
        reconciler = celery_app.Reconciler(store, reconcile_every)
        worker_ready.connect(lambda **kw: reconciler.start(), weak=False)
        worker_shutting_down.connect(lambda **kw: reconciler.stop(), weak=False)
        celery_app.app.worker_main(celery_app.worker_argv(n or os.cpu_count() or 1, loglevel))
        return
    from ocr_service.service.jobs.local import LocalPool

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    pool = LocalPool(settings, settings.database, n).start()
    typer.echo(f"local worker pool: {pool.workers} process(es) on {settings.database}; Ctrl-C to stop", err=True)
    try:
        while not done.wait(0.5):
            if pool.fatal:
                typer.echo(f"error: {pool.fatal}", err=True)
                break
    finally:
        pool.stop()
    raise typer.Exit(1 if pool.fatal else 0)


@app.command("status")
def status(batch: Optional[str] = typer.Option(None, "--batch", help="One batch's status."),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Batches, the job queue and failures."""
    from ocr_service.service.store import repository as repo

    try:
        store = _store(_settings())
        with store.session(write=False) as s:
            if batch is not None:
                one = repo.batch_status(s, batch)
                problems = repo.problem_pages(s, repo.get_batch(s, batch).id)
                rows, jobs = [one], one["jobs"]
            else:
                rows, after = [], None
                while True:
                    page = repo.list_batches(s, after=after, limit=1000)
                    rows += [repo.batch_status(s, b.id) for b in page.items]
                    if not (after := page.next):
                        break
                problems, jobs = [], repo.job_counts(s)
    except OcrServiceError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(rows[0] if batch is not None else {"batches": rows, "jobs": jobs}, ensure_ascii=False))
        return
    for st in rows:
        sheets = st["sheets"]
        typer.echo(f"{st['batch']}: {st['files']} files, {st['pages']} pages, {sum(sheets.values())} sheets "
                   f"({sheets['needs_review']} need review), {st['rescan']} rescan, {st['failed']} failed, "
                   f"{st['duplicates']} duplicates; jobs {st['jobs']['queued']} queued, {st['jobs']['running']} "
                   f"running, {st['jobs']['failed']} failed")
    for page, name in problems:
        typer.echo(f"  {name}: page {page.page_no}: {page.status}: {page.reason}")
    typer.echo(f"queue: {jobs['queued']} queued, {jobs['running']} running, {jobs['done']} done, "
               f"{jobs['failed']} failed", err=True)


@app.command("export")
def export(template: Optional[str] = typer.Option(None, "--template", help="NAME or NAME@VERSION (its mapping: VERSION.export.yaml)."),
           fmt: Optional[str] = typer.Option(None, "--format", help="csv, xlsx, jsonl or xml."),
           out: Path = typer.Option(..., "--out", help="The file to write (its manifest goes beside it)."),
           batch: Optional[List[str]] = typer.Option(None, "--batch", help="Only this batch (repeatable)."),
           since: Optional[str] = typer.Option(None, "--since", help="Only sheets changed since (YYYY-MM-DD or ISO time)."),
           include_all: bool = typer.Option(False, "--all", help="Include records exported before."),
           pending: bool = typer.Option(False, "--pending", help="Include sheets still under review, with status columns."),
           rerun_id: Optional[int] = typer.Option(None, "--rerun", help="Reproduce export EXPORT_ID byte for byte."),
           progress_bar: Optional[bool] = typer.Option(None, "--progress/--no-progress")) -> None:
    """Export records; the export id and the manifest path go to stderr; exit 1 if records were held."""
    from ocr_service.service.export import run

    try:
        settings = _settings()
        store = _store(settings)
        if rerun_id is not None:
            got = run.rerun(store, rerun_id, out, actor=_cli_actor(), source="cli")
            typer.echo(f"export {rerun_id}: rebuilt {out} ({got.extra['size']} bytes, sha256 {got.extra['sha256']}): "
                       + ("identical to the original" if got.matches else "DIFFERS from the original"), err=True)
            raise typer.Exit(0 if got.matches else 1)
        if not template or not fmt:
            raise InvalidRequestError("--template and --format are required (or --rerun EXPORT_ID)")
        req = run.ExportRequest(template, fmt, tuple(batch or ()), run.parse_since(since), include_all, pending)
        prepared = run.prepare(store, settings, req, actor=_cli_actor(), source="cli")
        typer.echo(f"export {prepared.export_id}: {prepared.template_ref} → {out}", err=True)
        with progress(0, "exporting", progress_bar) as advance:
            seen = [0]

            def on_progress(done: int, total: int) -> None:
                advance(done - seen[0], total=total)
                seen[0] = done

            got = run.execute(store, prepared, out, on_progress=on_progress)
    except OcrServiceError as exc:
        fail(exc)
    m = got.manifest
    rows = f" ({m['row_count']} rows, one per entry of {m['rows']})" if m.get("rows") else ""
    typer.echo(f"export {got.export_id}: {m['record_count']} records{rows} to {got.path} "
               f"(sha256 {m['files'][0]['sha256']})", err=True)
    typer.echo(f"manifest: {got.manifest_path}", err=True)
    if got.held_path is not None:
        typer.echo(f"held: {m['held_count']} records not exported, with the reason, in {got.held_path}", err=True)
    raise typer.Exit(1 if m["held_count"] else 0)


# -- field-work reports (docs/reports.md) -------------------------------------------------------------

reports_app = typer.Typer(help="Field-work reports: progress, revisits, inconsistent records, likely duplicates.",
                          no_args_is_help=True)
app.add_typer(reports_app, name="reports")
REPORT_KINDS = "progress, revisits, inconsistent or duplicates"


def _report(kind: str, batch: Optional[str], commune: Optional[str], officer: Optional[str]):
    from ocr_service.service.reports import figures

    if kind not in figures.KINDS:
        raise InvalidRequestError(f"unknown report {kind!r}: use {REPORT_KINDS}")
    settings = _settings()
    with _open_store(settings) as store, store.session(write=False) as s:
        return figures.report(figures.scope(s, settings.templates_dir, batch=batch, commune=commune,
                                            officer=officer), kind)


@reports_app.command("show")
def reports_show(kind: str = typer.Option("progress", "--kind", help=REPORT_KINDS),
                 batch: Optional[str] = typer.Option(None, "--batch", help="A batch name or id."),
                 commune: Optional[str] = typer.Option(None, "--commune"),
                 officer: Optional[str] = typer.Option(None, "--officer", help="A collecting officer."),
                 as_json: bool = typer.Option(False, "--json", help="The report as JSON on stdout.")) -> None:
    """Print a report: a table (tab-separated, Vietnamese headers), or JSON."""
    from ocr_service.service.reports import output

    try:
        data = _report(kind, batch, commune, officer)
    except OcrServiceError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    tables = ([(output.PROGRESS, data["places"]), (output.OFFICERS, data["officers"])] if kind == "progress"
              else [(output.COLUMNS[kind], data)])
    for columns, rows in tables:
        headers, cells = output.table(columns, rows)
        typer.echo("\t".join(headers))
        for row in cells:
            typer.echo("\t".join(c.replace("\t", " ").replace("\n", " ") for c in row))
        typer.echo("")
    if kind != "progress":
        typer.echo(f"{len(data)} rows", err=True)


@reports_app.command("csv")
def reports_csv(kind: str = typer.Option(..., "--kind", help=REPORT_KINDS),
                out: Path = typer.Option(..., "--out", help="The CSV file to write (UTF-8 with BOM)."),
                batch: Optional[str] = typer.Option(None, "--batch", help="A batch name or id."),
                commune: Optional[str] = typer.Option(None, "--commune"),
                officer: Optional[str] = typer.Option(None, "--officer", help="A collecting officer.")) -> None:
    """Write a report as CSV (what the web page's download gives)."""
    from ocr_service.service.reports import output

    try:
        data = _report(kind, batch, commune, officer)
        tmp = out.with_name(out.name + ".part")
        tmp.write_bytes(output.report_csv(kind, data))
        tmp.replace(out)
    except OcrServiceError as exc:
        fail(exc)
    except OSError as exc:
        fail(InvalidRequestError(f"cannot write: {exc.strerror}", file=str(out)))
    typer.echo(f"wrote {out}", err=True)


@reports_app.command("import-issued")
def reports_import_issued(file: Path = typer.Argument(..., help="The issue list: CSV with the columns commune, "
                                                      "village, officer, issued (docs/reports.md).")) -> None:
    """Import how many sheets were issued per commune, village and officer; exit 1 if a line was refused."""
    from ocr_service.service.reports import issued

    try:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise InvalidRequestError(f"cannot read: {exc.strerror}", file=str(file)) from None
        with _open_store(_settings()) as store, store.session() as s:
            result = issued.import_issued(s, data, str(file), actor=_cli_actor(), source="cli")
    except OcrServiceError as exc:
        fail(exc)
    for error in result.errors:
        typer.echo(f"error: {error}", err=True)
    typer.echo(f"imported {result.imported} rows from {file} ({result.replaced} replaced counts imported before)",
               err=True)
    if result.errors:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run the database migrations (the configured database, or the embedded SQLite file)."""
    from ocr_service.service.store import db

    try:
        settings = _settings()
        url = settings.database
        engine = db.make_engine(url)
        try:
            before = db.current_revision(engine)
            db.upgrade(engine)
            after = db.current_revision(engine)
        finally:
            engine.dispose()
    except OcrServiceError as exc:
        fail(exc)
    change = "already at" if before == after else f"upgraded from {before or 'an empty database'} to"
    typer.echo(f"database {db.display_url(url)}: {change} revision {after} (head)")


if __name__ == "__main__":
    app()
