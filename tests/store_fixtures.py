"""Fixtures for the store tests: a store on SQLite (a tmp_path data dir) or on a throwaway
PostgreSQL cluster (``pg.py``), and a synthetic page result shaped like ``SheetResult.to_json()``."""

from __future__ import annotations

import pytest

import pg
from ocr_service.service.store import open_store, upgrade

TEMPLATE = "dc01@tt66-2015"


@pytest.fixture(scope="session")
def pg_cluster():
    bin_dir = pg.find_bin()
    if bin_dir is None:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found: install the `postgresql` package "
                    "(scripts/setup.sh does) or set OCR_TEST_PG_BIN; these tests must run, not skip")
    cluster = pg.Cluster(bin_dir)
    try:
        cluster.start()
    except Exception as exc:  # noqa: BLE001 - report why the cluster could not start
        log = cluster.dir / "log"
        cluster.stop()
        pytest.fail(f"could not start a PostgreSQL test cluster: {exc}\n"
                    f"{getattr(exc, 'stderr', '')}{log.read_text() if log.exists() else ''}")
    yield cluster
    cluster.stop()


@pytest.fixture
def db_url(request, tmp_path):
    """A fresh, empty database: SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ocr-service.db'}"
    return request.getfixturevalue("pg_cluster").create_database()


@pytest.fixture
def store(db_url, tmp_path):
    """A migrated store on each backend (parametrize ``db_url`` indirectly, see BACKENDS)."""
    upgrade(db_url)
    st = open_store(db_url, tmp_path)
    yield st
    st.close()


BACKENDS = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)


def field(name: str, status: str = "auto_accepted", value: str = "X", kind: str = "text") -> dict:
    reasons = [] if status == "auto_accepted" else ["low_confidence"]
    return {"name": name, "value": value, "raw": value.lower(), "confidence": 0.97, "status": status,
            "reasons": reasons, "box_px": [10, 20, 300, 40], "engine": "tesseract", "kind": kind,
            "features": {"conf": 0.97, "valid": 1.0}, "candidates": [value, value.lower()]}


def result(page: int, status: str = "ok", *, serial: str | None = None, sha: str | None = None,
           fields: list[dict] | None = None, reason: str = "") -> dict:
    d = {"file": "scan.pdf", "page": page, "template": TEMPLATE, "status": status, "residual_px": 0.4,
         "fields": [] if status != "ok" else (fields if fields is not None else
                                              [field("full_name"), field("dob", "needs_review", "05/11/1990", "date")]),
         "rotation": 0, "skew_deg": 0.3}
    if reason:
        d["reason"] = reason
    if sha:
        d["sha256"] = sha
    if serial:
        d["serial"] = serial
    return d


def sha(n: int) -> str:
    return f"{n:064x}"
