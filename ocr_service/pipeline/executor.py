"""A local pool of worker processes, each holding one loaded pipeline (``build.py``).

Engines are loaded once per worker process (Tesseract's API objects, ONNX sessions) and reused
for every page that worker processes.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path
from typing import Iterator

from ocr_service.pipeline.build import SheetReader
from ocr_service.pipeline.sheet import SheetResult

_PIPELINE: SheetReader | None = None


def _init(pipeline: SheetReader) -> None:
    global _PIPELINE
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    _PIPELINE = pipeline


def _process(path: str) -> list[SheetResult]:
    assert _PIPELINE is not None
    return list(_PIPELINE.process_file(path))


def process_files(pipeline: SheetReader, paths: list[str | Path], workers: int | None = None) -> Iterator[list[SheetResult]]:
    """Results per file, in input order, computed by ``workers`` processes (1: in this process).
    ``pipeline`` is one template's Pipeline, or an IdentifyingPipeline over several."""
    workers = workers or os.cpu_count() or 1
    files = [str(p) for p in paths]
    if workers <= 1 or len(files) <= 1:
        _init(pipeline)
        for f in files:
            yield _process(f)
        return
    ctx = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
    with ctx.Pool(min(workers, len(files)), initializer=_init, initargs=(pipeline,)) as pool:
        yield from pool.imap(_process, files, chunksize=1)
