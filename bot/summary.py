"""PURE: the summary properties Handoff keeps on each HubSpot contact, so HubSpot's own reports can show time
to accept, first touch, touches and the decision's date next to `handoff_decision` and `handoff_dq_reason`.

Minutes are wall-clock minutes from the moment the contact became an MQL (speed to lead as the prospect lives
it; the SLA's business-time view is in Handoff's own report). A step not reached yet is left out, so a write
never blanks what an earlier one recorded.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.models import to_utc_iso


def summary_fields(lead: Any, first_touch_at: datetime | None) -> dict[str, str]:
    """The summary properties for a lead row (accepted_at, touches, decided_at, became_mql_at) and its first
    touch's time, as HubSpot property values."""
    fields = {"handoff_touches": str(lead.touches or 0)}
    if lead.accepted_at is not None:
        fields["handoff_minutes_to_accept"] = _minutes_between(lead.became_mql_at, lead.accepted_at)
    if first_touch_at is not None:
        fields["handoff_first_touch_at"] = to_utc_iso(first_touch_at)
        fields["handoff_minutes_to_first_touch"] = _minutes_between(lead.became_mql_at, first_touch_at)
    if lead.decided_at is not None:
        fields["handoff_decided_at"] = to_utc_iso(lead.decided_at)
    return fields


def _minutes_between(start: datetime, end: datetime) -> str:
    """Minutes to one decimal (HubSpot number properties take a plain decimal string), never negative."""
    minutes = max(0.0, (end - start).total_seconds() / 60)
    return f"{minutes:.1f}".removesuffix(".0")
