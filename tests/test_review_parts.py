"""Suggestions for the part where the caret is (vietnamese.suggest, GET /review/suggest?at=): any
comma-separated part of an address, fitting the units written around it in the gazetteer's tree of
each era, and any word of a personal name (listed surnames and middle names, the engines' readings);
a district or commune field's list fitting the sheet's province and district.
In-process (TestClient, SQLite) for the endpoint."""

from __future__ import annotations

import pytest
from api_fixtures import fast_hashing  # noqa: F401
from store_fixtures import TEMPLATE, field, result, sha
from web_fixtures import TestClient, add_users, login

from ocr_service.service.api import create_app
from ocr_service.service.store import open_store
from ocr_service.service.store import repository as repo
from ocr_service.service.web.routes import KEYS as GROUP_KEYS
from ocr_service.service.web.sheetmode import KEYS as SHEET_KEYS
from ocr_service.settings import Settings
from ocr_service.vietnamese import suggest as S


def test_names_and_addresses_get_their_sources_from_the_template_validators():
    assert S.source_for(None, ("person_name",)) == S.NAME
    assert S.source_for(None, ("address", "person_name")) == S.ADDRESS
    assert S.source_for(None, ("date",)) is None


def test_an_address_part_in_the_middle_is_completed_and_fits_its_neighbours():
    text = "Xã Tân Lập, huyen dan ph, Thành phố Hà Nội"
    got = S.suggest(S.ADDRESS, text, at=text.index(", Thành"))
    assert got[0].value == "Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội"
    assert got[0].caret == len("Xã Tân Lập, Huyện Đan Phượng")
    # the caret at the end: the last part, as before (the earlier parts kept), and the comma before
    # the unit above it, the caret after them (the province's list comes next)
    got = S.suggest(S.ADDRESS, "Xã Tân Lập, huyen dan ph")[0]
    assert got.value == "Xã Tân Lập, Huyện Đan Phượng, " and got.caret == len(got.value)
    # a province is the last level: nothing after it
    got = S.suggest(S.ADDRESS, "Xã Tân Lập, Huyện Đan Phượng, thanh pho ha n")[0]
    assert got.value == "Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội" and got.caret == len(got.value)
    # a commune typed before a district and a province: only that district's communes
    communes = S.suggest(S.ADDRESS, "x, Huyện Đan Phượng, Thành phố Hà Nội", at=1, limit=20)
    assert len(communes) > 5 and all(s.hint.endswith("Đan Phượng, Hà Nội") for s in communes), communes
    assert all(s.value.endswith(", Huyện Đan Phượng, Thành phố Hà Nội") for s in communes)
    # unfiltered, the same letter finds communes all over the country
    assert {s.hint for s in S.suggest(S.ADDRESS, "x", limit=20)} - {s.hint for s in communes}
    # abbreviations and short names place the parts too (TT., H., a province's short name)
    text = "Tổ dân phố 10, TT. Phước Cát, h, Lâm Đồng"
    got = S.suggest(S.ADDRESS, text, at=text.index(", Lâm"))
    assert [s.label for s in got] == ["Huyện Đạ Huoai"]


def test_after_a_comma_the_units_a_part_lies_in_are_offered_nearest_first():
    got = S.suggest(S.ADDRESS, "Xóm Lạc Hậu, Xã Phú Đô, ")
    # a pre-2025 commune's district and province at once; then each level, the full names first,
    # then the same units as often written, without the unit word
    assert [s.label for s in got] == ["Huyện Phú Lương, Tỉnh Thái Nguyên", "Huyện Phú Lương", "Tỉnh Thái Nguyên",
                                      "Phú Lương", "Thái Nguyên"]
    assert got[0].value == "Xóm Lạc Hậu, Xã Phú Đô, Huyện Phú Lương, Tỉnh Thái Nguyên"
    assert got[0].caret == len(got[0].value) and got[0].hint == S.HINT_CHAIN
    assert got[1].value == "Xóm Lạc Hậu, Xã Phú Đô, Huyện Phú Lương, " and got[1].caret == len(got[1].value)
    assert got[3].value == "Xóm Lạc Hậu, Xã Phú Đô, Phú Lương, "  # the bare district too
    assert got[4].value == "Xóm Lạc Hậu, Xã Phú Đô, Thái Nguyên" and got[4].caret == len(got[4].value)
    # a district has one level above: no pair; nor when a part is written after the comma
    assert [s.label for s in S.suggest(S.ADDRESS, "Xã Phú Đô, Huyện Phú Lương,")] == ["Tỉnh Thái Nguyên", "Thái Nguyên"]
    assert S.suggest(S.ADDRESS, "Xóm Lạc Hậu, ") == []  # a hamlet is in no list: nothing to offer
    assert S.suggest(S.ADDRESS, ", ") == []
    text = "Xã Phú Đô, , Việt Nam"
    assert [s.label for s in S.suggest(S.ADDRESS, text, at=len("Xã Phú Đô, "))][:1] == ["Huyện Phú Lương"]


def test_a_commune_found_in_many_districts_offers_the_one_where_the_sheet_was_filled_in_first():
    anywhere = S.suggest(S.ADDRESS, "Xã Tân Lập, ")
    pairs = [s.label for s in anywhere if s.hint == S.HINT_CHAIN]
    assert len(pairs) == S.CHAIN_MAX and "Huyện Đan Phượng, Thành phố Hà Nội" not in pairs
    here = S.suggest(S.ADDRESS, "Xã Tân Lập, ", within=("Hà Nội", "Đan Phượng"))
    assert here[0].label == "Huyện Đan Phượng, Thành phố Hà Nội"
    assert here[0].value == "Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội"


def test_the_word_opening_a_hamlet_group_or_street_is_offered_for_the_part_below_the_commune():
    got = S.suggest(S.ADDRESS, "to d")
    assert got[0].value == "Tổ dân phố " and got[0].caret == len("Tổ dân phố ") and got[0].hint == S.HINT_PLACE
    # after another such part, and before a commune written after it
    assert S.suggest(S.ADDRESS, "Tổ 15, khu p")[0].value == "Tổ 15, Khu phố "
    text = "thon, Xã Phú Đô, Huyện Phú Lương"
    assert S.suggest(S.ADDRESS, text, at=4)[0].value == "Thôn , Xã Phú Đô, Huyện Phú Lương"
    # a letter or two begin a unit more often: the units keep their places, the words come after
    units = [s.label for s in S.suggest(S.ADDRESS, "ph", limit=20) if s.hint != S.HINT_PLACE]
    got = [s.label for s in S.suggest(S.ADDRESS, "ph", limit=20)]
    assert got[:len(units)] == units[:len(got)]
    # never where a unit is placed before the part (a district after a commune), nor before a district
    assert all(s.hint != S.HINT_PLACE for s in S.suggest(S.ADDRESS, "Xã Phú Đô, thon", limit=20))
    assert all(s.hint != S.HINT_PLACE for s in S.suggest(S.ADDRESS, "thon, Huyện Phú Lương", at=4, limit=20))


def test_a_unit_is_offered_without_its_unit_word_only_where_the_typed_text_allows_it():
    got = [s.label for s in S.suggest(S.ADDRESS, "Xã Quơn Long, Huyện Chợ Gạo, ti")]
    assert got == ["Tỉnh Tiền Giang", "Tiền Giang"]
    # the unit word typed: the bare name does not begin so
    assert [s.label for s in S.suggest(S.ADDRESS, "Xã Quơn Long, Huyện Chợ Gạo, tinh")] == ["Tỉnh Tiền Giang"]
    # a full list keeps its first seven full names in place and gives the eighth's place to a bare name
    longer = [s.label for s in S.suggest(S.ADDRESS, "lam", limit=20)]
    got = [s.label for s in S.suggest(S.ADDRESS, "lam", limit=8)]
    assert got[:7] == longer[:7] and got[7] == got[0].split(" ", 1)[1] == "Lam Vỹ", got


def test_both_eras_have_their_tree():
    # Phường Hồng Hà: a pre-2025 ward in Yên Bái and Quảng Ninh, a post-2025 one in Hà Nội
    provinces = {s.label for s in S.suggest(S.ADDRESS, "Phường Hồng Hà, t", limit=20)}
    assert {"Tỉnh Yên Bái", "Tỉnh Quảng Ninh", "Thành phố Hà Nội"} <= provinces
    # a post-2025 commune typed before a province of both eras: post-2025 wards of Hà Nội too
    wards = S.suggest(S.ADDRESS, "phuong hong, Thành phố Hà Nội", at=len("phuong hong"), limit=20)
    assert any(S.ERA_NEW in s.hint for s in wards) and all("Hà Nội" in s.hint for s in wards), wards
    # parts the gazetteer cannot place (a misspelt province) do not hide the list
    assert S.suggest(S.ADDRESS, "Xã Tân Lập, huyen dan ph, Hà Nộiii", at=len("Xã Tân Lập, huyen dan ph"))


def test_a_name_word_at_the_caret_from_the_lists_and_the_readings():
    got = S.suggest(S.NAME, "ng")
    # commonest first; a surname is followed by another word: the space comes with it, the caret after
    assert [s.value for s in got[:2]] == ["Nguyễn ", "Ngô "] and got[0].hint == S.HINT_SURNAME
    assert got[0].caret == len("Nguyễn ") and got[0].label == "Nguyễn"
    assert S.suggest(S.NAME, "NG")[0].value == "NGUYỄN "  # the case the name is written in
    assert S.suggest(S.NAME, "NGUYỄN V")[0].value == "NGUYỄN VĂN "  # a listed middle name as the last word too
    # a middle word in the middle: the listed middle names, the last word kept
    text = "Trần th Mai"
    got = S.suggest(S.NAME, text, at=len("Trần th"))
    assert got[0].value == "Trần Thị Mai" and got[0].caret == len("Trần Thị") and got[0].hint == S.HINT_MIDDLE
    # the given name: from the other engines' readings (no given-name lexicon); the value shown
    # (the first reading) comes last, it is the one being corrected
    readings = ["Nguyên Tan Hoa", "Ngyễn Tấn Hòa"]
    got = S.suggest(S.NAME, "Nguyễn Tấn h", readings=readings)
    assert got[0].value == "Nguyễn Tấn Hòa" and got[0].hint == S.HINT_READ  # maybe the last: no space
    assert [s.label for s in got].index("Hòa") < [s.label for s in got].index("Hoa")
    assert S.suggest(S.NAME, "Nguyễn Tấn z", readings=readings) == []  # nothing read or listed so
    assert S.suggest(S.NAME, "Nguyễn ", readings=readings) == []  # the caret after a space: no word


def test_a_district_or_commune_list_fits_the_sheet_s_province_and_district():
    got = S.suggest("district", "t", within=("Gia Lai", None))
    assert got and all(s.hint.endswith("Gia Lai") for s in got) and "Ayun Pa" in [s.label for s in got]
    communes = S.suggest("commune", "r", within=("Gia Lai", "Thị xã Ayun Pa"))
    old = [s for s in communes if S.ERA_NEW not in s.hint]
    assert old and all(s.hint.endswith("Ayun Pa, Gia Lai") for s in old)  # before 2025: in the district
    assert all(s.hint == "Xã · Gia Lai (từ 2025)" for s in communes if S.ERA_NEW in s.hint)  # after: the province
    assert [s.label for s in S.suggest("commune", "gia th", within=("Hà Nội", "Long Biên"))] == ["Gia Thụy"]
    # a province the gazetteer does not know: the whole list
    assert S.suggest("district", "ayun", within=("Nowhere", None))[0].label == "Ayun Pa"
    # a province read wrong (Hà Giang for Long An): where none there starts so, the whole list's
    # that do, before a nearby unit spelled nearly so (Hà Giang's Lũng Thầu)
    got = [(s.label, s.hint) for s in S.suggest("commune", "long th", within=("Hà Giang", None), limit=20)]
    assert ("Long Thạnh", "Xã · Thủ Thừa, Long An") in got and not [h for _, h in got if h.endswith("Hà Giang")]
    # a misspelling nothing starts so: the nearest spellings, those there first
    assert S.suggest("commune", "lugn thau", within=("Hà Giang", None))[0].label == "Lũng Thầu"


def test_the_key_help_says_what_tab_and_enter_do_with_the_list():
    for keys in (GROUP_KEYS, SHEET_KEYS):
        help_ = dict(keys)
        assert "lấy gợi ý" in help_["Tab"] and "ở lại ô" in help_["Tab"]
        assert "gợi ý đang chọn" in help_["Enter"]
        assert "phần" in help_["gõ chữ"] and "địa chỉ" in help_["gõ chữ"] and "họ tên" in help_["gõ chữ"]


@pytest.fixture
def web(tmp_path, fast_hashing):  # noqa: F811
    settings = Settings(data_dir=tmp_path / "data", engines="fake")
    store = open_store(settings.database, settings.data_dir, create=True)
    add_users(store)
    with store.session() as s:
        b = repo.create_batch(s, "b", template=TEMPLATE)
        f = repo.add_file(s, b.id, sha256=sha(1), original_name="a.jpg", size_bytes=1).row
        repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(2)}], enqueue=False)
        name = field("father_name", "needs_review", "Nguyên Tan Hoa")
        name["candidates"], name["suggestion"] = ["Nguyên Tan Hoa", "Ngyễn Tấn Hòa"], None
        repo.write_result(s, f.id, result(1, fields=[
            name, field("permanent_address", "needs_review", "Xã Tân Lập"), field("hdr_province", value="Gia Lai"),
            field("hdr_district", "needs_review", "T. vô dgu")]))
    yield create_app(settings, store), store
    store.close()


def _ids(store) -> dict[str, int]:
    from ocr_service.service.store.models import FieldRow

    with store.session(write=False) as s:
        return {f.name: f.id for f in s.scalars(repo.select(FieldRow))}


def test_the_endpoint_completes_at_the_caret_with_the_field_s_readings(web):
    app, store = web
    ids = _ids(store)
    c = TestClient(app)
    assert login(c, "reviewer").status_code == 303

    def items(name, q, at=None):
        params = {"field": ids[name], "q": q, **({"at": at} if at is not None else {})}
        res = c.get("/review/suggest", params=params)
        assert res.status_code == 200 and res.headers["content-type"] == "application/json"
        return res.json()["items"]

    got = items("father_name", "Nguyễn t Hòa", at=len("Nguyễn t"))
    assert got[0] == {"value": "Nguyễn Tấn Hòa", "label": "Tấn", "hint": "máy đọc", "caret": len("Nguyễn Tấn")}
    text = "x, Huyện Đan Phượng, Thành phố Hà Nội"
    assert all(i["hint"].endswith("Đan Phượng, Hà Nội") for i in items("permanent_address", text, at=1))
    assert items("permanent_address", "Xã Tân Lập, huyen dan ph")[0]["caret"] == len("Xã Tân Lập, Huyện Đan Phượng, ")
    assert c.get("/review/suggest", params={"field": ids["father_name"], "q": "a", "at": 999}).status_code == 422
    # the district list fits the sheet's province (the template's context: hdr_province)
    got = items("hdr_district", "t")
    assert got and all(i["hint"].endswith("Gia Lai") for i in got), got
