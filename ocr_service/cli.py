"""The `ocr-service` command line: templates, samples, extract, calibrate.

Progress bars go to stderr and only on a terminal; JSON goes to stdout.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer

from ocr_service.errors import OcrServiceError

app = typer.Typer(help="Digitize Vietnamese paper forms (DC01 and others).", no_args_is_help=True,
                  pretty_exceptions_enable=False)
templates_app = typer.Typer(help="Inspect and draw form templates.", no_args_is_help=True)
samples_app = typer.Typer(help="Generate synthetic filled sheets with ground truth.", no_args_is_help=True)
fields_app = typer.Typer(help="Read images that each hold one field.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")
app.add_typer(samples_app, name="samples")
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

        def advance(n: int = 1, note: str = "") -> None:
            bar.update(task, advance=n, note=note)

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


@samples_app.command("generate")
def samples_generate(template: str = typer.Option(..., "--template"), n: int = typer.Option(10, "-n"),
                     seed: int = typer.Option(0, "--seed"), out: Path = typer.Option(..., "--out"),
                     style: str = typer.Option("mixed", "--style", help="printed, handwriting or mixed"),
                     formats: str = typer.Option("png,jpg,pdf,tiff", "--formats"),
                     font: Optional[str] = typer.Option(None, "--font", help="Use only this font family."),
                     no_rotate: bool = typer.Option(False, "--no-rotate", help="Keep pages upright."),
                     severity: float = typer.Option(1.0, "--severity", help="Scan degradation, 0 (clean) to 2 (poor)."),
                     file_quality: int = typer.Option(85, "--file-quality", help="JPEG quality of .jpg files and PDF pages.")) -> None:
    """Fill the blank with synthetic records and simulate scanning; writes images + ground-truth JSON."""
    from ocr_service.forms import loader
    from ocr_service.synth import fill

    try:
        t = loader.load(template)
        with progress(n, f"generating {t.id}") as advance:
            fill.generate(t, n, seed, out, style=style, formats=tuple(formats.split(",")), rotate=not no_rotate,
                          severity=severity, font_family=font, file_quality=file_quality,
                          on_sheet=lambda i: advance())
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
def calibrate(labelled: List[Path] = typer.Argument(..., help="Folders of labelled sheets (truth.jsonl + scans)."),
              template: str = typer.Option(..., "--template"),
              target: float = typer.Option(0.005, "--target", help="Highest error rate allowed among auto-accepted fields."),
              out: Optional[Path] = typer.Option(None, "--out", help="Thresholds file (default: beside the template)."),
              engines: Optional[str] = typer.Option(None, "--engines"),
              workers: Optional[int] = typer.Option(None, "--workers")) -> None:
    """Learn per-kind score models and thresholds from labelled sheets; print what they achieve."""
    from ocr_service import calibration
    from ocr_service.pipeline.build import build_pipeline
    from ocr_service.pipeline.scoring import Thresholds, thresholds_path

    try:
        settings = _settings(workers=workers, engines=engines)
        pipeline = build_pipeline(template, settings.engines, Thresholds(), settings)
        n = sum(len(calibration.read_labelled_dir(d)) for d in labelled)
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
    data = calibration.fit(fields, target)
    data["engines"] = pipeline.recognition.name
    data["template"] = pipeline.template.id
    path = out or thresholds_path(pipeline.template, pipeline.recognition.name)
    calibration.write(path, data)
    rows = calibration.decide_all(fields, Thresholds.load(path))
    typer.echo(calibration.format_table(calibration.report(rows)))
    typer.echo(f"wrote {path} (fitted on {len(fields)} fields; in-sample figures, see bench/ for held-apart ones)", err=True)


if __name__ == "__main__":
    app()
