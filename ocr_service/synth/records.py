"""Synthetic, internally consistent person records for DC01 / CC01 sheets.

Every value is made up (people, places and households come from :mod:`~ocr_service.synth.people`,
:mod:`~ocr_service.synth.places` and :mod:`~ocr_service.synth.households`).

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
import random

from ocr_service.synth import households
from ocr_service.synth.draw import nfc, wchoice
from ocr_service.synth.households import SIZE_WEIGHTS, Context
from ocr_service.synth.people import Person, new_style_tones, person_name
from ocr_service.synth.places import Unit, format_unit, full_address, random_province, random_unit

__all__ = [
    "FIELDS",
    "generate_household",
    "generate_household_with_truth",
    "generate_record",
    "generate_record_with_truth",
]

VN = "Việt Nam"

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

_RELIGION_SPELLINGS: dict[str, tuple[tuple[str, float], ...]] = {
    "Không": (("Không", 95), ("Không tôn giáo", 4), ("không", 1)),
    "Công giáo": (("Công giáo", 65), ("Thiên Chúa giáo", 25), ("Thiên chúa", 10)),
    "Phật giáo": (("Phật giáo", 85), ("Đạo Phật", 10), ("Phật", 5)),
    "Phật giáo Hòa Hảo": (("Phật giáo Hòa Hảo", 6), ("Hòa Hảo", 4)),
}

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


# ---------------------------------------------------------------------------
# Writing the sheets
# ---------------------------------------------------------------------------
def _raw(rng: random.Random, table: dict, value: str) -> str:
    pairs = table.get(value)
    return wchoice(rng, pairs) if pairs else value


def _marital_text(rng: random.Random, p: Person, age: int) -> str:
    m = p.marital
    if m == "Chưa kết hôn":
        if age < 14 and rng.random() < 0.4:
            return ""
        return wchoice(rng, (("Chưa kết hôn", 60), ("Độc thân", 25), ("chưa kết hôn", 15)))
    if m == "Đã kết hôn":
        return wchoice(rng, (("Đã kết hôn", 60), ("Có vợ" if p.sex == "Nam" else "Có chồng", 25),
                             ("đã kết hôn", 15)))
    if m == "Góa":
        return wchoice(rng, (("Góa", 60), ("Góa vợ" if p.sex == "Nam" else "Góa chồng", 40)))
    return m


def _dob_text(p: Person) -> str:
    return str(p.born.year) if p.year_only else p.born.strftime("%d/%m/%Y")


class _Sheet:
    """Household-level writing choices shared by all sheets."""

    def __init__(self, ctx: Context, members: list[Person]) -> None:
        rng = ctx.rng
        self.ctx = ctx
        self.members = members
        self.head = members[0]
        u = ctx.home
        self.address = full_address(rng, u)
        hstyle = rng.random()
        self.hdr_province = u.province_short if hstyle < 0.85 else format_unit(u.province_type, u.province_short, "full")
        dist_full = rng.random() < 0.3
        self.hdr_district = format_unit(u.district_type, u.district_short, "full" if dist_full else "short")
        self.hdr_commune = format_unit(u.ward_type, u.ward_short, "full" if dist_full else "short")
        self.book = self._book_no(rng, u)
        # officers: the ward's area police officer and the police chief
        self.officer = nfc(person_name(rng, "Nam" if rng.random() < 0.85 else "Nữ", rng.randint(1970, 1995),
                                       "Kinh", ctx.north)[0])
        self.chief = nfc(person_name(rng, "Nam" if rng.random() < 0.9 else "Nữ", rng.randint(1962, 1985),
                                     "Kinh", ctx.north)[0])
        self.chief_signs = rng.random() < 0.6
        self.officer_signs = rng.random() < 0.85
        self.nat_blank = rng.random() < 0.1  # this writer leaves relatives' nationality blank
        self.current_mode = wchoice(rng, (("Như trên", 35), ("như trên", 8), ("nt", 4), ("Nt", 3), ("same", 40),
                                          ("mixed", 10)))

    @staticmethod
    def _book_no(rng: random.Random, u: Unit) -> str:
        if rng.random() < 0.85:
            return u.province_code + f"{rng.randrange(10**7):07d}"
        return f"{rng.randrange(10**5, 10**rng.randint(6, 8)):d}"

    def name(self, person_name: str) -> str:
        n = new_style_tones(person_name) if self.ctx.new_tone else person_name
        return nfc(n.upper() if self.ctx.caps else n)

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
            other = random_unit(rng, ctx.home.province_code if rng.random() < 0.5 else random_province(rng))
            rec["current_address"] = full_address(rng, other)
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
            rec["sig_declarant_name"] = nfc(new_style_tones(p.name) if self.ctx.new_tone else p.name)
        rec["sig_officer"] = "1" if self.officer_signs else ""
        rec["sig_officer_name"] = self.officer if self.officer_signs else ""
        rec["sig_police_chief"] = "1" if self.chief_signs else ""
        rec["sig_police_chief_name"] = self.chief if self.chief_signs else ""
        rec = {k: nfc(v) for k, v in rec.items()}
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


def generate_household_with_truth(rng: random.Random, size: int | None = None, *,
                                  declared_on: dt.date | None = None) -> list[tuple[dict[str, str], dict]]:
    """Sheets of one household with ground truth, head first. ``size`` 1..12 (default: drawn)."""
    if size is None:
        size = wchoice(rng, SIZE_WEIGHTS)
    if not 1 <= size <= 12:
        raise ValueError(f"household size must be 1..12, got {size}")
    ctx, members = households.draw_household(rng, size, declared_on)
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
    size = rng.choices([s for s, _ in SIZE_WEIGHTS], [s * w for s, w in SIZE_WEIGHTS])[0]
    sheets = generate_household_with_truth(rng, size, declared_on=declared_on)
    return sheets[rng.randrange(len(sheets))]


def generate_record(rng: random.Random, *, declared_on: dt.date | None = None) -> dict[str, str]:
    """One realistic, internally consistent synthetic DC01 (+CC01) person record."""
    return generate_record_with_truth(rng, declared_on=declared_on)[0]


RESIDENCE_REQUESTS = (("Đăng ký thường trú", 40), ("Đăng ký tạm trú", 30), ("Tách hộ", 10),
                      ("Xác nhận thông tin về cư trú", 10), ("Điều chỉnh thông tin về cư trú", 10))


def generate_declaration(rng: random.Random, *, declared_on: dt.date | None = None,
                         max_members: int = 9) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A declaration with a table of household members (as CT01's item 11): the declarant's record
    (plus ``residence_office`` and ``request``, what such a form asks for) and the records of the
    other members of the household who change with them, 0..``max_members`` of them, in the
    household's order."""
    size = rng.choices([s for s, _ in SIZE_WEIGHTS], [s * w for s, w in SIZE_WEIGHTS])[0]
    sheets = generate_household_with_truth(rng, size, declared_on=declared_on)
    i = rng.randrange(len(sheets))
    rec = dict(sheets[i][0])
    others = [r for j, (r, _) in enumerate(sheets) if j != i]
    k = rng.randint(0, min(len(others), max_members))
    rec["residence_office"] = nfc(f"Công an {rec['hdr_commune']}")
    rec["request"] = wchoice(rng, RESIDENCE_REQUESTS)
    return rec, others[:k]
