"""Ack time of every Slack interaction: signed request in -> HTTP response out (the ack), p50/p99 per kind.

Slack gives an app 3 s to answer. Data: the whole app (Flask + Bolt, tests.harness.System) on SQLite in a
temp dir with the fake HubSpot and Slack on loopback; 400 warm contacts made leads through the real webhook
and worker. 200 of each, one request at a time, each one's background work finished before the next:
an Accept click on a new lead, a Qualify click (opens the BANT modal) on an accepted one, its BANT
submission (SQL, handed to an AE), a Disqualify submission on a new lead, `/handoff mine` and
app_home_opened for a rep who holds 200 open leads.

    python -m bench.slack_ack
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine

from bench.common import percentile
from bot.store.db import make_engine, migrate
from tests.fakes.fake_hubspot import FakeHubSpot
from tests.fakes.fake_slack import FakeSlack
from tests.harness import System, wait_for, write_config
from tests.test_sdr_loop import ROUTING, bant, select, text

N = 200
SLACK_LIMIT = 3.0
REPS = (("201", "U0REP1", "rep1@example.com", "Riley"), ("202", "U0REP2", "rep2@example.com", "Sasha"))


# --- the system and its leads ---------------------------------------------------------------------

def build_system(engine: Engine, workdir: Path, hubspot: FakeHubSpot, slack: FakeSlack) -> System:
    for owner_id, user_id, email, name in REPS:
        hubspot.add_owner(owner_id, email, name, "Rep")
        slack.add_user(user_id, email)
    hubspot.add_owner("401", "ae@example.com", "Avery", "Exec")
    return System(engine, write_config(workdir / "config", routing=ROUTING), hubspot, slack)


def make_leads(system: System, count: int) -> list:
    """`count` warm contacts through the real webhook and worker; their leads, with assignees resolved."""
    first = 20_000 + len(system.leads())
    ids = [str(first + n) for n in range(count)]
    for contact_id in ids:
        system.add_warm_contact(contact_id)
    for start in range(0, count, 100):
        system.post_webhook([system.event("contact.propertyChange", cid, property_name="recent_conversion_event_name",
                                          property_value="Demo request") for cid in ids[start:start + 100]])
    system.drain(rounds=1_000)
    made = [lead for lead in system.leads() if lead.contact_id in set(ids)]
    if len(made) != count or not all(lead.assignee for lead in made):
        raise RuntimeError(f"{len(made)} of {count} contacts became leads with a rep")
    return made


def status_of(system: System, lead_id: int) -> str:
    return next(lead.status for lead in system.leads() if lead.id == lead_id)


# --- one timed request each -------------------------------------------------------------------------

def timed(send: Callable[[], object], done: Callable[[object], bool], what: str) -> float:
    """Seconds from sending the request to its HTTP response; then wait until its work is visibly done."""
    started = time.perf_counter()
    response = send()
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{what}: HTTP {response.status_code}")
    wait_for(lambda: done(response), what=what)
    return elapsed


def accept(system: System, lead) -> float:
    return timed(lambda: system.click("accept_lead", lead.id, lead.assignee),
                 lambda _: status_of(system, lead.id) == "accepted", "accept")


def qualify_click(system: System, lead) -> float:
    opened = system.slack.count("views.open")
    return timed(lambda: system.click("qualify_lead", lead.id, lead.assignee),
                 lambda _: system.slack.count("views.open") > opened, "the BANT modal")


def bant_submit(system: System, lead) -> float:
    return timed(lambda: system.submit("bant_submit", lead.id, lead.assignee, bant("sql")),
                 lambda response: response.get_data() == b"" and status_of(system, lead.id) == "qualified",
                 "a BANT decision")


def disqualify_submit(system: System, lead) -> float:
    values = {"dq_reason": {"dq_reason": select("No budget")}, "dq_other": {"dq_other": text(None)}}
    return timed(lambda: system.submit("disqualify_submit", lead.id, lead.assignee, values),
                 lambda response: response.get_data() == b"" and status_of(system, lead.id) == "disqualified",
                 "a disqualification")


def handoff_mine(system: System, user_id: str) -> float:
    return timed(lambda: system.command(user_id, "mine"),
                 lambda response: "Ada" in response.get_data(as_text=True), "/handoff mine")


def home_opened(system: System, user_id: str, n: int) -> float:
    published = system.slack.count("views.publish")
    event = {"type": "app_home_opened", "user": user_id, "channel": "D0REP1", "tab": "home",
             "event_ts": f"1764000000.{n:06d}"}
    return timed(lambda: system.slack_event(event, f"Ev{n:08d}"),
                 lambda _: system.slack.count("views.publish") > published, "App Home")


# --- the run ----------------------------------------------------------------------------------------

def measure(system: System) -> dict[str, list[float]]:
    """Each interaction N times, in the order a rep's day runs (accept, look at the queue, qualify, decide)."""
    to_qualify, to_disqualify = make_leads(system, N), make_leads(system, N)
    times = {"accept_lead click": [accept(system, lead) for lead in to_qualify]}
    system.drain(rounds=1_000)
    rep = to_qualify[0].assignee
    times["/handoff mine"] = [handoff_mine(system, rep) for _ in range(N)]
    times["app_home_opened"] = [home_opened(system, rep, n) for n in range(N)]
    times["qualify_lead click (opens the modal)"] = [qualify_click(system, lead) for lead in to_qualify]
    times["BANT view_submission (SQL)"] = [bant_submit(system, lead) for lead in to_qualify]
    times["disqualify view_submission"] = [disqualify_submit(system, lead) for lead in to_disqualify]
    return times


def line(name: str, values: list[float]) -> str:
    return (f"{name}: n={len(values)} p50={percentile(values, 0.5) * 1000:.0f} ms "
            f"p99={percentile(values, 0.99) * 1000:.0f} ms max={max(values) * 1000:.0f} ms")


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="handoff-ack-"))
    try:
        engine = make_engine(f"sqlite:///{workdir}/bench.sqlite3")
        migrate(engine)
        with FakeHubSpot() as hubspot, FakeSlack() as slack:
            times = measure(build_system(engine, workdir, hubspot, slack))
        engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for name, values in times.items():
        print(f"slack ack, {line(name, values)}")
    worst = max(percentile(values, 0.99) for values in times.values())
    print(f"slack ack, worst p99 {worst * 1000:.0f} ms against Slack's {SLACK_LIMIT:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
