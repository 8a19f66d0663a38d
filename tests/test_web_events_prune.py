"""The web-events fetch marks (one settings_kv row per contact asked) are swept a page at a time: marks older
than `lookback` go, recent ones and other settings stay, each step reads one index range; SQLite and
PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from bot import web_events
from bot.store import kv
from bot.store.schema import settings_kv
from tests.conftest import NOW
from tests.harness import System
from tests.test_web_events import add_researcher, change, system  # noqa: F401  (the fixture)

MARK = "web-events-fetched:"


def marks(engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(settings_kv).where(settings_kv.c.key.startswith(MARK)))
        return {row.key: row.value for row in rows}


def test_old_marks_go_a_page_at_a_time_and_recent_ones_and_other_settings_stay(engine):
    with engine.begin() as conn:
        kv.put_setting(conn, "portal_id", "62515")
        for n in range(450):   # every third one asked 40 days ago, the rest within the last day
            age = timedelta(days=40) if n % 3 == 0 else timedelta(hours=n % 24)
            kv.put_setting(conn, f"{MARK}{1000 + n}", (NOW - age).isoformat())
    cutoff = NOW - timedelta(days=30)
    deleted = []
    for _ in range(3):         # 450 marks, 200 a step: the third step reaches the end and starts over
        with engine.begin() as conn:
            deleted.append(web_events.prune_fetch_marks(conn, cutoff, limit=200))
    assert sum(deleted) == 150 and all(step <= 200 for step in deleted)
    left = marks(engine)
    assert len(left) == 300 and all(value >= cutoff.isoformat() for value in left.values())
    with engine.connect() as conn:
        assert kv.get_setting(conn, "portal_id") == "62515"
        assert kv.get_setting(conn, "web-events-prune-after") == ""     # back to the start for the next lap
    with engine.begin() as conn:
        assert web_events.prune_fetch_marks(conn, cutoff, limit=200) == 0


def test_a_sweep_step_reads_the_primary_key_index(engine):
    with engine.begin() as conn:
        kv.put_setting(conn, f"{MARK}1", NOW.isoformat())
    seen = []

    def keep_select(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "settings_kv" in statement and "LIMIT" in statement:
            seen.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", keep_select)
    with engine.begin() as conn:
        web_events.prune_fetch_marks(conn, NOW)
    event.remove(engine, "before_cursor_execute", keep_select)
    [(statement, parameters)] = seen
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":   # a 1-row table: ask whether the index CAN serve it, in order
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            explain = "EXPLAIN "
        else:
            explain = "EXPLAIN QUERY PLAN "
        plan = " ".join(str(row) for row in conn.exec_driver_sql(explain + statement, parameters))
    if engine.dialect.name == "postgresql":   # read in key order from the cursor: LIMIT stops the walk, no sort
        assert "Index Scan using settings_kv_pkey" in plan and "Sort" not in plan, plan
    else:
        assert "USING INDEX sqlite_autoindex_settings_kv_1 (key>?)" in plan and "TEMP B-TREE" not in plan, plan
