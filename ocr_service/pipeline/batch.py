"""The batch runner every front end uses: files in, SheetResults out as files finish, household
checks over the batch at the end.

Only what the household checks need (a few values per read sheet) is kept while the batch runs, so
memory does not grow with the pages' fields. Progress is reported through a callback: the core never
draws anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ocr_service.pipeline import executor
from ocr_service.pipeline.build import SheetReader
from ocr_service.pipeline.households import ROLES, HouseholdFinding, household_findings
from ocr_service.pipeline.sheet import OK, SheetResult


@dataclass(frozen=True)
class BatchProgress:
    files_done: int
    files_total: int
    pages_done: int
    pages_failed: int  # pages not read: 'rescan' or 'error'
    last: tuple[SheetResult, ...]  # the results of the file that just finished


class BatchRun:
    """Iterate to get every page's SheetResult, file by file in input order, as soon as its file is
    read; after the iteration, :attr:`findings` holds the household checks over the whole batch
    (each with the (file, page) of the sheets it names)."""

    def __init__(self, reader: SheetReader, paths: Sequence[str | Path], workers: int | None = None,
                 on_progress: Callable[[BatchProgress], None] | None = None):
        self.reader = reader
        self.paths = [str(p) for p in paths]
        self.workers = workers
        self.on_progress = on_progress
        self.findings: list[HouseholdFinding] = []
        self.pages = 0
        self.failed = 0

    def __iter__(self) -> Iterator[SheetResult]:
        by_template = {t.id: t for t in self.reader.templates}
        kept: dict[str, list[tuple[tuple[str, int], dict[str, str]]]] = {}
        for done, results in enumerate(executor.process_files(self.reader, self.paths, self.workers), 1):
            for r in results:
                self.pages += 1
                if r.status != OK:
                    self.failed += 1
                elif r.template in by_template and by_template[r.template].household:
                    names = {by_template[r.template].household.get(role) for role in ROLES}
                    kept.setdefault(r.template, []).append(
                        ((r.file, r.page), {f.name: f.value for f in r.fields if f.name in names}))
                yield r
            if self.on_progress:
                self.on_progress(BatchProgress(done, len(self.paths), self.pages, self.failed, tuple(results)))
        for template_id, sheets in kept.items():
            for finding in household_findings(by_template[template_id], [values for _, values in sheets]):
                pages = tuple(sheets[i][0] for i in finding.sheets)
                self.findings.append(HouseholdFinding(finding.template, finding.rule, finding.reason, finding.sheets,
                                                      finding.fields, pages))


def process_batch(reader: SheetReader, paths: Sequence[str | Path], workers: int | None = None,
                  on_progress: Callable[[BatchProgress], None] | None = None) -> BatchRun:
    """A :class:`BatchRun` over ``paths`` with ``workers`` local processes (None: one per core)."""
    return BatchRun(reader, paths, workers, on_progress)
