import unicodedata

import pytest

from ocr_service.vietnamese.text import (clean, compact_key, fix_ocr_digits, match_key,
                                         strip_diacritics, title_case_name,
                                         unify_tone_placement)


def nfd(s):
    return unicodedata.normalize("NFD", s)


def test_clean_nfc_from_nfd():
    assert clean(nfd("Hoà")) == "Hoà"
    assert len(clean(nfd("Hoà"))) == 3


def test_clean_maps_d_lookalikes():
    assert clean("\u00d0INH \u00f0ào") == "ĐINH đào"
    assert clean("\u0189inh") == "Đinh"


def test_clean_strips_controls_and_collapses_spaces():
    assert clean("  Nguy\x00ễn\u200b \t Văn\nA \x7f") == "Nguyễn Văn A"


@pytest.mark.parametrize("value", [None, "", "   ", 12, b"x"])
def test_clean_odd_inputs(value):
    assert isinstance(clean(value), str)
    assert clean(None) == ""


@pytest.mark.parametrize("a,b", [
    ("Hoà Bình", "Hòa Bình"),
    ("Thuỷ", "Thủy"),
    ("tuỳ", "tùy"),
    ("Khoẻ", "Khỏe"),
    ("Uỷ ban", "Ủy ban"),
    (nfd("Thuỷ"), "THỦY"),
    ("Quí", "Quý"),
    ("H'Mông", "HMông"),
    ("H’Mông", "HMông"),
    ("Hʼmông", "HMông"),
    ("Khơ-me", "Khơ Me"),
    ("TP. Hồ Chí Minh", "Thành phố Hồ Chí Minh"),
    ("Tp Hồ Chí Minh", "thành phố hồ chí minh"),
    ("Q.1", "Quận 1"),
    ("Q1", "quận 1"),
    ("P. Bến Nghé", "Phường Bến Nghé"),
    ("H. Hải Hậu", "Huyện Hải Hậu"),
    ("X. Yên Lộc", "Xã Yên Lộc"),
    ("TT Cồn", "Thị trấn Cồn"),
    ("Xóm 1, TT. Cồn", "Xóm 1, Thị trấn Cồn"),
    ("ÐINH", "Đinh"),
])
def test_match_key_equal(a, b):
    assert match_key(a) == match_key(b)


@pytest.mark.parametrize("a,b", [
    ("Hòa", "Hóa"),
    ("Nguyễn TT", "Nguyễn Thị trấn"),  # TT only as a leading token
    ("Q", "Quận"),                     # a bare letter is an initial
    ("hoàng", "hòang"),                # closed syllable: tone stays on the second vowel
])
def test_match_key_different(a, b):
    assert match_key(a) != match_key(b)


def test_quy_is_not_moved():
    assert unify_tone_placement("quý") == "quý"
    assert unify_tone_placement("hoà") == "hòa"


def test_compact_and_strip():
    assert compact_key("Gia Rai") == compact_key("Gia-rai") == compact_key("Giarai")
    assert strip_diacritics("Nguyễn Đức") == "nguien duc"
    assert strip_diacritics("") == ""


def test_title_case_name():
    assert title_case_name("NGUYỄN văn a") == "Nguyễn Văn A"
    assert title_case_name("h'hen niê") == "H'Hen Niê"


def test_fix_ocr_digits():
    assert fix_ocr_digits("O36l9OS") == "0361905"
