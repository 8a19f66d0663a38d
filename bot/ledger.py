"""The ledger: every lead's journey with its timestamps, one row per lead, from the lead_events the service
records as it works. `python -m bot export --format csv|json` writes it; the report (bot.report) and the tuning
suggestions (bot.tune) read it."""
from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator, TextIO

from sqlalchemy import Connection, Select, case, select

from bot.store.schema import lead_events, leads

COLUMNS = ("lead_id", "contact_id", "sdr", "owner_id", "source", "campaign", "high_intent", "score", "rules_fired",
           "action_at", "webhook_received_at", "mql_at", "alerted_at", "accepted_at", "first_touch_at", "touches",
           "decided_at", "decision", "decision_reason", "ae", "breaches", "breach_causes", "status")
STREAM_BATCH = 5000   # rows fetched at a time: a million-step ledger streams in flat memory
# Steps whose detail the ledger reads; the others only count by kind and time (their JSON is never fetched).
_DETAILED = ("mql", "breach")
_LEAD_COLUMNS = (leads.c.id, leads.c.contact_id, leads.c.owner_id, leads.c.assignee, leads.c.accepted_by,
                 leads.c.high_intent, leads.c.score, leads.c.became_mql_at, leads.c.accepted_at, leads.c.touches,
                 leads.c.decided_at, leads.c.decision, leads.c.decision_reason, leads.c.ae_user, leads.c.ae_owner_id,
                 leads.c.status)


@dataclass(frozen=True, slots=True)
class Breach:
    deadline: str          # accept | first_touch | cadence
    cause: str             # system | availability | human


@dataclass(frozen=True, slots=True)
class Journey:
    """One lead's journey, its steps folded into the moments and facts the ledger and the report use."""
    lead_id: int
    contact_id: str
    sdr: str | None                      # the Slack user who accepted it, else its assignee
    owner_id: str | None                 # the HubSpot owner routing chose (a team is a set of owners)
    source: str | None
    campaign: str | None
    high_intent: bool
    score: float                         # when it became an MQL
    rules: tuple[str, ...]               # the rules that fired when it became an MQL
    action_at: datetime | None           # the prospect's action (HubSpot occurredAt)
    received_at: datetime | None         # the webhook reached us
    mql_at: datetime
    alerted_at: datetime | None
    accepted_at: datetime | None
    first_touch_at: datetime | None
    touches: int
    decided_at: datetime | None
    decision: str | None                 # sql | not_yet | no_response | disqualified
    decision_reason: str | None
    ae: str | None
    breaches: tuple[Breach, ...]
    status: str


def journeys(conn: Connection, since: datetime | None = None, until: datetime | None = None) -> Iterator[Journey]:
    """Each lead that became an MQL in [since, until), oldest first: two streamed queries (leads, their steps)
    merged by lead id, never a query per lead."""
    streamed = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH)
    lead_rows = streamed.execute(_in_period(select(*_LEAD_COLUMNS), since, until).order_by(leads.c.id))
    step_rows = iter(streamed.execute(_steps_query(since, until)))
    step = next(step_rows, None)
    for lead in lead_rows:
        steps = []
        while step is not None and step.lead_id <= lead.id:
            if step.lead_id == lead.id:
                steps.append(step)
            step = next(step_rows, None)
        yield fold(lead, steps)


def _steps_query(since: datetime | None, until: datetime | None) -> Select:
    detail = lead_events.c.detail
    wanted = select(lead_events.c.lead_id, lead_events.c.kind, lead_events.c.at,
                    # Only the steps the ledger reads carry their JSON across the wire.
                    case((lead_events.c.kind.in_(_DETAILED), detail), else_=None).label("detail"))
    joined = wanted.join_from(lead_events, leads, leads.c.id == lead_events.c.lead_id)
    return _in_period(joined, since, until).order_by(lead_events.c.lead_id, lead_events.c.at, lead_events.c.id)


def _in_period(query: Select, since: datetime | None, until: datetime | None) -> Select:
    if since is not None:
        query = query.where(leads.c.became_mql_at >= since)
    if until is not None:
        query = query.where(leads.c.became_mql_at < until)
    return query


def fold(lead, steps: list) -> Journey:
    """A lead row and its steps in time order -> its Journey (the first step of a kind is the one that counts)."""
    first, breaches = {}, []
    for step in steps:
        first.setdefault(step.kind, step)
        if step.kind == "breach":
            detail = json.loads(step.detail or "{}")
            breaches.append(Breach(detail.get("deadline") or "", detail.get("cause") or ""))
    mql = json.loads(first["mql"].detail or "{}") if "mql" in first else {}
    return Journey(
        lead_id=lead.id, contact_id=lead.contact_id, sdr=lead.accepted_by or lead.assignee, owner_id=lead.owner_id,
        source=mql.get("source"), campaign=mql.get("campaign"), high_intent=bool(lead.high_intent),
        score=mql.get("score", lead.score), rules=tuple(mql.get("rules", ())), action_at=_parsed(mql.get("occurred_at")),
        received_at=_parsed(mql.get("received_at")), mql_at=lead.became_mql_at, alerted_at=_at(first, "alerted"),
        accepted_at=lead.accepted_at, first_touch_at=_at(first, "touch"), touches=lead.touches,
        decided_at=lead.decided_at, decision=lead.decision, decision_reason=lead.decision_reason,
        ae=lead.ae_user or lead.ae_owner_id, breaches=tuple(breaches), status=lead.status)


def _at(first: dict, kind: str) -> datetime | None:
    return first[kind].at if kind in first else None


def _parsed(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def ledger_rows(conn: Connection, since: datetime | None = None, until: datetime | None = None) -> Iterator[dict]:
    """One row per lead that became an MQL in [since, until): the export's columns."""
    return (as_row(journey) for journey in journeys(conn, since, until))


def as_row(journey: Journey) -> dict[str, Any]:
    return {
        "lead_id": journey.lead_id, "contact_id": journey.contact_id, "sdr": journey.sdr,
        "owner_id": journey.owner_id, "source": journey.source, "campaign": journey.campaign,
        "high_intent": journey.high_intent, "score": journey.score, "rules_fired": "; ".join(journey.rules),
        "action_at": _iso(journey.action_at), "webhook_received_at": _iso(journey.received_at),
        "mql_at": _iso(journey.mql_at), "alerted_at": _iso(journey.alerted_at),
        "accepted_at": _iso(journey.accepted_at), "first_touch_at": _iso(journey.first_touch_at),
        "touches": journey.touches, "decided_at": _iso(journey.decided_at), "decision": journey.decision,
        "decision_reason": journey.decision_reason, "ae": journey.ae, "breaches": len(journey.breaches),
        "breach_causes": "; ".join(f"{b.deadline}: {b.cause}" for b in journey.breaches), "status": journey.status,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def write(rows: Iterable[dict], fmt: str, out: TextIO = sys.stdout) -> int:
    """CSV with a header, or JSON Lines (one object per lead, so a large ledger streams); returns rows written."""
    count = 0
    writer = csv.DictWriter(out, fieldnames=COLUMNS) if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for row in rows:
        writer.writerow(row) if writer else out.write(json.dumps(row) + "\n")
        count += 1
    return count
