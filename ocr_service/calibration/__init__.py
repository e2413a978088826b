"""Calibration: learning score models and thresholds from labelled fields (``fit``), the labels
(``labels``) and what the thresholds achieve (``report``). Imports the pipeline; the pipeline never
imports it."""

from ocr_service.calibration.fit import DEFAULT_TARGET, choose_threshold, fit, fit_logistic, write
from ocr_service.calibration.labels import (LabelledField, canonical_truth, collect, label,
                                            read_labelled_dir)
from ocr_service.calibration.report import decide_all, format_table, report

__all__ = ["DEFAULT_TARGET", "LabelledField", "canonical_truth", "choose_threshold", "collect", "decide_all",
           "fit", "fit_logistic", "format_table", "label", "read_labelled_dir", "report", "write"]
