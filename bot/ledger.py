"""The ledger: every lead's journey with its timestamps, one row per lead, from the lead_events the service
records as it works. `python -m bot export --format csv|json` writes it; the report (bot.report) and the tuning
suggestions (bot.tune) read it."""
from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from typing import Any, Iterable, Iterator, NamedTuple, TextIO

from sqlalchemy import Connection, Select, String, case, cast, func, select

from bot.store.schema import lead_events, leads

COLUMNS = ("lead_id", "contact_id", "sdr", "owner_id", "source", "campaign", "high_intent", "score", "rules_fired",
           "action_at", "webhook_received_at", "mql_at", "alerted_at", "accepted_at", "first_touch_at", "touches",
           "decided_at", "decision", "decision_reason", "ae", "breaches", "breach_causes", "status")
STREAM_BATCH = 5000   # rows fetched at a time: a million-step ledger streams in flat memory
_SEPARATOR = "\x1e"   # between a lead's breaches in the folded row
_LEAD_COLUMNS = (leads.c.id, leads.c.contact_id, leads.c.owner_id, leads.c.assignee, leads.c.accepted_by,
                 leads.c.high_intent, leads.c.score, leads.c.became_mql_at, leads.c.accepted_at, leads.c.touches,
                 leads.c.decided_at, leads.c.decision, leads.c.decision_reason, leads.c.ae_user, leads.c.ae_owner_id,
                 leads.c.status)


class Breach(NamedTuple):
    deadline: str          # accept | first_touch | cadence
    cause: str             # system | availability | human


class Journey(NamedTuple):   # a tuple: built fast, since a report builds one per lead
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
    """Each lead that became an MQL in [since, until), oldest first, streamed. The database folds each lead's steps
    into one row (first alert, first touch, the MQL step, the breaches): a million steps cross the wire as the
    leads they belong to, not one by one."""
    streamed = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH)
    for row in streamed.execute(_journeys_query(since, until)):
        yield fold(row)


def _journeys_query(since: datetime | None, until: datetime | None) -> Select:
    step = lead_events.c
    # Breaches keep their order: each is "time<TAB>detail", sorted in Python (string_agg and group_concat take no
    # ORDER BY in common); JSON escapes control characters, so the record separator never occurs inside one.
    breach = cast(step.at, String) + "\t" + step.detail
    folded = (select(step.lead_id,
                     func.min(case((step.kind == "alerted", step.at))).label("alerted_at"),
                     func.min(case((step.kind == "touch", step.at))).label("first_touch_at"),
                     func.min(case((step.kind == "mql", step.detail))).label("mql_detail"),
                     func.aggregate_strings(case((step.kind == "breach", breach)), _SEPARATOR).label("breaches"))
              .join_from(lead_events, leads, leads.c.id == step.lead_id))
    steps = _in_period(folded, since, until).group_by(step.lead_id).subquery()
    # The column order is fold()'s.
    query = (select(*_LEAD_COLUMNS, steps.c.alerted_at, steps.c.first_touch_at, steps.c.mql_detail, steps.c.breaches)
             .join_from(leads, steps, steps.c.lead_id == leads.c.id, isouter=True))
    return _in_period(query, since, until).order_by(leads.c.id)


def _in_period(query: Select, since: datetime | None, until: datetime | None) -> Select:
    if since is not None:
        query = query.where(leads.c.became_mql_at >= since)
    if until is not None:
        query = query.where(leads.c.became_mql_at < until)
    return query


def fold(row) -> Journey:
    """A lead with its folded steps -> its Journey."""
    (lead_id, contact_id, owner_id, assignee, accepted_by, high_intent, score, mql_at, accepted_at, touches,
     decided_at, decision, decision_reason, ae_user, ae_owner_id, status, alerted_at, first_touch_at, mql_detail,
     breaches) = row   # by position: a Row's attributes cost a lookup each, and there are a million of them
    mql = json.loads(mql_detail) if mql_detail else {}
    return Journey(
        lead_id, contact_id, accepted_by or assignee, owner_id, mql.get("source"), mql.get("campaign"),
        bool(high_intent), mql.get("score", score), tuple(mql.get("rules", ())), _parsed(mql.get("occurred_at")),
        _parsed(mql.get("received_at")), mql_at, alerted_at, accepted_at, first_touch_at, touches, decided_at,
        decision, decision_reason, ae_user or ae_owner_id, _breaches(breaches), status)


def _breaches(folded: str | None) -> tuple[Breach, ...]:
    if not folded:
        return ()
    found = []
    for entry in sorted(folded.split(_SEPARATOR)):
        detail = json.loads(entry.partition("\t")[2] or "{}")
        found.append(Breach(detail.get("deadline") or "", detail.get("cause") or ""))
    return tuple(found)


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
