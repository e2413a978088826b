"""Engines, sessions, migrations and the schema check.

The embedded default is one SQLite file at ``<data_dir>/ocr-service.db`` in WAL mode; a
``postgresql+psycopg://`` URL selects PostgreSQL. The schema is made only by the Alembic migrations
shipped in ``migrations/`` (the Alembic configuration is built here in code; no alembic.ini).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ocr_service.errors import ConflictError, OcrServiceError, SchemaOutdatedError, StoreError

DB_FILE = "ocr-service.db"
MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30_000
IMMEDIATE = "ocr_sqlite_immediate"  # execution option: take SQLite's write lock at BEGIN
MIGRATION_LOCK = 0x6F63_7201  # PostgreSQL advisory lock key held while migrating


def default_url(data_dir: str | Path) -> str:
    return f"sqlite:///{Path(data_dir) / DB_FILE}"


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def _use_wal(cur) -> None:
    """Switch the database file to WAL (it stays so). Changing the journal mode does not wait on
    SQLite's busy handler: while another process's first run holds the file (creating the schema), it
    fails at once with "database is locked", so it is retried here for up to the busy timeout."""
    import sqlite3

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def make_engine(url: str) -> Engine:
    """An engine for ``url``. SQLite gets WAL, a busy timeout and foreign keys on every connection,
    and SQLAlchemy (not the sqlite3 module) emits BEGIN, so transactions and savepoints behave."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see "begin" below)
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            _use_wal(cur)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            immediate = conn.get_execution_options().get(IMMEDIATE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if u.get_backend_name() == "postgresql":
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        return create_engine(u, pool_pre_ping=True)
    raise StoreError(f"unsupported database URL {display_url(url)}: use sqlite:///PATH or postgresql+psycopg://…")


def translate(exc: BaseException, url: str = "") -> OcrServiceError:
    """The project error for a database exception: refused or failed writes → StoreError,
    constraint violations → ConflictError."""
    where = f"database {display_url(url)}: " if url else "database: "
    orig = getattr(exc, "orig", None) or exc
    if isinstance(exc, IntegrityError):
        return ConflictError(f"{where}{orig}".strip())
    return StoreError(f"{where}{orig}".strip())


@contextlib.contextmanager
def translated(url: str = "") -> Iterator[None]:
    try:
        yield
    except (OperationalError, DBAPIError) as exc:
        raise translate(exc, url) from exc


# -- migrations -----------------------------------------------------------------------------------

def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with translated(str(engine.url)), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` (what ``ocr-service db upgrade`` will call)."""
    from alembic import command

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        # One upgrader at a time: SQLite's write lock from BEGIN, a transaction advisory lock on
        # PostgreSQL. A second process waits, then finds the schema at head and does nothing.
        with translated(str(engine.url)), engine.execution_options(**{IMMEDIATE: True}).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            cfg = alembic_config(str(engine.url))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def stamp(engine: Engine, revision: str) -> None:
    """Record ``revision`` as the schema's revision without running anything (tests, repairs)."""
    from alembic import command

    with translated(str(engine.url)), engine.begin() as conn:
        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = conn
        command.stamp(cfg, revision, purge=True)


def is_empty(engine: Engine) -> bool:
    with translated(str(engine.url)), engine.connect() as conn:
        return not inspect(conn).get_table_names()


def check_schema(engine: Engine) -> None:
    """Raise SchemaOutdatedError unless the database is at the revision this code needs."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    from alembic.script import ScriptDirectory

    known = {s.revision for s in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()}
    where = display_url(str(engine.url))
    if current is not None and current not in known:
        raise SchemaOutdatedError(f"database at {where} is at revision {current}, newer than this code knows "
                                  f"(it needs {head}): upgrade ocr-service")
    shown = current or "none (no schema)"
    raise SchemaOutdatedError(f"database at {where} is at revision {shown}, this code needs {head}: "
                              f"run `ocr-service db upgrade`")


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
