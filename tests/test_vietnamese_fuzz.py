"""Random and hostile strings go through every normalizer and validator
without raising."""
import random
import unicodedata

from ocr_service.vietnamese.checks import RULES, check_households, run_checks
from ocr_service.vietnamese.text import clean, match_key, strip_diacritics
from ocr_service.vietnamese.validators import VALIDATORS, Finding, validate
from ocr_service.vietnamese.vocab import load_vocabularies, parse_address

ALPHABET = ("abcdefghijklmnopqrstuvwxyzĐđÐðăâêôơưàáảãạằắẳẵặầấẩẫậ0123456789 ,./-'’"
            "\x00\x01\x07\t\n\r\x1b\x7f\u200b\u200d\ufeff\u0300\u0301\u0323\u0309"
            "😀🙂👨‍👩‍👧漢字カナ한국어Ωπжщ\u0627\u05d0\ud800\U0001F600")


def _samples(n=150, seed=1234):
    rnd = random.Random(seed)
    out = ["", " ", "\x00", "\ud800", "😀" * 50, "a" * 100_000, "Nguyễn " * 15_000,
           unicodedata.normalize("NFD", "Hoà Thuỷ Đặng") * 1000, "như trên", "nt", "0" * 12,
           "//", "..", "--", "12/13/2020", "99/99/9999", "0/0/0", "TT", "TP.", "Q."]
    for _ in range(n):
        k = rnd.choice([1, 3, 10, 40, 300])
        out.append("".join(rnd.choice(ALPHABET) for _ in range(k)))
    return out


def test_normalizers_never_raise():
    for s in _samples():
        c = clean(s)
        assert isinstance(c, str)
        assert unicodedata.is_normalized("NFC", c) or "\ud800" in s
        assert isinstance(match_key(s), str)
        assert isinstance(strip_diacritics(s), str)


def test_validators_never_raise():
    names = list(VALIDATORS) + [f"vocabulary:{v}" for v in load_vocabularies()
                                if v not in ("district", "commune")]
    ctx = {"declared_on": "15/06/2018"}
    for s in _samples(n=60):
        for name in names:
            f = validate(name, s, ctx)
            assert isinstance(f, Finding)
            assert 0.0 <= f.score <= 1.0
        assert parse_address(s) is not None


def test_checks_never_raise():
    samples = _samples(n=30)
    rnd = random.Random(7)
    roles = ["id", "sex", "dob", "place", "condition", "target", "relation", "marital", "name",
             "head_name", "head_id", "source", "person", "elder", "person_id", "elder_id",
             "date", "limit", "ref"]
    for _ in range(40):
        values = {r: rnd.choice(samples) for r in roles}
        bindings = [{"rule": r, "fields": {x: x for x in roles}, "params": {}} for r in RULES]
        run_checks(bindings, values)
    sheets = [{"household_book_no": rnd.choice(samples[:20]), "relation_to_head": s,
               "head_name": s, "head_id": s} for s in samples[:40]]
    check_households(sheets)
