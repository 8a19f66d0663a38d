"""Handoff's own contact properties in HubSpot: the group and every `handoff_*` definition."""
from __future__ import annotations

from dataclasses import dataclass

GROUP_NAME = "handoff"
GROUP_LABEL = "Handoff"
OBJECT_TYPE = "contacts"


@dataclass(frozen=True)
class PropertySpec:
    """One custom contact property as the properties API creates it (type/field_type are HubSpot's names)."""
    name: str
    label: str
    type: str
    field_type: str
    description: str
    options: tuple[tuple[str, str], ...] = ()   # (label, value) pairs, for bool and enumeration types


HANDOFF_PROPERTIES: list[PropertySpec] = [
    PropertySpec("handoff_score", "Handoff score", "number", "number",
                 "Total lead score (fit + engagement) Handoff computed last."),
    PropertySpec("handoff_fit_score", "Handoff fit score", "number", "number",
                 "The part of the score that comes from who the contact is."),
    PropertySpec("handoff_engagement_score", "Handoff engagement score", "number", "number",
                 "The part of the score that comes from what the contact did, after decay."),
    PropertySpec("handoff_mql_reason", "Handoff MQL reason", "string", "textarea",
                 "Why the contact became a Marketing Qualified Lead, in words a rep can use."),
    PropertySpec("handoff_mql_at", "Handoff MQL date", "datetime", "date",
                 "When Handoff last qualified the contact as an MQL."),
    PropertySpec("handoff_high_intent", "Handoff high intent", "bool", "booleancheckbox",
                 "A fast-lane rule fired (for example a demo request).",
                 options=(("Yes", "true"), ("No", "false"))),
    PropertySpec("handoff_assigned_owner_id", "Handoff assigned owner", "string", "text",
                 "HubSpot owner id of the rep Handoff routed the lead to."),
    PropertySpec("handoff_accepted_at", "Handoff accepted date", "datetime", "date",
                 "When the rep pressed Accept in Slack."),
    PropertySpec("handoff_accepted_by", "Handoff accepted by", "string", "text",
                 "Name of the rep who accepted the lead."),
    PropertySpec("handoff_dq_reason", "Handoff disqualification reason", "string", "text",
                 "Why the lead was disqualified, re-nurtured or recycled."),
    PropertySpec("handoff_decision", "Handoff decision", "string", "text",
                 "The SDR's decision: sql, not_yet, no_response or disqualified."),
    PropertySpec("handoff_bant", "Handoff BANT summary", "string", "textarea",
                 "Budget, authority, need and timeline as the SDR recorded them."),
    PropertySpec("handoff_revisit_at", "Handoff revisit date", "datetime", "date",
                 "When a lead put back to nurture re-enters scoring."),
    PropertySpec("handoff_minutes_to_accept", "Handoff minutes to accept", "number", "number",
                 "Minutes from becoming an MQL to the rep pressing Accept (wall clock: speed to lead)."),
    PropertySpec("handoff_first_touch_at", "Handoff first touch date", "datetime", "date",
                 "When the rep first tried to reach the contact (a touch logged in Slack or in HubSpot)."),
    PropertySpec("handoff_minutes_to_first_touch", "Handoff minutes to first touch", "number", "number",
                 "Minutes from becoming an MQL to the first contact attempt (wall clock)."),
    PropertySpec("handoff_touches", "Handoff touches", "number", "number",
                 "Contact attempts on this lead so far (calls, emails, LinkedIn, meetings logged)."),
    PropertySpec("handoff_decided_at", "Handoff decision date", "datetime", "date",
                 "When the SDR decided the lead (SQL, not yet, no response or disqualified)."),
]
