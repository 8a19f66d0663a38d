"""Report time on a large ledger: `bot.report.build` (what `python -m bot report` and the Slack review run) over
1,000,000 ledger rows (lead_events: every step of every lead's journey) for one period covering them all.

Data (fixed seed): ~135,000 leads over 90 days, 7.4 steps each on average — the MQL, the alert, the first touch,
0-2 breaches with their causes, 0-4 other steps (snoozes and card refreshes the report skips), the decision for 85% —
from 6 sources, 8 campaigns, 12 rules, 20 reps in 2 teams, every outcome and DQ reason. Timed 5 times after one
warm-up run; prints p50 and the slowest run, and the peak memory of the process.

    python -m bench.report_speed [--db URL] [--rows 1000000]

PostgreSQL at --db or TEST_DATABASE_URL (in a throwaway schema, dropped after), else SQLite in a temp file.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from bench.sla_sweep import throwaway_database
from bot import report
from bot.rules import load_config
from bot.store.schema import lead_events
from tests.ledger_data import LeadSpec, insert

REPO = Path(__file__).resolve().parent.parent
START = datetime(2026, 8, 1, tzinfo=timezone.utc)
DAYS = 90
SOURCES = ("ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS", "DIRECT_TRAFFIC")
CAMPAIGNS = tuple(f"Campaign {n}" for n in range(8))
RULES = tuple(f"Rule {n}" for n in range(12))
REPS = tuple((f"U0REP{n:02d}", "103" if n < 5 else "101") for n in range(20))   # 103 is the DACH territory's pool
DECISIONS = (("sql", None), ("not_yet", "Budget next quarter"), ("no_response", "No response after 7 touches"),
             ("disqualified", "No budget"), ("disqualified", "Student or job seeker"), ("disqualified", "Competitor"))
CAUSES = ("human", "system", "availability")
BATCH = 10_000
RUNS = 5


def a_lead(rng: random.Random, index: int, leads: int) -> LeadSpec:
    sdr, owner = rng.choice(REPS)
    decision, reason = rng.choice(DECISIONS) if rng.random() < 0.85 else (None, None)
    touched = rng.random() < 0.9
    return LeadSpec(
        # Contacts return (a recycled lead may come back as an SQL); an open lead's contact has no other open one.
        contact_id=str(rng.randrange(leads // 2)) if decision else f"open-{index}", action_at=START + timedelta(days=DAYS * index / leads),
        sdr=sdr, owner_id=owner, source=rng.choice(SOURCES), campaign=rng.choice(CAMPAIGNS),
        score=rng.uniform(60, 220), rules=tuple(rng.sample(RULES, rng.randint(1, 4))),
        alert_after=rng.uniform(1, 30), touch_after=rng.expovariate(1 / 900) if touched else None,
        touches=rng.randint(0, 8), decision=decision, reason=reason,
        breaches=tuple((rng.choice(("accept", "first_touch")), rng.choice(CAUSES)) for _ in range(rng.choice((0, 0, 1, 2)))),
        extra_steps=rng.randint(0, 4), decided_after=rng.uniform(3600, 86400 * 5))


def fill(engine, rows_wanted: int) -> tuple[int, int]:
    """Leads with their steps until the ledger holds `rows_wanted` steps; returns (leads, steps)."""
    rng, steps, written = random.Random(7), 0, 0
    expected_leads = int(rows_wanted / 7.4)
    while steps < rows_wanted:
        batch = [a_lead(rng, written + n, expected_leads) for n in range(BATCH)]
        with engine.begin() as conn:
            steps += insert(conn, batch, first_id=written + 1)
        written += len(batch)
    with engine.begin() as conn:   # trim to exactly the wanted row count: the last batch overshoots
        surplus = conn.execute(select(lead_events.c.id).order_by(lead_events.c.id.desc()).limit(steps - rows_wanted))
        doomed = [row.id for row in surplus]
        if doomed:
            conn.execute(lead_events.delete().where(lead_events.c.id.in_(doomed)))
    with engine.begin() as conn:   # as autovacuum would after a load this size: the planner needs row counts
        conn.exec_driver_sql("ANALYZE")
    return written, rows_wanted


def timed_runs(engine, config) -> list[float]:
    times = []
    for _ in range(RUNS + 1):
        started = time.perf_counter()
        with engine.connect() as conn:
            built = report.build(conn, config, START, START + timedelta(days=DAYS + 1))
        times.append(time.perf_counter() - started)
    assert built["volume"]["mqls"] > 0
    return times[1:]   # the first run warms the database's cache and Python's imports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    config = load_config(REPO / "config")
    with throwaway_database(args.db) as engine:
        started = time.perf_counter()
        leads, steps = fill(engine, args.rows)
        with engine.connect() as conn:
            counted = conn.execute(select(func.count()).select_from(lead_events)).scalar_one()
        print(f"{engine.dialect.name}: {leads:,} leads, {counted:,} ledger rows written in "
              f"{time.perf_counter() - started:.0f} s")
        times = timed_runs(engine, config)
        print(f"report over all of them: p50 {statistics.median(times):.2f} s, slowest {max(times):.2f} s "
              f"({RUNS} runs); peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
