"""The lead journey: one row per step (alerted, accepted, touch, decision, …) with who and when."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Connection, func, select

from bot.store.schema import lead_events


def record(conn: Connection, lead_id: int, contact_id: str, kind: str, at: datetime,
           actor: str | None = None, **detail: Any) -> None:
    conn.execute(lead_events.insert().values(lead_id=lead_id, contact_id=contact_id, kind=kind, at=at,
                                             actor=actor, detail=json.dumps(detail, default=str)))


def detail_of(row) -> dict[str, Any]:
    return json.loads(row.detail) if row.detail else {}


STORY = {"mql": "Became an MQL", "alerted": "Alert sent", "accepted": "Accepted by {actor}",
         "touch": "{touch} logged by {actor} (touch {number})", "snoozed": "Snoozed by {actor}",
         "woke": "Back from snooze", "reassigned": "Reassigned by {actor}: {reason}",
         "escalated": "SLA step: {action}", "decided": "Decided by {actor}: {outcome}",
         "revisit_due": "Revisit date reached: back to scoring", "closed": "Closed: {reason}"}


def stories(conn: Connection, lead_ids: Sequence[int], limit: int = 12) -> dict[int, list[dict[str, str]]]:
    """The stories of many leads in one query (a rep's queue, the team's): words built from ids only (no CRM
    text), oldest first."""
    found: dict[int, list[dict[str, Any]]] = {lead_id: [] for lead_id in lead_ids}
    rows = conn.execute(select(lead_events).where(lead_events.c.lead_id.in_(list(lead_ids)))
                        .order_by(lead_events.c.at, lead_events.c.id))
    for r in rows:
        found[r.lead_id].append({"kind": r.kind, "at": r.at, "actor": r.actor, **detail_of(r)})
    return {lead_id: [_story_line(step) for step in found[lead_id][-limit:]] for lead_id in lead_ids}


def _story_line(step: dict[str, Any]) -> dict[str, str]:
    actor = f"<@{step['actor']}>" if step.get("actor") else "Handoff"
    template = STORY.get(step["kind"], step["kind"])
    fields = {key: value for key, value in step.items() if key not in ("actor", "at")}
    return {"at": step["at"].isoformat(), "text": template.format_map(_Blank(fields | {"actor": actor}))}


class _Blank(dict):
    """str.format_map that leaves a missing field empty instead of raising."""
    def __missing__(self, key: str) -> str:
        return ""


def last_decision_for(conn: Connection, contact_id: str, before_lead: int) -> dict[str, Any] | None:
    """A returning lead's past: the decision on its previous lead, if any."""
    row = conn.execute(select(lead_events).where(
        lead_events.c.contact_id == contact_id, lead_events.c.lead_id < before_lead,
        lead_events.c.kind == "decided").order_by(lead_events.c.at.desc()).limit(1)).first()
    return {"at": row.at, **json.loads(row.detail)} if row else None


def count(conn: Connection, lead_id: int, kind: str) -> int:
    return conn.execute(select(func.count()).where(lead_events.c.lead_id == lead_id,
                                                   lead_events.c.kind == kind)).scalar_one()


def first_step(conn: Connection, lead_id: int, kind: str) -> dict[str, Any] | None:
    """The lead's first step of a kind (its "mql" or first "alerted"), with its time and detail."""
    row = conn.execute(select(lead_events).where(lead_events.c.lead_id == lead_id, lead_events.c.kind == kind)
                       .order_by(lead_events.c.at, lead_events.c.id).limit(1)).first()
    return {"at": row.at, "actor": row.actor, **detail_of(row)} if row else None


def breaches(conn: Connection, lead_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(lead_events).where(lead_events.c.lead_id == lead_id, lead_events.c.kind == "breach")
                        .order_by(lead_events.c.at, lead_events.c.id))
    return [{"at": row.at, "actor": row.actor, **detail_of(row)} for row in rows]


def count_for_deadline(conn: Connection, lead_id: int, deadline_id: int) -> int:
    """Breaches already recorded for one deadline (each is recorded once, at its first late step)."""
    return sum(1 for breach in breaches(conn, lead_id) if breach.get("deadline_id") == deadline_id)


def breaches_since(conn: Connection, user_id: str, since: datetime, cause: str) -> int:
    """A rep's misses of one cause since a moment (their local day's start)."""
    rows = conn.execute(select(lead_events).where(lead_events.c.kind == "breach", lead_events.c.actor == user_id,
                                                  lead_events.c.at >= since))
    return sum(1 for row in rows if detail_of(row).get("cause") == cause)
