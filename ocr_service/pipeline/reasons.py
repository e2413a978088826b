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


def describe(reason: str, lang: str = "en") -> str:
    """A person's sentence for a reason string, in 'vi' (the UI) or 'en' (logs), detail appended (a
    check's detail in the language asked for, see :func:`check_text`)."""
    code, _, detail = reason.partition(":")
    text = _texts()[ReviewReason(code).value][lang]
    if detail and lang != "en":
        detail = check_text(detail.strip(), lang)
    return f"{text}: {detail.strip()}" if detail else text


@functools.cache
def _check_patterns() -> dict[str, list[tuple[re.Pattern, dict[str, str]]]]:
    data = yaml.safe_load((Path(__file__).with_name("data") / "check_texts.yaml").read_text(encoding="utf-8"))
    out: dict[str, list[tuple[re.Pattern, dict[str, str]]]] = {}
    for rule, texts in data.items():
        for t in texts:
            parts = re.split(r"\{(\w+)\}", t["en"])  # literal, name, literal, name, ...
            regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
            out.setdefault(rule, []).append((re.compile(regex), t))
    return out


def check_text(detail: str, lang: str = "vi") -> str:
    """The detail of a check reason (``rule: English text``, as the checks write it) as a sentence in
    ``lang``, without the rule's name; unchanged when no text for it is known
    (``data/check_texts.yaml``). ``id_vs_sex_dob: ID says born 1939, date of birth reads 1994`` →
    ``Số định danh ghi sinh năm 1939, ngày sinh ghi 1994``."""
    rule, sep, text = detail.partition(": ")
    for pattern, texts in _check_patterns().get(rule, []) if sep else []:
        m = pattern.fullmatch(text.strip())
        if m and lang in texts:
            return texts[lang].format(**m.groupdict())
    return detail
