import dataclasses

import pytest

from ocr_service.vietnamese.validators import (VALIDATORS, Finding, decode_personal_id,
                                             get_validator, parse_date, validate)

CTX = {"declared_on": "15/06/2018"}


def test_finding_is_frozen():
    f = validate("date", "12/03/1984", CTX)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.value = "x"


@pytest.mark.parametrize("name", list(VALIDATORS) + ["vocabulary:ethnicity"])
def test_empty_gives_empty_check(name):
    f = validate(name, "  ", CTX)
    assert f.value == "" and "empty" in f.passed and f.empty and f.ok


@pytest.mark.parametrize("raw,value", [
    ("12/03/1984", "12/03/1984"), ("1/2/1939", "01/02/1939"), ("12-03-1984", "12/03/1984"),
    ("12.3.1984", "12/03/1984"), ("ngày 5 tháng 6 năm 2000", "05/06/2000"),
    ("12031984", "12/03/1984"),
])
def test_date_formats(raw, value):
    f = validate("date", raw, CTX)
    assert f.value == value and f.ok and f.score == 1.0


def test_date_year_only():
    f = validate("date", "1945", CTX)
    assert f.year_only and f.ok and f.value == "1945"
    f = validate("date", "1945", CTX, allow_year_only=False)
    assert not f.ok


def test_date_invalid_and_implausible():
    assert dict(validate("date", "31/02/1990", CTX).failed).keys() == {"real_date"}
    assert "format" in dict(validate("date", "abc", CTX).failed)
    assert "format" in dict(validate("date", "12/03/84", CTX).failed)
    f = validate("date", "01/01/1890", CTX)
    assert "plausible_age" in dict(f.failed)


def test_date_not_after_declaration():
    f = validate("date", "16/06/2018", CTX)
    assert "not_after" in dict(f.failed) and f.score == 0.0
    assert validate("date", "15/06/2018", CTX, min_age=None, max_age=None).ok


def test_date_ocr_digits():
    f = validate("date", "12/O3/l984", CTX)
    assert f.value == "12/03/1984" and "ocr_digit_fix" in f.flags and f.score < 1.0


def test_date_form_period():
    f = validate("date", "01/01/2014", CTX, min_age=None, max_age=None, min_date="15/12/2015")
    assert "min_date" in dict(f.failed)


def test_parse_date():
    assert parse_date("1/2/1939").year == 1939
    assert parse_date("nonsense") is None


def test_decode_personal_id():
    assert decode_personal_id("087084000999") == ("087", "Đồng Tháp", "Nam", 1984)
    assert decode_personal_id("036 139 000 123") == ("036", "Nam Định", "Nữ", 1939)
    assert decode_personal_id("001200000001")[2:] == ("Nam", 2000)
    assert decode_personal_id("001305000001")[2:] == ("Nữ", 2005)
    assert decode_personal_id("12345") is None


def test_id_number():
    f = validate("id_number", "087084000999", CTX)
    assert f.ok and f.value == "087084000999" and f.data["birth_year"] == 1984
    f = validate("id_number", "123456789", CTX)
    assert f.ok and "old_cmnd" in f.flags
    assert "length" in dict(validate("id_number", "12345678901", CTX).failed)
    assert "province_code" in dict(validate("id_number", "999084000999", CTX).failed)
    assert "birth_year" in dict(validate("id_number", "036384000999", CTX).failed)
    assert "digits" in dict(validate("id_number", "abc", CTX).failed)
    f = validate("id_number", "O87084OOO999", CTX)
    assert f.value == "087084000999" and "ocr_digit_fix" in f.flags


def test_person_name():
    f = validate("person_name", "NGUYỄN VĂN AN")
    assert f.ok and f.value == "NGUYỄN VĂN AN" and f.suggestion == "Nguyễn Văn An"
    assert validate("person_name", "Nguyễn Văn An").suggestion is None
    assert "syllables" in dict(validate("person_name", "Nguyễn").failed)
    assert "syllables" in dict(validate("person_name", "A B C D E F G").failed)
    assert "charset" in dict(validate("person_name", "Trần Thị 3").failed)
    f = validate("person_name", "Ksor H'Blan")  # not Vietnamese syllables: a person checks it
    assert not f.ok and "unusual_syllable" in f.flags and "syllable" in dict(f.failed)


def test_person_name_nfd_and_lookalike():
    import unicodedata
    f = validate("person_name", unicodedata.normalize("NFD", "Ðặng Thị Thuỷ"))
    assert f.ok and f.value == "Đặng Thị Thuỷ"


def test_address():
    f = validate("address", "Hải Hậu, Nam Định")
    assert f.ok and f.data["address"].district.code == "366"
    f = validate("address", "nt")
    assert f.ok and "same_as_previous" in f.flags
    assert "recognized" in dict(validate("address", "blah blah").failed)
    f = validate("address", "Hải Hậu", {"province": "Nam Định"}, level_hint="district",
                 require=["district"])
    assert f.ok


def test_household_book_no():
    assert validate("household_book_no", "HK 0123/45").value == "HK0123/45"
    assert not validate("household_book_no", "???").ok


def test_vocabulary_validator():
    f = validate("vocabulary:ethnicity", "Kinh")
    assert f.ok and f.value == "Kinh" and f.score == 1.0
    f = validate("vocabulary:ethnicity", "Thanh")
    assert not f.ok and "ambiguous" in f.flags and f.suggestion is None
    f = validate("vocabulary:religion", "Phật giáo Hiếu Nghĩa")
    assert not f.ok and f.suggestion is not None and f.value == "Phật giáo Hiếu Nghĩa"
    f = validate("vocabulary:blood_group", "0")
    assert f.value == "O"
    assert not validate("vocabulary:nope", "x").ok


def test_unknown_validator_does_not_raise():
    f = validate("no_such", "x")
    assert not f.ok
    with pytest.raises(KeyError):
        get_validator("no_such")
    assert isinstance(get_validator("vocabulary:sex")("Nam"), Finding)
