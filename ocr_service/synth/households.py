"""Synthetic households: who lives together, how they are related, their ages, places of birth,
ID numbers and the CC01-only attributes (blood group, occupation, education, phone).

:func:`draw_household` returns the household's context (home unit, declaration date, the
writer's habits) and its members, head first; :mod:`ocr_service.synth.records` writes their sheets.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from ocr_service.synth import people, places
from ocr_service.synth.draw import nfc, wchoice
from ocr_service.synth.people import Person
from ocr_service.synth.places import Place, Unit

# household size -> percent of households
SIZE_WEIGHTS = ((1, 9), (2, 18), (3, 22), (4, 26), (5, 13), (6, 7), (7, 3), (8, 2))

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


@dataclass
class Context:
    """What the members of one household share: the random source, declaration date, home unit,
    region, household ethnicity and religion, and the writer's habits (capitals, tone placement)."""

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


def _birth_for_age(ctx: Context, age: int) -> dt.date:
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


def _assign_id(ctx: Context, p: Person, issue_code: str) -> None:
    rng = ctx.rng
    if not p.alive:
        p.id_number = ""
        return
    age = ctx.age_of(p.born)
    if age < 14:
        has = rng.random() < (0.65 if p.born.year >= 2016 else 0.25)
        p.id_number = people.personal_id(rng, p.birth_place.unit.id_prefix, p.sex, p.born.year) if has else ""
        return
    p9 = 0.15 if age < 40 else 0.35 if age <= 70 else 0.5
    if rng.random() < p9:
        p.id_number = people.cmnd(rng, issue_code)
    else:
        p.id_number = people.personal_id(rng, p.birth_place.unit.id_prefix, p.sex, p.born.year)


def _birth_place_for(ctx: Context, age: int, kind: str) -> Place:
    """kind: head | spouse | child | elder | other."""
    rng = ctx.rng
    home = ctx.home.province_code
    if kind == "child":
        r = rng.random()
        if r < 0.75:
            return places.make_place(rng, home, unit=ctx.home, levels=(70, 15, 15), ubnd=0.08)
        code = home if r < 0.85 else ctx.origin if r < 0.95 else places.random_province(rng)
        return places.make_place(rng, code, levels=(60, 20, 20), ubnd=0.08)
    if kind in ("head", "elder"):
        code = ctx.origin
    elif kind == "spouse":
        r = rng.random()
        code = ctx.origin if r < 0.6 else home if r < 0.85 else places.random_province(rng)
    else:
        code = places.random_province(rng)
    old = age >= 50
    return places.make_place(rng, code, levels=(30, 15, 55) if old else (50, 20, 30))


def _native_place_for(ctx: Context, birth: Place) -> Place:
    rng = ctx.rng
    code = birth.unit.province_code if rng.random() < 0.8 else places.random_province(rng)
    if code == birth.unit.province_code and rng.random() < 0.6:
        return places.make_place(rng, code, unit=birth.unit)
    return places.make_place(rng, code)


def _new_person(ctx: Context, sex: str, age: int, kind: str, *, surname: str | None = None,
                ethnicity: str | None = None, birth_place: Place | None = None,
                native_place: Place | None = None) -> Person:
    rng = ctx.rng
    born = _birth_for_age(ctx, age)
    eth = ethnicity or ctx.ethnicity
    name, sur = people.person_name(rng, sex, born.year, eth, ctx.north, surname)
    bp = birth_place or _birth_place_for(ctx, age, kind)
    np_ = native_place or _native_place_for(ctx, bp)
    p = Person(name=nfc(name), surname=sur, sex=sex, born=born, ethnicity=eth, religion=ctx.religion,
               birth_place=bp, native_place=np_)
    if born.year < 1960 and rng.random() < 0.1:
        p.born = born = dt.date(born.year, 1, 1)
    p.year_only = born.year < 1950 and rng.random() < 0.35
    return p


def _stub_parent(ctx: Context, child: Person, sex: str, taken: set[str]) -> Person:
    """A parent who is not in the household (name and maybe ID on the child's sheet only)."""
    rng = ctx.rng
    child_age = ctx.age_of(child.born)
    gap = rng.randint(21, 38) if sex == "Nam" else rng.randint(19, 35)
    age = child_age + gap
    mino = people.name_data()["minority"].get(child.ethnicity, {})
    matrilineal = mino.get("clan_last") or child.ethnicity == "Gia-rai"
    same_line = (sex == "Nữ") == bool(matrilineal)
    surname = child.surname if same_line and child.surname else None
    code = child.native_place.unit.province_code if sex == "Nam" else (
        child.birth_place.unit.province_code if rng.random() < 0.6 else places.random_province(rng))
    bp = places.make_place(rng, code)
    p = Person(name="", surname="", sex=sex, born=dt.date(2000, 1, 1), ethnicity=child.ethnicity,
               religion=child.religion, birth_place=bp, native_place=child.native_place)
    p.born = _birth_for_age(ctx, min(age, 130))
    for _ in range(10):  # nobody is named after a relative
        name, sur = people.person_name(rng, sex, p.born.year, child.ethnicity, ctx.north, surname)
        if nfc(name) not in taken:
            break
    p.name, p.surname = nfc(name), sur
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


def _children(ctx: Context, father: Person | None, mother: Person | None, k: int,
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
        mino = people.name_data()["minority"].get(ctx.ethnicity, {})
        matrilineal = mino.get("clan_last") or ctx.ethnicity == "Gia-rai"
        src = mother if matrilineal and mother else surname_src
        surname = src.surname if src and src.surname else None
        c = _new_person(ctx, sex, age, "child", surname=surname,
                        native_place=(father.native_place if father else None))
        taken = {q.name for q in (*parents, *kids)}
        for _ in range(8):  # siblings and parents do not share a full name
            if c.name not in taken:
                break
            c.name = nfc(people.person_name(rng, sex, c.born.year, ctx.ethnicity, ctx.north, surname)[0])
        c.father, c.mother = father, mother
        c.relation = relation_from_head
        kids.append(c)
    return kids


def _marry(a: Person, b: Person) -> None:
    a.spouse, b.spouse = b, a
    a.marital = b.marital = "Đã kết hôn"


def _build_household(ctx: Context, size: int) -> list[Person]:
    rng = ctx.rng
    if size == 1:
        kind = "single"
    elif size == 2:
        kind = wchoice(rng, (("couple", 60), ("single_parent", 25), ("with_parent", 15)))
    else:
        kind = wchoice(rng, (("nuclear", 55), ("three_up", 15), ("three_down", 18),
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
            h.marital = wchoice(rng, (("Chưa kết hôn", 85), ("Ly hôn", 5), ("Đã kết hôn", 10)))
        else:
            h.marital = wchoice(rng, (("Góa", 50 if age > 60 else 10), ("Ly hôn", 15),
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
            extra_kind = wchoice(rng, (("Em ruột", 50), ("Cháu ruột", 30), ("Ở nhờ", 20)))
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
        h.marital = wchoice(rng, (("Góa", 45), ("Ly hôn", 45), ("Đã kết hôn", 10)))
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
            child.name, _ = people.person_name(rng, child.sex, child.born.year, ctx.ethnicity, ctx.north,
                                               child.surname)
            child.name = nfc(child.name)
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


def _finish_people(ctx: Context, members: list[Person]) -> None:
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
                p.id_number = people.personal_id(rng, p.birth_place.unit.id_prefix, p.sex, p.born.year)
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
                q.name = nfc(people.person_name(rng, q.sex, q.born.year, q.ethnicity, ctx.north, q.surname or None)[0])
            taken.add(q.name)
    for m in members:
        if m.father is None:
            m.father = _stub_parent(ctx, m, "Nam", taken)
        if m.mother is None:
            m.mother = _stub_parent(ctx, m, "Nữ", taken)
        for par in (m.father, m.mother):
            visit(par, any(par is q for q in members))
        _cc01_attributes(ctx, m)


def _cc01_attributes(ctx: Context, p: Person) -> None:
    rng = ctx.rng
    age = ctx.age_of(p.born)
    if rng.random() < 0.2:
        p.blood_group = wchoice(rng, (("O", 42), ("B", 30), ("A", 21), ("AB", 7)))
        if rng.random() < 0.1:
            p.blood_group += "+"
    if age >= 18 and rng.random() < 0.03:
        parts = p.name.split(" ")
        if len(parts) >= 2:
            alt = rng.choice(people.name_data()["given"][p.sex]["old" if p.born.year < 1975 else "all"])
            if alt != parts[-1]:
                p.other_name = " ".join(parts[:-1] + [alt])
    if rng.random() < 0.002:
        p.other_nationality = rng.choice(("Hoa Kỳ", "Pháp", "Úc", "Canada", "Đức"))
    # occupation
    if age < 6:
        p.occupation = wchoice(rng, (("", 70), ("Trẻ em", 20), ("Mầm non", 10)))
    elif age < 18:
        p.occupation = "Học sinh"
    elif age < 23 and rng.random() < 0.45:
        p.occupation = "Sinh viên"
    elif age >= 60 and rng.random() < 0.7:
        p.occupation = wchoice(rng, (("Hưu trí", 40 if ctx.urban else 15), ("Không", 25),
                                     ("Làm ruộng", 5 if ctx.urban else 30), ("Già yếu", 10), ("", 10)))
    else:
        pool = _OCCUPATIONS_URBAN if ctx.urban else _OCCUPATIONS_RURAL
        occ = wchoice(rng, pool)
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
        p.education = wchoice(rng, (("7/10", 20), ("10/10", 25), ("4/10", 10), ("Đại học", 8),
                                    ("Trung cấp", 8), ("Không", 10), ("", 19)))
    else:
        p.education = wchoice(rng, (("12/12", 38), ("9/12", 20), ("Đại học", 18), ("Cao đẳng", 7),
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


def _new_ctx(rng: random.Random, declared_on: dt.date | None) -> Context:
    code = places.random_province(rng)
    home = places.random_unit(rng, code)
    eth = people.household_ethnicity(rng, code)
    north = int(code) <= 45
    big_city = code in ("79", "01", "74", "75", "48")
    origin = code if rng.random() < (0.55 if big_city else 0.82) else places.random_province(rng, exclude=code)
    return Context(
        rng=rng, declared_on=declared_on or _random_declared_on(rng), home=home, north=north,
        ethnicity=eth, religion=people.household_religion(rng, code, eth), urban=home.ward_type != "Xã",
        caps=rng.random() < 0.3, new_tone=rng.random() < 0.15, origin=origin,
    )


def draw_household(rng: random.Random, size: int,
                   declared_on: dt.date | None = None) -> tuple[Context, list[Person]]:
    """A household of ``size`` people: its context and its members, head first, each with
    parents, an ID number where one is known, and the CC01 attributes."""
    ctx = _new_ctx(rng, declared_on)
    members = _build_household(ctx, size)
    _finish_people(ctx, members)
    return ctx, members
