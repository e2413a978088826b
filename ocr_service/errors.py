"""The project's exceptions, in one place, with the CLI exit code each maps to.

Every error carries enough context (file, page, field, reason) for a user to act on it.
"""

from __future__ import annotations


class OcrServiceError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 1

    def __init__(self, reason: str, *, file: str | None = None, page: int | None = None,
                 field: str | None = None):
        self.reason = reason
        self.file = file
        self.page = page
        self.field = field
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.page is not None:
            where.append(f"page {self.page}")
        if self.field:
            where.append(f"field {self.field}")
        return (": ".join([", ".join(where), self.reason]) if where else self.reason)


class TemplateError(OcrServiceError):
    """A template file is missing, malformed or fails the schema."""

    exit_code = 3


class InputFileError(OcrServiceError):
    """An input file cannot be read: empty, truncated, corrupt, encrypted, unsupported or too large."""

    exit_code = 4


class RegistrationError(OcrServiceError):
    """A page cannot be matched to the template (wrong form, blank, too distorted)."""

    exit_code = 5


class EngineError(OcrServiceError):
    """A recognition engine cannot be loaded or failed unexpectedly."""

    exit_code = 6
