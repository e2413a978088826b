"""Weighted draws and NFC text, shared by the synthetic-record generators."""

from __future__ import annotations

import random
import unicodedata
from typing import Any


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def wchoice(rng: random.Random, pairs) -> Any:
    items = [p[0] for p in pairs]
    weights = [p[1] for p in pairs]
    return rng.choices(items, weights)[0]
