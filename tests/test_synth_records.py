"""Tests of the synthetic DC01 record generator (ocr_service.synth: records, households, people, places)."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata

import pytest

from ocr_service.synth.people import ETHNIC_GROUPS
from ocr_service.synth.places import POPULATION_K, Unit
from ocr_service.synth.records import (
    FIELDS,
    generate_household,
    generate_household_with_truth,
    generate_record,
    generate_record_with_truth,
)
from ocr_service.vietnamese.validators import decode_personal_id

N = 400


@pytest.fixture(scope="module")
def samples() -> list[tuple[dict[str, str], dict]]:
    rng = random.Random(20180701)
    return [generate_record_with_truth(rng) for _ in range(N)]


@pytest.fixture(scope="module")
def households() -> list[list[tuple[dict[str, str], dict]]]:
    rng = random.Random(896)
    return [generate_household_with_truth(rng, size) for size in range(1, 9) for _ in range(15)]


def _parse_date(s: str) -> dt.date:
    d, m, y = s.split("/")
    return dt.date(int(y), int(m), int(d))


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


# -- shape -------------------------------------------------------------------------------------------
def test_fields_exact_and_nfc(samples):
    for rec, _ in samples:
        assert tuple(rec) == FIELDS
        for k, v in rec.items():
            assert isinstance(v, str), k
            assert unicodedata.is_normalized("NFC", v), (k, v)
            assert v == v.strip(), (k, v)


def test_public_function_returns_plain_record():
    rec = generate_record(random.Random(1))
    assert set(rec) == set(FIELDS)
    assert rec["nationality"] == "Việt Nam"
    assert rec["sex"] in ("Nam", "Nữ")


def test_deterministic_for_a_seed():
    a = [generate_record(random.Random(42)) for _ in range(3)]
    b = [generate_record(random.Random(42)) for _ in range(3)]
    assert a == b
    assert generate_household(random.Random(7), 5) == generate_household(random.Random(7), 5)
    assert generate_record(random.Random(1)) != generate_record(random.Random(2))


# -- dates and ages ----------------------------------------------------------------------------------
def test_dates(samples):
    year_only = 0
    for rec, t in samples:
        declared = _parse_date(rec["declared_on"])
        assert dt.date(2018, 1, 1) <= declared <= dt.date(2019, 12, 31)
        assert 0 <= t["age"] <= 95
        if len(rec["dob"]) == 4:
            year_only += 1
            assert int(rec["dob"]) == t["birth_date"].year < 1950
        else:
            assert _parse_date(rec["dob"]) == t["birth_date"] <= declared
    assert year_only < N * 0.1


def test_declared_on_parameter():
    day = dt.date(2019, 3, 15)
    rng = random.Random(3)
    for _ in range(20):
        rec = generate_record(rng, declared_on=day)
        assert rec["declared_on"] == "15/03/2019"
        if len(rec["dob"]) == 10:
            assert _parse_date(rec["dob"]) <= day


# -- ID numbers --------------------------------------------------------------------------------------
def _check_id(number: str, sex: str, year: int) -> None:
    assert number.isdigit() and len(number) in (9, 12), number
    if len(number) == 12:
        ppp, province, id_sex, id_year = decode_personal_id(number)
        assert ppp in {"0" + c for c in POPULATION_K} and province
        assert id_sex == sex and id_year == year, (number, sex, year)


def test_id_numbers_decode_consistently(samples):
    kinds = {0: 0, 9: 0, 12: 0}
    for rec, t in samples:
        kinds[len(rec["id_number"])] += 1
        if rec["id_number"]:
            _check_id(rec["id_number"], rec["sex"], t["birth_date"].year)
            assert rec["dob"][-4:] == str(t["birth_date"].year)
        if len(rec["id_number"]) == 12:  # PPP = province of birth registration
            assert rec["id_number"][:3] == "0" + t["birth_registration_unit"].province_code
        for role, sex in (("father", "Nam"), ("mother", "Nữ")):
            if rec[f"{role}_id"]:
                assert rec[f"{role}_id"] == t[f"{role}_id"]
                _check_id(rec[f"{role}_id"], sex, t[f"{role}_birth_date"].year)
        if rec["spouse_id"]:
            assert rec["spouse_id"] == t["spouse_id"]
            _check_id(rec["spouse_id"], t["spouse_sex"], t["spouse_birth_date"].year)
        if rec["legal_rep_id"]:
            assert rec["legal_rep_id"] == t["legal_rep_id"]
    assert kinds[12] > kinds[9] > 0 and kinds[0] > 0


def test_children_often_have_no_id(samples):
    kids = [rec for rec, t in samples if t["age"] < 14]
    assert kids
    assert sum(not r["id_number"] for r in kids) / len(kids) > 0.4


def test_parents_older_than_child(samples):
    for rec, t in samples:
        for role in ("father", "mother"):
            if t[f"{role}_birth_date"] is not None:
                assert t[f"{role}_birth_date"].year <= t["birth_date"].year - 18, (role, t)


# -- cross-field rules ---------------------------------------------------------------------------
_MARITAL = {"chưa kết hôn": "Chưa kết hôn", "độc thân": "Chưa kết hôn", "đã kết hôn": "Đã kết hôn",
            "có vợ": "Đã kết hôn", "có chồng": "Đã kết hôn", "góa": "Góa", "góa vợ": "Góa",
            "góa chồng": "Góa", "ly hôn": "Ly hôn", "": ""}


def test_marital_status_and_spouse(samples):
    for rec, t in samples:
        written = _MARITAL[rec["marital_status"].casefold()]
        assert written in ("", t["marital_status"])
        if written == "":
            assert t["age"] < 14
        if t["marital_status"] != "Đã kết hôn":
            for f in ("spouse_name", "spouse_nationality", "spouse_other_nationality", "spouse_id"):
                assert rec[f] == "", (f, rec)
        if t["age"] < 16:
            assert t["marital_status"] == "Chưa kết hôn"


def test_head_and_relations(samples):
    for rec, t in samples:
        assert rec["head_name"] and rec["head_id"]
        if rec["relation_to_head"] == "Chủ hộ":
            assert rec["head_name"] == rec["full_name"]
            assert rec["head_id"] == rec["id_number"]
        if t["relation_to_head"] == "Vợ":
            assert rec["sex"] == "Nữ" and t["marital_status"] == "Đã kết hôn"
            assert _key(rec["spouse_name"]) == _key(rec["head_name"])
        if t["relation_to_head"] == "Chồng":
            assert rec["sex"] == "Nam" and t["marital_status"] == "Đã kết hôn"


def test_legal_rep_for_minors(samples):
    minors = [(r, t) for r, t in samples if t["age"] < 18]
    assert sum(bool(r["legal_rep_name"]) for r, _ in minors) >= 0.75 * len(minors)
    assert all(not r["legal_rep_name"] for r, t in samples if t["age"] >= 18)


def test_vocabularies(samples):
    for rec, t in samples:
        assert t["ethnicity"] in ETHNIC_GROUPS
        assert rec["nationality"] == "Việt Nam"
        assert rec["blood_group"] in ("", "O", "A", "B", "AB", "O+", "A+", "B+", "AB+")
        for f in ("sig_police_chief", "sig_officer", "sig_declarant"):
            assert rec[f] in ("", "1")
        if rec["sig_declarant_name"]:
            assert _key(rec["sig_declarant_name"]) == _key(rec["full_name"])
        assert rec["household_book_no"].isdigit()
        assert rec["phone"] == "" or (rec["phone"].isdigit() and len(rec["phone"]) in (10, 11))
    kinh = sum(t["ethnicity"] == "Kinh" for _, t in samples) / N
    assert 0.75 < kinh < 0.95
    no_religion = sum(t["religion"] == "Không" for _, t in samples) / N
    assert no_religion > 0.65


def test_names_shape_and_surnames():
    rng = random.Random(11)
    recs = [generate_record_with_truth(rng) for _ in range(1000)]
    nguyen = sum(t["name"].split()[0] == "Nguyễn" for _, t in recs) / len(recs)
    assert 0.25 <= nguyen <= 0.50
    lengths = [len(t["name"].split()) for _, t in recs]
    assert min(lengths) >= 2 and max(lengths) <= 6
    assert sum(n == 3 for n in lengths) > 0.5 * len(lengths)
    caps = sum(r["full_name"].isupper() for r, _ in recs) / len(recs)
    assert 0.15 < caps < 0.45
    kinh_men = [t["name"] for _, t in recs if t["sex"] == "Nam" and t["ethnicity"] == "Kinh"]
    assert not any(n.split()[1] == "Thị" for n in kinh_men if len(n.split()) > 2)


# -- administrative units -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def db_units() -> set[tuple[str, str, str]]:
    from vietnamadminunits.database import get_data

    rows = get_data(fields=["provinceShort", "district", "ward"], table="admin_units_legacy")
    return {(r["provinceShort"], r["district"].casefold(), (r["ward"] or "").casefold()) for r in rows}


def _db_key(u: Unit) -> tuple[str, str, str]:
    prov = "Huế" if u.province_short == "Thừa Thiên Huế" else u.province_short
    return prov, u.district.casefold(), u.ward.casefold()


def test_admin_units_exist(samples, db_units):
    for rec, t in samples:
        for k in ("permanent_unit", "current_unit", "birth_registration_unit", "native_unit"):
            assert _db_key(t[k]) in db_units, (k, t[k])
        u = t["permanent_unit"]
        assert rec["hdr_province"] in (u.province_short, u.province)
        assert rec["hdr_district"].casefold() in (u.district_short.casefold(), u.district.casefold())
        assert rec["hdr_commune"].casefold() in (u.ward_short.casefold(), u.ward.casefold())
        assert u.ward_short in rec["permanent_address"]
        assert u.district_short in rec["permanent_address"]
        assert u.province_short in rec["permanent_address"]
        bu = t["birth_registration_unit"]
        assert bu.province_short in rec["birth_registration_place"]
        if t["birth_registration_level"] == "commune":
            assert bu.ward_short in rec["birth_registration_place"]
        assert t["native_unit"].province_short in rec["native_place"]


# -- households ---------------------------------------------------------------------------------------
_SHARED = ("hdr_province", "hdr_district", "hdr_commune", "head_name", "head_nationality", "head_id",
           "household_book_no", "permanent_address", "declared_on", "sig_officer_name", "sig_police_chief_name")


def test_household_invariants(households):
    for hh in households:
        recs = [r for r, _ in hh]
        truths = [t for _, t in hh]
        assert 1 <= len(recs) <= 8
        for f in _SHARED:
            assert len({r[f] for r in recs}) == 1, f
        assert [r["relation_to_head"] for r in recs].count("Chủ hộ") == 1
        assert recs[0]["relation_to_head"] == "Chủ hộ"
        head, head_t = recs[0], truths[0]
        assert head["full_name"] == head["head_name"] and head["id_number"] == head["head_id"] != ""
        ids = [r["id_number"] for r in recs if r["id_number"]]
        assert len(ids) == len(set(ids))
        for r, t in zip(recs[1:], truths[1:]):
            rel = t["relation_to_head"]
            if rel in ("Vợ", "Chồng"):
                assert head_t["marital_status"] == t["marital_status"] == "Đã kết hôn"
                assert _key(head["spouse_name"]) == _key(r["full_name"])
                assert _key(r["spouse_name"]) == _key(head["full_name"])
                assert r["sex"] != head["sex"]
            elif rel == "Con đẻ":
                assert _key(head["full_name"]) in (_key(r["father_name"]), _key(r["mother_name"]))
                assert head_t["birth_date"].year <= t["birth_date"].year - 18
            elif rel == "Cha đẻ":
                assert _key(head["father_name"]) == _key(r["full_name"]) and r["sex"] == "Nam"
            elif rel == "Mẹ đẻ":
                assert _key(head["mother_name"]) == _key(r["full_name"]) and r["sex"] == "Nữ"
            elif rel in ("Con dâu", "Con rể"):
                assert t["marital_status"] == "Đã kết hôn"
            elif rel in ("Cháu nội", "Cháu ngoại"):
                assert head_t["birth_date"].year <= t["birth_date"].year - 36
        # same person, same ID wherever written
        by_name = {_key(r["full_name"]): r["id_number"] for r in recs}
        for r in recs:
            for role in ("father", "mother", "spouse", "legal_rep"):
                n, i = _key(r[f"{role}_name"]), r[f"{role}_id"]
                if n in by_name and i:
                    assert i == by_name[n], (role, n)


def test_household_size_argument():
    rng = random.Random(5)
    for size in (1, 2, 3, 6, 10, 12):
        assert len(generate_household(rng, size)) == size
    with pytest.raises(ValueError):
        generate_household(rng, 0)
