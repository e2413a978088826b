
import pytest

from ocr_service.vietnamese.vocab import (admin_units, get_vocabulary, is_same_as_marker,
                                          load_vocabularies, parse_address)

FILE_VOCABS = ["ethnicity", "religion", "nationality", "blood_group", "marital_status", "sex",
               "relation_to_head", "province"]


def test_vocabularies_listed():
    # (how long the load takes is measured by bench/bench_validation.py, not asserted here)
    load_vocabularies.cache_clear()
    v = load_vocabularies()
    for name in FILE_VOCABS + ["district", "commune"]:
        assert name in v
    assert v["relationship"] is v["relation_to_head"]


def test_counts():
    assert len(get_vocabulary("ethnicity")) == 54
    assert len(get_vocabulary("religion")) == 17
    assert len(get_vocabulary("province")) == 63
    assert set(get_vocabulary("sex").values) == {"Nam", "Nữ"}
    assert len(get_vocabulary("nationality")) >= 50


@pytest.mark.parametrize("vocab,text,value", [
    ("ethnicity", "Việt", "Kinh"),
    ("ethnicity", "H'Mông", "HMông"),
    ("ethnicity", "H’mông", "HMông"),
    ("ethnicity", "Mèo", "HMông"),
    ("ethnicity", "Khơ Me", "Khơ-me"),
    ("ethnicity", "Khmer", "Khơ-me"),
    ("ethnicity", "Jrai", "Gia-rai"),
    ("ethnicity", "M'Nông", "Mnông"),
    ("ethnicity", "Cao Lan", "Sán Chay"),
    ("ethnicity", "Tà Ôi", "Ta-ôi"),
    ("religion", "KTG", "Không"),
    ("religion", "—", "Không"),
    ("religion", "Thiên Chúa giáo", "Công giáo"),
    ("religion", "Hoà Hảo", "Phật giáo Hòa Hảo"),
    ("nationality", "VN", "Việt Nam"),
    ("nationality", "Viet Nam", "Việt Nam"),
    ("blood_group", "0", "O"),
    ("blood_group", "AB Rh−", "AB-"),
    ("blood_group", "0+", "O+"),
    ("marital_status", "độc thân", "Chưa kết hôn"),
    ("marital_status", "có chồng", "Đã kết hôn"),
    ("marital_status", "goá", "Góa"),
    ("sex", "nữ", "Nữ"),
    ("relation_to_head", "CH", "Chủ hộ"),
    ("province", "TP.HCM", "Hồ Chí Minh"),
    ("province", "Tỉnh Thanh Hoá", "Thanh Hóa"),
])
def test_exact_variants_score_one(vocab, text, value):
    s = get_vocabulary(vocab).snap(text)
    assert s.value == value and s.score == 1.0 and s.confident


def test_missing_diacritics_weaker_but_confident():
    s = get_vocabulary("sex").snap("Nu")
    assert s.value == "Nữ" and s.score < 1.0 and s.confident


def test_fuzzy_snap_confident():
    s = get_vocabulary("nationality").snap("Vệt Nam")
    assert s.value == "Việt Nam" and s.method == "fuzzy" and s.confident


def test_close_runner_up_not_confident():
    s = get_vocabulary("religion").snap("Phật giáo Hiếu Nghĩa")
    assert s.value is not None and s.runner_up is not None
    assert s.score - s.runner_up[1] < 0.1
    assert not s.confident


def test_written_unit_word_settles_twin_communes():
    # Đạ Huoai (682) has the town "Thị trấn Phước Cát" and the commune "Xã Phước Cát 2": the
    # written unit word tells them apart, so the snap is sure only when that word agrees with it
    v = admin_units().vocabulary("commune", "682")
    town = v.snap("Thị trấn Phước Cát")
    assert town.value is not None and town.confident and town.runner_up is None
    assert v.snap("Xã Phước Cát 2").confident
    for text in ["Phước Cát", "Xã Phước Cát", "Thị trấn Phước Cát 2"]:
        s = v.snap(text)
        assert not s.confident, text
        assert s.runner_up is not None, text


@pytest.mark.parametrize("text", ["Vân Kiều", "Pa Cô", "Thanh", "Ngạn", "Ngan"])
def test_ambiguous_ethnic_not_snapped(text):
    s = get_vocabulary("ethnicity").snap(text)
    assert s.ambiguous and s.value is None and not s.confident


def test_relation_attrs():
    v = get_vocabulary("relation_to_head")
    assert v.snap("Vợ").attrs == {"class": "spouse", "sex": "Nữ"}
    assert v.snap("Bố").attrs["sex"] == "Nam"
    assert v.snap("Con").attrs["class"] == "child"
    for terse in ["Con", "Cháu", "Bố", "Mẹ", "Ông", "Bà", "Anh", "Chị", "Em", "CH"]:
        assert v.snap(terse).confident, terse


def test_empty_snap():
    s = get_vocabulary("ethnicity").snap("")
    assert s.value is None and s.score == 0.0


def test_same_as_markers():
    for t in ["như trên", "Như trên", "nt", "NT", "n.t", "Như trên.", "nhu tren"]:
        assert is_same_as_marker(t), t
    assert not is_same_as_marker("Nam Định")
    assert parse_address("Như trên").same_as_previous


@pytest.mark.parametrize("text,matched,codes", [
    ("Nam Định", ("province",), ["36"]),
    ("Hải Hậu, Nam Định", ("province", "district"), ["36", "366"]),
    ("xa Yen Loc, huyen Y Yen, tinh Nam Dinh", ("province", "district", "commune"),
     ["36", "360", "13873"]),
    ("P. Bến Nghé, Q.1, TP.HCM", ("province", "district", "commune"), ["79", "760", "26740"]),
    ("TT Cồn, Hải Hậu, Nam Định", ("province", "district", "commune"), ["36", "366", "14218"]),
])
def test_parse_address(text, matched, codes):
    m = parse_address(text)
    assert m.matched == matched
    got = [c.code for c in (m.province, m.district, m.commune) if c]
    assert got == codes
    assert m.score > 0.8


def test_parse_address_village_and_street():
    m = parse_address("Thôn Đông, xã Yên Lộc, huyện Ý Yên, tỉnh Nam Định")
    assert m.village.value == "Thôn Đông" and "village" in m.matched
    m = parse_address("Số 12 ngõ 5, P. Trung Hòa, Q. Cầu Giấy, Hà Nội")
    assert m.street.value == "Số 12 ngõ 5" and m.commune.code == "00175"


def test_parse_address_without_diacritics_scores_lower():
    exact = parse_address("Trà Vinh")
    loose = parse_address("Tra Vinh")
    assert exact.province.code == loose.province.code == "84"
    assert loose.score < exact.score


def test_parse_address_misread_province_fuzzy():
    m = parse_address("Xã Yên Lộc, Huyện Ý Yên, Nan Định")
    assert m.province.code == "36" and m.score < 1.0


def test_parse_address_context_and_level_hint():
    m = parse_address("Hải Hậu", "district", province="Nam Định")
    assert m.district.code == "366"
    m = parse_address("Nam Định", "province")
    assert m.matched == ("province",)


def test_parse_address_nothing():
    m = parse_address("xyz, abc")
    assert m.matched == () and m.score == 0.0
    assert parse_address("").score == 0.0


def test_admin_units_and_convert():
    au = admin_units()
    assert len(au.provinces()) == 63
    assert {d["code"] for d in au.districts("036")} >= {"360", "366"}
    assert any(c["code"] == "13873" for c in au.communes("360"))
    new = au.convert_to_new("Phường Trúc Bạch", "Quận Ba Đình", "Hà Nội")
    assert new["province_code"] == "01" and new["commune_code"]
    only = au.convert_to_new("Xã Khôngcótên", "Huyện Ý Yên", "Nam Định")
    assert only is not None and only["commune"] is None  # not found: no silent commune
    assert au.convert_to_new() is None


def test_admin_vocabularies():
    d = get_vocabulary("district").snap("Huyện Hải Hậu")
    assert d.value == "Hải Hậu" and d.confident
