from ocr_service.vietnamese.checks import (RULES, check_households, resolve_same_as,
                                           run_checks)

ID_F_1939 = "036139000123"  # Nam Định, female, born 1939


def b(rule, soft=None, params=None, **fields):
    d = {"rule": rule, "fields": fields, "params": params or {}}
    if soft is not None:
        d["soft"] = soft
    return d


def test_id_vs_sex_dob_1939_vs_1994():
    binding = [b("id_vs_sex_dob", id="id_number", sex="sex", dob="dob")]
    fails = run_checks(binding, {"id_number": ID_F_1939, "sex": "Nữ", "dob": "12/03/1994"})
    assert len(fails) == 1
    assert set(fails[0].fields) == {"id_number", "dob"} and not fails[0].soft
    assert run_checks(binding, {"id_number": ID_F_1939, "sex": "Nữ", "dob": "12/03/1939"}) == []
    fails = run_checks(binding, {"id_number": ID_F_1939, "sex": "Nam", "dob": "1939"})
    assert [f.fields for f in fails] == [("id_number", "sex")]


def test_id_province_vs_place_soft():
    binding = [b("id_province_vs_place", id="id_number", place="birth_place")]
    fails = run_checks(binding, {"id_number": ID_F_1939, "birth_place": "Hải Hậu, Thái Bình"})
    assert len(fails) == 1 and fails[0].soft
    assert run_checks(binding, {"id_number": ID_F_1939, "birth_place": "Hải Hậu, Nam Định"}) == []


def test_blank_when():
    binding = [b("blank_when", params={"equals": ["Chưa kết hôn"], "vocabulary": "marital_status"},
                 condition="marital_status", target="spouse_name", target2="spouse_id")]
    fails = run_checks(binding, {"marital_status": "độc thân", "spouse_name": "Lê Văn B",
                                 "spouse_id": ""})
    assert [f.fields for f in fails] == [("spouse_name", "marital_status")]
    assert run_checks(binding, {"marital_status": "Đã kết hôn", "spouse_name": "Lê Văn B"}) == []


def test_relation_implies_marital():
    binding = [b("relation_implies_marital", relation="relation_to_head", marital="marital_status")]
    assert run_checks(binding, {"relation_to_head": "Vợ", "marital_status": "Chưa kết hôn"})
    assert not run_checks(binding, {"relation_to_head": "Vợ", "marital_status": "có chồng"})
    assert not run_checks(binding, {"relation_to_head": "Con", "marital_status": "Chưa kết hôn"})


def test_head_is_self():
    binding = [b("head_is_self", relation="relation_to_head", name="full_name",
                 head_name="head_name", id="id_number", head_id="head_id")]
    ok = {"relation_to_head": "CH", "full_name": "NGUYỄN VĂN HOÀ", "head_name": "Nguyễn Văn Hòa",
          "id_number": "036084000111", "head_id": "036 084 000 111"}
    assert run_checks(binding, ok) == []
    bad = dict(ok, head_name="Trần Văn Hòa", head_id="036084000112")
    assert {f.fields for f in run_checks(binding, bad)} == {("full_name", "head_name"),
                                                            ("id_number", "head_id")}


def test_same_as_resolves_and_fails_without_source():
    binding = [b("same_as", target="current_address", source="permanent_address"),
               b("id_province_vs_place", id="id_number", place="current_address")]
    values = {"current_address": "như trên", "permanent_address": "Hải Hậu, Thái Bình",
              "id_number": ID_F_1939}
    resolved = resolve_same_as(binding, values)
    assert resolved["current_address"] == "Hải Hậu, Thái Bình"
    assert values["current_address"] == "như trên"  # raw kept
    fails = run_checks(binding, values)
    assert [f.rule for f in fails] == ["id_province_vs_place"]  # saw the resolved value
    fails = run_checks(binding[:1], {"current_address": "nt", "permanent_address": ""})
    assert fails and fails[0].rule == "same_as"


def test_older_than_from_dates_and_ids():
    binding = [b("older_than", person="dob", elder="father_dob", person_id="id_number",
                 elder_id="father_id")]
    assert run_checks(binding, {"dob": "01/01/1990", "father_dob": "1985"})
    assert not run_checks(binding, {"dob": "01/01/1990", "father_dob": "1960"})
    fails = run_checks(binding, {"dob": "", "id_number": "036090000111",
                                 "father_id": "036085000222"})
    assert fails and "id_number" in fails[0].fields and "father_id" in fails[0].fields


def test_not_after():
    binding = [b("not_after", date="dob", limit="declared_on")]
    assert run_checks(binding, {"dob": "16/06/2018", "declared_on": "15/06/2018"})
    assert not run_checks(binding, {"dob": "2018", "declared_on": "15/06/2018"})


def test_required_when_minor():
    binding = [b("required_when_minor", dob="dob", target="legal_rep_name", ref="declared_on")]
    fails = run_checks(binding, {"dob": "01/01/2010", "legal_rep_name": "",
                                 "declared_on": "15/06/2018"})
    assert fails and fails[0].soft
    assert not run_checks(binding, {"dob": "01/01/1990", "legal_rep_name": "",
                                    "declared_on": "15/06/2018"})


def test_binding_soft_override_and_unknown_rule():
    binding = [b("id_vs_sex_dob", soft=True, id="i", sex="s", dob="d"), b("nope", x="y")]
    fails = run_checks(binding, {"i": ID_F_1939, "s": "Nữ", "d": "1994"})
    assert fails[0].soft and fails[1].rule == "nope"


def test_rules_registry():
    assert set(RULES) >= {"id_vs_sex_dob", "id_province_vs_place", "blank_when",
                          "relation_implies_marital", "head_is_self", "same_as",
                          "older_than", "not_after"}


def _sheet(book, rel, head, hid):
    return {"household_book_no": book, "relation_to_head": rel, "head_name": head,
            "head_id": hid}


def test_households_ok():
    sheets = [_sheet("123", "Chủ hộ", "Nguyễn Văn Hoà", "036084000111"),
              _sheet("123", "Vợ", "NGUYỄN VĂN HÒA", "036 084 000 111"),
              _sheet("456", "CH", "Lê Thị B", "")]
    assert check_households(sheets) == []


def test_households_failures_name_sheets():
    sheets = [_sheet("123", "Chủ hộ", "Nguyễn Văn Hòa", "036084000111"),
              _sheet("123", "Chủ hộ", "Nguyễn Văn Hòa", "036084000111"),
              _sheet("123", "Con", "Nguyễn Văn Hà", "036084000111"),
              _sheet("789", "Con", "Lê Văn C", "")]
    fails = {f.rule: f for f in check_households(sheets)}
    assert fails["one_head"].sheets in [(0, 1), (3,)]
    assert fails["same_head_name"].sheets == (2,)
    assert "head_name" in fails["same_head_name"].fields
    assert "same_head_id" not in fails
    heads = [f for f in check_households(sheets) if f.rule == "one_head"]
    assert {f.sheets for f in heads} == {(0, 1)}  # a household without its head's sheet is not an error
    heads = [f for f in check_households(sheets, require_head=True) if f.rule == "one_head"]
    assert {f.sheets for f in heads} == {(0, 1), (3,)}
