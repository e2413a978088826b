"""Official code lists for export (ethnic groups, religions, nationalities) and the checked
conversion of pre-2025 administrative units to the post-2025 ones.

The service stores canonical *names* (the vocabularies in ``data/``); codes exist only on export,
and a code is meaningless without the name of its list. Each list is a data file in
``data/codes/`` mapping canonical names to codes. ``nationality-iso3166-alpha2`` is derived from
the nationality vocabulary (its two-letter variants).

``convert_2025(address)`` says when the conversion is ambiguous: an old commune that was split
among several new ones. The library's converter then silently picks a "default" ward (or geocodes
the street over the network); here such an address is reported with its candidates instead, so an
exporter decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import yaml

from .text import clean
from .vocab import admin_units, load_vocabularies

CODES_DIR = Path(__file__).parent / "data" / "codes"
NATIONALITY_ALPHA2 = "nationality-iso3166-alpha2"

__all__ = ["CodeList", "code_list", "code_list_names", "Conversion", "convert_2025"]


@dataclass(frozen=True)
class CodeList:
    """A named code list: canonical vocabulary value → code (text, leading zeros kept)."""

    name: str
    title: str
    vocabulary: str
    codes: Mapping[str, str]

    def code(self, value: str) -> str | None:
        """The code of a canonical value, None if the list has none for it."""
        return self.codes.get(value)


def code_list_names() -> list[str]:
    """The names of every code list shipped (files in data/codes, plus the derived ones)."""
    return sorted([p.stem for p in CODES_DIR.glob("*.yaml")] + [NATIONALITY_ALPHA2])


@lru_cache(maxsize=None)
def code_list(name: str) -> CodeList:
    """The code list called ``name``; KeyError if there is none."""
    if name == NATIONALITY_ALPHA2:
        v = load_vocabularies()["nationality"]
        codes = {}
        for value in v.values:
            alpha2 = [f for f in v._forms_of(value) if re.fullmatch(r"[A-Z]{2}", f)]
            if alpha2:
                codes[value] = alpha2[0]
        return CodeList(name, "ISO 3166-1 alpha-2 (QCVN 109:2017 Phụ lục H)", "nationality", codes)
    path = CODES_DIR / f"{name}.yaml"
    if not path.is_file():
        raise KeyError(name)
    d = yaml.safe_load(path.read_text(encoding="utf-8"))
    return CodeList(d["name"], d.get("title", d["name"]), d["vocabulary"],
                    {str(k): str(v) for k, v in d["codes"].items()})


@dataclass(frozen=True)
class Conversion:
    """A pre-2025 address converted to post-2025 units. ``ok`` False: ``reason`` says why not
    (nothing recognized, or ``candidates`` lists the new communes an old one was split into)."""

    ok: bool
    province: str | None = None
    province_code: str | None = None
    commune: str | None = None
    commune_code: str | None = None
    reason: str = ""
    candidates: tuple[str, ...] = ()


@lru_cache(maxsize=8192)
def convert_2025(address: str) -> Conversion:
    """Convert an address naming pre-2025 units (commune, district, province) to the post-2025
    units (commune, province; no district level). Never geocodes, never guesses: an old commune
    split among several new ones gives ``ok=False`` with the candidates."""
    text = clean(address)
    if not text:
        return Conversion(False, reason="empty address")
    from vietnamadminunits.converter import converter_2025 as c
    from vietnamadminunits.parser import ParseMode, parse_address

    try:
        old = parse_address(text, mode=ParseMode.LEGACY, keep_street=False, level=3)
    except Exception:  # noqa: BLE001 - the third-party parser must not break an export
        old = None
    if old is None or not old.province_key:
        return Conversion(False, reason=f"no pre-2025 province recognized in {text!r}")
    new_province = next((k for k, v in c.DICT_PROVINCE.items() if old.province_key in v), None)
    if new_province is None:
        return Conversion(False, reason=f"province {old.province!r} has no post-2025 successor in the data")
    if old.ward_key:
        key = f"{old.province_key}_{old.district_key}_{old.ward_key}"
        split = c.DICT_PROVINCE_WARD_DIVIDED.get(new_province, {}).get(key) or []
        if split:
            return Conversion(False, reason=f"{old.ward}, {old.district} was split among {len(split)} "
                                            f"post-2025 communes", candidates=tuple(w["newWardKey"] for w in split))
    parts = [p for p in (old.ward, old.district, old.province) if p]
    new = admin_units().convert_to_new(*parts) if len(parts) == 3 else admin_units().convert_to_new(
        commune=old.ward or None, district=old.district or None, province=old.province)
    if new is None:
        return Conversion(False, reason=f"{text!r} does not convert to post-2025 units")
    if old.ward_key and not new.get("commune_code"):
        return Conversion(False, reason=f"commune {old.ward!r} has no post-2025 commune in the data")
    return Conversion(True, new["province"], new["province_code"], new.get("commune"), new.get("commune_code"))
