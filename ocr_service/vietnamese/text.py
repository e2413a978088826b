"""Vietnamese text normalization: one place for cleaning and matching keys.

Callers keep the raw text: every function here returns a new value.

- ``clean(s)``: display-safe text (NFC, Đ look-alikes fixed, no control characters,
  single spaces). Safe to show and to store next to the raw text.
- ``match_key(s)``: a key for comparing/matching only (never shown): one tone
  placement, casefolded, i/y unified, apostrophes removed, hyphens as spaces,
  administrative abbreviations expanded.
- ``strip_diacritics(s)``: ``match_key`` without any diacritic (a weaker key).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "clean",
    "entered",
    "match_key",
    "strip_diacritics",
    "compact_key",
    "title_case_name",
    "unify_tone_placement",
    "fix_ocr_digits",
]

# Đ look-alikes seen in OCR output and legacy encodings: Icelandic eth, African D.
_D_LOOKALIKES = str.maketrans(
    {
        "\u00d0": "\u0110",  # Ð -> Đ
        "\u0189": "\u0110",  # Ɖ -> Đ
        "\u00f0": "\u0111",  # ð -> đ
        "\u0256": "\u0111",  # ɖ -> đ
    }
)

# Line breaks and tabs become spaces (they separate words); other control and
# invisible format characters are dropped (they sit inside words in OCR output).
_LINE_BREAKS = re.compile(r"[\t\n\r\v\f\x1c-\x1f\x85\u2028\u2029]")
_CONTROLS = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def clean(s: object) -> str:
    """Return ``s`` as display-safe text: NFC, Đ look-alikes mapped to Đ/đ,
    control characters removed, whitespace collapsed and stripped.

    Never raises: ``None`` gives ``""``; other non-str values are ``str()``-ed.
    """
    if s is None:
        return ""
    if not isinstance(s, str):
        try:
            s = str(s)
        except Exception:  # a broken __str__ must not break validation
            return ""
    if not s:
        return ""
    s = _LINE_BREAKS.sub(" ", s)
    s = _CONTROLS.sub("", s)  # before NFC: lone surrogates would survive it anyway
    s = unicodedata.normalize("NFC", s)
    s = s.translate(_D_LOOKALIKES)
    return " ".join(s.split())


def entered(s: object) -> str:
    """A value as a person typed it, as it is kept: ``clean`` (an input method's decomposed marks
    composed), without the comma a suggestion list leaves after a part when none follows."""
    return clean(s).rstrip(", ")


# --- tone placement -------------------------------------------------------

_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng
# Open syllables in oa/oe/uy: the traditional style marks the first vowel
# (hòa, thủy), the new style the second (hoà, thuỷ). We key on the traditional
# style because the administrative-unit data uses it. "qu" + y is excluded:
# there the u belongs to the onset (quý is the same in both styles).
_NEW_STYLE = re.compile(
    r"(?<![qQ])([oO])([aAeE])([" + _TONE_MARKS + r"])(?![\w\u0300-\u036f])"
    r"|(?<![qQ])([uU])([yY])([" + _TONE_MARKS + r"])(?![\w\u0300-\u036f])"
)


def _to_old_style(m: re.Match) -> str:
    if m.group(1):
        return m.group(1) + m.group(3) + m.group(2)
    return m.group(4) + m.group(6) + m.group(5)


def unify_tone_placement(s: str) -> str:
    """Return NFC ``s`` with open oa/oe/uy syllables in the traditional tone
    placement (hoà -> hòa, thuỷ -> thủy, tuỳ -> tùy); other text unchanged."""
    d = unicodedata.normalize("NFD", s)
    if not any(c in _TONE_MARKS for c in d):
        return unicodedata.normalize("NFC", d)
    return unicodedata.normalize("NFC", _NEW_STYLE.sub(_to_old_style, d))


# --- abbreviations --------------------------------------------------------

# Applied to casefolded text. Single letters expand only with a dot or before a
# digit ("Q.", "Q1", "P 12"): a bare letter may be a name's initial.
# "TT"/"TX" expand only as the first token of a comma-separated part.
_ABBREVIATIONS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\btp\b\.?\s*"), "thành phố "),
    (re.compile(r"\bq\.\s*|\bq\s*(?=\d)"), "quận "),
    (re.compile(r"\bp\.\s*|\bp\s*(?=\d)"), "phường "),
    (re.compile(r"\bh\.\s*"), "huyện "),
    (re.compile(r"\bx\.\s*"), "xã "),
    (re.compile(r"(^|,\s*)tt\b\.?\s*"), r"\1thị trấn "),
    (re.compile(r"(^|,\s*)tx\b\.?\s*"), r"\1thị xã "),
]


def _expand_abbreviations(s: str) -> str:
    for pat, rep in _ABBREVIATIONS:
        s = pat.sub(rep, s)
    return s


_APOSTROPHES = re.compile("['\u2019\u2018\u02bc\u02b9\u0060\u00b4\u2032]")
_DASHES = re.compile("[-\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_PUNCT_SPACE = re.compile(r"[.;:()\[\]\"“”_/\\|]+")
_SPACE_COMMA = re.compile(r"\s*,\s*")


_I_Y = str.maketrans("yýỳỷỹỵ", "iíìỉĩị")


@lru_cache(maxsize=8192)
def _match_key_cached(s: str, abbreviations: bool) -> str:
    s = unify_tone_placement(s).casefold()
    s = _APOSTROPHES.sub("", s)
    if abbreviations:  # before i/y: the expansions contain y (huyện)
        s = _expand_abbreviations(s)
    s = s.translate(_I_Y)
    s = _DASHES.sub(" ", s)
    s = _PUNCT_SPACE.sub(" ", s)
    s = _SPACE_COMMA.sub(", ", s)
    return " ".join(s.split()).strip(" ,")


def match_key(s: object, abbreviations: bool = True) -> str:
    """Return a key for matching only (never for display).

    clean -> one tone placement -> casefold -> i/y unified -> apostrophes
    removed (H'Mông == HMông) -> abbreviations expanded (TP., Q., P., H., X.,
    TT, TX as a leading token) -> hyphens and punctuation (except commas) as
    spaces (Khơ-me == Khơ Me) -> single spaces. Never raises.
    """
    c = clean(s)
    if not c:
        return ""
    if len(c) > 2000:  # huge inputs are garbage; keep the cache small
        return _match_key_cached.__wrapped__(c, abbreviations)
    return _match_key_cached(c, abbreviations)


def compact_key(s: object) -> str:
    """``match_key`` without spaces: Gia Rai == Giarai == Gia-rai."""
    return match_key(s).replace(" ", "")


def strip_diacritics(s: object, abbreviations: bool = True) -> str:
    """Return ``match_key(s)`` with all diacritics removed and đ as d
    (a weaker key: "Nguyễn" == "Nguyen")."""
    k = match_key(s, abbreviations)
    if not k:
        return ""
    d = unicodedata.normalize("NFD", k.replace("đ", "d"))
    return "".join(c for c in d if not unicodedata.combining(c))


def title_case_name(s: object) -> str:
    """Return cleaned ``s`` with each syllable capitalised and the rest lower
    case ("NGUYỄN văn a" -> "Nguyễn Văn A"); apostrophes keep the next letter
    capital (H'HEN -> H'Hen)."""
    c = clean(s)
    out = []
    for word in c.split(" "):
        parts = re.split("(['\u2019\u02bc-])", word)
        out.append("".join(p[:1].upper() + p[1:].lower() for p in parts))
    return " ".join(out)


# OCR digit confusions: 0/O/D, 1/l/I, 5/S, 8/B, 6/b, 9/g.
_DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1",
                            "|": "1", "i": "1", "S": "5", "s": "5", "B": "8", "b": "6",
                            "g": "9", "Z": "2", "z": "2"})


def fix_ocr_digits(s: str) -> str:
    """Return ``s`` with letters commonly misread for digits replaced by the digit
    (O->0, l/I->1, S->5, B->8, b->6 ...). Use only on fields that hold digits."""
    return s.translate(_DIGIT_FIX)
