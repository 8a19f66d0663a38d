"""Engines, migrations, and the two portable primitives every queue needs: insert-if-absent and claim."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Sequence

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, String, Table, and_, create_engine, event, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class SchemaBehind(Exception):
    """The database is not at the newest migration; `python -m bot migrate` fixes it."""


def make_engine(url: str) -> Engine:
    """An engine with the settings each backend needs for safe concurrent claims."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_engine(url: str) -> Engine:
    _ensure_sqlite_dir(url)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take BEGIN over from pysqlite (SQLAlchemy's documented recipe) so every transaction is
        # BEGIN IMMEDIATE: a deferred read-then-write transaction can hit SQLITE_BUSY despite busy_timeout.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=5000", "foreign_keys=ON",
                       "synchronous=FULL"):   # FULL: a stored webhook must survive power loss before the 2xx
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A long read (a report over the whole ledger) must not hold the write lock: in WAL mode a deferred
        # transaction reads a snapshot while webhooks and clicks keep writing.
        connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    return engine


READ_ONLY = "handoff_read_only"


def reading(engine: Engine) -> Connection:
    """A connection for reads only (`with reading(engine) as conn:`): on SQLite its transaction takes no write lock."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Apply every pending migration."""
    command.upgrade(alembic_config(engine), "head")


def require_current_schema(engine: Engine) -> None:
    """Refuse to run web or worker on a schema older than the code, naming the fix."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        raise SchemaBehind(f"the database schema is at {current or 'nothing'} but the code needs {head}: "
                           "run `python -m bot migrate` (Procfile `release:`) first")


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict], key: str) -> int:
    """Insert rows whose unique `key` is new; return how many were inserted. Duplicates are no-ops."""
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # Parameters passed separately (not .values(rows)) so the statement compiles once and is cached; rowcount
    # is -1 for multi-row inserts on psycopg, so count what RETURNING gives back.
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    return len(conn.execute(stmt, [dict(row) for row in rows]).all())


def upsert(conn: Connection, table: Table, row: dict, key: str) -> None:
    """Insert the row, or overwrite the one with the same `key`: one statement, safe under concurrency."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(row)
    conn.execute(stmt.on_conflict_do_update(index_elements=[key],
                                            set_={k: stmt.excluded[k] for k in row if k != key}))


def claimable(table: Table, now: datetime):
    """Rows due and not leased: pending with run_at reached, or a lease that expired (a crashed worker)."""
    return and_(table.c.state == "pending", table.c.run_at <= now,
                or_(table.c.claimed_until.is_(None), table.c.claimed_until < now))


def claim(conn: Connection, table: Table, where: Any, order_by: Iterable[Any], limit: int,
          lease: timedelta, now: datetime) -> list[Row]:
    """Lease up to `limit` rows in one statement; attempts are counted at claim time (poison-pill guard).

    PostgreSQL: FOR UPDATE SKIP LOCKED in the subquery. SQLite: the transaction is BEGIN IMMEDIATE,
    so claimers are serialised and the UPDATE ... RETURNING is the compare-and-set.
    """
    ids = (select(table.c.id).where(where).order_by(*order_by).limit(limit)
           .with_for_update(skip_locked=True).scalar_subquery())
    token = str(uuid.uuid4())
    stmt = (update(table).where(table.c.id.in_(ids))
            .values(claimed_until=now + lease, claim_token=token, attempts=table.c.attempts + 1)
            .returning(*table.c))
    return list(conn.execute(stmt))


def release(conn: Connection, table: Table, row: Row, **values: Any) -> bool:
    """Finish or reschedule a claimed row, only while our lease still holds (fencing)."""
    stmt = (update(table).where(table.c.id == row.id, table.c.claim_token == row.claim_token)
            .values(claimed_until=None, claim_token=None, **values))
    return conn.execute(stmt).rowcount == 1



class json_text(FunctionElement):
    """One top-level field of a JSON text column, as text, read by the database itself (the ledger's report reads
    a million steps: their JSON is parsed in the server, not in Python). PostgreSQL's ->> and SQLite's json_extract
    agree on strings and numbers; a list comes back as its JSON text."""
    type = String()
    inherit_cache = True
    name = "json_text"


@compiles(json_text, "postgresql")
def _json_text_postgresql(element, compiler, **kw):
    column, field = element.clauses
    return f"(CAST({compiler.process(column, **kw)} AS json) ->> {compiler.process(field, **kw)})"


@compiles(json_text)
def _json_text_sqlite(element, compiler, **kw):
    column, field = element.clauses
    return f"json_extract({compiler.process(column, **kw)}, '$.' || {compiler.process(field, **kw)})"
