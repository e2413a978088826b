"""People for synthetic records: names, ethnic groups and religions, personal ID and CMND numbers.

Names follow Vietnamese order (họ + chữ đệm + tên) with approximate real surname frequencies
(``data/names_vi.json``), and the naming customs of the larger minority groups. Every value is
made up.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from ocr_service.synth.draw import wchoice
from ocr_service.synth.places import Place

DATA_DIR = Path(__file__).resolve().parent / "data"

# Percent of ethnic minorities by province (GSO 2-digit codes; approximate 2019 census figures).
MINORITY_PCT: dict[str, float] = {
    "02": 87, "04": 95, "06": 88, "08": 53, "10": 64, "11": 82, "12": 85, "14": 83, "15": 50,
    "17": 73, "19": 27, "20": 83, "22": 12, "24": 13, "25": 15, "26": 4, "38": 16, "40": 14,
    "44": 2, "45": 12, "46": 4, "49": 8, "51": 12, "52": 3, "54": 5, "56": 5, "58": 23, "60": 5,
    "62": 54, "64": 46, "66": 33, "67": 32, "68": 24, "70": 18, "72": 2, "74": 2, "75": 6,
    "79": 5, "84": 32, "89": 5, "91": 14, "92": 3, "93": 3, "94": 35, "95": 10, "96": 3,
}
# group -> (national weight in per-mille of the population, main provinces)
MINORITY_HOMES: dict[str, tuple[float, tuple[str, ...]]] = {
    "Tày": (19, ("04", "06", "08", "19", "20", "02", "22", "15", "10", "24")),
    "Thái": (18, ("14", "11", "12", "38", "40", "15", "17")),
    "Mường": (15, ("17", "25", "38", "37", "14")),
    "Khơ-me": (14, ("94", "84", "91", "89", "95", "96", "92")),
    "HMông": (14, ("02", "10", "11", "12", "14", "15", "40", "04")),
    "Nùng": (11, ("20", "04", "24", "02", "19", "66", "10")),
    "Hoa": (8, ("79", "75", "91", "94", "22", "92")),
    "Dao": (9, ("02", "10", "15", "08", "22", "20", "06")),
    "Gia-rai": (5, ("64", "62")),
    "Ê-đê": (4, ("66", "67")),
    "Ba-na": (3, ("64", "62", "52")),
    "Xơ-đăng": (2, ("62", "49")),
    "Sán Chay": (2, ("08", "19", "24")),
    "Cơ-ho": (2, ("68",)),
    "Chăm": (2, ("58", "60", "89")),
    "Sán Dìu": (2, ("26", "19", "24", "22")),
    "Hrê": (1.5, ("51",)),
    "Mnông": (1.3, ("67", "66")),
    "Ra-glai": (1.5, ("58", "56")),
    "Xtiêng": (1, ("70",)),
    "Bru-Vân Kiều": (1, ("44", "45")),
    "Thổ": (0.9, ("40", "38")),
    "Giáy": (0.7, ("10", "12", "02")),
    "Cơ-tu": (0.7, ("49", "48", "46")),
    "Gié-Triêng": (0.6, ("62", "49")),
    "Mạ": (0.5, ("68", "67")),
    "Khơ-mú": (0.9, ("40", "11", "14")),
    "Co": (0.4, ("51", "49")),
    "Ta-ôi": (0.5, ("46", "45")),
    "Chơ-ro": (0.3, ("75",)),
    "Kháng": (0.15, ("14", "11")),
    "Xinh-mun": (0.3, ("14", "11")),
    "Hà Nhì": (0.25, ("12", "11", "10")),
    "Chu-ru": (0.2, ("68",)),
    "Lào": (0.17, ("11", "12")),
    "La Chí": (0.15, ("02",)),
    "La Ha": (0.1, ("14",)),
    "Phù Lá": (0.12, ("10", "02")),
    "La Hủ": (0.1, ("12",)),
    "Lự": (0.07, ("12",)),
    "Lô Lô": (0.04, ("02", "04")),
    "Chứt": (0.07, ("44",)),
    "Mảng": (0.04, ("12",)),
    "Pà Thẻn": (0.08, ("02", "08")),
    "Cơ Lao": (0.04, ("02",)),
    "Cống": (0.02, ("11",)),
    "Bố Y": (0.03, ("10",)),
    "Si La": (0.01, ("12",)),
    "Pu Péo": (0.01, ("02",)),
    "Brâu": (0.005, ("62",)),
    "Ơ Đu": (0.005, ("40",)),
    "Rơ-măm": (0.005, ("62",)),
    "Ngái": (0.01, ("22", "75")),
}
ETHNIC_GROUPS: tuple[str, ...] = ("Kinh", *MINORITY_HOMES)  # the 54 canonical names

RELIGION_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("Không", 84.5), ("Phật giáo", 7.0), ("Công giáo", 6.3), ("Tin lành", 1.0), ("Cao Đài", 0.6),
    ("Phật giáo Hòa Hảo", 0.5), ("Hồi giáo", 0.05), ("Tịnh độ Cư sỹ Phật hội Việt Nam", 0.03),
    ("Bửu Sơn Kỳ Hương", 0.01), ("Minh Sư đạo", 0.01), ("Baha'i", 0.01),
)

_MEKONG = ("89", "87", "92", "93", "86", "91", "94", "95", "96", "80", "82", "83", "84")

# CMND (9-digit) prefix by province of issue; approximate, used for realism only.
_CMND_PREFIX: dict[str, str] = {}
for _pfx, _codes in {
    "01": "01", "02": "79", "03": "31", "04": "11 12", "05": "14", "06": "10 15", "07": "02 08",
    "08": "20 04", "09": "19 06", "10": "22", "11": "17", "12": "24 27", "13": "25 26", "14": "30 33",
    "15": "34", "16": "35 36 37", "17": "38", "18": "40 42", "19": "44 45 46", "20": "48 49",
    "21": "51 52", "22": "54 56", "23": "62 64", "24": "66 67", "25": "68", "26": "58 60",
    "27": "75 77", "28": "74 70", "29": "72", "30": "80", "31": "82", "32": "83", "33": "86 84",
    "34": "87", "35": "89", "36": "92 93 94", "37": "91", "38": "96 95",
}.items():
    for _c in _codes.split():
        _CMND_PREFIX[_c] = _pfx

# Traditional -> new-style tone placement for open syllables ending in oa/oe/uy.
_NEW_TONE: dict[str, str] = {}
for _base, _tones in (("oa", "àáảãạ"), ("oe", "èéẻẽẹ"), ("uy", "ỳýỷỹỵ")):
    _first_toned = {"a": "òóỏõọ", "e": "òóỏõọ", "y": "ùúủũụ"}[_base[1]]
    for _i in range(5):
        _NEW_TONE[_first_toned[_i] + _base[1]] = _base[0] + _tones[_i]


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def name_data() -> dict:
    with open(DATA_DIR / "names_vi.json", encoding="utf-8") as f:
        d = json.load(f)
    sur = d["surnames"]
    d["_sur"] = (tuple(sur), tuple(w[0] for w in sur.values()), tuple(w[1] for w in sur.values()))
    d["_mid"] = {
        sex: (tuple(m), tuple(w[0] for w in m.values()), tuple(w[1] for w in m.values()))
        for sex, m in d["middle"].items()
    }
    return d


def _surname(rng: random.Random, north: bool) -> str:
    names, wn, ws = name_data()["_sur"]
    return rng.choices(names, wn if north else ws)[0]


def _kinh_name(rng: random.Random, sex: str, year: int, surname: str) -> str:
    d = name_data()
    mids, w_old, w_young = d["_mid"][sex]
    mid_w = w_old if year < 1980 else w_young
    g = d["given"][sex]
    pool = list(g["all"])
    if year < 1975:
        pool += g["old"] * 2
    if year >= 1990:
        pool += g["young"] * 3
    given = rng.choice(pool)
    r = rng.random()
    young = year >= 1990
    if r < 0.03:                       # surname + given only
        parts = [surname, given]
    elif r < (0.30 if young else 0.12 if year >= 1975 else 0.05):  # two middle names
        m1, m2 = rng.choices(mids, mid_w, k=2)
        if sex == "Nữ" and m1 != "Thị" and rng.random() < 0.3:
            m1, m2 = "Thị", m1
        while m2 == m1 or m2 in ("Văn", "Thị"):
            m2 = rng.choices(mids, mid_w)[0]
        parts = [surname, m1, m2, given]
    else:
        parts = [surname, rng.choices(mids, mid_w)[0], given]
    if young and rng.random() < 0.04:   # double surname (father's + mother's)
        second = _surname(rng, True)
        if second != surname:
            parts.insert(1, second)
    if parts[-1] == parts[-2]:
        parts[-1] = rng.choice(g["all"])
    return " ".join(parts)


def person_name(rng: random.Random, sex: str, year: int, ethnicity: str, north: bool,
                surname: str | None = None) -> tuple[str, str]:
    """Return (full name, surname/clan). ``surname`` forces the family name."""
    mino = name_data()["minority"].get(ethnicity)
    if mino is None or rng.random() < 0.15:
        sur = surname or _surname(rng, north)
        if mino is not None and mino.get("no_surname"):
            sur = surname or _surname(rng, north)
        return _kinh_name(rng, sex, year, sur), sur
    sur = surname or (rng.choice(mino["surnames"]) if "surnames" in mino else "")
    given_pool = mino.get("given", {}).get(sex) or name_data()["given"][sex]["all"]
    given = rng.choice(given_pool)
    if mino.get("no_surname"):
        return f"{mino['prefix'][sex]}{given}", sur
    if mino.get("clan_last"):
        return f"{mino['prefix'][sex]}{given} {sur}", sur
    if "middle" in mino:
        mid = rng.choice(mino["middle"][sex])
    else:
        mids, w_old, w_young = name_data()["_mid"][sex]
        mid = rng.choices(mids, w_old if year < 1980 else w_young)[0]
    return " ".join(x for x in (sur, mid, given) if x), sur


def new_style_tones(name: str) -> str:
    out = []
    for syl in name.split(" "):
        low = syl.lower()
        if len(low) >= 2 and not low.startswith("qu") and low[-2:] in _NEW_TONE:
            rep = _NEW_TONE[low[-2:]]
            if syl[-2:].isupper():
                rep = rep.upper()
            elif syl[-2].isupper():
                rep = rep[0].upper() + rep[1]
            syl = syl[:-2] + rep
        out.append(syl)
    return " ".join(out)


# ---------------------------------------------------------------------------
# Personal ID numbers
# ---------------------------------------------------------------------------
def personal_id(rng: random.Random, prefix3: str, sex: str, year: int) -> str:
    g = (year // 100 - 19) * 2 + (1 if sex == "Nữ" else 0)
    return f"{prefix3}{g}{year % 100:02d}{rng.randrange(10**6):06d}"


def cmnd(rng: random.Random, province_code: str) -> str:
    return _CMND_PREFIX.get(province_code, "01") + f"{rng.randrange(10**7):07d}"


# ---------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------
@dataclass(eq=False)
class Person:
    """One person of (or around) a household; values canonical, relatives linked by identity."""

    name: str
    surname: str
    sex: str
    born: dt.date
    ethnicity: str
    religion: str
    birth_place: Place
    native_place: Place
    id_number: str = ""
    alive: bool = True
    marital: str = "Chưa kết hôn"  # canonical: Chưa kết hôn | Đã kết hôn | Ly hôn | Góa
    spouse: Person | None = None
    father: Person | None = None
    mother: Person | None = None
    relation: str = ""            # canonical relation to the head ('' = not in the household)
    year_only: bool = False
    blood_group: str = ""
    other_name: str = ""
    occupation: str = ""
    education: str = ""
    phone: str = ""
    other_nationality: str = ""
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Ethnic group and religion of a household
# ---------------------------------------------------------------------------
def household_ethnicity(rng: random.Random, code: str) -> str:
    if rng.random() * 100 >= MINORITY_PCT.get(code, 0.7):
        return "Kinh"
    local = [(g, w) for g, (w, homes) in MINORITY_HOMES.items() if code in homes]
    if not local:
        local = [("Hoa", 8), ("Tày", 3), ("Mường", 2), ("Nùng", 2), ("Thái", 2), ("Khơ-me", 2)]
    return wchoice(rng, local)


def household_religion(rng: random.Random, code: str, ethnicity: str) -> str:
    if ethnicity in ("Khơ-me", "Hoa"):
        return wchoice(rng, (("Phật giáo", 70), ("Không", 28), ("Công giáo", 2)))
    if ethnicity in ("HMông", "Ê-đê", "Gia-rai", "Ba-na", "Mnông", "Xơ-đăng", "Cơ-ho"):
        return wchoice(rng, (("Không", 55), ("Tin lành", 25), ("Công giáo", 20)))
    if ethnicity == "Chăm":
        return wchoice(rng, (("Hồi giáo", 40), ("Bà-la-môn", 40), ("Không", 20)))
    pairs = list(RELIGION_WEIGHTS)
    if code in _MEKONG:
        pairs += [("Phật giáo Hòa Hảo", 6.0), ("Phật giáo", 6.0)]
    if code in ("72", "80", "82", "83", "79"):
        pairs += [("Cao Đài", 5.0)]
    if code in ("36", "37", "75", "34"):  # strongly Catholic areas
        pairs += [("Công giáo", 15.0)]
    return wchoice(rng, pairs)
