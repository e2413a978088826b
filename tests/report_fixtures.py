"""A generated district for the report tests: three batches (two communes, one batch with no place or
officer typed, so the sheets' own header and officer fields count), sheets stored as the pipeline
and the review station would store them (``repo.write_result``, then ``repo.verify_field``), with
known blanks, unreadable and rejected fields, cross-field and household conflicts, and planted
duplicates. ``EXPECTED`` documents what each report must find (the tests assert it exactly)."""

from __future__ import annotations

from store_fixtures import TEMPLATE, sha

from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import FieldRow

ISSUE_LIST = ("xã,thôn,cán bộ,số phiếu phát\n"
              "Tân Phú,Thôn 1,Trần Văn Bình,12\n"
              "Xã Tân Phú,thôn 2,Lê Thị Cúc,9\n"
              "Tân Phú,Thôn 1,Trần Văn Bình,3\n"
              "Tân Phú,Thôn 3,,abc\n"
              ",Thôn 4,,5\n").encode("utf-8-sig")


def person(i: int, *, name: str | None = None, dob: str | None = None, year: int | None = None,
           female: bool = False, book: str, relation: str = "Chủ hộ", head: str | None = None,
           head_id: str | None = None, pid: str | None = None) -> dict:
    """The stored values of one sheet: unique name, date of birth and ID unless given."""
    year = year or 1950 + i
    name = name or f"NGƯỜI THỨ {i:02d}"
    dob = dob or f"{1 + i % 28:02d}/{1 + i % 12:02d}/{year}"
    pid = pid or f"001{1 if female else 0}{year % 100:02d}{i:06d}"
    values = {"hdr_commune": "Tân Phú", "full_name": name, "dob": dob, "sex": "Nữ" if female else "Nam",
              "id_number": pid, "ethnicity": "Kinh", "religion": "Không", "permanent_address": f"Số {i}, Thôn {i}",
              "current_address": f"Số {i}, Thôn {i}", "father_name": f"CHA THỨ {i:02d}",
              "head_name": head or name, "head_id": head_id or pid, "relation_to_head": relation,
              "household_book_no": book, "sig_officer_name": ""}
    return values


def fd(name: str, value: str, status: str = "auto_accepted", reasons: list[str] | None = None) -> dict:
    return {"name": name, "value": value, "raw": value, "confidence": 0.99 if status == "auto_accepted" else 0.4,
            "status": status, "reasons": list(reasons or []), "box_px": [10, 20, 300, 40], "engine": "fake",
            "kind": "text", "features": {}, "candidates": [value]}


class District:
    """Writes the batches; ``ids[label]`` is the sheet id of each labelled sheet (A1 … C4)."""

    def __init__(self, store):
        self.store = store
        self.ids: dict[str, int] = {}
        self.batches: dict[str, int] = {}
        self.n = 0

    def batch(self, name: str, **kw) -> int:
        with self.store.session() as s:
            self.batches[name] = repo.create_batch(s, name, template=TEMPLATE, **kw).id
        return self.batches[name]

    def sheet(self, label: str, batch: str, values: dict, *, special: dict | None = None,
              decisions: dict | None = None) -> int:
        """A sheet: ``values`` auto-accepted, except ``special`` (name → (value, status, reasons)); then
        ``decisions`` (name → ("verified", value) or ("rejected", note)) made by a reviewer."""
        self.n += 1
        special = special or {}
        fields = [fd(k, *special[k]) if k in special else fd(k, v) for k, v in values.items()]
        with self.store.session() as s:
            b = self.batches[batch]
            f = repo.add_file(s, b, sha256=sha(10_000 + self.n), original_name=f"{label}.jpg", size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(20_000 + self.n)}], enqueue=False)
            sheet_id = repo.write_result(s, f.id, {"file": f"{label}.jpg", "page": 1, "template": TEMPLATE,
                                                   "status": "ok", "fields": fields}).sheet_id
        for name, (status, arg) in (decisions or {}).items():
            with self.store.session() as s:
                row = s.scalars(repo.select(FieldRow).where(FieldRow.sheet_id == sheet_id,
                                                            FieldRow.name == name)).one()
                if status == "verified":
                    repo.verify_field(s, row.id, version=row.version, value=arg, actor="reviewer")
                else:
                    repo.verify_field(s, row.id, version=row.version, value="", actor="reviewer",
                                      status="rejected", note=arg)
        self.ids[label] = sheet_id
        return sheet_id

    def page(self, batch: str, status: str, *, reason: str = "could not be registered") -> None:
        """An unread page (rescan or error) of a batch."""
        self.n += 1
        with self.store.session() as s:
            b = self.batches[batch]
            f = repo.add_file(s, b, sha256=sha(10_000 + self.n), original_name=f"p{self.n}.jpg", size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(20_000 + self.n)}], enqueue=False)
            repo.write_result(s, f.id, {"page": 1, "status": status, "reason": reason, "template": ""})


    def duplicate_page(self, batch: str, label: str) -> None:
        self.n += 1
        with self.store.session() as s:
            sheet = repo.get_sheet(s, self.ids[label])
            f = repo.add_file(s, self.batches[batch], sha256=sha(10_000 + self.n), original_name="again.jpg",
                              size_bytes=1).row
            page = repo.add_pages(s, f.id, [{"page": 1, "sha256": sheet.page.sha256}], enqueue=False)[0]
            assert page.status == "duplicate"


CHECK_1939 = "check:id_vs_sex_dob: ID says born 1939, date of birth reads 1994"


def build(store) -> District:
    d = District(store)
    d.batch("hộp-A", commune="Tân Phú", village="Thôn 1", officer="Trần Văn Bình", expected_sheets=10)
    d.batch("hộp-B", commune="xã tân phú", village="Thôn 2", officer="Lê Thị Cúc", expected_sheets=8)
    d.batch("hộp-C", expected_sheets=5)  # nothing typed: the sheets' header and officer fields count

    # Batch A (Tân Phú, Thôn 1): households HK001 … HK005.
    d.sheet("A1", "hộp-A", person(1, book="HK001", name="NGUYỄN VĂN AN"),
            special={"father_name": ("", "auto_accepted", [])})  # an optional blank: not a revisit
    d.sheet("A2", "hộp-A", person(2, book="HK001", relation="Con", head="NGUYỄN VĂN AN", head_id="001051000001"),
            special={"ethnicity": ("", "needs_review", ["empty_required"])})  # blank, review pending
    hk2 = dict(head="TRẦN VĂN CƯỜNG", head_id="001053000003")
    d.sheet("A3", "hộp-A", person(3, book="HK002", name="TRẦN VĂN CƯỜNG"),
            special={"religion": ("", "needs_review", ["empty_required"])},
            decisions={"religion": ("verified", "")})  # review confirmed the blank
    a4 = person(4, book="HK002", relation="Con", pid="001039123456", dob="12/05/1994", **hk2)
    d.sheet("A4", "hộp-A", a4, special={"id_number": (a4["id_number"], "needs_review", [CHECK_1939]),
                                        "dob": (a4["dob"], "needs_review", [CHECK_1939])},
            decisions={"id_number": ("verified", a4["id_number"]), "dob": ("verified", a4["dob"])})
    a5 = person(5, book="HK003", name="PHAN VĂN ĐỨC", pid="001075000005", dob="03/03/1975")
    d.sheet("A5", "hộp-A", a5, special={"dob": ("03/03/1957", "needs_review",
                                                ["check:id_vs_sex_dob: ID says born 1975, date of birth reads 1957"])},
            decisions={"dob": ("verified", "03/03/1975")})  # review corrected the misread: consistent now
    d.sheet("A6", "hộp-A", person(6, book="HK003", head="PHAN VĂN ĐỨC", head_id="001075000005",
                                  pid="001056777777"))  # a second head of HK003
    same = dict(name="LÊ VĂN DŨNG", dob="01/01/1980")
    d.sheet("A7", "hộp-A", person(7, book="HK004", **same))
    d.sheet("A8", "hộp-A", person(8, book="HK004", relation="Con", head="LÊ VĂN DŨNG", head_id="001057000007",
                                  **same))  # same name and date of birth as A7, another ID
    d.sheet("A9", "hộp-A", person(9, book="HK005", name="VÕ THỊ EM", dob="09/09/1969", female=True,
                                  pid="001169999999"))
    d.page("hộp-A", "rescan")
    d.duplicate_page("hộp-A", "A1")  # the same image again: flagged, not a returned sheet

    # Batch B ("xã tân phú": the same commune; Thôn 2).
    d.sheet("B1", "hộp-B", person(11, book="HK002", relation="Vợ", head="TRẦN VĂN CUONG X", head_id="001053000003",
                                  female=True),  # HK002's head named differently: a household conflict
            special={"dob": ("1/1/19", "needs_review", ["low_confidence"])},
            decisions={"dob": ("rejected", "không đọc được")})
    d.sheet("B2", "hộp-B", person(12, book="HK006"), special={"full_name": ("X", "needs_review", ["low_confidence"])},
            decisions={"full_name": ("rejected", "phiếu bị rách")})
    d.sheet("B3", "hộp-B", person(13, book="HK007", pid="001056777777"))  # A6's ID
    d.sheet("B4", "hộp-B", person(14, book="HK006", relation="Con", head="NGƯỜI THỨ 12", head_id="001062000012"))

    # Batch C: nothing typed; every sheet's header says Xã Hòa Bình, its officer line Phạm Văn Dũng.
    c = {"hdr_commune": "Xã Hòa Bình", "sig_officer_name": "Phạm Văn Dũng"}
    d.sheet("C1", "hộp-C", {**person(21, book="HK101", pid="001071555555"), **c},
            special={"father_name": ("", "needs_review", ["unreadable"])})  # optional, pending: not a revisit
    c2 = {**person(22, book="HK101", relation="Con", head="NGƯỜI THỨ 21", head_id="001071555555",
                   pid="001071555555"), **c, "current_address": "như trên"}
    d.sheet("C2", "hộp-C", c2, special={"ethnicity": ("", "auto_accepted", [])})  # required and blank
    d.sheet("C3", "hộp-C", {**person(23, book="HK102", pid="001071555555"), **c})  # C1's ID again
    d.sheet("C4", "hộp-C", {**person(24, book="HK103", name="VÕ THỊ EM", dob="09/09/1969", female=True,
                                     pid="001169999999"), **c})  # A9 again: ID, name and date of birth
    return d
