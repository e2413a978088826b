"""Time validating one synthetic DC01-like sheet (every validator + every check)
on one core, the vocabulary load times, and the review station's suggestion lists
(one query, lists built). Not a test: run it by hand.

    .venv/bin/python bench/bench_validation.py [runs]

"cold" clears the normalization and address caches before each run (every
value seen for the first time); "warm" keeps them (repeated values in a batch).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

# Synthetic values only: no real person.
SHEET = {
    "hdr_province": "Nam Định", "hdr_district": "Ý Yên", "hdr_commune": "Yên Lộc",
    "full_name": "NGUYỄN THỊ THUỶ", "dob": "12/03/1939", "blood_group": "0",
    "sex": "Nữ", "marital_status": "Góa", "birth_registration_place": "Xã Yên Lộc, Ý Yên, Nam Định",
    "native_place": "Nam Định", "ethnicity": "Kinh", "nationality": "Việt Nam",
    "other_nationality": "", "religion": "Không", "id_number": "036139000123",
    "permanent_address": "Xóm 3, Xã Yên Lộc, Huyện Ý Yên, Tỉnh Nam Định",
    "current_address": "như trên",
    "father_name": "Nguyễn Văn Hòa", "father_nationality": "Việt Nam", "father_id": "",
    "mother_name": "Trần Thị Lan", "mother_nationality": "VN", "mother_id": "",
    "spouse_name": "", "spouse_nationality": "", "spouse_id": "",
    "legal_rep_name": "", "legal_rep_nationality": "", "legal_rep_id": "",
    "head_name": "Nguyễn Thị Thủy", "head_nationality": "Việt Nam", "head_id": "036 139 000 123",
    "relation_to_head": "Chủ hộ", "household_book_no": "123456", "declared_on": "15/06/2018",
}
VALIDATION = {
    "hdr_province": ("address", {"level_hint": "province"}),
    "hdr_district": ("address", {"level_hint": "district", "require": ["district"]}),
    "hdr_commune": ("address", {"level_hint": "commune", "require": ["commune"]}),
    "full_name": ("person_name", {}), "dob": ("date", {}),
    "blood_group": ("vocabulary:blood_group", {}), "sex": ("vocabulary:sex", {}),
    "marital_status": ("vocabulary:marital_status", {}),
    "birth_registration_place": ("address", {}), "native_place": ("address", {}),
    "ethnicity": ("vocabulary:ethnicity", {}), "nationality": ("vocabulary:nationality", {}),
    "other_nationality": ("vocabulary:nationality", {}), "religion": ("vocabulary:religion", {}),
    "id_number": ("id_number", {}), "permanent_address": ("address", {}),
    "current_address": ("address", {}),
    **{f"{p}_name": ("person_name", {}) for p in ("father", "mother", "spouse", "legal_rep", "head")},
    **{f"{p}_nationality": ("vocabulary:nationality", {})
       for p in ("father", "mother", "spouse", "legal_rep", "head")},
    **{f"{p}_id": ("id_number", {}) for p in ("father", "mother", "spouse", "legal_rep", "head")},
    "relation_to_head": ("vocabulary:relation_to_head", {}),
    "household_book_no": ("household_book_no", {}),
    "declared_on": ("date", {"min_age": None, "max_age": None, "min_date": "15/12/2015"}),
}
BINDINGS = [
    {"rule": "same_as", "fields": {"target": "current_address", "source": "permanent_address"}},
    {"rule": "id_vs_sex_dob", "fields": {"id": "id_number", "sex": "sex", "dob": "dob"}},
    {"rule": "id_province_vs_place", "fields": {"id": "id_number",
                                                "place": "birth_registration_place"}},
    {"rule": "blank_when", "fields": {"condition": "marital_status", "target": "spouse_name",
                                      "target2": "spouse_id"},
     "params": {"equals": ["Chưa kết hôn"], "vocabulary": "marital_status"}},
    {"rule": "relation_implies_marital", "fields": {"relation": "relation_to_head",
                                                    "marital": "marital_status"}},
    {"rule": "head_is_self", "fields": {"relation": "relation_to_head", "name": "full_name",
                                        "head_name": "head_name", "id": "id_number",
                                        "head_id": "head_id"}},
    {"rule": "older_than", "fields": {"person": "dob", "person_id": "id_number",
                                      "elder_id": "father_id"}},
    {"rule": "older_than", "fields": {"person": "dob", "person_id": "id_number",
                                      "elder_id": "mother_id"}},
    {"rule": "not_after", "fields": {"date": "dob", "limit": "declared_on"}},
    {"rule": "required_when_minor", "fields": {"dob": "dob", "target": "legal_rep_name",
                                               "ref": "declared_on"}},
]


def validate_sheet(sheet: dict) -> tuple[dict, list]:
    from ocr_service.vietnamese.checks import run_checks
    from ocr_service.vietnamese.validators import validate

    ctx = {"declared_on": sheet["declared_on"], "province": sheet["hdr_province"],
           "district": None}
    findings = {}
    for field, (name, params) in VALIDATION.items():
        c = ctx
        if field == "hdr_commune":
            c = dict(ctx, district=sheet["hdr_district"])
        elif not field.startswith("hdr_"):
            c = {"declared_on": sheet["declared_on"]}
        findings[field] = validate(name, sheet.get(field, ""), c, **params)
    return findings, run_checks(BINDINGS, sheet)


def _time_load(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    return float(out.stdout.strip())


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    load_files = _time_load(
        "import time; t=time.perf_counter();"
        "from ocr_service.vietnamese.vocab import load_vocabularies; load_vocabularies();"
        "print(time.perf_counter()-t)")
    load_admin = _time_load(
        "import time; from ocr_service.vietnamese.vocab import load_vocabularies, admin_units;"
        "load_vocabularies(); t=time.perf_counter(); admin_units();"
        "from ocr_service.vietnamese.vocab import parse_address; parse_address('Nam Định');"
        "print(time.perf_counter()-t)")

    from ocr_service.vietnamese import text, vocab

    findings, failures = validate_sheet(SHEET)  # warm-up: loads everything
    bad = {f: fd.failed for f, fd in findings.items() if fd.failed}
    cold, warm = [], []
    for _ in range(runs):
        text._match_key_cached.cache_clear()
        vocab._parse_address_cached.cache_clear()
        t = time.perf_counter()
        validate_sheet(SHEET)
        cold.append(time.perf_counter() - t)
    for _ in range(runs):
        t = time.perf_counter()
        validate_sheet(SHEET)
        warm.append(time.perf_counter() - t)

    from ocr_service.vietnamese import suggest

    suggest.warm()  # the lists built once, as a server does in the background
    queries = {"vocabulary (ethnicity)": ("ethnicity", ("k", "kinh", "mong", "kihn")),
               "address (15,000 units)": (suggest.ADDRESS, ("h", "ha n", "xa tan", "Xã Phú Đô, ", "huyen dan phuong")),
               "name word": (suggest.NAME, ("ng", "Nguyễn v", "Trần Thị m"))}
    per_query = {}
    for label, (source, qs) in queries.items():
        times = []
        for _ in range(max(1, runs // 10)):
            for q in qs:
                t = time.perf_counter()
                suggest.suggest(source, q)
                times.append(time.perf_counter() - t)
        per_query[label] = statistics.median(times)

    rows = [
        ("vocabulary files load (import + parse)", load_files * 1000),
        ("admin units first use (lazy)", load_admin * 1000),
        (f"sheet, cold caches, median of {runs}", statistics.median(cold) * 1000),
        (f"sheet, warm caches, median of {runs}", statistics.median(warm) * 1000),
        *((f"suggestion query, {label}, median", t * 1000) for label, t in per_query.items()),
    ]
    print(f"{'measure':<58} {'ms':>9}")
    print("-" * 68)
    for name, ms in rows:
        print(f"{name:<58} {ms:>9.2f}")
    print(f"\n{len(VALIDATION)} fields validated, {len(BINDINGS)} check bindings; "
          f"field failures: {bad or 'none'}; check failures: {len(failures)}")


if __name__ == "__main__":
    main()
