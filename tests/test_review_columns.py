"""Group mode serves a table's cells by column (CT01's member table): ``members.1.full_name``,
``members.2.full_name`` … of every sheet of a batch form one group, headed "Thành viên – Họ, chữ
đệm và tên", each row naming its table row ("Thành viên 2"). Leases, QA blindness, batch
priorities, assignments and the supervisor's queue per field work on the column the same way.

The store is real (SQLite, and PostgreSQL for the claim's LIKE); fields are written as the
pipeline stores them (``repo.write_result``): OCR is not what is tested here.
"""

from __future__ import annotations

import re

import pytest

from api_fixtures import TestClient, fast_hashing  # noqa: F401 - fixture
from store_fixtures import BACKENDS, db_url, field, pg_cluster, result, sha, store  # noqa: F401 - fixtures
from web_fixtures import add_users, claim_group, csrf_of, login

from ocr_service.forms import loader
from ocr_service.forms.model import column_key
from ocr_service.service import supervision
from ocr_service.service.store import open_store
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import FIELD_VERIFIED, QA_PENDING, FieldRow

CT01 = loader.load("ct01")
NAMES = {1: "LÊ THỊ BÌNH", 2: "TRẦN VĂN CƯỜNG", 3: "PHẠM THỊ DUNG"}


def add_ct01_batch(store, name: str = "ct", *, sheets: int = 3, offset: int = 0) -> tuple[int, dict]:
    """A batch of CT01 sheets: the declarant auto-accepted; member rows 1 and 2's names and row 1's
    date of birth needing review; row 3's name auto-accepted (the QA sample below); and a cell of
    a look-alike column (``fullxname``: ``_`` must not act as a LIKE wildcard). Returns the batch
    id and {(sheet number, field name): field id}."""
    with store.session() as s:
        b = repo.create_batch(s, name, template=CT01.id)
        for i in range(sheets):
            n = offset + i
            f = repo.add_file(s, b.id, sha256=sha(7000 + n), original_name=f"ct01-{n:03d}.jpg", size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(7500 + n)}], enqueue=False)
            fields = [field("full_name", value="NGUYỄN VĂN AN", kind="name"),
                      field("members.1.full_name", "needs_review", NAMES[1], "name"),
                      field("members.1.dob", "needs_review", "03/04/2005", "date"),
                      field("members.2.full_name", "needs_review", NAMES[2], "name"),
                      field("members.3.full_name", value=NAMES[3], kind="name"),
                      field("members.2.fullxname", "needs_review", "X", "name")]
            repo.write_result(s, f.id, {**result(1, fields=fields), "template": CT01.id})
        ids = {}
        for sheet_no, sh in enumerate(sorted(repo.list_sheets(s, batch_id=b.id, limit=100).items, key=lambda x: x.id)):
            for fr in s.query(FieldRow).filter(FieldRow.sheet_id == sh.id):
                ids[(sheet_no, fr.name)] = fr.id
        return b.id, ids


def plant_qa_sample(store, field_id: int) -> None:
    """Sample an auto-accepted cell for blind QA, as repo.write_result does for its share."""
    with store.session() as s:
        s.get(FieldRow, field_id).qa_state = QA_PENDING


def claimed(store, owner: str, **kw) -> list[tuple[int, str]]:
    with store.session() as s:
        got = repo.claim_group(s, owner, **kw)
        return [(f.id, f.name) for f in got]


def test_column_key_and_labels_come_from_the_template():
    assert column_key("members.7.full_name") == "members.full_name"
    assert column_key("full_name") == "full_name"
    assert CT01.column_label("members.full_name") == "Thành viên – Họ, chữ đệm và tên"
    assert CT01.column_label("members.dob") == "Thành viên – Ngày, tháng, năm sinh"
    assert CT01.row_label("members.2.full_name") == "Thành viên 2" and CT01.row_label("full_name") is None
    with pytest.raises(KeyError):
        CT01.column_label("members.nickname")
    # every cell of the template maps to a column its group has
    for f in CT01.fields:
        if f.group:
            assert column_key(f.name) == f"{f.group}.{f.column}"


@BACKENDS
def test_a_claim_takes_one_column_across_rows_and_sheets_and_leases_it(store):  # noqa: F811
    _, ids = add_ct01_batch(store)
    plant_qa_sample(store, ids[(1, "members.3.full_name")])
    first = claimed(store, "reviewer")
    want = sorted(ids[(i, f"members.{r}.full_name")] for i in range(3) for r in (1, 2)) + [ids[(1, "members.3.full_name")]]
    assert sorted(i for i, _ in first) == sorted(want)
    assert {column_key(n) for _, n in first} == {"members.full_name"}
    assert [i for i, _ in first] == sorted(i for i, _ in first)  # sheet by sheet, row by row
    # the holder gets the same group back; another reviewer gets another column, never a held cell
    assert claimed(store, "reviewer") == first
    second = claimed(store, "reviewer2")
    assert {n for _, n in second} == {"members.1.dob"} and len(second) == 3
    third = claimed(store, "admin")
    assert {n for _, n in third} == {"members.2.fullxname"}  # its own group, not a full_name cell
    assert claimed(store, "supervisor") == []
    # a size limit cuts the column, the rest is the next reviewer's
    with store.session() as s:
        repo.release_leases(s, "reviewer")
    part = claimed(store, "reviewer", size=4)
    rest = claimed(store, "reviewer3", size=20)
    assert len(part) == 4 and len(rest) == 3 and not {i for i, _ in part} & {i for i, _ in rest}
    assert {column_key(n) for _, n in part + rest} == {"members.full_name"}


def test_priorities_assignments_and_the_supervisor_queue_per_column(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, create=True)
    try:
        add_users(store)
        low, _ = add_ct01_batch(store, "low")
        high, hids = add_ct01_batch(store, "high", offset=10)
        with store.session() as s:
            supervision.set_priority(s, high, 5, actor="supervisor")
            supervision.assign(s, reviewer="reviewer2", batch_id=None, field_name="members.dob", actor="supervisor")
        with store.session(write=False) as s:
            per_field = {r["field"]: r for r in supervision.queue_by_field(s)}
        # one row per column, counting every row's cell of every sheet (2 batches × 3 sheets × 2 rows)
        assert "members.1.full_name" not in per_field
        assert per_field["members.full_name"]["pending"] == 12 and per_field["members.dob"]["pending"] == 6
        got = claimed(store, "reviewer")  # the higher-priority batch first; dob is reviewer2's
        assert {n for _, n in got} == {"members.1.full_name", "members.2.full_name"} and len(got) == 6
        assert {i for i, _ in got} <= set(hids.values())
        mine = claimed(store, "reviewer2")  # the assigned column, every row of it, in priority order
        assert {n for _, n in mine} == {"members.1.dob"} and {i for i, _ in mine} <= set(hids.values())
        with store.session(write=False) as s:
            per_field = {r["field"]: r for r in supervision.queue_by_field(s)}
        assert (per_field["members.full_name"]["leased"], per_field["members.full_name"]["pending"]) == (6, 6)
    finally:
        store.close()


def test_the_group_page_heads_the_column_and_names_each_row_blind_to_qa(tmp_path, fast_hashing):  # noqa: F811
    from ocr_service.service.api import create_app
    from ocr_service.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", engines="fake")
    store = open_store(settings.database, settings.data_dir, create=True)
    try:
        add_users(store)
        _, ids = add_ct01_batch(store)
        sample = ids[(1, "members.3.full_name")]
        plant_qa_sample(store, sample)
        c = TestClient(create_app(settings, store))
        assert login(c, "reviewer").status_code == 303
        html = claim_group(c).text
        assert "Thành viên – Họ, chữ đệm và tên" in html and "(members.full_name)" in html
        assert "7 dòng" in html
        rows = re.findall(r'<form class="row state-(\w+)" id="row-(\d+)".*?</form>', html, re.S)
        assert sorted(int(i) for _, i in rows) == sorted(
            [ids[(i, f"members.{r}.full_name")] for i in range(3) for r in (1, 2)] + [sample])
        assert {st for st, _ in rows} == {"pending"}
        blocks = {int(m.group(1)): m.group(0) for m in re.finditer(r'id="row-(\d+)".*?</form>', html, re.S)}
        for (_, name), fid in ids.items():
            if fid in blocks:
                assert f'<span class="rowno">{CT01.row_label(name)}</span>' in blocks[fid]
        # the QA sample looks like any row needing review (same reason, no decision shown)
        plain = ids[(1, "members.1.full_name")]
        assert re.findall(r'class="reason">([^<]*)<', blocks[sample]) == re.findall(r'class="reason">([^<]*)<',
                                                                                    blocks[plain])
        # a decision on one cell is stored on that cell only
        version = re.search(r'name="version" value="(\d+)"', blocks[plain]).group(1)
        r = c.post(f"/review/fields/{plain}", data={"csrf_token": csrf_of(html), "version": version,
                                                     "action": "accept", "value": "LÊ THỊ BÌNH"})
        assert r.status_code == 200, r.text
        assert 'state-decided' in r.text and '<span class="rowno">Thành viên 1</span>' in r.text
        with store.session(write=False) as s:
            f = repo.get_field(s, plain)
            other = repo.get_field(s, ids[(1, "members.2.full_name")])
            assert (f.status, f.verified_value, f.verified_by) == (FIELD_VERIFIED, "LÊ THỊ BÌNH", "reviewer")
            assert other.status == "needs_review" and other.lease_owner == "reviewer"
        # the supervisor's page lists the column as one queue row
        assert login(c, "supervisor").status_code == 303
        sup = c.get("/supervisor").text
        table = re.search(r'id="queue-fields".*?</table>', sup, re.S).group(0)
        # headed as group mode heads it, the key beside it
        assert re.search(r"<td>Thành viên[^<]*Họ[^<]*<span class=\"sub\">\(members\.full_name\)</span></td>", table), table
        assert "members.1.full_name" not in table
    finally:
        store.close()


def test_a_reviewer_qa_sample_joins_its_column_for_another_reviewer_only(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, create=True)
    try:
        _, ids = add_ct01_batch(store, sheets=2)
        checked = ids[(0, "members.3.full_name")]
        with store.session() as s:  # reviewer's own decision on a cell, sent to a second reviewer
            f = s.get(FieldRow, checked)
            f.qa_state, f.qa_reviewer = QA_PENDING, "reviewer"
        mine = claimed(store, "reviewer")
        assert {column_key(n) for _, n in mine} == {"members.full_name"} and checked not in {i for i, _ in mine}
        with store.session() as s:
            repo.release_leases(s, "reviewer")
        theirs = claimed(store, "reviewer2")
        assert checked in {i for i, _ in theirs} and {column_key(n) for _, n in theirs} == {"members.full_name"}
    finally:
        store.close()
