"""Calibration: learning score models and thresholds from labelled fields (``fit``), the labels
(``labels``) and what the thresholds achieve (``report``). Imports the pipeline; the pipeline never
imports it."""

from ocr_service.calibration.fit import (CONFIDENCE, DEFAULT_TARGET, choose_threshold, cp_upper, fit, fit_logistic,
                                         format_cv, min_accepted, out_of_group_scores, refuse_held_out, write)
from ocr_service.calibration.labels import (LabelledField, canonical_truth, collect, is_correct, label, read_labelled_dir,
                                            read_labelled_entries, sheet_group, truth_context)
from ocr_service.calibration.report import decide_all, format_table, report

__all__ = ["CONFIDENCE", "DEFAULT_TARGET", "LabelledField", "canonical_truth", "choose_threshold", "collect",
           "cp_upper", "decide_all", "fit", "fit_logistic", "format_cv", "format_table", "is_correct", "label", "min_accepted",
           "out_of_group_scores", "read_labelled_dir", "refuse_held_out", "read_labelled_entries", "report", "sheet_group", "truth_context", "write"]
