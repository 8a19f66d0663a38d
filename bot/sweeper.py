"""The SLA sweeper: one due escalation step per call, claimed with compare-and-set. escalate_one() -> bool."""
from __future__ import annotations

import logging
from datetime import datetime

from bot.services import Services
from bot.store import deadlines, effects, leads

log = logging.getLogger("handoff.sweeper")


def escalate_one(svc: Services, now: datetime | None = None) -> bool:
    """Run the most overdue escalation step; False when nothing is due.

    The step's effect is recorded in the same transaction that advances the deadline, so a crash either
    does both or neither, and the effect's key (deadline, step) makes a replay a no-op. Steps come from
    the current sla.yaml, so a ladder edit applies to open leads from their next step.
    """
    now = now or svc.clock()
    with svc.engine.begin() as conn:
        row = deadlines.claim_due_deadline(conn, now)
        if row is None:
            return False
        lead = leads.get_lead(conn, row.lead_id)
        steps = svc.config.sla.escalation
        if lead is None or lead.status != "new" or row.step >= len(steps):
            deadlines.end(conn, row, "cancelled" if lead is None or lead.status != "new" else "done", now)
            return True
        step = steps[row.step]
        effects.add_effect(conn, f"deadline:{row.id}:step:{row.step}", "slack_notice",
                           {"lead_id": lead.id, "action": step.action, "deadline_id": row.id}, now,
                           lead_id=lead.id)
        deadlines.advance(conn, row, _next_step_at(svc, row, now), now)
    log.info("lead=%s SLA step %d (%s) due, %.0f s late", lead.id, row.step, step.action,
             (now - row.run_at).total_seconds())
    return True


def _next_step_at(svc: Services, row, now: datetime) -> datetime | None:
    sla = svc.config.sla
    following = row.step + 1
    if following >= len(sla.escalation):
        return None
    return row.started_at + sla.escalation[following].due_after(sla.accept_within)
