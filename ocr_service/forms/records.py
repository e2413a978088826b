"""Synthetic, internally consistent person records for DC01 / CC01 sheets.

Every value is made up. Names follow Vietnamese order (họ + chữ đệm + tên) with
approximate real surname frequencies; administrative units come from the pre-2025
data of ``vietnamadminunits``; house numbers, streets and villages are invented.

Public API
----------
``generate_record(rng, *, declared_on=None) -> dict[str, str]``
    One DC01 sheet (plus the CC01-only fields) as a flat ``field -> text`` dict,
    ``''`` for a blank field. Keys are exactly :data:`FIELDS`.
``generate_household(rng, size=None, *, declared_on=None) -> list[dict[str, str]]``
    The sheets of one household (head first): same head, book number, address,
    header and declaration date; exactly one "Chủ hộ".
``generate_record_with_truth`` / ``generate_household_with_truth``
    The same plus a ground-truth dict per sheet (canonical values, birth dates,
    administrative units as database names) for tests and evaluation.

The text is what a declarant would write: names sometimes in capitals, terse
relation words ("Con", "Bố"), "Như trên"/"nt" for the current address, spelling
variants of religions and ethnic groups. Canonical values are in the truth dict.
All strings are NFC.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FIELDS",
    "PROVINCE_NAME_2018",
    "Unit",
    "admin_units",
    "generate_household",
    "generate_household_with_truth",
    "generate_record",
    "generate_record_with_truth",
    "decode_personal_id",
]

FIELDS: tuple[str, ...] = (
    "hdr_province", "hdr_district", "hdr_commune",
    "full_name", "dob", "blood_group", "sex", "marital_status",
    "birth_registration_place", "native_place", "ethnicity", "nationality", "other_nationality",
    "religion", "id_number", "permanent_address", "current_address",
    "father_name", "father_nationality", "father_other_nationality", "father_id",
    "mother_name", "mother_nationality", "mother_other_nationality", "mother_id",
    "spouse_name", "spouse_nationality", "spouse_other_nationality", "spouse_id",
    "legal_rep_name", "legal_rep_nationality", "legal_rep_other_nationality", "legal_rep_id",
    "head_name", "head_nationality", "head_other_nationality", "head_id",
    "relation_to_head", "household_book_no", "declared_on",
    # CC01-only
    "other_name", "occupation", "education", "phone",
    # signatures
    "sig_police_chief", "sig_officer", "sig_declarant",
    "sig_declarant_name", "sig_officer_name", "sig_police_chief_name",
)

DATA_DIR = Path(__file__).resolve().parent / "data"
VN = "Việt Nam"

# The package's "legacy" data is the late-2024 state, where Thừa Thiên Huế had just
# become "Thành phố Huế". Sheets of 2018-2019 name the province "Thừa Thiên Huế".
PROVINCE_NAME_2018: dict[str, tuple[str, str]] = {"46": ("Tỉnh Thừa Thiên Huế", "Thừa Thiên Huế")}

# ---------------------------------------------------------------------------
# Population and ethnicity by province (GSO 2-digit codes; approximate 2019
# census figures, thousands of inhabitants / percent of ethnic minorities).
# ---------------------------------------------------------------------------
POPULATION_K: dict[str, int] = {
    "01": 8053, "02": 855, "04": 530, "06": 314, "08": 785, "10": 731, "11": 599, "12": 461,
    "14": 1249, "15": 822, "17": 855, "19": 1287, "20": 782, "22": 1320, "24": 1804, "25": 1464,
    "26": 1152, "27": 1369, "30": 1893, "31": 2028, "33": 1253, "34": 1860, "35": 853, "36": 1780,
    "37": 983, "38": 3640, "40": 3327, "42": 1289, "44": 896, "45": 633, "46": 1129, "48": 1135,
    "49": 1496, "51": 1231, "52": 1487, "54": 873, "56": 1232, "58": 591, "60": 1231, "62": 541,
    "64": 1514, "66": 1869, "67": 623, "68": 1297, "70": 995, "72": 1170, "74": 2426, "75": 3097,
    "77": 1149, "79": 8993, "80": 1689, "82": 1765, "83": 1289, "84": 1010, "86": 1023, "87": 1600,
    "89": 1908, "91": 1723, "92": 1236, "93": 733, "94": 1200, "95": 908, "96": 1194,
}
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

# How the group is sometimes written (raw text), with weights.
_ETHNIC_SPELLINGS: dict[str, tuple[tuple[str, float], ...]] = {
    "HMông": (("HMông", 3), ("Mông", 5), ("H'Mông", 2)),
    "Khơ-me": (("Khơ-me", 5), ("Khmer", 4), ("Khơ Me", 1)),
    "Ê-đê": (("Ê-đê", 6), ("Ê Đê", 4)),
    "Gia-rai": (("Gia-rai", 6), ("Gia Rai", 4)),
    "Ba-na": (("Ba-na", 6), ("Ba Na", 4)),
    "Xơ-đăng": (("Xơ-đăng", 6), ("Xơ Đăng", 4)),
    "Mnông": (("Mnông", 6), ("M'Nông", 4)),
    "Kinh": (("Kinh", 99), ("Việt", 1)),
}

RELIGION_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("Không", 84.5), ("Phật giáo", 7.0), ("Công giáo", 6.3), ("Tin lành", 1.0), ("Cao Đài", 0.6),
    ("Phật giáo Hòa Hảo", 0.5), ("Hồi giáo", 0.05), ("Tịnh độ Cư sỹ Phật hội Việt Nam", 0.03),
    ("Bửu Sơn Kỳ Hương", 0.01), ("Minh Sư đạo", 0.01), ("Baha'i", 0.01),
)
_RELIGION_SPELLINGS: dict[str, tuple[tuple[str, float], ...]] = {
    "Không": (("Không", 95), ("Không tôn giáo", 4), ("không", 1)),
    "Công giáo": (("Công giáo", 65), ("Thiên Chúa giáo", 25), ("Thiên chúa", 10)),
    "Phật giáo": (("Phật giáo", 85), ("Đạo Phật", 10), ("Phật", 5)),
    "Phật giáo Hòa Hảo": (("Phật giáo Hòa Hảo", 6), ("Hòa Hảo", 4)),
}
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

# ---------------------------------------------------------------------------
# Vocabulary for invented street and village names.
# ---------------------------------------------------------------------------
_STREETS = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Quang Trung", "Lý Thường Kiệt", "Hai Bà Trưng",
    "Lê Duẩn", "Nguyễn Huệ", "Phan Chu Trinh", "Phan Bội Châu", "Hùng Vương", "Nguyễn Du",
    "Võ Thị Sáu", "Trần Phú", "Điện Biên Phủ", "Nguyễn Văn Cừ", "Lê Thánh Tông", "Bà Triệu",
    "Lý Thái Tổ", "Ngô Quyền", "Đinh Tiên Hoàng", "Trần Quốc Toản", "Nguyễn Thái Học",
    "Hoàng Hoa Thám", "Tôn Đức Thắng", "Nguyễn Chí Thanh", "Lạc Long Quân", "Âu Cơ",
    "Nguyễn Đình Chiểu", "Chu Văn An", "Lê Hồng Phong", "Nguyễn Thị Minh Khai", "Phạm Ngũ Lão",
    "Yết Kiêu", "Hàm Nghi", "Trường Chinh", "Giải Phóng", "Độc Lập", "Thống Nhất", "Hòa Bình",
    "Nguyễn Công Trứ", "Lý Tự Trọng", "Cao Bá Quát", "Trần Nhân Tông", "Lê Văn Hưu", "Kim Đồng",
    "Tô Hiến Thành", "Hoàng Diệu", "Phan Đình Phùng", "Lê Quý Đôn", "Bạch Đằng", "Nguyễn Khuyến",
)
_VILLAGE_A = ("Đông", "Tây", "Nam", "Bắc", "Thượng", "Hạ", "Trung", "Phú", "Tân", "An", "Hòa",
              "Bình", "Phúc", "Thịnh", "Yên", "Vĩnh", "Long", "Mỹ", "Thanh", "Xuân", "Hưng",
              "Đồng", "Hợp", "Quang", "Đại", "Cổ", "Lạc", "Tiên", "Văn", "Kim")
_VILLAGE_B = ("Lộc", "Thọ", "Hòa", "An", "Phú", "Lợi", "Thành", "Hưng", "Xá", "Trại", "Khê",
              "Sơn", "Lâm", "Mỹ", "Yên", "Thượng", "Hạ", "Đông", "Tây", "Trung", "Nội", "Ngoại",
              "Bình", "Thịnh", "Phong", "Đoài", "Cầu", "Hậu")
_HAMLET_A = ("Tân", "Phước", "Bình", "Long", "Mỹ", "Thạnh", "An", "Hòa", "Vĩnh", "Phú", "Hiệp",
             "Thới", "Nhơn", "Hưng", "Khánh", "Trường")
_HAMLET_B = ("Thạnh", "Lợi", "Hòa", "Phú", "An", "Đông", "Tây", "Trung", "Long", "Hưng", "Thuận",
             "Quới", "Mỹ", "Hiệp", "Khánh", "Điền")
_BAN_A = ("Nà", "Nậm", "Huổi", "Pá", "Phiêng", "Co", "Khau", "Lũng", "Bó", "Pác", "Tà", "Nà")
_BAN_B = ("Hin", "Ten", "Lương", "Mường", "Sản", "Phầy", "Cáy", "Nưa", "Hốc", "Khoang", "Lếch",
          "Pục", "Ón", "Chang", "Tòng", "Mòn")
_BUON_A = ("Ea", "Kô", "Plei", "Đăk", "Krông", "Tơ", "Bon")
_BUON_B = ("Tung", "Sia", "Kmăn", "Rông", "Bar", "Jut", "Ktưk", "Drai", "Brơi", "Hra", "Đrăng", "Plang")

_NORTHWEST = ("02", "04", "06", "08", "10", "11", "12", "14", "15", "17", "20")
_HIGHLANDS = ("62", "64", "66", "67", "68")
_CITIES_PHO = ("01", "31", "36", "34", "30")  # write "phố" rather than "đường"

_OCCUPATIONS_RURAL = (
    ("Làm ruộng", 25), ("Nông dân", 10), ("Công nhân", 15), ("Lao động tự do", 15), ("Buôn bán", 8),
    ("Kinh doanh", 3), ("Giáo viên", 3), ("Cán bộ", 2), ("Viên chức", 2), ("Làm nông", 5),
    ("Thợ xây", 2), ("Thợ may", 2), ("Lái xe", 2), ("Nội trợ", 4), ("Bộ đội", 1),
)
_OCCUPATIONS_URBAN = (
    ("Công nhân", 15), ("Nhân viên văn phòng", 12), ("Kinh doanh", 12), ("Buôn bán", 10),
    ("Lao động tự do", 15), ("Công chức", 5), ("Viên chức", 5), ("Giáo viên", 4), ("Kỹ sư", 4),
    ("Bác sĩ", 1), ("Y tá", 1), ("Nội trợ", 4), ("Kế toán", 3), ("Lái xe", 3), ("Bảo vệ", 2),
    ("Nhân viên", 4), ("Thợ điện", 1),
)

# relation (canonical) -> raw spellings with weights
_RELATION_SPELLINGS: dict[str, tuple[tuple[str, float], ...]] = {
    "Chủ hộ": (("Chủ hộ", 1),),
    "Vợ": (("Vợ", 1),),
    "Chồng": (("Chồng", 1),),
    "Con đẻ": (("Con đẻ", 40), ("Con", 35), ("Con*", 25)),  # Con* -> Con trai / Con gái
    "Con dâu": (("Con dâu", 1),),
    "Con rể": (("Con rể", 1),),
    "Cha đẻ": (("Cha đẻ", 40), ("Bố đẻ", 25), ("Bố", 25), ("Cha", 10)),
    "Mẹ đẻ": (("Mẹ đẻ", 55), ("Mẹ", 45)),
    "Cháu nội": (("Cháu nội", 70), ("Cháu", 30)),
    "Cháu ngoại": (("Cháu ngoại", 70), ("Cháu", 30)),
    "Em ruột": (("Em ruột", 60), ("Em", 40)),
    "Anh ruột": (("Anh ruột", 70), ("Anh", 30)),
    "Chị ruột": (("Chị ruột", 70), ("Chị", 30)),
    "Cháu ruột": (("Cháu ruột", 50), ("Cháu", 50)),
    "Ở nhờ": (("Ở nhờ", 1),),
}

# Traditional -> new-style tone placement for open syllables ending in oa/oe/uy.
_NEW_TONE: dict[str, str] = {}
for _base, _tones in (("oa", "àáảãạ"), ("oe", "èéẻẽẹ"), ("uy", "ỳýỷỹỵ")):
    _first_toned = {"a": "òóỏõọ", "e": "òóỏõọ", "y": "ùúủũụ"}[_base[1]]
    for _i in range(5):
        _NEW_TONE[_first_toned[_i] + _base[1]] = _base[0] + _tones[_i]


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def _wchoice(rng: random.Random, pairs) -> Any:
    items = [p[0] for p in pairs]
    weights = [p[1] for p in pairs]
    return rng.choices(items, weights)[0]


# ---------------------------------------------------------------------------
# Administrative units
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """A commune (xã/phường/thị trấn) with its district and province, as in the database
    (except :data:`PROVINCE_NAME_2018`)."""

    province_code: str  # GSO 2-digit code, e.g. "01"
    province: str       # "Thành phố Hà Nội"
    province_short: str  # "Hà Nội"
    district: str       # "Quận Ba Đình"
    district_type: str  # "Quận"
    ward: str           # "Phường Phúc Xá"
    ward_type: str      # "Phường" | "Xã" | "Thị trấn"

    @property
    def id_prefix(self) -> str:
        return "0" + self.province_code

    @property
    def province_type(self) -> str:
        return "Thành phố" if self.province.startswith("Thành phố") else "Tỉnh"

    @property
    def district_short(self) -> str:
        return self.district[len(self.district_type) + 1:]

    @property
    def ward_short(self) -> str:
        return self.ward[len(self.ward_type) + 1:]


@functools.lru_cache(maxsize=1)
def admin_units() -> dict[str, tuple[Unit, ...]]:
    """Province code -> all communes of the pre-2025 data (cached)."""
    from vietnamadminunits.database import get_data

    rows = get_data(
        fields=["provinceCode", "province", "provinceShort", "district", "districtType", "ward", "wardType"],
        table="admin_units_legacy",
    )
    rows.sort(key=lambda r: (r["provinceCode"], r["district"], r["ward"] or ""))
    out: dict[str, list[Unit]] = {}
    for r in rows:
        if not r["ward"] or not r["wardType"]:
            continue  # island districts without communes
        code = r["provinceCode"]
        prov, short = PROVINCE_NAME_2018.get(code, (r["province"], r["provinceShort"]))
        district, ward = _nfc(r["district"]), _nfc(r["ward"])
        # a few rows carry a type that contradicts the name ("Phường 5" typed "Xã"): trust the name
        dtype = _type_of(district, ("Thành phố", "Thị xã", "Quận", "Huyện")) or _nfc(r["districtType"])
        wtype = _type_of(ward, ("Thị trấn", "Phường", "Xã")) or _nfc(r["wardType"])
        out.setdefault(code, []).append(Unit(code, _nfc(prov), _nfc(short), district, dtype, ward, wtype))
    return {k: tuple(v) for k, v in out.items()}


def _type_of(name: str, types: tuple[str, ...]) -> str | None:
    low = name.lower()
    for t in types:
        if low.startswith(t.lower() + " "):
            return t
    return None


_WARD_WEIGHT = {"Phường": 2.5, "Thị trấn": 2.0, "Xã": 1.0}


@functools.lru_cache(maxsize=None)
def _ward_weights(code: str) -> tuple[float, ...]:
    acc, out = 0.0, []
    for u in admin_units()[code]:
        acc += _WARD_WEIGHT[u.ward_type]
        out.append(acc)
    return tuple(out)


def _random_unit(rng: random.Random, code: str) -> Unit:
    return rng.choices(admin_units()[code], cum_weights=_ward_weights(code))[0]


_PROV_CODES = tuple(POPULATION_K)
_PROV_CUM = tuple(itertools.accumulate(POPULATION_K.values()))


def _random_province(rng: random.Random, exclude: str | None = None) -> str:
    while True:
        code = rng.choices(_PROV_CODES, cum_weights=_PROV_CUM)[0]
        if code != exclude:
            return code


_ABBR = {"Thành phố": "TP.", "Tỉnh": "", "Quận": "Q.", "Huyện": "H.", "Thị xã": "TX.",
         "Phường": "P.", "Xã": "X.", "Thị trấn": "TT."}


def _fmt(kind_type: str, short: str, style: str) -> str:
    """One administrative name in a writing style: full, lower, abbr, short."""
    if style == "short" and not short.isdigit():
        return short
    if style == "abbr":
        ab = _ABBR[kind_type]
        if not ab:
            return short
        return f"{ab}{short}" if short.isdigit() else f"{ab} {short}"
    if style == "lower":
        return f"{kind_type.lower()} {short}"
    return f"{kind_type} {short}"


def _admin_text(u: Unit, level: str, style: str) -> str:
    """'commune' | 'district' | 'province' level text of a unit in a style
    (full / lower / abbr / mixed = full names, short province)."""
    s = {"mixed": "full"}.get(style, style)
    prov_style = "short" if style == "mixed" else s
    parts = []
    if level == "commune":
        parts.append(_fmt(u.ward_type, u.ward_short, s))
    if level in ("commune", "district"):
        parts.append(_fmt(u.district_type, u.district_short, s))
    parts.append(_fmt(u.province_type, u.province_short, prov_style))
    if level == "province" and style != "full":
        return u.province_short
    return ", ".join(parts)


def _addr_style(rng: random.Random) -> str:
    return rng.choices(("full", "lower", "abbr", "mixed"), (50, 20, 12, 18))[0]


@dataclass
class Place:
    unit: Unit
    level: str  # commune | district | province
    text: str


def _make_place(rng: random.Random, code: str, *, levels=(45, 20, 35), unit: Unit | None = None,
                ubnd: float = 0.0) -> Place:
    u = unit or _random_unit(rng, code)
    level = rng.choices(("commune", "district", "province"), levels)[0]
    text = _admin_text(u, level, _addr_style(rng))
    if level == "commune" and rng.random() < ubnd:
        text = "UBND " + text
    return Place(u, level, text)


def _street_part(rng: random.Random, u: Unit) -> str:
    code, wt = u.province_code, u.ward_type
    n = rng.choice((rng.randint(1, 60), rng.randint(1, 300)))
    m = rng.randint(1, 200)
    t = rng.randint(1, 25)
    street = rng.choice(_STREETS)
    south = int(code) >= 70
    if wt == "Phường":
        if south:
            return _wchoice(rng, (
                (f"{n}/{rng.randint(1, 40)} Đường {street}", 20), (f"{n}/{m} {street}", 10),
                (f"Số {n}, hẻm {m}, đường {street}", 20), (f"{n} {street}", 20),
                (f"Tổ {t}, Khu phố {rng.randint(1, 12)}", 15), (f"Số {n}, Khu phố {rng.randint(1, 12)}", 15),
            ))
        road = "phố" if code in _CITIES_PHO and rng.random() < 0.7 else "đường"
        opts = [
            (f"Số {n}, ngõ {m}, {road} {street}", 30), (f"Số {n} ngõ {m} {road} {street}", 10),
            (f"Số {n}, ngách {rng.randint(1, 40)}/{m}, ngõ {m}, {road} {street}", 6),
            (f"Số nhà {n}, tổ {t}", 15), (f"Tổ {t}", 10), (f"Số {n} {road} {street}", 20),
            (f"Tổ dân phố {t}", 9),
        ]
        if code in ("46", "48"):
            opts.append((f"Kiệt {m} {street}", 15))
            opts.append((f"K{m}/{n} {street}", 10))
        return _wchoice(rng, opts)
    if wt == "Thị trấn":
        k = rng.randint(1, 15)
        opts = [(f"Tổ dân phố {k}", 30), (f"Khu phố {k}", 15 if south else 5), (f"Tổ {k}", 10),
                (f"Số {n}, đường {street}, tổ dân phố {k}", 10)]
        if code == "40":
            opts.append((f"Khối {k}", 30))
        if code in ("38", "14"):
            opts.append((f"Tiểu khu {k}", 30))
        return _wchoice(rng, opts)
    # Xã
    if south:
        name = _pair(rng, _HAMLET_A, _HAMLET_B)
        return _wchoice(rng, ((f"Ấp {name}", 50), (f"Ấp {rng.randint(1, 9)}", 25),
                              (f"Tổ {t}, ấp {name}", 15), (f"Số {n}, ấp {name}", 10)))
    if code in _NORTHWEST:
        ban = _pair(rng, _BAN_A, _BAN_B)
        return _wchoice(rng, ((f"Bản {ban}", 50), (f"Thôn {_village(rng)}", 30), (f"Xóm {ban}", 20)))
    if code in _HIGHLANDS:
        buon = _pair(rng, _BUON_A, _BUON_B)
        return _wchoice(rng, ((f"Thôn {rng.randint(1, 15)}", 40), (f"Buôn {buon}", 20),
                              (f"Làng {buon}", 10), (f"Thôn {_village(rng)}", 30)))
    return _wchoice(rng, ((f"Thôn {_village(rng)}", 50), (f"Xóm {rng.randint(1, 20)}", 15),
                          (f"Xóm {_village(rng)}", 10), (f"Thôn {rng.randint(1, 12)}", 10),
                          (f"Đội {rng.randint(1, 12)}, thôn {_village(rng)}", 5), (f"Làng {_village(rng)}", 10)))


def _pair(rng: random.Random, first: tuple[str, ...], second: tuple[str, ...]) -> str:
    a = rng.choice(first)
    b = rng.choice(second)
    while b == a:
        b = rng.choice(second)
    return f"{a} {b}"


def _village(rng: random.Random) -> str:
    return _pair(rng, _VILLAGE_A, _VILLAGE_B)


def _full_address(rng: random.Random, u: Unit) -> str:
    return f"{_street_part(rng, u)}, {_admin_text(u, 'commune', _addr_style(rng))}"


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _names() -> dict:
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
    names, wn, ws = _names()["_sur"]
    return rng.choices(names, wn if north else ws)[0]


def _kinh_name(rng: random.Random, sex: str, year: int, surname: str) -> str:
    d = _names()
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


def _person_name(rng: random.Random, sex: str, year: int, ethnicity: str, north: bool,
                 surname: str | None = None) -> tuple[str, str]:
    """Return (full name, surname/clan). ``surname`` forces the family name."""
    mino = _names()["minority"].get(ethnicity)
    if mino is None or rng.random() < 0.15:
        sur = surname or _surname(rng, north)
        if mino is not None and mino.get("no_surname"):
            sur = surname or _surname(rng, north)
        return _kinh_name(rng, sex, year, sur), sur
    sur = surname or (rng.choice(mino["surnames"]) if "surnames" in mino else "")
    given_pool = mino.get("given", {}).get(sex) or _names()["given"][sex]["all"]
    given = rng.choice(given_pool)
    if mino.get("no_surname"):
        return f"{mino['prefix'][sex]}{given}", sur
    if mino.get("clan_last"):
        return f"{mino['prefix'][sex]}{given} {sur}", sur
    if "middle" in mino:
        mid = rng.choice(mino["middle"][sex])
    else:
        mids, w_old, w_young = _names()["_mid"][sex]
        mid = rng.choices(mids, w_old if year < 1980 else w_young)[0]
    return " ".join(x for x in (sur, mid, given) if x), sur


def _new_style_tones(name: str) -> str:
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
def _personal_id(rng: random.Random, prefix3: str, sex: str, year: int) -> str:
    g = (year // 100 - 19) * 2 + (1 if sex == "Nữ" else 0)
    return f"{prefix3}{g}{year % 100:02d}{rng.randrange(10**6):06d}"


def _cmnd(rng: random.Random, province_code: str) -> str:
    return _CMND_PREFIX.get(province_code, "01") + f"{rng.randrange(10**7):07d}"


def decode_personal_id(number: str) -> tuple[str, str, int] | None:
    """12-digit personal ID -> (province prefix 'PPP', sex 'Nam'/'Nữ', birth year); None if not 12 digits."""
    if len(number) != 12 or not number.isdigit():
        return None
    g = int(number[3])
    return number[:3], ("Nữ" if g % 2 else "Nam"), 1900 + 100 * (g // 2) + int(number[4:6])


# ---------------------------------------------------------------------------
# People and households
# ---------------------------------------------------------------------------
@dataclass(eq=False)
class Person:
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


@dataclass
class _Ctx:
    rng: random.Random
    declared_on: dt.date
    home: Unit
    north: bool
    ethnicity: str
    religion: str
    urban: bool
    caps: bool
    new_tone: bool
    origin: str  # province code the head's family comes from

    def age_of(self, born: dt.date) -> int:
        d = self.declared_on
        return d.year - born.year - ((d.month, d.day) < (born.month, born.day))


def _random_declared_on(rng: random.Random) -> dt.date:
    start = dt.date(2018, 1, 2)
    while True:
        d = start + dt.timedelta(days=rng.randrange(729))
        if d.weekday() < 5 or rng.random() < 0.15:
            return d


def _birth_for_age(ctx: _Ctx, age: int) -> dt.date:
    """A birth date such that the person is exactly ``age`` on the declaration date."""
    d = ctx.declared_on
    try:
        anchor = d.replace(year=d.year - age)
    except ValueError:  # 29 Feb
        anchor = d.replace(year=d.year - age, day=28)
    born = anchor - dt.timedelta(days=ctx.rng.randrange(365))
    if ctx.age_of(born) != age:
        born = anchor
    return born


def _household_ethnicity(rng: random.Random, code: str) -> str:
    if rng.random() * 100 >= MINORITY_PCT.get(code, 0.7):
        return "Kinh"
    local = [(g, w) for g, (w, homes) in MINORITY_HOMES.items() if code in homes]
    if not local:
        local = [("Hoa", 8), ("Tày", 3), ("Mường", 2), ("Nùng", 2), ("Thái", 2), ("Khơ-me", 2)]
    return _wchoice(rng, local)


def _household_religion(rng: random.Random, code: str, ethnicity: str) -> str:
    if ethnicity in ("Khơ-me", "Hoa"):
        return _wchoice(rng, (("Phật giáo", 70), ("Không", 28), ("Công giáo", 2)))
    if ethnicity in ("HMông", "Ê-đê", "Gia-rai", "Ba-na", "Mnông", "Xơ-đăng", "Cơ-ho"):
        return _wchoice(rng, (("Không", 55), ("Tin lành", 25), ("Công giáo", 20)))
    if ethnicity == "Chăm":
        return _wchoice(rng, (("Hồi giáo", 40), ("Bà-la-môn", 40), ("Không", 20)))
    pairs = list(RELIGION_WEIGHTS)
    if code in _MEKONG:
        pairs += [("Phật giáo Hòa Hảo", 6.0), ("Phật giáo", 6.0)]
    if code in ("72", "80", "82", "83", "79"):
        pairs += [("Cao Đài", 5.0)]
    if code in ("36", "37", "75", "34"):  # strongly Catholic areas
        pairs += [("Công giáo", 15.0)]
    return _wchoice(rng, pairs)


def _assign_id(ctx: _Ctx, p: Person, issue_code: str) -> None:
    rng = ctx.rng
    if not p.alive:
        p.id_number = ""
        return
    age = ctx.age_of(p.born)
    if age < 14:
        has = rng.random() < (0.65 if p.born.year >= 2016 else 0.25)
        p.id_number = _personal_id(rng, p.birth_place.unit.id_prefix, p.sex, p.born.year) if has else ""
        return
    p9 = 0.15 if age < 40 else 0.35 if age <= 70 else 0.5
    if rng.random() < p9:
        p.id_number = _cmnd(rng, issue_code)
    else:
        p.id_number = _personal_id(rng, p.birth_place.unit.id_prefix, p.sex, p.born.year)


def _birth_place_for(ctx: _Ctx, age: int, kind: str) -> Place:
    """kind: head | spouse | child | elder | other."""
    rng = ctx.rng
    home = ctx.home.province_code
    if kind == "child":
        r = rng.random()
        if r < 0.75:
            return _make_place(rng, home, unit=ctx.home, levels=(70, 15, 15), ubnd=0.08)
        code = home if r < 0.85 else ctx.origin if r < 0.95 else _random_province(rng)
        return _make_place(rng, code, levels=(60, 20, 20), ubnd=0.08)
    if kind in ("head", "elder"):
        code = ctx.origin
    elif kind == "spouse":
        r = rng.random()
        code = ctx.origin if r < 0.6 else home if r < 0.85 else _random_province(rng)
    else:
        code = _random_province(rng)
    old = age >= 50
    return _make_place(rng, code, levels=(30, 15, 55) if old else (50, 20, 30))


def _native_place_for(ctx: _Ctx, birth: Place) -> Place:
    rng = ctx.rng
    code = birth.unit.province_code if rng.random() < 0.8 else _random_province(rng)
    if code == birth.unit.province_code and rng.random() < 0.6:
        return _make_place(rng, code, unit=birth.unit)
    return _make_place(rng, code)


def _new_person(ctx: _Ctx, sex: str, age: int, kind: str, *, surname: str | None = None,
                ethnicity: str | None = None, birth_place: Place | None = None,
                native_place: Place | None = None) -> Person:
    rng = ctx.rng
    born = _birth_for_age(ctx, age)
    eth = ethnicity or ctx.ethnicity
    name, sur = _person_name(rng, sex, born.year, eth, ctx.north, surname)
    bp = birth_place or _birth_place_for(ctx, age, kind)
    np_ = native_place or _native_place_for(ctx, bp)
    p = Person(name=_nfc(name), surname=sur, sex=sex, born=born, ethnicity=eth, religion=ctx.religion,
               birth_place=bp, native_place=np_)
    if born.year < 1960 and rng.random() < 0.1:
        p.born = born = dt.date(born.year, 1, 1)
    p.year_only = born.year < 1950 and rng.random() < 0.35
    return p


def _stub_parent(ctx: _Ctx, child: Person, sex: str, taken: set[str]) -> Person:
    """A parent who is not in the household (name and maybe ID on the child's sheet only)."""
    rng = ctx.rng
    child_age = ctx.age_of(child.born)
    gap = rng.randint(21, 38) if sex == "Nam" else rng.randint(19, 35)
    age = child_age + gap
    mino = _names()["minority"].get(child.ethnicity, {})
    matrilineal = mino.get("clan_last") or child.ethnicity == "Gia-rai"
    same_line = (sex == "Nữ") == bool(matrilineal)
    surname = child.surname if same_line and child.surname else None
    code = child.native_place.unit.province_code if sex == "Nam" else (
        child.birth_place.unit.province_code if rng.random() < 0.6 else _random_province(rng))
    bp = _make_place(rng, code)
    p = Person(name="", surname="", sex=sex, born=dt.date(2000, 1, 1), ethnicity=child.ethnicity,
               religion=child.religion, birth_place=bp, native_place=child.native_place)
    p.born = _birth_for_age(ctx, min(age, 130))
    for _ in range(10):  # nobody is named after a relative
        name, sur = _person_name(rng, sex, p.born.year, child.ethnicity, ctx.north, surname)
        if _nfc(name) not in taken:
            break
    p.name, p.surname = _nfc(name), sur
    taken.add(p.name)
    p_dead = 0.04 if age < 60 else 0.15 if age < 70 else 0.35 if age < 80 else 0.6 if age < 90 else 0.9
    p.alive = age <= 100 and rng.random() >= p_dead
    p.marital = "Đã kết hôn"
    _assign_id(ctx, p, code)
    return p


def _spouse_age(rng: random.Random, head_age: int, head_sex: str) -> int:
    diff = max(-4, min(15, round(rng.gauss(3, 3))))
    age = head_age - diff if head_sex == "Nam" else head_age + diff
    return max(18, min(95, age))


def _children(ctx: _Ctx, father: Person | None, mother: Person | None, k: int,
              relation_from_head: str, *, max_youngest: int = 25) -> list[Person]:
    """k children of (father, mother), ages compatible with the parents."""
    rng = ctx.rng
    parents = [p for p in (father, mother) if p is not None]
    youngest_parent_age = min(ctx.age_of(p.born) for p in parents)
    mother_age = ctx.age_of(mother.born) if mother else youngest_parent_age
    # ages: eldest born when the younger parent was >= 19 and the mother <= 44
    hi = min(youngest_parent_age - 19, mother_age - 19)
    lo = max(0, mother_age - 44)
    ages: list[int] = []
    if hi < lo:
        hi = lo = max(0, min(hi, lo))
    a = rng.randint(lo, min(hi, max(lo, max_youngest)))
    for _ in range(k):
        ages.append(a)
        a += rng.randint(1, 4)
        if a > hi:
            a = hi
    ages.sort(reverse=True)
    kids = []
    surname_src = father or mother
    for age in ages:
        sex = "Nam" if rng.random() < 0.52 else "Nữ"
        mino = _names()["minority"].get(ctx.ethnicity, {})
        matrilineal = mino.get("clan_last") or ctx.ethnicity == "Gia-rai"
        src = mother if matrilineal and mother else surname_src
        surname = src.surname if src and src.surname else None
        c = _new_person(ctx, sex, age, "child", surname=surname,
                        native_place=(father.native_place if father else None))
        taken = {q.name for q in (*parents, *kids)}
        for _ in range(8):  # siblings and parents do not share a full name
            if c.name not in taken:
                break
            c.name = _nfc(_person_name(rng, sex, c.born.year, ctx.ethnicity, ctx.north, surname)[0])
        c.father, c.mother = father, mother
        c.relation = relation_from_head
        kids.append(c)
    return kids


def _marry(a: Person, b: Person) -> None:
    a.spouse, b.spouse = b, a
    a.marital = b.marital = "Đã kết hôn"


def _build_household(ctx: _Ctx, size: int) -> list[Person]:
    rng = ctx.rng
    if size == 1:
        kind = "single"
    elif size == 2:
        kind = _wchoice(rng, (("couple", 60), ("single_parent", 25), ("with_parent", 15)))
    else:
        kind = _wchoice(rng, (("nuclear", 55), ("three_up", 15), ("three_down", 18),
                              ("single_parent", 8), ("nuclear_extra", 4)))
        if size - 2 > 6 and kind in ("nuclear", "single_parent", "nuclear_extra"):
            kind = "three_down"
    members: list[Person] = []

    def head_of(age: int, sex: str | None = None) -> Person:
        sex = sex or ("Nam" if rng.random() < 0.85 else "Nữ")
        h = _new_person(ctx, sex, age, "head")
        h.relation = "Chủ hộ"
        members.append(h)
        return h

    def spouse_for(h: Person, min_age: int = 18) -> Person:
        s_sex = "Nữ" if h.sex == "Nam" else "Nam"
        s_age = max(min_age, _spouse_age(rng, ctx.age_of(h.born), h.sex))
        s = _new_person(ctx, s_sex, s_age, "spouse",
                        ethnicity="Kinh" if ctx.ethnicity != "Kinh" and rng.random() < 0.05 else None)
        _marry(h, s)
        s.relation = "Vợ" if s_sex == "Nữ" else "Chồng"
        members.append(s)
        return s

    if kind == "single":
        age = rng.choice((rng.randint(20, 40), rng.randint(25, 90), rng.randint(60, 92)))
        h = head_of(age, "Nam" if rng.random() < 0.5 else "Nữ")
        if age < 35:
            h.marital = _wchoice(rng, (("Chưa kết hôn", 85), ("Ly hôn", 5), ("Đã kết hôn", 10)))
        else:
            h.marital = _wchoice(rng, (("Góa", 50 if age > 60 else 10), ("Ly hôn", 15),
                                       ("Chưa kết hôn", 15), ("Đã kết hôn", 20)))
        if h.marital == "Đã kết hôn":  # spouse registered elsewhere
            s = _new_person(ctx, "Nữ" if h.sex == "Nam" else "Nam",
                            _spouse_age(rng, age, h.sex), "spouse")
            _marry(h, s)
    elif kind in ("couple", "nuclear", "nuclear_extra"):
        n_kids = size - 2 - (1 if kind == "nuclear_extra" else 0)
        if n_kids == 0:
            age = rng.choice((rng.randint(22, 35), rng.randint(50, 90)))
        else:
            age = rng.randint(26, 62) if n_kids <= 3 else rng.randint(38, 70)
        h = head_of(age, "Nam" if rng.random() < 0.88 else "Nữ")
        s = spouse_for(h, 21 if n_kids else 18)
        father, mother = (h, s) if h.sex == "Nam" else (s, h)
        if n_kids:
            members += _children(ctx, father, mother, n_kids, "Con đẻ")
        if kind == "nuclear_extra":
            extra_kind = _wchoice(rng, (("Em ruột", 50), ("Cháu ruột", 30), ("Ở nhờ", 20)))
            if extra_kind == "Em ruột":
                e_age = max(16, ctx.age_of(h.born) - rng.randint(2, 12))
                e = _new_person(ctx, "Nam" if rng.random() < 0.5 else "Nữ", e_age, "head",
                                surname=h.surname, native_place=h.native_place)
                e.extra["sibling_of_head"] = True
            elif extra_kind == "Cháu ruột":
                e = _new_person(ctx, "Nam" if rng.random() < 0.5 else "Nữ", rng.randint(15, 24), "other",
                                surname=h.surname if rng.random() < 0.6 else None)
            else:
                e = _new_person(ctx, "Nam" if rng.random() < 0.5 else "Nữ", rng.randint(18, 30), "other",
                                ethnicity="Kinh")
            e.relation = extra_kind
            e.marital = "Chưa kết hôn"
            members.append(e)
    elif kind == "single_parent":
        n_kids = size - 1
        age = rng.randint(30, 65)
        h = head_of(age, "Nữ" if rng.random() < 0.75 else "Nam")
        h.marital = _wchoice(rng, (("Góa", 45), ("Ly hôn", 45), ("Đã kết hôn", 10)))
        other = _new_person(ctx, "Nam" if h.sex == "Nữ" else "Nữ", max(21, _spouse_age(rng, age, h.sex)),
                            "spouse")
        if h.marital == "Đã kết hôn":
            _marry(h, other)
        elif h.marital == "Góa":
            other.alive = False
        father, mother = (h, other) if h.sex == "Nam" else (other, h)
        members += _children(ctx, father, mother, n_kids, "Con đẻ")
    elif kind in ("with_parent", "three_up"):
        n_par = 1 if size == 2 or rng.random() < 0.65 else 2
        rest = size - 1 - n_par
        age = rng.randint(24, 45) if rest == 0 else rng.randint(28, 55)
        h = head_of(age, "Nam" if rng.random() < 0.8 else "Nữ")
        if rest == 0:
            h.marital = "Chưa kết hôn" if age < 35 or rng.random() < 0.5 else "Ly hôn"
        # the head's parents, built first as people so that the head links to them
        f_age = min(95, age + rng.randint(22, 36))
        m_age = max(age + 19, min(95, f_age - rng.randint(0, 6)))
        hf = _new_person(ctx, "Nam", f_age, "elder", surname=h.surname if h.sex else None,
                         native_place=h.native_place)
        hm = _new_person(ctx, "Nữ", min(95, m_age), "elder")
        hf.relation, hm.relation = "Cha đẻ", "Mẹ đẻ"
        h.father, h.mother = hf, hm
        if n_par == 2:
            _marry(hf, hm)
            parents = [hf, hm]
        else:
            keep, gone = (hm, hf) if rng.random() < 0.7 else (hf, hm)
            keep.marital = "Góa"
            gone.alive = False
            parents = [keep]
        if rest > 0:
            s = spouse_for(h, 21)
            father, mother = (h, s) if h.sex == "Nam" else (s, h)
            if rest > 1:
                members += _children(ctx, father, mother, rest - 1, "Con đẻ", max_youngest=18)
        members += parents
    else:  # three_down: elderly head, married child + in-law, grandchildren
        age = rng.randint(55, 85)
        h = head_of(age, "Nam" if rng.random() < 0.7 else "Nữ")
        used = 1
        with_spouse = rng.random() < 0.65 and size >= 4
        if with_spouse:
            s = spouse_for(h)
            used += 1
        else:
            h.marital = "Góa"
            s = _new_person(ctx, "Nữ" if h.sex == "Nam" else "Nam", _spouse_age(rng, age, h.sex), "spouse")
            s.alive = False
        hfather, hmother = (h, s) if h.sex == "Nam" else (s, h)
        via_son = rng.random() < 0.8
        child = _children(ctx, hfather, hmother, 1, "Con đẻ", max_youngest=40)[0]
        child_age = ctx.age_of(child.born)
        if child_age < 22:  # make the married child old enough
            young_parent = min(ctx.age_of(hmother.born), ctx.age_of(hfather.born))
            child.born = _birth_for_age(ctx, min(young_parent - 20, 45))
            child_age = ctx.age_of(child.born)
        if via_son != (child.sex == "Nam"):
            child.sex = "Nam" if via_son else "Nữ"
            child.name, _ = _person_name(rng, child.sex, child.born.year, ctx.ethnicity, ctx.north,
                                         child.surname)
            child.name = _nfc(child.name)
            if child.id_number:
                _assign_id(ctx, child, ctx.home.province_code)
        used += 1
        inlaw = _new_person(ctx, "Nữ" if via_son else "Nam", max(21, _spouse_age(rng, child_age, child.sex)),
                            "spouse")
        inlaw.relation = "Con dâu" if via_son else "Con rể"
        _marry(child, inlaw)
        used += 1
        cf, cm = (child, inlaw) if via_son else (inlaw, child)
        n_g = max(0, size - used)
        extra_kids = 0
        if n_g > 4:
            extra_kids = n_g - 4
            n_g = 4
        members += [child, inlaw]
        if n_g:
            members += _children(ctx, cf, cm, n_g, "Cháu nội" if via_son else "Cháu ngoại", max_youngest=14)
        if extra_kids:
            members += _children(ctx, hfather, hmother, extra_kids, "Con đẻ", max_youngest=25)
        # grown-up children in the household with their own spouse: ensure the sheet reads well
        members = [m for m in members if m is not None]
        if len(members) < size:  # cannot happen, but keep the size contract
            members += _children(ctx, hfather, hmother, size - len(members), "Con đẻ")

    members = members[:size]
    # the head's in-household relatives must be consistent with the head's age
    for m in members:
        if m.relation == "Em ruột" and m.born < members[0].born:
            m.relation = "Anh ruột" if m.sex == "Nam" else "Chị ruột"
    # adult unmarried children: most unmarried, a few married with the spouse elsewhere
    for m in members:
        age = ctx.age_of(m.born)
        if m.relation in ("Con đẻ", "Cháu nội", "Cháu ngoại", "Cháu ruột", "Em ruột", "Anh ruột",
                          "Chị ruột", "Ở nhờ") and m.spouse is None:
            if age >= 22 and rng.random() < 0.08:
                m.marital = "Ly hôn"
            else:
                m.marital = "Chưa kết hôn"
    return members


def _finish_people(ctx: _Ctx, members: list[Person]) -> None:
    """Parents for everyone, IDs, CC01 attributes."""
    rng = ctx.rng
    home_code = ctx.home.province_code
    seen: list[Person] = []

    def visit(p: Person | None, in_hh: bool) -> None:
        if p is None or any(p is q for q in seen):
            return
        seen.append(p)
        if not p.id_number and p.alive:
            _assign_id(ctx, p, home_code if in_hh else p.birth_place.unit.province_code)
            if in_hh and p.relation == "Chủ hộ" and not p.id_number:
                p.id_number = _personal_id(rng, p.birth_place.unit.id_prefix, p.sex, p.born.year)
        if not p.alive:
            p.id_number = ""

    for m in members:
        visit(m, True)
        if m.spouse is not None:
            visit(m.spouse, any(m.spouse is q for q in members))
    # nobody in or around the household shares a full name (sheets identify people by name)
    taken: set[str] = set()
    done: list[Person] = []
    for m in members:
        for q in (m, m.spouse, m.father, m.mother):
            if q is None or any(q is d for d in done):
                continue
            done.append(q)
            for _ in range(10):
                if q.name not in taken:
                    break
                q.name = _nfc(_person_name(rng, q.sex, q.born.year, q.ethnicity, ctx.north, q.surname or None)[0])
            taken.add(q.name)
    for m in members:
        if m.father is None:
            m.father = _stub_parent(ctx, m, "Nam", taken)
        if m.mother is None:
            m.mother = _stub_parent(ctx, m, "Nữ", taken)
        for par in (m.father, m.mother):
            visit(par, any(par is q for q in members))
        _cc01_attributes(ctx, m)


def _cc01_attributes(ctx: _Ctx, p: Person) -> None:
    rng = ctx.rng
    age = ctx.age_of(p.born)
    if rng.random() < 0.2:
        p.blood_group = _wchoice(rng, (("O", 42), ("B", 30), ("A", 21), ("AB", 7)))
        if rng.random() < 0.1:
            p.blood_group += "+"
    if age >= 18 and rng.random() < 0.03:
        parts = p.name.split(" ")
        if len(parts) >= 2:
            alt = rng.choice(_names()["given"][p.sex]["old" if p.born.year < 1975 else "all"])
            if alt != parts[-1]:
                p.other_name = " ".join(parts[:-1] + [alt])
    if rng.random() < 0.002:
        p.other_nationality = rng.choice(("Hoa Kỳ", "Pháp", "Úc", "Canada", "Đức"))
    # occupation
    if age < 6:
        p.occupation = _wchoice(rng, (("", 70), ("Trẻ em", 20), ("Mầm non", 10)))
    elif age < 18:
        p.occupation = "Học sinh"
    elif age < 23 and rng.random() < 0.45:
        p.occupation = "Sinh viên"
    elif age >= 60 and rng.random() < 0.7:
        p.occupation = _wchoice(rng, (("Hưu trí", 40 if ctx.urban else 15), ("Không", 25),
                                      ("Làm ruộng", 5 if ctx.urban else 30), ("Già yếu", 10), ("", 10)))
    else:
        pool = _OCCUPATIONS_URBAN if ctx.urban else _OCCUPATIONS_RURAL
        occ = _wchoice(rng, pool)
        if p.sex == "Nam" and occ in ("Nội trợ", "Thợ may"):
            occ = "Lao động tự do"
        if p.sex == "Nữ" and occ in ("Thợ xây", "Lái xe", "Bộ đội", "Thợ điện"):
            occ = "Buôn bán"
        p.occupation = occ
    # education
    if age < 6:
        p.education = ""
    elif age < 18:
        p.education = f"{min(12, max(1, age - 5))}/12"
    elif p.born.year < 1965:
        p.education = _wchoice(rng, (("7/10", 20), ("10/10", 25), ("4/10", 10), ("Đại học", 8),
                                     ("Trung cấp", 8), ("Không", 10), ("", 19)))
    else:
        p.education = _wchoice(rng, (("12/12", 38), ("9/12", 20), ("Đại học", 18), ("Cao đẳng", 7),
                                     ("Trung cấp", 7), ("Thạc sĩ", 2), ("5/12", 3), ("", 5)))
        if p.occupation == "Sinh viên":
            p.education = "12/12"
    # phone
    if age >= 15 and rng.random() < (0.85 if age < 70 else 0.4):
        p.phone = _phone(rng, ctx.declared_on)


def _phone(rng: random.Random, when: dt.date) -> str:
    if when < dt.date(2018, 9, 15) and rng.random() < 0.35:  # before the 11 -> 10 digit change
        return "01" + rng.choice("2689") + f"{rng.randrange(10**8):08d}"
    head = rng.choice(("09", "09", "09", "03", "08", "07", "05")) if when >= dt.date(2018, 9, 15) else rng.choice(("09", "09", "08"))
    return head + f"{rng.randrange(10**8):08d}"


# ---------------------------------------------------------------------------
# Writing the sheets
# ---------------------------------------------------------------------------
def _raw(rng: random.Random, table: dict, value: str) -> str:
    pairs = table.get(value)
    return _wchoice(rng, pairs) if pairs else value


def _marital_text(rng: random.Random, p: Person, age: int) -> str:
    m = p.marital
    if m == "Chưa kết hôn":
        if age < 14 and rng.random() < 0.4:
            return ""
        return _wchoice(rng, (("Chưa kết hôn", 60), ("Độc thân", 25), ("chưa kết hôn", 15)))
    if m == "Đã kết hôn":
        return _wchoice(rng, (("Đã kết hôn", 60), ("Có vợ" if p.sex == "Nam" else "Có chồng", 25),
                              ("đã kết hôn", 15)))
    if m == "Góa":
        return _wchoice(rng, (("Góa", 60), ("Góa vợ" if p.sex == "Nam" else "Góa chồng", 40)))
    return m


def _dob_text(p: Person) -> str:
    return str(p.born.year) if p.year_only else p.born.strftime("%d/%m/%Y")


class _Sheet:
    """Household-level writing choices shared by all sheets."""

    def __init__(self, ctx: _Ctx, members: list[Person]) -> None:
        rng = ctx.rng
        self.ctx = ctx
        self.members = members
        self.head = members[0]
        u = ctx.home
        self.address = _full_address(rng, u)
        hstyle = rng.random()
        self.hdr_province = u.province_short if hstyle < 0.85 else _fmt(u.province_type, u.province_short, "full")
        dist_full = rng.random() < 0.3
        self.hdr_district = _fmt(u.district_type, u.district_short, "full" if dist_full else "short")
        self.hdr_commune = _fmt(u.ward_type, u.ward_short, "full" if dist_full else "short")
        self.book = self._book_no(rng, u)
        # officers: the ward's area police officer and the police chief
        self.officer = _nfc(_person_name(rng, "Nam" if rng.random() < 0.85 else "Nữ", rng.randint(1970, 1995),
                                         "Kinh", ctx.north)[0])
        self.chief = _nfc(_person_name(rng, "Nam" if rng.random() < 0.9 else "Nữ", rng.randint(1962, 1985),
                                       "Kinh", ctx.north)[0])
        self.chief_signs = rng.random() < 0.6
        self.officer_signs = rng.random() < 0.85
        self.nat_blank = rng.random() < 0.1  # this writer leaves relatives' nationality blank
        self.current_mode = _wchoice(rng, (("Như trên", 35), ("như trên", 8), ("nt", 4), ("Nt", 3), ("same", 40),
                                           ("mixed", 10)))

    @staticmethod
    def _book_no(rng: random.Random, u: Unit) -> str:
        if rng.random() < 0.85:
            return u.province_code + f"{rng.randrange(10**7):07d}"
        return f"{rng.randrange(10**5, 10**rng.randint(6, 8)):d}"

    def name(self, person_name: str) -> str:
        n = _new_style_tones(person_name) if self.ctx.new_tone else person_name
        return _nfc(n.upper() if self.ctx.caps else n)

    def block(self, rec: dict, prefix: str, p: Person | None, id_known: float) -> None:
        if p is None:
            return
        rng = self.ctx.rng
        rec[f"{prefix}_name"] = self.name(p.name)
        rec[f"{prefix}_nationality"] = "" if self.nat_blank else VN
        rec[f"{prefix}_other_nationality"] = p.other_nationality if p.alive else ""
        if p.id_number and p.alive and rng.random() < id_known:
            rec[f"{prefix}_id"] = p.id_number

    def record(self, p: Person) -> tuple[dict[str, str], dict]:
        ctx, rng = self.ctx, self.ctx.rng
        age = ctx.age_of(p.born)
        in_hh = lambda q: q is not None and any(q is m for m in self.members)  # noqa: E731
        rec = {k: "" for k in FIELDS}
        rec.update(
            hdr_province=self.hdr_province, hdr_district=self.hdr_district, hdr_commune=self.hdr_commune,
            full_name=self.name(p.name), dob=_dob_text(p), blood_group=p.blood_group, sex=p.sex,
            marital_status=_marital_text(rng, p, age),
            birth_registration_place=p.birth_place.text, native_place=p.native_place.text,
            ethnicity=_raw(rng, _ETHNIC_SPELLINGS, p.ethnicity), nationality=VN,
            other_nationality=p.other_nationality,
            religion=_raw(rng, _RELIGION_SPELLINGS, p.religion), id_number=p.id_number,
            permanent_address=self.address,
            relation_to_head=self._relation(p), household_book_no=self.book,
            declared_on=ctx.declared_on.strftime("%d/%m/%Y"),
            other_name=self.name(p.other_name) if p.other_name else "",
            occupation=p.occupation, education=p.education, phone=p.phone,
        )
        # current address
        mode = self.current_mode
        if mode == "mixed":
            mode = rng.choice(("Như trên", "same"))
        if 18 <= age <= 40 and rng.random() < 0.12:
            other = _random_unit(rng, ctx.home.province_code if rng.random() < 0.5 else _random_province(rng))
            rec["current_address"] = _full_address(rng, other)
            cur_unit = other
        else:
            rec["current_address"] = self.address if mode == "same" else mode
            cur_unit = ctx.home
        father = p.father
        mother = p.mother
        self.block(rec, "father", father, 0.9 if in_hh(father) else 0.5)
        self.block(rec, "mother", mother, 0.9 if in_hh(mother) else 0.5)
        if p.marital == "Đã kết hôn" and p.spouse is not None:
            self.block(rec, "spouse", p.spouse, 0.9 if in_hh(p.spouse) else 0.6)
        legal_rep = None
        if age < 18 and rng.random() < 0.9:
            for cand in (father, mother, self.head):
                if cand is not None and cand.alive and cand is not p and ctx.age_of(cand.born) >= 18:
                    legal_rep = cand
                    break
            if legal_rep is not None:
                self.block(rec, "legal_rep", legal_rep, 0.8)
        # head block: always identical on every sheet
        rec["head_name"] = self.name(self.head.name)
        rec["head_nationality"] = VN
        rec["head_other_nationality"] = self.head.other_nationality
        rec["head_id"] = self.head.id_number
        # signatures
        rec["sig_declarant"] = "1" if rng.random() < 0.95 else ""
        rec["sig_declarant_name"] = rec["full_name"] if rec["sig_declarant"] and rng.random() < 0.92 else ""
        if rec["sig_declarant_name"] and self.ctx.caps and rng.random() < 0.5:
            rec["sig_declarant_name"] = _nfc(_new_style_tones(p.name) if self.ctx.new_tone else p.name)
        rec["sig_officer"] = "1" if self.officer_signs else ""
        rec["sig_officer_name"] = self.officer if self.officer_signs else ""
        rec["sig_police_chief"] = "1" if self.chief_signs else ""
        rec["sig_police_chief_name"] = self.chief if self.chief_signs else ""
        rec = {k: _nfc(v) for k, v in rec.items()}
        truth = {
            "name": p.name, "sex": p.sex, "birth_date": p.born, "age": age, "year_only": p.year_only,
            "marital_status": p.marital, "relation_to_head": p.relation, "ethnicity": p.ethnicity,
            "religion": p.religion, "id_number": p.id_number,
            "permanent_unit": ctx.home, "current_unit": cur_unit,
            "birth_registration_unit": p.birth_place.unit, "birth_registration_level": p.birth_place.level,
            "native_unit": p.native_place.unit, "native_level": p.native_place.level,
            "father_birth_date": father.born if father else None,
            "father_id": father.id_number if father else "",
            "mother_birth_date": mother.born if mother else None,
            "mother_id": mother.id_number if mother else "",
            "spouse_birth_date": p.spouse.born if p.spouse else None,
            "spouse_sex": p.spouse.sex if p.spouse else None,
            "spouse_id": p.spouse.id_number if p.spouse else "",
            "legal_rep_id": legal_rep.id_number if legal_rep else "",
            "head_name": self.head.name, "head_id": self.head.id_number,
            "caps": ctx.caps, "new_tone": ctx.new_tone, "declared_on": ctx.declared_on,
        }
        return rec, truth

    def _relation(self, p: Person) -> str:
        raw = _raw(self.ctx.rng, _RELATION_SPELLINGS, p.relation)
        if raw == "Con*":
            raw = "Con trai" if p.sex == "Nam" else "Con gái"
        return raw


_SIZE_WEIGHTS = ((1, 9), (2, 18), (3, 22), (4, 26), (5, 13), (6, 7), (7, 3), (8, 2))


def _new_ctx(rng: random.Random, declared_on: dt.date | None) -> _Ctx:
    code = _random_province(rng)
    home = _random_unit(rng, code)
    eth = _household_ethnicity(rng, code)
    north = int(code) <= 45
    big_city = code in ("79", "01", "74", "75", "48")
    origin = code if rng.random() < (0.55 if big_city else 0.82) else _random_province(rng, exclude=code)
    return _Ctx(
        rng=rng, declared_on=declared_on or _random_declared_on(rng), home=home, north=north,
        ethnicity=eth, religion=_household_religion(rng, code, eth), urban=home.ward_type != "Xã",
        caps=rng.random() < 0.3, new_tone=rng.random() < 0.15, origin=origin,
    )


def generate_household_with_truth(rng: random.Random, size: int | None = None, *,
                                  declared_on: dt.date | None = None) -> list[tuple[dict[str, str], dict]]:
    """Sheets of one household with ground truth, head first. ``size`` 1..12 (default: drawn)."""
    if size is None:
        size = _wchoice(rng, _SIZE_WEIGHTS)
    if not 1 <= size <= 12:
        raise ValueError(f"household size must be 1..12, got {size}")
    ctx = _new_ctx(rng, declared_on)
    members = _build_household(ctx, size)
    _finish_people(ctx, members)
    sheet = _Sheet(ctx, members)
    return [sheet.record(m) for m in members]


def generate_household(rng: random.Random, size: int | None = None, *,
                       declared_on: dt.date | None = None) -> list[dict[str, str]]:
    """The DC01 sheets of one synthetic household (head first)."""
    return [rec for rec, _ in generate_household_with_truth(rng, size, declared_on=declared_on)]


def generate_record_with_truth(rng: random.Random, *,
                               declared_on: dt.date | None = None) -> tuple[dict[str, str], dict]:
    """One synthetic sheet and its ground truth (a random member of a random household)."""
    # a person-level draw: households weighted by their size
    size = rng.choices([s for s, _ in _SIZE_WEIGHTS], [s * w for s, w in _SIZE_WEIGHTS])[0]
    sheets = generate_household_with_truth(rng, size, declared_on=declared_on)
    return sheets[rng.randrange(len(sheets))]


def generate_record(rng: random.Random, *, declared_on: dt.date | None = None) -> dict[str, str]:
    """One realistic, internally consistent synthetic DC01 (+CC01) person record."""
    return generate_record_with_truth(rng, declared_on=declared_on)[0]
