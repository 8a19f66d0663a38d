"""What an SDR's click does, decided and recorded in one transaction (the Slack listener only calls this)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot import lifecycle
from bot.routing import may_act_on_lead
from bot.services import Services
from bot.store import deadlines, effects, kv, leads

log = logging.getLogger("handoff.actions")

ACCEPTED, ALREADY_DONE, NOT_ALLOWED, UNKNOWN_LEAD = "accepted", "already_done", "not_allowed", "unknown_lead"


@dataclass(frozen=True)
class Outcome:
    kind: str
    assignee: str | None = None       # who owns the lead (for "assigned to @…")
    accepted_by: str | None = None
    status: str | None = None


def accept_lead(svc: Services, lead_id: int, user_id: str, now: datetime) -> Outcome:
    """The assignee or a manager accepts once (anyone, for an unassigned lead); others are told who owns it."""
    with svc.engine.begin() as conn:
        lead = leads.get_lead(conn, lead_id)
        if lead is None:
            return Outcome(UNKNOWN_LEAD)
        # A lead nobody in Slack owns sits in the fallback channel: whoever claims it first takes it.
        if lead.assignee is not None and not may_act_on_lead(user_id, lead.assignee, svc.config.routing):
            log.info("lead=%s accept refused for user=%s", lead_id, user_id)
            return Outcome(NOT_ALLOWED, assignee=lead.assignee, status=lead.status)
        if not leads.mark_accepted(conn, lead_id, user_id, now):
            return Outcome(ALREADY_DONE, assignee=lead.assignee, accepted_by=lead.accepted_by,
                           status=lead.status)
        deadlines.cancel_for_lead(conn, lead_id, now)
        owner_id = lead.owner_id if user_id == lead.assignee else kv.owner_for_slack_user(conn, user_id)
        writes = lifecycle.accept_writeback(owner_id or lead.owner_id, _name_of(conn, owner_id), now)
        effects.add_effect(conn, f"lead:{lead_id}:accept-writeback", "hubspot_update",
                           {"contact_id": lead.contact_id, "properties": writes}, now, lead_id=lead_id)
        effects.add_effect(conn, f"lead:{lead_id}:accepted-card", "slack_update_card",
                           {"lead_id": lead_id}, now, lead_id=lead_id)
    log.info("lead=%s accepted by user=%s after %.0f s", lead_id, user_id,
             (now - lead.became_mql_at).total_seconds())
    return Outcome(ACCEPTED, assignee=lead.assignee, accepted_by=user_id, status="accepted")


def _name_of(conn, owner_id: str | None) -> str | None:
    if not owner_id:
        return None
    return kv.cached_owner_name(conn, owner_id)
