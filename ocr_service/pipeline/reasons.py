"""Why a field needs review, as stable codes; their human text is data (``data/reasons.yaml``).

A reason travels as a string: the code alone (``low_confidence``) or the code, a colon and a detail
(``invalid:id_number: 11 digits``). The code is what scripts and the UI rely on; the detail names
the check and what it found.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from pathlib import Path

import yaml


class ReviewReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"  # the score is under the calibrated threshold
    EMPTY_REQUIRED = "empty_required"  # a required field holds no writing
    UNREADABLE = "unreadable"  # there is writing, but no engine read anything
    INVALID = "invalid"  # a field validator refused the value
    CHECK = "check"  # a cross-field check on the sheet failed
    HOUSEHOLD = "household"  # a check across the sheets of one household failed
    OUT_OF_CALIBRATION = "out_of_calibration"  # evidence outside what calibration saw accepted

    def detail(self, detail: str) -> str:
        """This reason with a detail, as carried in a field's ``reasons``."""
        return f"{self.value}:{detail}"

    @classmethod
    def of(cls, reason: str) -> "ReviewReason":
        """The code of a reason string."""
        return cls(reason.split(":", 1)[0])


@functools.cache
def _texts() -> dict[str, dict[str, str]]:
    return yaml.safe_load((Path(__file__).with_name("data") / "reasons.yaml").read_text(encoding="utf-8"))


@functools.cache
def _details() -> dict[str, list[tuple[re.Pattern, str]]]:
    data = yaml.safe_load((Path(__file__).with_name("data") / "details.yaml").read_text(encoding="utf-8"))
    return {check: [(re.compile(p), vi) for p, vi in pairs] for check, pairs in data.items()}


@functools.cache
def _evidence_names() -> dict[str, str]:
    return yaml.safe_load((Path(__file__).with_name("data") / "evidence.yaml").read_text(encoding="utf-8"))


def _evidence_vi(detail: str) -> str:
    """An out_of_calibration detail (evidence names, comma-separated) in Vietnamese, each name once."""
    names = _evidence_names()
    said = [names.get(n.strip(), n.strip()) for n in detail.split(",") if n.strip()]
    return ", ".join(dict.fromkeys(said))


def _detail_vi(detail: str) -> str:
    check, sep, what = detail.strip().partition(": ")
    for pattern, vi in _details().get(check, []) if sep else []:
        m = pattern.fullmatch(what.strip())
        if m:
            return vi.format(None, *m.groups())
    return detail.strip()


def describe_detail(reason: str, lang: str = "en") -> str:
    """What a reason string found, without the reason's own heading: its detail (translated to
    Vietnamese for 'vi' when ``data/details.yaml`` knows its pattern), or the heading when there is
    no detail. E.g. "Số định danh ghi sinh năm 1939, ngày sinh ghi 1994"."""
    code, _, detail = reason.partition(":")
    if not detail:
        return _texts()[ReviewReason(code).value][lang]
    if lang != "vi":
        return detail.strip()
    return _evidence_vi(detail) if code == ReviewReason.OUT_OF_CALIBRATION else _detail_vi(detail)


def describe(reason: str, lang: str = "en") -> str:
    """A person's sentence for a reason string, in 'vi' (the UI) or 'en' (logs), detail appended
    (in Vietnamese where data/details.yaml knows it)."""
    code, _, detail = reason.partition(":")
    text = _texts()[ReviewReason(code).value][lang]
    return f"{text}: {describe_detail(reason, lang)}" if detail else text
