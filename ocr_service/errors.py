"""The project's exceptions, in one place.

Each class has a stable ``code`` (a short string scripts and API clients may rely on) and the CLI
exit code it maps to (:data:`EXIT_CODES`, the one table). The HTTP status of each code is mapped
once by the service (``service/api``). Every error carries enough context (file, page, field,
reason) for a user to act on it.
"""

from __future__ import annotations

from typing import ClassVar


class OcrServiceError(Exception):
    """Base of every error this project raises on purpose."""

    code: ClassVar[str] = "internal_error"

    def __init__(self, reason: str, *, file: str | None = None, page: int | None = None,
                 field: str | None = None):
        self.reason = reason
        self.file = file
        self.page = page
        self.field = field
        super().__init__(self.message)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.code, 1)

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


class ConfigError(OcrServiceError):
    """A setting, option or configuration file is invalid (unknown value, bad type, missing file)."""

    code = "config_invalid"


class TemplateError(OcrServiceError):
    """A template file is missing, malformed or fails the schema."""

    code = "template_invalid"


class InputFileError(OcrServiceError):
    """An input file cannot be read: empty, truncated, corrupt, encrypted, unsupported or too large."""

    code = "input_unreadable"


class MappingError(ConfigError):
    """An export mapping file is malformed (unknown field, duplicate column, bad date format,
    unknown code list, …): the message names the file and the line."""

    code = "mapping_invalid"


class EngineError(OcrServiceError):
    """A recognition engine cannot be loaded or failed unexpectedly."""

    code = "engine_failed"


class StoreError(OcrServiceError):
    """The database or blob store refused an operation (unreachable, full disk, read-only)."""

    code = "store_unavailable"


class SchemaOutdatedError(StoreError):
    """The database schema is older (or newer) than this version of the code expects."""

    code = "schema_outdated"


class NotFoundError(OcrServiceError):
    """A named thing (batch, sheet, field, user, export …) does not exist."""

    code = "not_found"


class ConflictError(OcrServiceError):
    """The request conflicts with the stored state (a name taken, a stale lease, a duplicate)."""

    code = "conflict"


class AuthError(OcrServiceError):
    """Not authenticated: no, unknown, expired or revoked credentials."""

    code = "unauthenticated"


class PermissionDeniedError(OcrServiceError):
    """Authenticated, but the role does not allow this."""

    code = "forbidden"


class WorkerUnavailableError(OcrServiceError):
    """Jobs were handed to the broker, but no worker is there to run them (they stay queued)."""

    code = "no_worker"


class InvalidRequestError(OcrServiceError):
    """A request to the service is malformed: a bad query parameter, page cursor or request body."""

    code = "invalid_request"


class InsufficientDataError(OcrServiceError):
    """Too little evidence for what was asked, e.g. too few reviewed fields to refit thresholds on."""

    code = "insufficient_data"


# The one mapping from error code to CLI exit code. 1 is "some input failed" (extract, ingest),
# 2 is a usage error (Typer's own).
EXIT_CODES: dict[str, int] = {
    "internal_error": 1,
    "config_invalid": 2,
    "template_invalid": 3,
    "mapping_invalid": 13,
    "input_unreadable": 4,
    "engine_failed": 6,
    "store_unavailable": 7,
    "schema_outdated": 8,
    "not_found": 9,
    "conflict": 10,
    "unauthenticated": 11,
    "forbidden": 12,
    "no_worker": 15,
    "invalid_request": 2,
    "insufficient_data": 14,
}
