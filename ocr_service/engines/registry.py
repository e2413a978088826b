"""Which engines exist, which read which recognition profile, and the engines loaded in one process.

Engines are named in :data:`ENGINE_CLASSES` ("module:class", constructed once per process with the
options given to :class:`Engines`). A recognition configuration (:class:`RecognitionConfig`) names
the engines of each profile in cascade order: 'tesseract', 'cascade', 'fake' (tests) or a YAML file.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Mapping

from ocr_service.engines.base import PROFILES, Engine
from ocr_service.errors import ConfigError, EngineError

ENGINE_CLASSES = {
    "tesseract": "ocr_service.engines.tesseract:TesseractEngine",
    "asternet": "ocr_service.engines.asternet:AsterNetEngine",
    "ppocr": "ocr_service.engines.ppocr:PPOCRDigitsEngine",
    "fake": "ocr_service.engines.fake:FakeEngine",
}


@dataclass(frozen=True)
class RecognitionConfig:
    """Engines per recognition profile ('text' or 'digits'), in cascade order, and the confidence
    at or above which the cascade stops early."""

    engines: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"text": ("tesseract",), "digits": ("tesseract",)})
    cascade_gate: float = 0.95
    # this share of unsure fields makes a page "handwritten": measured on generated sheets, 0.07 flags
    # about 5% of printed pages and 70% of handwriting-style ones
    handwritten_share: float = 0.07
    name: str = "tesseract"  # what it was made from: names the thresholds file calibrated for it

    @classmethod
    def named(cls, name: str) -> "RecognitionConfig":
        """A named configuration, 'tesseract' (Tesseract alone), 'cascade' or 'fake' (a test engine
        that reads nothing real), or a YAML file:
        ``{engines: {text: [tesseract, asternet], digits: [tesseract, ppocr]}, cascade_gate: 0.95}``."""
        if name == "tesseract":
            return cls()
        if name == "cascade":
            return cls(engines={"text": ("tesseract", "asternet"), "digits": ("tesseract", "ppocr", "asternet")},
                       name=name)
        if name == "fake":
            return cls(engines={"text": ("fake",), "digits": ("fake",)}, name=name)
        if name.endswith((".yaml", ".yml")):
            return cls.from_file(name)
        raise ConfigError(f"unknown engine configuration {name!r} (tesseract, cascade, fake or a .yaml file)")

    @classmethod
    def from_file(cls, path: str) -> "RecognitionConfig":
        import yaml

        try:
            data = yaml.safe_load(open(path, encoding="utf-8")) or {}
            engines = {profile: tuple(names) for profile, names in data["engines"].items()}
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"engine configuration cannot be read: {exc}", file=path) from exc
        unknown = {n for names in engines.values() for n in names} - set(ENGINE_CLASSES)
        if unknown or set(engines) - set(PROFILES):
            raise ConfigError(f"engine configuration names unknown engines or profiles: "
                              f"{sorted(unknown | (set(engines) - set(PROFILES)))}", file=path)
        defaults = cls()
        return cls(engines=engines, cascade_gate=float(data.get("cascade_gate", defaults.cascade_gate)),
                   handwritten_share=float(data.get("handwritten_share", defaults.handwritten_share)), name=path)

    def engine_names(self) -> set[str]:
        return {name for names in self.engines.values() for name in names}


class Engines:
    """Loaded engines of one worker process, created on first use. ``options`` are keyword
    arguments per engine name (for example the tessdata path for 'tesseract')."""

    def __init__(self, options: Mapping[str, Mapping[str, object]] | None = None) -> None:
        self._loaded: dict[str, Engine] = {}
        self._options = {name: dict(opts) for name, opts in (options or {}).items()}

    def get(self, name: str) -> Engine:
        if name not in self._loaded:
            try:
                module, cls = ENGINE_CLASSES[name].split(":")
            except KeyError as exc:
                raise EngineError(f"unknown engine {name!r} (known: {', '.join(ENGINE_CLASSES)})") from exc
            engine = getattr(importlib.import_module(module), cls)(**self._options.get(name, {}))
            if not isinstance(engine, Engine):
                raise EngineError(f"engine {name!r} ({ENGINE_CLASSES[name]}) does not implement read(crop, kind)")
            self._loaded[name] = engine
        return self._loaded[name]
