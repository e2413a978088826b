"""Shared fixtures for the pipeline tests: templates, a hand-written synthetic DC01 record,
filled and blank sheets (rendered once per session), and a cached scan simulator."""

from __future__ import annotations

import random

import numpy as np
import pytest

from ocr_service.forms import loader, render
from ocr_service.synth import fill, fonts, scan

DPI = 300

# A synthetic DC01 record written by hand (no real person). Fields not listed stay blank.
DC01_RECORD: dict[str, str] = {
    "hdr_province": "Tỉnh Nam Định",
    "hdr_district": "Huyện Hải Hậu",
    "hdr_commune": "Xã Hải Bắc",
    "full_name": "TRẦN THỊ MINH CHÂU",
    "dob": "05/11/1990",
    "sex": "Nữ",
    "marital_status": "Đã kết hôn",
    "birth_registration_place": "Xã Hải Bắc, Huyện Hải Hậu, Tỉnh Nam Định",
    "native_place": "Tỉnh Nam Định",
    "ethnicity": "Kinh",
    "nationality": "Việt Nam",
    "religion": "Không",
    "id_number": "036190001234",
    "permanent_address": "Xóm 3, Xã Hải Bắc, Huyện Hải Hậu, Tỉnh Nam Định",
    "current_address": "Như trên",
    "father_name": "TRẦN VĂN HÙNG",
    "father_nationality": "Việt Nam",
    "father_id": "036060004321",
    "mother_name": "PHẠM THỊ LAN",
    "mother_nationality": "Việt Nam",
    "spouse_name": "LÊ QUANG HUY",
    "spouse_nationality": "Việt Nam",
    "head_name": "LÊ QUANG HUY",
    "head_nationality": "Việt Nam",
    "relation_to_head": "Vợ",
    "household_book_no": "123456789",
    "declared_on": "15/06/2018",
    "sig_officer": "1",
    "sig_declarant": "1",
    "sig_declarant_name": "Trần Thị Minh Châu",
}
DC01_SERIAL = "000123"
DC01_BLANK_SERIAL = "000999"

CC01_RECORD: dict[str, str] = {
    "full_name": "TRẦN THỊ MINH CHÂU",
    "dob": "05/11/1990",
    "sex": "Nữ",
    "id_number": "036190001234",
    "ethnicity": "Kinh",
    "religion": "Không",
    "nationality": "Việt Nam",
    "native_place": "Tỉnh Nam Định",
    "father_name": "TRẦN VĂN HÙNG",
    "father_id": "036060004321",
    "sig_declarant": "1",
}


def printed_font(family: str = "Noto Serif") -> fonts.FontInfo:
    found = [f for f in fonts.list_fonts("printed") if f.family == family]
    assert found, f"printed font {family!r} not installed"
    return found[0]


@pytest.fixture(scope="session")
def dc01():
    return loader.load("dc01")


@pytest.fixture(scope="session")
def cc01():
    return loader.load("cc01")


@pytest.fixture(scope="session")
def dc01_filled(dc01) -> fill.FilledSheet:
    """The DC01 blank filled with DC01_RECORD in a printed font, at 300 dpi (clean, not scanned)."""
    return fill.fill_sheet(dc01, DC01_RECORD, random.Random(7), printed_font(), DC01_SERIAL)


@pytest.fixture(scope="session")
def dc01_blank(dc01) -> fill.FilledSheet:
    """The DC01 blank with its QR code printed and nothing written on it."""
    return fill.fill_sheet(dc01, {}, random.Random(8), printed_font(), DC01_BLANK_SERIAL)


@pytest.fixture(scope="session")
def cc01_filled(cc01) -> fill.FilledSheet:
    return fill.fill_sheet(cc01, CC01_RECORD, random.Random(9), printed_font(), "cc0001")


_SCANS: dict = {}


def scanned(sheet: fill.FilledSheet, **params) -> tuple[np.ndarray, dict]:
    """simulate_scan of a 300-dpi sheet, cached per (sheet, params) for the whole session."""
    key = (id(sheet), tuple(sorted(params.items())))
    if key not in _SCANS:  # the sheet is kept in the entry, so its id cannot be reused
        _SCANS[key] = (sheet, scan.simulate_scan(sheet.image, scan.ScanParams(**params), src_dpi=DPI))
    return _SCANS[key][1]


@pytest.fixture(scope="session")
def scan_of():
    return scanned


@pytest.fixture(scope="session")
def dc01_reference(dc01) -> np.ndarray:
    return render.reference_image(dc01, DPI)
