"""Restoring diacritics OCR drops from names and addresses: add marks, never swap them."""

import pytest

from ocr_service.vietnamese.validators import restore_name_diacritics, validate


@pytest.mark.parametrize("read, expected", [
    ("NGUYÊN VĂN SÁU", "NGUYỄN VĂN SÁU"),  # the tilde over Ê is the most common printed miss
    ("Nguyên Thị Sáu", "Nguyễn Thị Sáu"),
    ("Pham Đức Duy Tuấn", "Phạm Đức Duy Tuấn"),
    ("Hoàng Thi Uyên", "Hoàng Thị Uyên"),
    ("pham van an", "phạm văn an"),
])
def test_surname_and_middle_name_marks_restored(read, expected):
    assert restore_name_diacritics(read) == expected


@pytest.mark.parametrize("name", [
    "PHẠM ÁNH CHÂU",  # a middle syllable with its own mark (ÁNH) is never swapped for ANH
    "Lê Văn Nguyên",  # given names are never touched
    "Đỗ Văn Hùng",
    "Ma Văn Ba",  # Ma is itself a surname
    "Nguyễn Thi",  # a two-syllable name has no middle syllable
])
def test_names_already_valid_are_kept(name):
    assert restore_name_diacritics(name) == name


def test_person_name_finding_keeps_raw_and_flags_restoration():
    f = validate("person_name", "NGUYÊN VĂN SÁU")
    assert f.raw == "NGUYÊN VĂN SÁU"
    assert f.value == "NGUYỄN VĂN SÁU"
    assert "diacritics_restored" in f.flags and f.score < 1.0


@pytest.mark.parametrize("read, expected", [
    ("Phường Hoàng Văn Thụ, Quân Hoàng Mai, Thành phô Hà Nội",
     "Phường Hoàng Văn Thụ, Quận Hoàng Mai, Thành phố Hà Nội"),
    ("Xã An Thắng, Huyện Pác Nặm, Bắc Kan", "Xã An Thắng, Huyện Pác Nặm, Bắc Kạn"),
    ("xã Đức Minh, huyên Mộ Đức, tỉnh Quảng Ngãi", "xã Đức Minh, huyện Mộ Đức, tỉnh Quảng Ngãi"),
    ("THÔN 3, XÃ HẢI ĐÔNG, HUYÊN HẢI HẬU, NAM ĐINH", "THÔN 3, XÃ HẢI ĐÔNG, HUYỆN HẢI HẬU, NAM ĐỊNH"),
])
def test_address_unit_words_and_recognized_units_restored(read, expected):
    f = validate("address", read)
    assert f.value == expected
    assert f.raw == read
    assert "diacritics_restored" in f.flags


def test_correct_address_is_unchanged():
    text = "Xã Hải Đông, Huyện Hải Hậu, Tỉnh Nam Định"
    f = validate("address", text)
    assert f.value == text and "diacritics_restored" not in f.flags


def test_place_names_are_not_turned_into_unit_words():
    # "Dương" and "Đường" share their letters; only segment-opening unit words are restored
    f = validate("address", "Tổ 16, Khu phố 11, P. An Tây, TP. Bến Cát, Bình Dương")
    assert f.value.endswith("Bình Dương")


def test_ones_read_as_letters_inside_numbers():
    f = validate("address", "Xóm I3, Xã Trù Sơn, Huyện Đô Lương, Tỉnh Nghệ An")
    assert f.value.startswith("Xóm 13,")


@pytest.mark.parametrize("read, expected", [
    # a recognized unit is spelled as the gazetteer has it, even where OCR swapped a mark
    ("Phường Thường Thạnh, Quận Cái Răng, Cẩn Thơ", "Phường Thường Thạnh, Quận Cái Răng, Cần Thơ"),
    # a word before a number: "ngỏ 68" is a lane, "ngõ 68"
    ("Số 24, ngỏ 68, đường Lê Lợi, Phường Điện Biên, Thành phố Thanh Hóa, Thanh Hóa",
     "Số 24, ngõ 68, đường Lê Lợi, Phường Điện Biên, Thành phố Thanh Hóa, Thanh Hóa"),
    # a street named after a person gets the surname rule
    ("Số 15, đường Trân Nhân Tông, Phường Tân Bình, Thành phố Đồng Xoài, Tỉnh Bình Phước",
     "Số 15, đường Trần Nhân Tông, Phường Tân Bình, Thành phố Đồng Xoài, Tỉnh Bình Phước"),
])
def test_address_spellings_restored(read, expected):
    assert validate("address", read).value == expected


def test_address_context_alone_does_not_make_text_an_address():
    # the header's province is context for short addresses, not a reason to accept junk
    assert validate("address", "!!!", {"province": "Hà Nội"}).failed
    assert not validate("address", "Hải Hậu", {"province": "Nam Định"}).failed


@pytest.mark.parametrize("read, value, flag", [
    ("O14664538", "014664538", "ocr_digit_fix"),
    ("520239627", "520239627", None),
    ("HN-1234", "HN-1234", "letters"),
])
def test_household_book_numbers(read, value, flag):
    f = validate("household_book_no", read)
    assert f.value == value and not f.failed
    assert (flag in f.flags) if flag else not f.flags


@pytest.mark.parametrize("read, expected", [
    ("Ấp 4. Xã Vĩnh Trung. Huyện Vị Thủy, Tỉnh Hậu Giang", "Ấp 4, Xã Vĩnh Trung, Huyện Vị Thủy, Tỉnh Hậu Giang"),
    ("Số 84. hẻm 124. đường Chu Văn An. Phường 2. Thành phố Vũng Tàu. Bà Rịa - Vũng Tàu",
     "Số 84, hẻm 124, đường Chu Văn An, Phường 2, Thành phố Vũng Tàu, Bà Rịa - Vũng Tàu"),
    ("Tổ 16, Khu phố 11, P. An Tây, TP. Bến Cát, Bình Dương",  # abbreviations keep their periods
     "Tổ 16, Khu phố 11, P. An Tây, TP. Bến Cát, Bình Dương"),
    ("Phường Hòa Thọ Tâu, Quận Cẩm Lệ, Đà Nẵng", "Phường Hòa Thọ Tây, Quận Cẩm Lệ, Đà Nẵng"),
    ("Xã Mường Thín, Huuện Tuần Giáo, Tỉnh Điện Biên", "Xã Mường Thín, Huyện Tuần Giáo, Tỉnh Điện Biên"),
    ("Tỉah Đắk Lắk", "Tỉnh Đắk Lắk"),
    ("Thòn Hạ Xá, Xã Dục Tú, Huyện Đông Anh, Hà Nội", "Thôn Hạ Xá, Xã Dục Tú, Huyện Đông Anh, Hà Nội"),
])
def test_address_misreadings_one_letter_off_and_periods(read, expected):
    assert validate("address", read).value == expected


def test_a_loosely_matched_unit_never_removes_written_marks():
    # the parser may take "Vĩnh Yên, Tỉnh Vĩnh Phú" for Thành phố Vinh; the text keeps its marks
    assert validate("address", "Thành phố Vĩnh Yên, Tỉnh Vĩnh Phú").value == "Thành phố Vĩnh Yên, Tỉnh Vĩnh Phú"


def test_context_does_not_compete_with_the_address_own_province():
    f = validate("address", "Phường Hòa Thọ Tâu, Quận Cẩm Lệ, Đà Nẵng", {"province": "Bình Dương"})
    assert f.value == "Phường Hòa Thọ Tây, Quận Cẩm Lệ, Đà Nẵng"


@pytest.mark.parametrize("read, expected", [
    ("Thôn Tiên Ngoại, Xã Trà Vân, huyện Nam Trà My, tính Quảng Nam",
     "Thôn Tiên Ngoại, Xã Trà Vân, huyện Nam Trà My, tỉnh Quảng Nam"),  # a unit word with a swapped mark
    ("Phường Vĩnh Hải, Thành phố Nha Tran, Tỉnh Khánh Hòa",
     "Phường Vĩnh Hải, Thành phố Nha Trang, Tỉnh Khánh Hòa"),  # a two-word unit word before the name
])
def test_unit_words_before_recognized_units(read, expected):
    assert validate("address", read).value == expected
