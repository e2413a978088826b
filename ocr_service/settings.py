"""One frozen settings object, read once at the edge (the CLI, the server, a worker) and passed down.

Sources, later ones winning: the defaults below; a TOML config file (``--config FILE`` or
``$OCR_SERVICE_CONFIG``), whose keys are the field names; ``OCR_SERVICE_<NAME>`` environment
variables; explicit overrides (command-line options). No other module reads the environment for
configuration. Every setting is listed in ``docs/configuration.md`` (a test keeps the two in step).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ocr_service.errors import ConfigError

ENV_PREFIX = "OCR_SERVICE_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
DEFAULT_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata/"  # Debian's tesseract-ocr packages
BUNDLED_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@dataclass(frozen=True)
class Settings:
    """Configuration of one installation. Paths are as given (relative to the working directory)."""

    data_dir: Path = Path("ocr-data")  # database, blobs, secrets, engine caches
    templates_dir: Path = BUNDLED_TEMPLATES
    tessdata: str = DEFAULT_TESSDATA
    engines: str = "tesseract"  # tesseract, cascade, or an engine YAML file
    workers: int = 0  # local worker processes; 0: one per core
    max_file_bytes: int = 200 * 1024 * 1024
    max_page_pixels: int = 60_000_000  # A3 at 600 dpi is ~35 Mpx
    database_url: str = ""  # empty: SQLite at <data_dir>/ocr-service.db
    broker_url: str = ""  # empty: the local process pool; redis://… : Celery workers
    bind_host: str = "127.0.0.1"
    bind_port: int = 8000
    session_idle_minutes: int = 30  # a review-station session ends after this long unused
    session_max_hours: int = 12  # and this long after login, whatever
    cookie_secure: str = "auto"  # auto: Secure cookies when the request came over https; always; never
    qa_sample_rate: float = 0.02  # share of auto-accepted fields shown blind to reviewers (docs/review.md)
    qa_review_rate: float = 0.02  # share of reviewers' decisions shown blind to a second reviewer (docs/review.md)

    @property
    def database(self) -> str:
        """The database URL in effect (the embedded SQLite file unless one is set)."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'ocr-service.db').resolve()}"

    def replace(self, **changes) -> "Settings":
        return load(overrides=changes, base=self)


def _field_types() -> dict[str, type]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)}


def _convert(name: str, raw: object, kind: type, where: str) -> object:
    try:
        if kind is int and not isinstance(raw, bool):
            return int(raw)  # type: ignore[call-overload]
        if kind is float and not isinstance(raw, bool):
            return float(raw)  # type: ignore[arg-type]
        if kind is Path and isinstance(raw, (str, Path)):
            return Path(raw)
        if kind is str and isinstance(raw, (str, Path)):
            return str(raw)
    except ValueError:
        pass
    raise ConfigError(f"setting {name!r} must be {kind.__name__}, not {raw!r}", file=where)


def _from_file(path: Path) -> dict[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror}", file=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(path)) from exc
    return data


def load(env: Mapping[str, str] | None = None, config_file: str | Path | None = None,
         overrides: Mapping[str, object] | None = None, base: Settings | None = None) -> Settings:
    """Settings from ``base`` (the defaults), the config file, the environment and ``overrides``
    (None values in it are ignored). Raises :class:`ConfigError` naming the file or variable and the
    setting for an unknown key or a value of the wrong type."""
    env = os.environ if env is None else env
    types_ = _field_types()
    values: dict[str, object] = dataclasses.asdict(base or Settings())
    config_file = config_file or env.get(CONFIG_ENV) or None
    if config_file:
        for key, raw in _from_file(Path(config_file)).items():
            if key not in types_:
                raise ConfigError(f"unknown setting {key!r} (known: {', '.join(types_)})", file=str(config_file))
            values[key] = _convert(key, raw, types_[key], str(config_file))
    for name, kind in types_.items():
        var = ENV_PREFIX + name.upper()
        if var in env:
            values[name] = _convert(name, env[var], kind, f"${var}")
    for key, raw in (overrides or {}).items():
        if raw is None:
            continue
        if key not in types_:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = _convert(key, raw, types_[key], "command line")
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.workers < 0 or settings.max_file_bytes <= 0 or settings.max_page_pixels <= 0:
        raise ConfigError("workers must be ≥ 0 and the ingest limits > 0")
    if settings.session_idle_minutes <= 0 or settings.session_max_hours <= 0:
        raise ConfigError("session_idle_minutes and session_max_hours must be > 0")
    if settings.cookie_secure not in ("auto", "always", "never"):
        raise ConfigError(f"cookie_secure must be auto, always or never, not {settings.cookie_secure!r}")
    if not 0.0 <= settings.qa_sample_rate <= 1.0:
        raise ConfigError(f"qa_sample_rate must be between 0 and 1, not {settings.qa_sample_rate}")
    if not 0.0 <= settings.qa_review_rate <= 1.0:
        raise ConfigError(f"qa_review_rate must be between 0 and 1, not {settings.qa_review_rate}")
    if not 0 < settings.bind_port < 65536:
        raise ConfigError(f"bind_port {settings.bind_port} is not a TCP port")
    return settings
