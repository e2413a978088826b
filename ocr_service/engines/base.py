"""The small interface every recognition engine implements.

An engine takes one field crop (a 2-D uint8 grayscale numpy array: dark ink on a white
background, the printed form already dropped out) and the field's kind, and returns a
:class:`Reading`. Engines never raise on odd crops (empty, 1 px high, 20,000 px wide,
all black): they return an empty reading with confidence 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

# Recognition profiles: what kind of text a field holds, which decides the engines that read it
# (engines/registry.py) and their settings.
TEXT_KINDS = frozenset({"text", "name", "address"})
DIGIT_KINDS = frozenset({"digits", "date"})
PROFILES = ("text", "digits")
NEURAL_ENGINES = frozenset({"asternet", "ppocr"})


def profile_of(kind: str) -> str:
    """The recognition profile of a line field's kind: 'digits' for digit strings and dates, 'text'
    for text, names and addresses; ValueError for any other kind."""
    if kind in DIGIT_KINDS:
        return "digits"
    if kind in TEXT_KINDS:
        return "text"
    raise ValueError(f"no recognition profile for field kind {kind!r}")


@dataclass(frozen=True)
class Reading:
    """What one engine read in one crop.

    ``confidence`` is in [0, 1] (the weakest character's confidence, not a probability);
    ``char_confidences`` has one value per character of ``text`` where the engine gives them;
    ``candidates`` is the engine's n-best list as (text, score) pairs, best first, if it has one.
    """

    text: str
    confidence: float
    engine: str
    char_confidences: tuple[float, ...] = ()
    candidates: tuple[tuple[str, float], ...] = field(default_factory=tuple)

    @classmethod
    def empty(cls, engine: str) -> "Reading":
        return cls(text="", confidence=0.0, engine=engine)


@runtime_checkable
class Engine(Protocol):
    """A loaded engine. Load once per worker process; ``read`` is called per field. The registry
    (engines/registry.py) refuses a configured class that does not have this shape."""

    name: str

    def read(self, crop: np.ndarray, kind: str) -> Reading:
        """Read one crop of a field of the given kind ('text', 'name', 'address', 'date', 'digits')."""
        ...


def is_degenerate(crop: np.ndarray | None, *, min_height: int = 4, max_aspect: float = 200.0) -> bool:
    """True for crops no engine can read: missing, too small, absurdly long, or without ink contrast."""
    if crop is None or crop.ndim != 2 or crop.size == 0:
        return True
    h, w = crop.shape
    if h < min_height or w < min_height or w / h > max_aspect:
        return True
    return int(crop.max()) - int(crop.min()) < 32
