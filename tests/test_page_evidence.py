"""The page's own difficulty as evidence for each of its fields (scoring.page_features)."""

from __future__ import annotations

from ocr_service.engines.base import Reading
from ocr_service.forms import loader
from ocr_service.pipeline.evidence import sheet_evidence
from ocr_service.pipeline.scoring import SIGNS, Thresholds, echoes, features, model_features, page_features


def test_page_unsure_is_the_share_of_written_line_fields_read_unsure():
    sure, unsure, empty = {"conf": 0.99, "empty": 0.0}, {"conf": 0.6, "empty": 0.0}, {"conf": 0.99, "empty": 1.0}
    assert page_features([("name", sure), ("digits", unsure), ("text", sure), ("date", unsure)]) == {"page_unsure": 0.5}
    # empty fields, signatures and check marks say nothing about how hard the writing was to read
    assert page_features([("name", sure), ("text", empty), ("signature", unsure), ("choice", unsure)]) == \
        {"page_unsure": 0.0}
    assert page_features([("signature", sure)]) == {"page_unsure": 1.0}  # nothing written: the hardest
    assert SIGNS["page_unsure"] == -1
    assert model_features(features(Reading("An", 0.9, "tesseract"), None, 0, True))["page_unsure"] == 1.0  # kept without it: the hardest


def test_every_field_of_a_sheet_carries_the_page_evidence_and_a_hard_page_scores_lower():
    t = loader.load("dc01")
    model = {"bias": 0.0, "conf": 4.0, "page_unsure": -6.0}
    th = Thresholds(models={"name": model})

    def score(conf_of_others: float) -> tuple[float, float]:
        readings = {s.name: [Reading("Nguyễn Văn An" if s.kind in ("name", "text", "address") else "", conf_of_others,
                                     "tesseract")] for s in t.fields}
        readings["full_name"] = [Reading("Nguyễn Văn An", 0.97, "tesseract")]
        ev = sheet_evidence(t, readings, th)
        assert len({e.features["page_unsure"] for e in ev.values()}) == 1
        return ev["full_name"].features["page_unsure"], ev["full_name"].score

    easy_share, easy = score(0.99)
    hard_share, hard = score(0.5)
    assert easy_share < 0.1 < 0.9 < hard_share
    assert hard < easy  # same reading of the name, on a page where most readings were unsure


def test_a_value_read_alike_in_two_fields_of_its_family_is_echoed_and_scores_higher():
    """scoring.echoes: the declarant's name equal to the person's, the head's ID equal to the
    person's, are echoed; a name equal to an ID, short values and empty ones are not."""
    t = loader.load("dc01")
    spec = {s.name: s for s in t.fields}
    got = echoes([(spec["full_name"], "Lâm Hữu Anh"), (spec["sig_declarant_name"], "LÂM HỮU ANH"),
                  (spec["id_number"], "083073289699"), (spec["head_id"], "083073289699"),
                  (spec["father_id"], "0830"), (spec["mother_id"], "0830"),  # 4 digits: enough
                  (spec["father_name"], "An"), (spec["mother_name"], "An"),  # under 4 letters: chance
                  (spec["head_name"], ""), (spec["spouse_name"], ""),
                  (spec["legal_rep_name"], "083073289699")])  # another family
    assert got == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert SIGNS["echoed"] == 1
    # through the sheet's evidence: the same reading of the name scores higher when the declarant's
    # line says the same
    th = Thresholds(models={"name": {"bias": 0.0, "conf": 4.0, "echoed": 2.0}})

    def evidence(declarant: str):
        readings = {s.name: [Reading("", 0.99, "tesseract")] for s in t.fields}
        readings["full_name"] = [Reading("Nguyễn Văn An", 0.9, "tesseract")]
        readings["sig_declarant_name"] = [Reading(declarant, 0.9, "tesseract")]
        return sheet_evidence(t, readings, th)["full_name"]

    alike, other = evidence("Nguyễn Văn An"), evidence("Trần Thị Bích")
    assert (alike.features["echoed"], other.features["echoed"]) == (1.0, 0.0)
    assert alike.score > other.score


def test_closed_vocabulary_fields_echo_within_their_list_only():
    """A closed-vocabulary field's family is its list: the father's nationality read as the
    person's is echoed; the same entry in another list, a different entry, or an empty field is not."""
    t = loader.load("dc01")
    spec = {s.name: s for s in t.fields}
    got = echoes([(spec["nationality"], "Việt Nam"), (spec["father_nationality"], "Việt Nam"),
                  (spec["mother_nationality"], "Lào"), (spec["head_nationality"], ""),
                  (spec["religion"], "Không"), (spec["ethnicity"], "Không")])  # two lists, not one family
    assert got == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
