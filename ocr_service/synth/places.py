"""Places for synthetic records: administrative units, addresses, streets and villages.

Units are the pre-2025 communes of ``vietnamadminunits`` (loaded through
:func:`ocr_service.vietnamese.vocab.legacy_unit_rows`); provinces are drawn by population; house
numbers, streets, villages, hamlets and bản/buôn names are invented. Addresses are written the
ways declarants write them (full, lower-case, abbreviated, short province).
"""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass

from ocr_service.synth.draw import nfc, wchoice
from ocr_service.vietnamese.vocab import legacy_unit_rows

# The package's "legacy" data is the late-2024 state, where Thừa Thiên Huế had just
# become "Thành phố Huế". Sheets of 2018-2019 name the province "Thừa Thiên Huế".
PROVINCE_NAME_2018: dict[str, tuple[str, str]] = {"46": ("Tỉnh Thừa Thiên Huế", "Thừa Thiên Huế")}

# Population by province (GSO 2-digit codes; approximate 2019 census figures, thousands).
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
    rows = legacy_unit_rows()
    rows.sort(key=lambda r: (r["provinceCode"], r["district"], r["ward"] or ""))
    out: dict[str, list[Unit]] = {}
    for r in rows:
        if not r["ward"] or not r["wardType"]:
            continue  # island districts without communes
        code = r["provinceCode"]
        prov, short = PROVINCE_NAME_2018.get(code, (r["province"], r["provinceShort"]))
        district, ward = nfc(r["district"]), nfc(r["ward"])
        # a few rows carry a type that contradicts the name ("Phường 5" typed "Xã"): trust the name
        dtype = _type_of(district, ("Thành phố", "Thị xã", "Quận", "Huyện")) or nfc(r["districtType"])
        wtype = _type_of(ward, ("Thị trấn", "Phường", "Xã")) or nfc(r["wardType"])
        out.setdefault(code, []).append(Unit(code, nfc(prov), nfc(short), district, dtype, ward, wtype))
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


def random_unit(rng: random.Random, code: str) -> Unit:
    return rng.choices(admin_units()[code], cum_weights=_ward_weights(code))[0]


_PROV_CODES = tuple(POPULATION_K)
_PROV_CUM = tuple(itertools.accumulate(POPULATION_K.values()))


def random_province(rng: random.Random, exclude: str | None = None) -> str:
    while True:
        code = rng.choices(_PROV_CODES, cum_weights=_PROV_CUM)[0]
        if code != exclude:
            return code


_ABBR = {"Thành phố": "TP.", "Tỉnh": "", "Quận": "Q.", "Huyện": "H.", "Thị xã": "TX.",
         "Phường": "P.", "Xã": "X.", "Thị trấn": "TT."}


def format_unit(kind_type: str, short: str, style: str) -> str:
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
        parts.append(format_unit(u.ward_type, u.ward_short, s))
    if level in ("commune", "district"):
        parts.append(format_unit(u.district_type, u.district_short, s))
    parts.append(format_unit(u.province_type, u.province_short, prov_style))
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


def make_place(rng: random.Random, code: str, *, levels=(45, 20, 35), unit: Unit | None = None,
               ubnd: float = 0.0) -> Place:
    u = unit or random_unit(rng, code)
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
            return wchoice(rng, (
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
        return wchoice(rng, opts)
    if wt == "Thị trấn":
        k = rng.randint(1, 15)
        opts = [(f"Tổ dân phố {k}", 30), (f"Khu phố {k}", 15 if south else 5), (f"Tổ {k}", 10),
                (f"Số {n}, đường {street}, tổ dân phố {k}", 10)]
        if code == "40":
            opts.append((f"Khối {k}", 30))
        if code in ("38", "14"):
            opts.append((f"Tiểu khu {k}", 30))
        return wchoice(rng, opts)
    # Xã
    if south:
        name = _pair(rng, _HAMLET_A, _HAMLET_B)
        return wchoice(rng, ((f"Ấp {name}", 50), (f"Ấp {rng.randint(1, 9)}", 25),
                             (f"Tổ {t}, ấp {name}", 15), (f"Số {n}, ấp {name}", 10)))
    if code in _NORTHWEST:
        ban = _pair(rng, _BAN_A, _BAN_B)
        return wchoice(rng, ((f"Bản {ban}", 50), (f"Thôn {_village(rng)}", 30), (f"Xóm {ban}", 20)))
    if code in _HIGHLANDS:
        buon = _pair(rng, _BUON_A, _BUON_B)
        return wchoice(rng, ((f"Thôn {rng.randint(1, 15)}", 40), (f"Buôn {buon}", 20),
                             (f"Làng {buon}", 10), (f"Thôn {_village(rng)}", 30)))
    return wchoice(rng, ((f"Thôn {_village(rng)}", 50), (f"Xóm {rng.randint(1, 20)}", 15),
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


def full_address(rng: random.Random, u: Unit) -> str:
    return f"{_street_part(rng, u)}, {_admin_text(u, 'commune', _addr_style(rng))}"
