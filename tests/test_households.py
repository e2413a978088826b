"""Household checks across a batch (pipeline/households.py) on sheets of generated households."""

import dataclasses
import random

import pytest

from ocr_service.forms import loader
from ocr_service.synth import records
from ocr_service.pipeline.households import check_results
from ocr_service.pipeline.decide import AUTO_ACCEPTED, NEEDS_REVIEW, FieldResult
from ocr_service.pipeline.sheet import OK, SheetResult


@pytest.fixture(scope="module")
def dc01():
    return loader.load("dc01")


def _results(dc01, sheets):
    out = []
    for i, values in enumerate(sheets):
        fields = tuple(FieldResult(f.name, values.get(f.name, ""), 0.99, AUTO_ACCEPTED, (), (0, 0, 1, 1))
                       for f in dc01.fields)
        out.append(SheetResult(f"sheet{i}.jpg", 1, dc01.id, OK, fields=fields))
    return out


def _status(result, name):
    f = next(f for f in result.fields if f.name == name)
    return f.status, f.reasons


@pytest.fixture(scope="module")
def household():
    return records.generate_household(random.Random(5), 4)


def test_consistent_household_passes_unchanged(dc01, household):
    results = _results(dc01, household)
    assert check_results(dc01, results)[0] == results


def test_two_heads_in_one_household_go_to_review(dc01, household):
    sheets = [dict(s) for s in household]
    second = next(i for i, s in enumerate(sheets) if s["relation_to_head"] != "Chủ hộ")
    sheets[second]["relation_to_head"] = "Chủ hộ"
    checked = check_results(dc01, _results(dc01, sheets))[0]
    status, reasons = _status(checked[second], "relation_to_head")
    assert status == NEEDS_REVIEW and any(r.startswith("household:one_head") for r in reasons)


def test_a_differing_head_id_is_flagged_on_that_sheet_only(dc01, household):
    sheets = [dict(s) for s in household]
    assert all(s["head_id"] == sheets[0]["head_id"] for s in sheets)
    odd = len(sheets) - 1
    sheets[odd]["head_id"] = "001099999999"
    checked = check_results(dc01, _results(dc01, sheets))[0]
    assert _status(checked[odd], "head_id")[0] == NEEDS_REVIEW
    assert all(_status(r, "head_id")[0] == AUTO_ACCEPTED for r in checked[:odd])


def test_pages_not_read_pass_through(dc01, household):
    results = _results(dc01, household)
    results[0] = dataclasses.replace(results[0], status="rescan", fields=())
    assert check_results(dc01, results)[0][0] is results[0]


def test_findings_name_the_pages_of_the_sheets_they_flag(dc01, household):
    sheets = [dict(s) for s in household]
    sheets[-1]["head_id"] = "001099999999"
    checked, findings = check_results(dc01, _results(dc01, sheets))
    assert findings and all(f.template == dc01.id for f in findings)
    flagged = {page for f in findings for page in f.pages}
    assert (f"sheet{len(sheets) - 1}.jpg", 1) in flagged
    line = findings[0].to_json()["household_check"]
    assert line["rule"] == findings[0].rule and line["pages"][0].keys() == {"file", "page"}
