"""Checking typed values with the pipeline's own validators and checks (pipeline.recheck), the
Vietnamese text of their details (pipeline/data/details.yaml), and the suggestions as you type
(vietnamese.suggest)."""

from __future__ import annotations

import inspect

from ocr_service.forms import loader
from ocr_service.pipeline import reasons
from ocr_service.pipeline.recheck import recheck
from ocr_service.vietnamese import checks, suggest, validators


def test_recheck_runs_the_validators_and_checks_and_says_it_in_vietnamese():
    t = loader.load("dc01")
    values = {"full_name": "Nguyễn Văn An", "dob": "05/11/1994", "sex": "Nam", "id_number": "001039012345",
              "ethnicity": "Kinh", "religion": "abcxyz", "declared_on": "01/01/2018", "household_book_no": "12"}
    got = {name: [(p.reason, p.soft) for p in ps] for name, ps in recheck(t, values).items()}
    assert ("check:id_vs_sex_dob: ID says born 1939, date of birth reads 1994", False) in got["dob"]
    assert ("check:id_vs_sex_dob: ID says born 1939, date of birth reads 1994", False) in got["id_number"]
    assert got["religion"][0][0].startswith("invalid:vocabulary:")
    assert got["household_book_no"][0][0].startswith("invalid:length:")
    assert "ethnicity" not in got and "full_name" not in got
    assert ("empty_required", False) in got["hdr_province"]  # a required field left blank
    vi = reasons.describe_detail("check:id_vs_sex_dob: ID says born 1939, date of birth reads 1994", "vi")
    assert vi == "Số định danh ghi sinh năm 1939, ngày sinh ghi 1994"
    assert reasons.describe("invalid:length: 11 digits; expected 12 (or 9 for CMND)", "vi") == \
        "Giá trị không hợp lệ: có 11 chữ số; cần 12 (hoặc 9 nếu là CMND)"
    assert reasons.describe_detail("invalid:format: something new", "vi") == "format: something new"  # as written
    # the header's unit not recognized: said in Vietnamese, the written text quoted as it is
    from ocr_service.vietnamese.vocab import admin_vocabulary_in

    _, why = admin_vocabulary_in("district", "TinẤt Tiền Giang", None)
    vi = reasons.describe_detail(f"invalid:hierarchy: cannot check it lies there: {why}", "vi")
    assert vi == "không kiểm tra được đơn vị thuộc đâu: không nhận ra tỉnh/thành phố «TinẤt Tiền Giang»"
    assert reasons.describe("low_confidence", "vi") == "Độ tin cậy thấp"


def test_every_translated_detail_names_a_real_check():
    known = set(checks.RULES) | {"validator"}
    source = inspect.getsource(validators) + inspect.getsource(checks.check_households)
    for name in reasons._details():
        assert name in known or f'"{name}"' in source, name


def test_suggestions_are_accent_insensitive_prefixes_from_the_field_s_data():
    assert suggest.source_for("ethnicity") == "ethnicity"
    assert suggest.source_for("relationship") == "relation_to_head"
    assert suggest.source_for(None, ("address",)) == suggest.ADDRESS
    assert suggest.source_for(None, ("date",)) is None and suggest.source_for("no-such-list") is None

    def first(source, q):
        return [s.value for s in suggest.suggest(source, q)][:3]

    assert first("ethnicity", "kinh")[0] == "Kinh"
    assert first("ethnicity", "kihn") == ["Kinh"]  # nothing starts so: the nearest spelling
    assert first("ethnicity", "khmer")[0] == "Khơ-me"  # a variant leads to its value
    assert first("religion", "phat")[0] == "Phật giáo"
    assert first("relation_to_head", "vo")[0] == "Vợ"
    assert first("province", "ha noi")[0] == "Hà Nội"
    assert first("province", "hn")[0] == "Hà Nội"
    assert first(suggest.ADDRESS, "tp ha noi")[0] == "Thành phố Hà Nội"
    assert first(suggest.ADDRESS, "Xã Tân Lập, huyen dan phuong")[0] == "Xã Tân Lập, Huyện Đan Phượng, "
    wards = suggest.suggest("commune", "hong ha", limit=20)
    assert any(s.value == "Hồng Hà" and "từ 2025" in s.hint for s in wards)  # post-2025 units too
    assert any(s.value == "Hồng Hà" and "từ 2025" not in s.hint for s in wards)  # and pre-2025 ones
    assert suggest.suggest("ethnicity", "") == [] and suggest.suggest("ethnicity", "<script>") == []
    # (the time per query is measured by bench/bench_validation.py, not asserted here)
