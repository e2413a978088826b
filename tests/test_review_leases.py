"""Review leases in the store, on SQLite and PostgreSQL: a group is one field name across sheets of
one batch, leased to one reviewer; concurrent claimers get disjoint fields; an expired lease gives
the fields back; a postponed field skips its postponer; a save after the lease moved on is refused."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from store_fixtures import BACKENDS, db_url, pg_cluster, store  # noqa: F401
from web_fixtures import add_batch

from ocr_service.errors import ConflictError
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import utcnow


@BACKENDS
def test_concurrent_claims_get_disjoint_fields(store):  # noqa: F811
    add_batch(store, sheets=24, names=("dob", "id_number"))
    got: dict[str, list[int]] = {}
    start = threading.Barrier(6)

    def claim(owner: str) -> None:
        start.wait()
        with store.session() as s:
            got[owner] = [f.id for f in repo.claim_group(s, owner, size=5)]

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for v in got.values() for i in v]
    assert len(ids) == len(set(ids)), got
    assert sorted(len(v) for v in got.values()) in ([5] * 6, [4, 5, 5, 5, 5, 5], [4, 4, 5, 5, 5, 5]), got
    with store.session(write=False) as s:
        for owner, mine in got.items():
            fields = [repo.get_field(s, i) for i in mine]
            assert {f.lease_owner for f in fields} == {owner}
            assert len({(f.batch_id, f.name) for f in fields}) == 1  # one field name of one batch per group


@BACKENDS
def test_groups_leases_expiry_postpone_and_late_saves(store):  # noqa: F811
    add_batch(store, "b1", sheets=3)
    b2 = add_batch(store, "b2", sheets=2, offset=10)
    with store.session() as s:
        repo.get_batch(s, b2).priority = 5  # reviewed first
    t0 = utcnow()
    lease = dt.timedelta(minutes=10)
    with store.session() as s:
        g1 = repo.claim_group(s, "hoa", now=t0, lease=lease)
        assert {f.batch_id for f in g1} == {b2} and len(g1) == 2
        assert [f.id for f in repo.claim_group(s, "hoa", now=t0)] == [f.id for f in g1]  # the same group again
        g2 = repo.claim_group(s, "lan", now=t0)
        assert len(g2) == 3 and not {f.id for f in g1} & {f.id for f in g2}
        assert repo.claim_group(s, "minh", now=t0) == []  # everything is leased
        ids1 = [f.id for f in g1]
        versions = {f.id: f.version for f in g1}
    # renewed while working; then hoa stops and the lease expires: the fields go back to the queue
    with store.session() as s:
        assert repo.renew_review_lease(s, "hoa", now=t0 + dt.timedelta(minutes=5), lease=lease) == 2
        assert repo.renew_review_lease(s, "lan", now=t0 + dt.timedelta(minutes=9), lease=lease) == 3
        assert repo.claim_group(s, "minh", now=t0 + dt.timedelta(minutes=14)) == []
        g3 = repo.claim_group(s, "minh", now=t0 + dt.timedelta(minutes=16))  # hoa's, not lan's (b2 first)
        assert [f.id for f in g3] == ids1
    # hoa's late save is refused, with nothing stored; minh's goes through
    with store.session() as s:
        with pytest.raises(repo.LeaseLostError):
            repo.verify_field(s, ids1[0], version=versions[ids1[0]], value="x", actor="hoa", lease_owner="hoa")
    with store.session() as s:
        f = repo.get_field(s, ids1[0])
        assert (f.status, f.verified_value, f.lease_owner) == ("needs_review", None, "minh")
        repo.verify_field(s, ids1[0], version=f.version, value="01/02/1990", actor="minh", lease_owner="minh")
    with store.session() as s:
        with pytest.raises(ConflictError, match="version"):  # a stale version: refused even for the owner
            repo.verify_field(s, ids1[1], version=versions[ids1[1]] - 1, value="x", actor="minh", lease_owner="minh")
    # postpone: back to the queue for others at once, not for the postponer for a while
    with store.session() as s:
        assert repo.postpone_field(s, ids1[1], "minh", now=t0 + dt.timedelta(minutes=17))
        assert not repo.postpone_field(s, ids1[1], "minh")  # no longer held
        assert repo.claim_group(s, "minh", now=t0 + dt.timedelta(minutes=18)) == []
        assert [f.id for f in repo.claim_group(s, "lan2", now=t0 + dt.timedelta(minutes=18))] == [ids1[1]]
    with store.session() as s:
        assert repo.release_leases(s, "lan2") == 1
        assert [f.id for f in repo.claim_group(s, "minh", now=t0 + dt.timedelta(minutes=28))] == [ids1[1]]
