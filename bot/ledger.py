"""The ledger: every lead's journey with its timestamps, one row per lead, from the lead_events the service
records as it works. `python -m bot export --format csv|json` writes it for the reports and for BI tools."""
from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from typing import Any, Iterable, Iterator, TextIO

from sqlalchemy import Connection, select

from bot.store.schema import lead_events, leads

COLUMNS = ("lead_id", "contact_id", "sdr", "source", "high_intent", "score", "rules_fired", "action_at",
           "webhook_received_at", "mql_at", "alerted_at", "accepted_at", "first_touch_at", "touches",
           "decided_at", "decision", "decision_reason", "ae", "breaches", "breach_causes", "status")


def ledger_rows(conn: Connection, since: datetime | None = None, until: datetime | None = None) -> Iterator[dict]:
    """One row per lead that became an MQL in [since, until), its steps in time order folded into columns."""
    query = select(leads).order_by(leads.c.id)
    if since is not None:
        query = query.where(leads.c.became_mql_at >= since)
    if until is not None:
        query = query.where(leads.c.became_mql_at < until)
    for lead in conn.execute(query):
        yield _row(lead, conn.execute(select(lead_events).where(lead_events.c.lead_id == lead.id)
                                      .order_by(lead_events.c.at, lead_events.c.id)).all())


def _row(lead, steps: list) -> dict[str, Any]:
    first = {}
    for step in steps:
        first.setdefault(step.kind, step)
    mql = json.loads(first["mql"].detail) if "mql" in first else {}
    breaches = [json.loads(step.detail) for step in steps if step.kind == "breach"]
    return {
        "lead_id": lead.id, "contact_id": lead.contact_id, "sdr": lead.accepted_by or lead.assignee,
        "source": mql.get("source"), "high_intent": lead.high_intent, "score": lead.score,
        "rules_fired": "; ".join(mql.get("rules", [])), "action_at": mql.get("occurred_at"),
        "webhook_received_at": mql.get("received_at"), "mql_at": _iso(lead.became_mql_at),
        "alerted_at": _at(first, "alerted"), "accepted_at": _iso(lead.accepted_at),
        "first_touch_at": _at(first, "touch"), "touches": lead.touches, "decided_at": _iso(lead.decided_at),
        "decision": lead.decision, "decision_reason": lead.decision_reason, "ae": lead.ae_user or lead.ae_owner_id,
        "breaches": len(breaches), "breach_causes": "; ".join(f"{b.get('deadline')}: {b.get('cause')}"
                                                              for b in breaches),
        "status": lead.status,
    }


def _at(first: dict, kind: str) -> str | None:
    return _iso(first[kind].at) if kind in first else None


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
