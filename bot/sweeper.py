"""The SLA sweeper: one due deadline step per call, claimed with compare-and-set. escalate_one() -> bool.

Each step's effects are recorded in the same transaction that advances the deadline, so a crash does both
or neither, and the effect's key (deadline, step) makes a replay a no-op. Steps come from the current
sla.yaml, so a ladder edit applies to open leads from their next step.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.engine import Row

from bot.services import Services
from bot.store import deadlines, effects, inbox, journey, leads

log = logging.getLogger("handoff.sweeper")


def escalate_one(svc: Services, now: datetime | None = None) -> bool:
    """Run the most overdue deadline step; False when nothing is due."""
    now = now or svc.clock()
    with svc.engine.begin() as conn:
        row = deadlines.claim_due_deadline(conn, now)
        if row is None:
            return False
        lead = leads.get_lead(conn, row.lead_id)
        if lead is None:
            deadlines.end(conn, row, "cancelled", now)
            return True
        STEPS[row.kind](svc, conn, row, lead, now)
    log.info("lead=%s %s step %d handled, %.0f s after it was due", lead.id, row.kind, row.step,
             (now - row.run_at).total_seconds())
    return True


def _accept_step(svc: Services, conn: Connection, row: Row, lead: Row, now: datetime) -> None:
    """The escalation ladder while a lead waits for Accept: remind the rep, then tell the managers."""
    steps = svc.config.sla.escalation
    if lead.status != "new" or row.step >= len(steps):
        deadlines.end(conn, row, "cancelled" if lead.status != "new" else "done", now)
        return
    step = steps[row.step]
    effects.add_effect(conn, f"deadline:{row.id}:step:{row.step}", "slack_notice",
                       {"lead_id": lead.id, "action": step.action, "deadline_id": row.id}, now, lead_id=lead.id)
    journey.record(conn, lead.id, lead.contact_id, "escalated", now, None, action=step.action,
                   late_seconds=(now - row.due_at).total_seconds())
    deadlines.advance(conn, row, _next_step_at(svc, row), now)


def _next_step_at(svc: Services, row: Row) -> datetime | None:
    sla = svc.config.sla
    following = row.step + 1
    if following >= len(sla.escalation):
        return None
    return row.started_at + sla.escalation[following].due_after(sla.accept_within)


def _snooze_over(svc: Services, conn: Connection, row: Row, lead: Row, now: datetime) -> None:
    """The snooze ends: the lead is back on the rep's list and its card says so."""
    if leads.wake_lead(conn, lead.id, now):
        journey.record(conn, lead.id, lead.contact_id, "woke", now)
        effects.add_effect(conn, f"deadline:{row.id}:wake", "slack_update_card", {"lead_id": lead.id}, now,
                           lead_id=lead.id)
    deadlines.end(conn, row, "done", now)


def _revisit_due(svc: Services, conn: Connection, row: Row, lead: Row, now: datetime) -> None:
    """A "not yet" lead's revisit date: it re-enters scoring, and marketing ops are told."""
    inbox.enqueue_rescore(conn, lead.contact_id, f"handoff:revisit:{row.id}", lead.portal_id, now)
    effects.add_effect(conn, f"deadline:{row.id}:revisit", "slack_notice",
                       {"lead_id": lead.id, "action": "revisit_due", "deadline_id": row.id}, now, lead_id=lead.id)
    journey.record(conn, lead.id, lead.contact_id, "revisit_due", now)
    deadlines.end(conn, row, "done", now)


STEPS = {"accept": _accept_step, "snooze": _snooze_over, "revisit": _revisit_due}
