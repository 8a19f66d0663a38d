"""SLA sweep at scale: with 100,000 open deadlines, the delay from a step's due time to its Slack message
(p50/p99, sweep interval 1 s) and the cost of a sweep that finds nothing (p50/p99, and its query plan).

Data: 100,000 leads, each with one pending accept deadline (step 0 = remind the SDR, the shipped sla.yaml).
99,500 are due between 10 minutes and 14 days from now; 500 come due one every 0.12 s over 60 s. The real
scheduler job (bot.scheduler.start_scheduler) sweeps every second and the outbox runs in a loop as the
worker runs it, against the fake Slack, which records when each chat.postMessage arrives.

    python -m bench.sla_sweep [--db URL]

PostgreSQL at --db or TEST_DATABASE_URL (in a throwaway schema, dropped after), else SQLite in a temp file.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text

from bench.common import REPO, ROUTING, percentile, summary
from bot import outbox
from bot.cards import build_card
from bot.models import Contact, Company, Reason, Route, Score
from bot.runner import poll_loop
from bot.scheduler import start_scheduler
from bot.services import Services
from bot.settings import Settings, normalize_database_url
from bot.store.db import make_engine, migrate
from bot.store.schema import deadlines, leads
from bot.sweeper import escalate_one
from tests.fakes.fake_slack import FakeSlack

OPEN_DEADLINES = 100_000
COMING_DUE = 500
DUE_OVER = timedelta(seconds=60)
FIRST_DUE_AFTER = timedelta(seconds=5)      # time for the scheduler and the outbox to start
ACCEPT_WINDOW = timedelta(minutes=5)        # the shipped sla.yaml's accept_within
REPS = [f"U0REP{i:03d}" for i in range(50)]
IDLE_SWEEPS = 1_000
CHUNK = 10_000


# --- the database: a throwaway schema or file -------------------------------------------------------

@contextmanager
def throwaway_database(url: str | None):
    """Yield a migrated engine on a fresh PostgreSQL schema (dropped after) or a temp SQLite file."""
    if url and not url.startswith("sqlite"):
        with _postgres_schema(normalize_database_url(url)) as scoped:
            yield _migrated(scoped)
        return
    workdir = Path(tempfile.mkdtemp(prefix="handoff-sweep-"))
    try:
        yield _migrated(f"sqlite:///{workdir}/bench.sqlite3")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def _postgres_schema(base: str):
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _migrated(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine


# --- 100,000 leads and their deadlines ------------------------------------------------------------

def sample_card() -> dict:
    """A lead card as the worker builds it, for a VP at a 250-person software company who asked for a demo."""
    now = datetime.now(timezone.utc)
    company = Company("9100", {"name": "Acme", "numberofemployees": "250", "industry": "COMPUTER_SOFTWARE"})
    contact = Contact("100", {"firstname": "Bench", "lastname": "Lead", "jobtitle": "VP Engineering",
                              "country": "United States"}, company)
    reasons = (Reason("Requested a demo", "engagement", 40, "Requested a demo 2 min ago"),
               Reason("Decision maker", "fit", 25, "VP Engineering"),
               Reason("Target company size", "fit", 20, "250 employees"))
    score = Score("100", 85, 45, 40, True, False, reasons, (), now, "Requested a demo 2 min ago · VP at a "
                  "250-person software company", now)
    return build_card(contact, score, [], Route("201", "round robin"), "12345", None, None, now)


def insert_leads(engine: Engine, due: list[datetime], first_id: int) -> None:
    """One lead per due time, each with one pending accept deadline whose first step is due then."""
    card = sample_card()
    for start in range(0, len(due), CHUNK):
        batch = list(enumerate(due[start:start + CHUNK], start=first_id + start))
        with engine.begin() as conn:
            conn.execute(leads.insert(), [_lead_row(n, at, card) for n, at in batch])
            conn.execute(deadlines.insert(), [_deadline_row(n, at) for n, at in batch])


def _lead_row(n: int, due_at: datetime, card: dict) -> dict:
    contact_id = str(100_000 + n)
    shown = card | {"lead_id": n, "contact_id": contact_id, "name": f"Bench{contact_id} Lead"}
    became_mql_at = due_at - ACCEPT_WINDOW
    return {"id": n, "contact_id": contact_id, "open_contact_id": contact_id, "portal_id": "12345",
            "status": "new", "became_mql_at": became_mql_at, "high_intent": False, "score": card["score"],
            "summary": card["summary"], "owner_id": "201", "assignee": REPS[n % len(REPS)],
            "route_why": card["route_why"], "card": json.dumps(shown), "updated_at": became_mql_at}


def _deadline_row(n: int, due_at: datetime) -> dict:
    return {"id": n, "lead_id": n, "kind": "accept", "started_at": due_at - ACCEPT_WINDOW, "due_at": due_at,
            "step": 0, "state": "pending", "run_at": due_at, "updated_at": due_at - ACCEPT_WINDOW, "attempts": 0}


def later_due_times(now: datetime) -> list[datetime]:
    """The deadlines that stay quiet: due between 10 minutes and 14 days from now."""
    rng = random.Random(5)
    return [now + timedelta(minutes=10 + rng.random() * 14 * 24 * 60) for _ in range(OPEN_DEADLINES - COMING_DUE)]


def soon_due_times(now: datetime) -> list[datetime]:
    """The deadlines that come due during the run: evenly over DUE_OVER, from FIRST_DUE_AFTER on."""
    return [now + FIRST_DUE_AFTER + DUE_OVER * i / COMING_DUE for i in range(COMING_DUE)]


def after_bulk_load(engine: Engine) -> None:
    """PostgreSQL: what autovacuum does after a bulk load (fresh planner statistics), and the id sequences
    moved past the ids given explicitly, so rows the app inserts later get new ones."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in ("leads", "deadlines"):
            conn.execute(text(f"ANALYZE {table}"))
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))


# --- (a) due time -> Slack message ------------------------------------------------------------------

def build_services(engine: Engine, slack: FakeSlack, workdir: Path) -> Services:
    config = workdir / "config"
    shutil.copytree(REPO / "config", config)
    (config / "routing.yaml").write_text(ROUTING)
    settings = Settings(database_url=str(engine.url), config_dir=str(config), slack_bot_token="xoxb-bench",
                        slack_api_base_url=slack.base_url, sweep_interval_seconds=1.0)
    return Services.build(settings, engine)


def measure_delays(svc: Services, slack: FakeSlack, due: dict[str, datetime]) -> list[float]:
    """Run the scheduler and the outbox until every step in `due` (effect key -> due time) is posted."""
    stop = threading.Event()
    effects = threading.Thread(target=poll_loop, args=(svc, outbox.run_one_batch, stop), name="outbox")
    effects.start()
    scheduler = start_scheduler(svc)
    try:
        posted = _wait_for_posts(slack, set(due), timeout=(max(due.values()) - _utcnow()).total_seconds() + 60)
    finally:
        scheduler.shutdown(wait=True)
        stop.set()
        effects.join()
    offset = time.monotonic() - time.time()     # Call.at is monotonic, due times are wall clock
    return [posted[key] - (at.timestamp() + offset) for key, at in due.items()]


def _wait_for_posts(slack: FakeSlack, keys: set[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        posted = _post_times(slack)
        if keys <= posted.keys():
            return posted
        time.sleep(0.2)
    raise RuntimeError(f"{len(keys - _post_times(slack).keys())} steps were never posted")


def _post_times(slack: FakeSlack) -> dict[str, float]:
    """Effect key -> when its first chat.postMessage reached Slack (the notifier puts the key in metadata)."""
    first: dict[str, float] = {}
    for call in list(slack.calls):
        metadata = call.params.get("metadata") if call.method == "chat.postMessage" else None
        if isinstance(metadata, dict):
            first.setdefault(metadata.get("event_payload", {}).get("effect_key"), call.at)
    return first


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- (b) an idle sweep ------------------------------------------------------------------------------

def measure_idle(svc: Services) -> tuple[list[float], list[tuple[str, object]]]:
    """Time IDLE_SWEEPS escalate_one calls that find nothing; return them and one call's statements."""
    statements: list[tuple[str, object]] = []
    times = [_timed_idle_sweep(svc) for _ in range(IDLE_SWEEPS)]

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))
    event.listen(svc.engine, "before_cursor_execute", record)
    try:
        _timed_idle_sweep(svc)
    finally:
        event.remove(svc.engine, "before_cursor_execute", record)
    return times, statements


def _timed_idle_sweep(svc: Services) -> float:
    started = time.perf_counter()
    if escalate_one(svc):
        raise RuntimeError("a step was due during the idle sweep measurement")
    return time.perf_counter() - started


def claim_plan(engine: Engine, statement: str, parameters: object) -> list[str]:
    """The plan of the claim as it ran: EXPLAIN ANALYZE (rolled back) on PostgreSQL, QUERY PLAN on SQLite."""
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        transaction = conn.begin()
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
        transaction.rollback()
    return [row[0] if postgres else row[-1] for row in rows]


def _claims(statements: list[tuple[str, object]]) -> list[tuple[str, object]]:
    return [(sql, params) for sql, params in statements if sql.lstrip().upper().startswith(("SELECT", "UPDATE"))]


# --- the run ----------------------------------------------------------------------------------------

def run(url: str | None) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="handoff-sweep-config-"))
    try:
        with throwaway_database(url) as engine, FakeSlack() as slack:
            for rep in REPS:
                slack.add_user(rep, f"{rep.lower()}@example.com")
            svc = build_services(engine, slack, workdir)
            report(engine, svc, slack)
            engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def report(engine: Engine, svc: Services, slack: FakeSlack) -> None:
    backend = engine.dialect.name
    started = time.perf_counter()
    due = load_deadlines(engine)
    print(f"{backend}: {OPEN_DEADLINES:,} open deadlines inserted in {time.perf_counter() - started:.1f} s")
    delays = measure_delays(svc, slack, due)
    print(f"{backend}: due -> Slack message, {COMING_DUE} steps due over {DUE_OVER.seconds} s, sweep every 1 s: "
          f"{summary(delays)}")
    report_idle(engine, svc)


def load_deadlines(engine: Engine) -> dict[str, datetime]:
    """Insert every lead and deadline; return the coming-due steps as effect key -> due time."""
    insert_leads(engine, later_due_times(_utcnow()), first_id=1)
    soon = soon_due_times(_utcnow())     # timed after the bulk load, which takes a while
    first_soon = OPEN_DEADLINES - COMING_DUE + 1
    insert_leads(engine, soon, first_id=first_soon)
    after_bulk_load(engine)
    return {f"deadline:{first_soon + i}:step:0": at for i, at in enumerate(soon)}


def report_idle(engine: Engine, svc: Services) -> None:
    backend = engine.dialect.name
    times, statements = measure_idle(svc)
    claims = _claims(statements)
    sent = ", ".join(" ".join(sql.split()[:3]) for sql, _ in statements)
    print(f"{backend}: idle sweep (escalate_one finds nothing): n={len(times)} "
          f"p50={percentile(times, 0.5) * 1000:.2f} ms p99={percentile(times, 0.99) * 1000:.2f} ms; "
          f"{len(claims)} query per sweep (statements sent: {sent})")
    print(f"{backend}: the claim's plan:")
    for line in claim_plan(engine, *claims[0]):
        print(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sla_sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL URL (default: TEST_DATABASE_URL, else SQLite in a temp file)")
    return run(parser.parse_args(argv).db)


if __name__ == "__main__":
    sys.exit(main())
