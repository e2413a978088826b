"""The one pipeline entry: build_pipeline, the batch runner (streaming, progress, household checks at
the end), the fake engine through the real registry, and review reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocr_service.engines.registry import Engines, RecognitionConfig
from ocr_service.errors import ConfigError, EngineError, TemplateError
from ocr_service.forms import loader
from ocr_service.pipeline.batch import process_batch
from ocr_service.pipeline.build import IdentifyingPipeline, Pipeline, build_pipeline
from ocr_service.pipeline.decide import AUTO_ACCEPTED, NEEDS_REVIEW, FieldResult
from ocr_service.pipeline.reasons import ReviewReason, describe
from ocr_service.pipeline.sheet import OK, SheetResult
from ocr_service.settings import Settings

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


class RecordingReader:
    """A reader over canned results (no image work): shows what the runner asks for, and when."""

    def __init__(self, template, per_file: dict[str, list[dict[str, str]]]):
        self.template = template
        self.per_file = per_file
        self.calls: list[str] = []

    @property
    def templates(self):
        return [self.template]

    def process_page(self, page):  # pragma: no cover - the runner reads whole files
        raise AssertionError

    def process_file(self, path):
        self.calls.append(str(path))
        for i, values in enumerate(self.per_file[str(path)], 1):
            fields = tuple(FieldResult(f.name, values.get(f.name, ""), 0.99, AUTO_ACCEPTED, (), (0, 0, 1, 1))
                           for f in self.template.fields)
            yield SheetResult(str(path), i, self.template.id, OK, fields=fields)


def _household(head_id: str, relation: str) -> dict[str, str]:
    return {"household_book_no": "123456789", "head_name": "LÊ QUANG HUY", "head_id": head_id,
            "relation_to_head": relation}


def test_results_stream_file_by_file_and_household_findings_come_last():
    dc01 = loader.load("dc01")
    reader = RecordingReader(dc01, {"a.pdf": [_household("036090001111", "Chủ hộ")],
                                    "b.pdf": [_household("036090002222", "Vợ")]})
    seen = []
    run = process_batch(reader, ["a.pdf", "b.pdf"], workers=1, on_progress=seen.append)
    it = iter(run)
    first = next(it)
    assert first.file == "a.pdf" and reader.calls == ["a.pdf"]  # b.pdf not read yet: streamed
    assert run.findings == []  # household checks wait for the whole batch
    rest = list(it)
    assert [r.file for r in rest] == ["b.pdf"] and run.pages == 2 and run.failed == 0
    assert [(p.files_done, p.files_total, p.pages_done) for p in seen] == [(1, 2, 1), (2, 2, 2)]
    assert run.findings, "differing head IDs in one household book must be found"
    assert {page for f in run.findings for page in f.pages} <= {("a.pdf", 1), ("b.pdf", 1)}
    assert any(("b.pdf", 1) in f.pages and "head_id" in f.fields for f in run.findings)


def test_build_pipeline_by_name_path_and_auto(tmp_path):
    one = build_pipeline("dc01", "tesseract")
    assert isinstance(one, Pipeline) and one.template.id == "dc01@tt66-2015"
    assert one.thresholds.source.endswith("tt66-2015.thresholds.tesseract.json")
    by_path = build_pipeline(one.template.source, "cascade")
    assert by_path.template.id == one.template.id and by_path.thresholds.source.endswith(".cascade.json")
    auto = build_pipeline("auto", "tesseract")
    assert isinstance(auto, IdentifyingPipeline)
    assert {t.name for t in auto.templates} >= {"dc01", "cc01"}
    limited = build_pipeline("dc01", None, None, Settings(max_file_bytes=1234, engines="fake"))
    assert limited.max_file_bytes == 1234 and limited.recognition.name == "fake"


def test_build_pipeline_errors_name_what_is_wrong(tmp_path):
    with pytest.raises(TemplateError, match="nosuchform"):
        build_pipeline("nosuchform", "tesseract")
    with pytest.raises(TemplateError, match="not found"):
        build_pipeline(tmp_path / "missing.yaml", "tesseract")
    with pytest.raises(ConfigError, match="abbyy"):
        build_pipeline("dc01", "abbyy")


def test_ingest_limits_from_settings_reach_the_reader(tmp_path):
    pipeline = build_pipeline("dc01", "fake", None, Settings(max_file_bytes=1000))
    (result,) = pipeline.process_file(SAMPLES / "dc01" / "0000.jpg")
    assert result.status == "error" and "over the 1.0 kB limit" in result.reason


def test_fake_engine_goes_through_the_real_pipeline():
    pipeline = build_pipeline("dc01", "fake")
    (result,) = pipeline.process_file(SAMPLES / "dc01" / "0000.jpg")
    assert result.status == OK and result.residual_px is not None and result.residual_px < 3
    read = [f for f in result.fields if f.engine == "fake"]
    assert len(read) >= 10, "every written line field is read by the fake engine"
    assert {f.status for f in read} == {AUTO_ACCEPTED, NEEDS_REVIEW}
    again = next(iter(pipeline.process_file(SAMPLES / "dc01" / "0000.jpg")))
    assert [f.confidence for f in again.fields] == [f.confidence for f in result.fields]  # deterministic


def test_registry_refuses_an_engine_without_the_interface(monkeypatch):
    from ocr_service.engines import registry

    monkeypatch.setitem(registry.ENGINE_CLASSES, "broken", "ocr_service.settings:Settings")
    with pytest.raises(EngineError, match="does not implement"):
        Engines().get("broken")
    with pytest.raises(EngineError, match="unknown engine"):
        Engines().get("nope")
    assert RecognitionConfig.named("fake").engine_names() == {"fake"}


def test_reasons_are_codes_with_human_text_apart():
    reason = ReviewReason.INVALID.detail("id_number: 11 digits")
    assert reason == "invalid:id_number: 11 digits" and ReviewReason.of(reason) is ReviewReason.INVALID
    assert describe(reason, "vi") == "Giá trị không hợp lệ: id_number: 11 digits"
    assert describe("low_confidence") == "Low confidence"
    for code in ReviewReason:
        assert describe(code.value, "vi") and describe(code.value, "en")
