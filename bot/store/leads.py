"""Leads: one per contact while open. Status changes are compare-and-set updates, so a double click or a
race between processes changes a lead once."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.engine import Row

from bot.models import Score
from bot.store.db import insert_ignore
from bot.store.schema import leads, scores

OPEN_STATUSES = ("new", "accepted")


def record_score(conn: Connection, score: Score, cause: str) -> None:
    conn.execute(scores.insert().values(
        contact_id=score.contact_id, computed_at=score.computed_at, total=score.total, fit=score.fit,
        engagement=score.engagement, is_mql=score.is_mql, high_intent=score.high_intent,
        reasons=json.dumps([asdict(r) for r in score.reasons]), gates_failed=json.dumps(score.gates_failed),
        summary=score.summary, cause=cause[:2000]))


def open_lead_for(conn: Connection, contact_id: str) -> Row | None:
    return conn.execute(select(leads).where(leads.c.open_contact_id == contact_id)).first()


def get_lead(conn: Connection, lead_id: int) -> Row | None:
    return conn.execute(select(leads).where(leads.c.id == lead_id)).first()


def create_lead(conn: Connection, *, contact_id: str, portal_id: str | None, score: Score,
                owner_id: str | None, route_why: str, card: dict[str, Any], now: datetime) -> int | None:
    """Open a lead for the contact; None when it already has an open lead (another worker won the race)."""
    row = {"contact_id": contact_id, "open_contact_id": contact_id, "portal_id": portal_id, "status": "new",
           "became_mql_at": now, "high_intent": score.high_intent, "score": score.total,
           "summary": score.summary, "owner_id": owner_id, "route_why": route_why,
           "card": json.dumps(card), "updated_at": now}
    if insert_ignore(conn, leads, [row], key="open_contact_id") != 1:
        return None
    return open_lead_for(conn, contact_id).id


def set_card(conn: Connection, lead_id: int, card: dict[str, Any], now: datetime) -> None:
    conn.execute(update(leads).where(leads.c.id == lead_id).values(card=json.dumps(card), updated_at=now))


def set_assignee(conn: Connection, lead_id: int, slack_user_id: str | None, owner_name: str | None,
                 now: datetime) -> None:
    lead = get_lead(conn, lead_id)
    card = json.loads(lead.card) | {"assignee": slack_user_id, "owner_name": owner_name}
    conn.execute(update(leads).where(leads.c.id == lead_id).values(
        assignee=slack_user_id, card=json.dumps(card), updated_at=now))


def mark_accepted(conn: Connection, lead_id: int, user_id: str, now: datetime) -> bool:
    """new -> accepted, once: the compare-and-set that makes a double click accept one time."""
    result = conn.execute(update(leads).where(leads.c.id == lead_id, leads.c.status == "new").values(
        status="accepted", accepted_by=user_id, accepted_at=now, updated_at=now))
    return result.rowcount == 1


def close_lead(conn: Connection, lead_id: int, reason: str, now: datetime) -> bool:
    result = conn.execute(update(leads).where(leads.c.id == lead_id, leads.c.status.in_(OPEN_STATUSES))
                          .values(status="closed", open_contact_id=None, closed_at=now,
                                  closed_reason=reason, updated_at=now))
    return result.rowcount == 1


def rekey_contact(conn: Connection, old_id: str, new_id: str, now: datetime) -> list[int]:
    """After a HubSpot merge: the merged contact's open lead follows the surviving id (unless it has one)."""
    lead = open_lead_for(conn, old_id)
    if lead is None:
        return []
    if open_lead_for(conn, new_id) is not None:
        close_lead(conn, lead.id, f"Merged into contact {new_id}, which already has an open lead", now)
        return [lead.id]
    conn.execute(update(leads).where(leads.c.id == lead.id).values(
        contact_id=new_id, open_contact_id=new_id, updated_at=now))
    return [lead.id]


def lead_state(lead: Row) -> dict[str, Any]:
    """The part of a lead the Slack card shows besides its snapshot."""
    return {"status": lead.status, "accepted_by": lead.accepted_by,
            "accepted_at": lead.accepted_at.isoformat() if lead.accepted_at else None,
            "closed_reason": lead.closed_reason}
