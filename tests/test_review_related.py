"""Suggestions from what is settled elsewhere (web/related.py, vietnamese.suggest ``related`` and an
address's ``within``): a name, an ID or an address already decided or auto-accepted on the sheet's
other fields, or on the sheets scanned next to it, comes first in the list; an unsure reading or a
hidden decision never does; an address's units where the sheet was filled in rank first."""

from __future__ import annotations

import pytest
from api_fixtures import fast_hashing  # noqa: F401
from store_fixtures import TEMPLATE, field, result, sha
from web_fixtures import TestClient, add_users, login

from ocr_service.service.api import create_app
from ocr_service.service.store import open_store
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import FieldRow
from ocr_service.service.web import routes
from ocr_service.service.web.related import HINT_NEAR, HINT_SHEET
from ocr_service.settings import Settings
from ocr_service.vietnamese import suggest as vsuggest

HEAD, CHILD_ID = "LÂM HỮU ANH", "083073289699"


@pytest.fixture
def web(tmp_path, fast_hashing):  # noqa: F811
    settings = Settings(data_dir=tmp_path / "data", engines="fake")
    store = open_store(settings.database, settings.data_dir, create=True)
    add_users(store)
    yield create_app(settings, store), store
    store.close()


def _household(store, sheets: list[list[dict]]) -> list[dict[str, int]]:
    """One batch with a sheet per list of fields, in scan order; each sheet's field ids by name."""
    with store.session() as s:
        b = repo.create_batch(s, "household", template=TEMPLATE)
        for i, fields in enumerate(sheets):
            f = repo.add_file(s, b.id, sha256=sha(4000 + i), original_name=f"hh-{i}.jpg", size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(8000 + i)}], enqueue=False)
            repo.write_result(s, f.id, result(1, fields=fields))
    with store.session(write=False) as s:
        rows = list(s.scalars(repo.select(FieldRow).order_by(FieldRow.sheet_id, FieldRow.id)))
    out: dict[int, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r.sheet_id, {})[r.name] = r.id
    return [out[k] for k in sorted(out)]


def _items(c, field_id: int, q: str) -> list[tuple[str, str]]:
    res = c.get("/review/suggest", params={"field": field_id, "q": q})
    assert res.status_code == 200
    return [(i["value"], i["hint"]) for i in res.json()["items"]]


def test_a_name_and_an_id_settled_on_the_sheet_or_its_neighbour_come_first(web):
    app, store = web
    ids = _household(store, [
        # the head's sheet: his name and ID auto-accepted
        [field("full_name", value=HEAD), field("id_number", value="001082134480", kind="digits")],
        # a child's: its own name unsure, the head's name and the father's unsure, the ID settled later
        [field("full_name", "needs_review", "Lim tu Anh"), field("head_name", "needs_review", "Lư lên Ất"),
         field("father_name", "needs_review", "LÊ VĂN PHÁT"), field("sig_declarant_name", "needs_review", "Lâm Hữu"),
         field("id_number", "needs_review", "08307328969", "digits"), field("head_id", "needs_review", "0010821", "digits"),
         field("permanent_address", value="Xóm Lạc Hậu, Xã Phú Đô, Huyện Phú Lương, Tỉnh Thái Nguyên", kind="address"),
         field("current_address", "needs_review", "Xáut Lao", "address")],
    ])
    head, child = ids
    c = TestClient(app)
    assert login(c, "reviewer").status_code == 303

    # the neighbour sheet's auto-accepted name, for the head's name: typed "l", it is second, after
    # the surname list's first (which Tab takes, completing the word)
    got = _items(c, child["head_name"], "l")
    assert got[1] == (HEAD, HINT_NEAR) and got[0][1] == vsuggest.HINT_SURNAME
    assert all(v != "Lim tu Anh" for v, _ in got)  # the sheet's own unsure reading is never offered
    assert ("LÊ VĂN PHÁT", HINT_SHEET) not in got  # nor another field's unsure one
    # accent-free, and only what begins with what was typed
    assert _items(c, child["head_name"], "lam h")[1] == (HEAD, HINT_NEAR)
    assert all(v != HEAD for v, _ in _items(c, child["head_name"], "ng"))

    # a decision on this sheet is offered to its other fields at once, before the neighbour's
    with store.session() as s:
        f = repo.get_field(s, child["full_name"])
        repo.verify_field(s, f.id, version=f.version, value="Lâm Thị Tư", actor="reviewer")
    got = _items(c, child["sig_declarant_name"], "lam")
    assert got[1:3] == [("Lâm Thị Tư", HINT_SHEET), (HEAD, HINT_NEAR)]

    # an ID field has no list of its own: the settled IDs of its family are its suggestions
    assert _items(c, child["head_id"], "001") == [("001082134480", HINT_NEAR)]
    assert _items(c, child["head_id"], "9") == []
    # an address: the same sheet's settled permanent address for the current one
    assert [v for v, h in _items(c, child["current_address"], "xom") if h == HINT_SHEET] == [
        "Xóm Lạc Hậu, Xã Phú Đô, Huyện Phú Lương, Tỉnh Thái Nguyên"]
    # the review pages ask for suggestions as an ID is typed (it has no list, but a family), not
    # for a signature mark (neither)
    tdir = str(app.state.settings.templates_dir)
    assert routes.suggests(tdir, TEMPLATE, "head_id") and not routes.suggests(tdir, TEMPLATE, "sig_declarant")


def test_a_hidden_decision_is_not_offered(web):
    """A reviewer-QA sample waiting for its second answer hides the first reviewer's value: another
    reviewer must not see it as a suggestion either."""
    app, store = web
    ids = _household(store, [[field("full_name", "needs_review", "Nguyen"), field("head_name", "needs_review", "Ng")]])
    sheet = ids[0]
    with store.session() as s:
        f = repo.get_field(s, sheet["full_name"])
        repo.verify_field(s, f.id, version=f.version, value="Nguyễn Văn Bình", actor="reviewer2")
        f = repo.get_field(s, sheet["full_name"])
        f.qa_state, f.qa_reviewer = "pending", "reviewer2"  # a sample waiting for a second reviewer
    c = TestClient(app)
    assert login(c, "reviewer").status_code == 303
    assert all(v != "Nguyễn Văn Bình" for v, _ in _items(c, sheet["head_name"], "ng"))
    c2 = TestClient(app)
    assert login(c2, "reviewer2").status_code == 303  # its own author still gets their value
    assert ("Nguyễn Văn Bình", HINT_SHEET) in _items(c2, sheet["head_name"], "ng")


def test_related_values_lead_the_list_and_only_matching_ones():
    related = [("Lâm Hữu Anh", "a"), ("Nguyễn Văn A", "b"), ("Lâm Hữu Anh", "c")]
    got = vsuggest.suggest(vsuggest.NAME, "l", related=related)
    assert got[0].hint == vsuggest.HINT_SURNAME  # the list's first stays first (Tab completes the word)
    assert (got[1].value, got[1].hint, got[1].caret) == ("Lâm Hữu Anh", "a", len("Lâm Hữu Anh"))
    assert [s.value for s in got].count("Lâm Hữu Anh") == 1
    assert got[2].hint == vsuggest.HINT_SURNAME  # then the rest of the list
    assert vsuggest.suggest(None, "l", related=related)[0].value == "Lâm Hữu Anh"
    assert vsuggest.suggest(None, "", related=related) == []
    assert vsuggest.suggest(None, "Lâm Hữu Anh", related=related) == []  # what is typed already


def test_an_address_ranks_the_units_where_the_sheet_was_filled_in_first():
    near = vsuggest.suggest(vsuggest.ADDRESS, "p", within=("Hà Nội", "Long Biên"))
    assert near and all("Long Biên" in s.hint for s in near[:5])
    anywhere = vsuggest.suggest(vsuggest.ADDRESS, "p")
    assert not all("Long Biên" in s.hint for s in anywhere[:5])
    # a district of the header's province comes before the rest of the country
    towns = vsuggest.suggest(vsuggest.ADDRESS, "thi xa a", within=("Bình Định", "Tây Sơn"))
    assert towns[0].label == "Thị xã An Nhơn" != vsuggest.suggest(vsuggest.ADDRESS, "thi xa a")[0].label
    # once another part places the address, that decides, not the header
    later = vsuggest.suggest(vsuggest.ADDRESS, "p, Quận Hai Bà Trưng", at=1, within=("Hà Nội", "Long Biên"))
    assert later and all("Hai Bà Trưng" in s.hint for s in later)


def test_families_come_from_the_template_data():
    assert vsuggest.family_of(None, ["person_name"]) == vsuggest.NAME
    assert vsuggest.family_of(None, ["address"]) == vsuggest.ADDRESS
    assert vsuggest.family_of(None, ["id_number"]) == vsuggest.family_of(None, ("id_number",)) != vsuggest.family_of(None, ["digits:9"])
    assert vsuggest.family_of("ethnicity", []) is None and vsuggest.family_of(None, []) is None
