"""Leads: one per contact while open. Status changes are compare-and-set updates, so a double click or a
race between processes changes a lead once."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.engine import Row

from bot.models import Score
from bot.store.db import insert_ignore
from bot.store.schema import leads, scores

OPEN_STATUSES = ("new", "accepted", "snoozed")
DECIDED = {"sql": "qualified", "not_yet": "nurture", "no_response": "recycled", "disqualified": "disqualified"}


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


def set_ae_user(conn: Connection, lead_id: int, slack_user_id: str | None, now: datetime) -> None:
    """The AE's Slack user, found after the decision (by their HubSpot email)."""
    conn.execute(update(leads).where(leads.c.id == lead_id).values(ae_user=slack_user_id, updated_at=now))


def mark_accepted(conn: Connection, lead_id: int, user_id: str, now: datetime) -> bool:
    """new -> accepted, once: the compare-and-set that makes a double click accept one time."""
    result = conn.execute(update(leads).where(leads.c.id == lead_id, leads.c.status == "new").values(
        status="accepted", accepted_by=user_id, accepted_at=now, updated_at=now))
    return result.rowcount == 1


def decide_lead(conn: Connection, lead_id: int, *, decision: str, reason: str | None, user_id: str,
                bant: dict | None, revisit_at: datetime | None, ae_owner_id: str | None, ae_user: str | None,
                now: datetime) -> bool:
    """Record the SDR's decision once: a second submit of the same form changes nothing."""
    result = conn.execute(update(leads).where(leads.c.id == lead_id, leads.c.status.in_(OPEN_STATUSES)).values(
        status=DECIDED[decision], decision=decision, decision_reason=reason, decided_by=user_id, decided_at=now,
        bant=json.dumps(bant) if bant else None, revisit_at=revisit_at, ae_owner_id=ae_owner_id,
        ae_user=ae_user, open_contact_id=None, closed_at=now, updated_at=now))
    return result.rowcount == 1


def snooze_lead(conn: Connection, lead_id: int, until: datetime, now: datetime) -> bool:
    result = conn.execute(update(leads).where(leads.c.id == lead_id, leads.c.status.in_(OPEN_STATUSES)).values(
        status="snoozed", snoozed_until=until, updated_at=now))
    return result.rowcount == 1


def wake_lead(conn: Connection, lead_id: int, now: datetime) -> bool:
    """A snoozed lead is back on the rep's list: accepted if it had been, else waiting for Accept."""
    lead = get_lead(conn, lead_id)
    status = "accepted" if lead.accepted_at else "new"
    result = conn.execute(update(leads).where(leads.c.id == lead_id, leads.c.status == "snoozed").values(
        status=status, snoozed_until=None, updated_at=now))
    return result.rowcount == 1


def add_touch(conn: Connection, lead_id: int, now: datetime) -> int | None:
    """Count a contact attempt; the new count, or None when the lead is no longer open."""
    return conn.execute(update(leads).where(leads.c.id == lead_id, leads.c.status.in_(OPEN_STATUSES))
                        .values(touches=leads.c.touches + 1, updated_at=now).returning(leads.c.touches)).scalar()


def reassign_lead(conn: Connection, lead_id: int, owner_id: str | None, assignee: str | None, why: str,
                  now: datetime) -> bool:
    """Hand an open lead to another rep, who must accept it afresh."""
    result = conn.execute(update(leads).where(leads.c.id == lead_id, leads.c.status.in_(OPEN_STATUSES)).values(
        owner_id=owner_id, assignee=assignee, route_why=why, status="new", accepted_at=None, accepted_by=None,
        snoozed_until=None, updated_at=now))
    return result.rowcount == 1


def open_leads(conn: Connection, assignee: str | None = None) -> list[Row]:
    query = select(leads).where(leads.c.status.in_(OPEN_STATUSES))
    if assignee is not None:
        query = query.where(leads.c.assignee == assignee)
    return list(conn.execute(query.order_by(leads.c.became_mql_at)))


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


def card_of(lead: Row) -> dict[str, Any]:
    """The card snapshot with the lead's live identity fields."""
    return json.loads(lead.card) | {"lead_id": lead.id, "assignee": lead.assignee}


def lead_state(lead: Row) -> dict[str, Any]:
    """The part of a lead the Slack card shows besides its snapshot."""
    return {"status": lead.status, "accepted_by": lead.accepted_by, "accepted_at": _iso(lead.accepted_at),
            "closed_reason": lead.closed_reason, "snoozed_until": _iso(lead.snoozed_until),
            "touches": lead.touches, "decision": _decision(lead)}


def _decision(lead: Row) -> dict[str, Any] | None:
    if not lead.decision:
        return None
    return {"outcome": lead.decision, "reason": lead.decision_reason, "by": lead.decided_by,
            "at": _iso(lead.decided_at), "ae": lead.ae_user, "revisit_at": _iso(lead.revisit_at),
            "bant": json.loads(lead.bant) if lead.bant else None}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def routed_since(conn: Connection, since: datetime, owner_ids: list[str]) -> dict[str, list[datetime]]:
    """When each of these HubSpot owners was routed a lead, since a moment (a rep's daily cap counts its own day)."""
    rows = conn.execute(select(leads.c.owner_id, leads.c.became_mql_at).where(leads.c.became_mql_at >= since,
                                                                              leads.c.owner_id.in_(owner_ids)))
    found: dict[str, list[datetime]] = {}
    for owner, at in rows:
        found.setdefault(owner, []).append(at)
    return found
