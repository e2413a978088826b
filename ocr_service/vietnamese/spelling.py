"""Vietnamese spelling facts the validators rely on: what a syllable may look like, and whether one
spelling only adds diacritics to another.

- ``syllable_problem(s)``: why ``s`` cannot be a Vietnamese syllable (onset, medial + nucleus + coda
  from the closed list of rhymes, spelling rules such as k/gh/ngh only before i, e, ê, stop codas
  c/ch/p/t only with the sắc or nặng tone), or None when it can.
- ``adds_marks_only(written, target)``: ``target`` has the letters of ``written`` and every mark
  written on it (tone, breve, circumflex, horn, the stroke of đ), possibly more: restoring
  diacritics may turn the first into the second; anything else would change what was read.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .text import unify_tone_placement

__all__ = ["adds_marks_only", "letters_and_marks", "syllable_problem", "tone_of"]

# Combining marks: the five tones, and the marks that make a different vowel.
TONES = {"\u0300": "huyền", "\u0301": "sắc", "\u0303": "ngã", "\u0309": "hỏi", "\u0323": "nặng"}
_QUALITY = {"\u0306", "\u0302", "\u031b"}  # breve (ă), circumflex (â ê ô), horn (ơ ư)
_STROKE = "stroke"  # đ

# Onsets (longest first); "qu" and "gi" take a vowel letter as part of the onset.
_ONSETS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "th", "tr", "qu",
           "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x")
# Every rhyme (medial + nucleus + coda) of standard Vietnamese spelling, tone marks removed.
_RHYMES = frozenset("""
a ac ach ai am an ang anh ao ap at au ay
ă ăc ăm ăn ăng ăp ăt
â âc âm ân âng âp ât âu ây
e ec em en eng eo ep et
ê êch êm ên ênh êp êt êu
i ia ich im in inh ip it iu
iêc iêm iên iêng iêp iêt iêu
y yêm yên yêng yêt yêu
o oc oi om on ong op ot oong ooc
oa oac oach oai oam oan oang oanh oao oap oat oay
oăc oăm oăn oăng oăt
oe oec oem oen oeo oet
ô ôc ôi ôm ôn ông ôp ôt
ơ ơi ơm ơn ơp ơt
u ua uc ui um un ung up ut
uân uâng uât uây
uê uêch uênh
uôc uôi uôm uôn uông uôt
uơ
ư ưa ưc ưi ưm ưn ưng ưt ưu
ươc ươi ươm ươn ương ươp ươt ươu
uy uya uych uyên uyêt uynh uyp uyt uyu
""".split())
_STOP_CODAS = ("ch", "c", "p", "t")
_FRONT = ("i", "e", "ê", "y")  # k, gh, ngh only before these; c, g, ng never before them


def _split_char(ch: str) -> tuple[str, frozenset[str]]:
    """A letter's base (lowercase) and its marks."""
    if ch in "đĐ":
        return "d", frozenset({_STROKE})
    d = unicodedata.normalize("NFD", ch)
    return d[0].lower(), frozenset(d[1:])


def letters_and_marks(word: str) -> list[tuple[str, frozenset[str]]]:
    """(base letter, marks) for each letter of a word, the tone placed traditionally (hòa, thủy)."""
    return [_split_char(ch) for ch in unicodedata.normalize("NFC", unify_tone_placement(word))]


def adds_marks_only(written: str, target: str) -> bool:
    """True when ``target`` is ``written`` with the same letters and at least every mark written
    (case ignored): NGUYÊN → NGUYỄN, Vinh Phuc → Vĩnh Phúc; not Thụy → Thủy, not Tâu → Tây."""
    a, b = letters_and_marks(written), letters_and_marks(target)
    return len(a) == len(b) and all(x[0] == y[0] and x[1] <= y[1] for x, y in zip(a, b))


def tone_of(syllable: str) -> str:
    """The tone of a syllable: 'ngang' (none) or the name of its mark."""
    for ch in unicodedata.normalize("NFD", syllable):
        if ch in TONES:
            return TONES[ch]
    return "ngang"


@lru_cache(maxsize=8192)
def syllable_problem(syllable: str) -> str | None:
    """Why ``syllable`` is not a Vietnamese syllable, or None. Case and tone placement are ignored."""
    s = unicodedata.normalize("NFC", unify_tone_placement(syllable)).lower()
    if not s or not re.fullmatch(r"[^\W\d_]+", s):
        return "not letters"
    nfd = unicodedata.normalize("NFD", s)
    tones = [ch for ch in nfd if ch in TONES]
    if len(tones) > 1:
        return "two tone marks"
    base = unicodedata.normalize("NFC", "".join(ch for ch in nfd if ch not in TONES))
    if any(ch not in "abcdefghiklmnopqrstuvxyđăâêôơư" for ch in base):
        return "letters outside the Vietnamese alphabet"
    splits = [(o, base[len(o):]) for o in _ONSETS if base.startswith(o)] + [("", base)]
    for onset, rhyme in splits:
        if onset == "gi" and rhyme == "":
            rhyme = "i"  # gì
        if onset in ("gi", "qu") and rhyme[:1] in ("i", "u"):
            continue  # "gii", "quu": the onset has taken that letter already
        if rhyme not in _RHYMES and not (onset == "qu" and "u" + rhyme in _RHYMES):
            continue  # after q the medial u belongs to the onset: quynh is q + uynh
        first = rhyme[:1]
        if onset in ("k", "gh", "ngh") and first not in _FRONT:
            continue
        if onset in ("c", "g", "ng") and first in _FRONT and not (onset == "g" and first == "i"):
            continue
        if rhyme.endswith(_STOP_CODAS) and (tones[0] if tones else None) not in ("\u0301", "\u0323"):
            return "a stop ending (c, ch, p, t) takes only the sắc or nặng tone"
        return None
    return "not a Vietnamese syllable"
