"""PURE: what a fresh score means for a contact's lead, and what Handoff writes to HubSpot for it."""
from __future__ import annotations

from datetime import datetime

from bot.models import Contact, Score, to_utc_iso

MQL_STAGE = "marketingqualifiedlead"
# HubSpot's default stage order. Only stages before MQL may be moved forward to it: HubSpot silently
# ignores a backward write, and custom stages (numeric ids) have an order we cannot know here.
STAGES_BEFORE_MQL = frozenset({"", "subscriber", "lead"})
STAGES_WITH_SALES = frozenset({"salesqualifiedlead", "opportunity", "customer", "evangelist"})

NEW_MQL = "new_mql"          # open a lead: write back, route, alert, start the SLA clock
REFRESH = "refresh"          # the contact already has an open lead: add what is new to it
NOTHING = "nothing"


def decide(contact: Contact, score: Score, open_lead_status: str | None) -> str:
    """One decision per contact per batch, from its current state (never from event order)."""
    if open_lead_status is not None:
        return REFRESH
    if not score.is_mql or (contact.get("lifecyclestage") or "") in STAGES_WITH_SALES:
        return NOTHING
    return NEW_MQL


def mql_writeback(contact: Contact, score: Score, now: datetime) -> dict[str, str]:
    """The properties written in the MQL batch update; lifecycle stage only ever moves forward."""
    properties = {
        "hs_lead_status": "NEW",
        "handoff_score": _number(score.total),
        "handoff_fit_score": _number(score.fit),
        "handoff_engagement_score": _number(score.engagement),
        "handoff_mql_reason": score.summary,
        "handoff_mql_at": to_utc_iso(now),
        "handoff_high_intent": "true" if score.high_intent else "false",
    }
    if (contact.get("lifecyclestage") or "") in STAGES_BEFORE_MQL:
        properties["lifecyclestage"] = MQL_STAGE
    return properties


def accept_writeback(owner_id: str | None, accepted_by_name: str | None, now: datetime) -> dict[str, str]:
    """What Accept records on the contact: its owner becomes the rep, work is in progress."""
    properties = {"hs_lead_status": "IN_PROGRESS", "handoff_accepted_at": to_utc_iso(now)}
    if owner_id:
        properties["hubspot_owner_id"] = owner_id
    if accepted_by_name:
        properties["handoff_accepted_by"] = accepted_by_name
    return properties


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


OUTCOME_WORDS = {"sql": "Qualified: handed to an Account Executive", "not_yet": "Not yet: back to nurture",
                 "no_response": "No response: recycled to nurture", "disqualified": "Disqualified"}
# hs_lead_status values from HubSpot's default options (portals may rename the labels, not these values).
LEAD_STATUS_FOR = {"sql": "CONNECTED", "not_yet": "BAD_TIMING", "no_response": "ATTEMPTED_TO_CONTACT",
                   "disqualified": "UNQUALIFIED"}


def qualify_writeback(outcome: str, ae_owner_id: str | None, revisit_at: datetime | None,
                      bant_summary: str) -> dict[str, str]:
    """The SDR's decision on the contact. Only an SQL moves the stage (forward); the others are lead statuses."""
    properties = {"hs_lead_status": LEAD_STATUS_FOR[outcome], "handoff_decision": outcome,
                  "handoff_bant": bant_summary}
    if outcome == "sql":
        properties["lifecyclestage"] = "salesqualifiedlead"
        if ae_owner_id:
            properties["hubspot_owner_id"] = ae_owner_id
    if revisit_at is not None:
        properties["handoff_revisit_at"] = to_utc_iso(revisit_at)
    return properties


def disqualify_writeback(reason: str) -> dict[str, str]:
    return {"hs_lead_status": LEAD_STATUS_FOR["disqualified"], "handoff_decision": "disqualified",
            "handoff_dq_reason": reason}


def recycle_writeback(reason: str) -> dict[str, str]:
    """The cadence ran out: attempted, no connect; the reason goes where disqualification reasons go."""
    return {"hs_lead_status": LEAD_STATUS_FOR["no_response"], "handoff_decision": "no_response",
            "handoff_dq_reason": reason}
