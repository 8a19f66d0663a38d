"""Touches: contact attempts on an open lead. One function records them whatever their source — the card's
Log touch, or the rep's calls, emails and meetings in HubSpot — so the cadence and the first-touch deadline
see them alike.

HubSpot touches come two ways. Preferred: the engagements themselves (associations v4 + batch reads), each
counted once by its id, only when made by the lead's owner after it became an MQL. Fallback, when the app
may not read them (scope missing): the moves of the contact's sales-activity properties. A touch counted
from the properties records the last-activity time it covered (`counted_until`); engagements up to that time
are then left alone, so switching between the two never counts one call twice.

A touch is dated when it happened (the engagement's hs_timestamp, the property's last-activity time), not
when Handoff noticed it: speed to lead is the rep's, not the webhook's.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import Connection, select
from sqlalchemy.engine import Row

from bot.activities import hubspot_time
from bot.store import deadlines, journey, leads
from bot.store.schema import lead_events
from integrations.errors import IntegrationError
from integrations.hubspot.activity import Engagement

log = logging.getLogger("handoff.touches")
# What HubSpot moves on the contact when a rep calls, emails or meets it (webhook subscriptions: bot.sla).
SALES_ACTIVITY_PROPERTIES = ("num_contacted_notes", "notes_last_contacted", "hs_last_sales_activity_timestamp")
MAX_AT_ONCE = 20     # a count jumping further (an import of old calls) is not 20 new attempts today
WORDS = {"calls": "call", "emails": "email", "meetings": "meeting"}
# Contact attempts only: a prospect's call or reply is not the rep reaching out; a cancelled meeting never was.
NOT_ATTEMPTS = {"hs_call_direction": {"INBOUND"}, "hs_email_direction": {"INCOMING_EMAIL", "FORWARDED_EMAIL"},
                "hs_meeting_outcome": {"CANCELED", "CANCELLED"}}
# Extra engagement reads one batch may spend finding the contacts HubSpot refuses (halving 100 contacts down
# to one odd contact takes about 14); past that the refusal is the portal's, not one contact's.
ISOLATION_READS = 16


@dataclass(frozen=True)
class Touch:
    kind: str                  # call, email, meeting, linkedin, other, hubspot (a property count moved)
    detail: dict[str, Any]     # what the journey keeps: the engagement id, when it happened, …
    occurred_at: datetime | None = None   # when the rep did it, if HubSpot says; None: as it is recorded


def record_touch(conn: Connection, lead: Row, now: datetime, actor: str | None, touch: Touch) -> int | None:
    """Count one contact attempt on the lead: the cadence count, the journey's step (dated when it happened),
    and the first-touch deadline is met. The new count, or None when the lead is no longer open."""
    count = leads.add_touch(conn, lead.id, now)
    if count is None:
        return None
    journey.record(conn, lead.id, lead.contact_id, "touch", touch_time(touch.occurred_at, lead.became_mql_at, now),
                   actor, touch=touch.kind, number=count, **touch.detail)
    deadlines.cancel_for_lead(conn, lead.id, now, kinds=("first_touch",))
    return count


def touch_time(occurred_at: datetime | None, became_mql_at: datetime, now: datetime) -> datetime:
    """PURE: the moment a touch counts from: when it happened, but never before the lead was an MQL (a count
    covering older calls) nor after Handoff saw it (a clock ahead of ours)."""
    if occurred_at is None:
        return now
    return min(max(occurred_at, became_mql_at), now)


def record_touches(conn: Connection, lead: Row, now: datetime, touches: Sequence[Touch]) -> int:
    """Several attempts found at once in HubSpot, credited to the lead's assignee; how many were counted."""
    counted = 0
    for touch in touches[:MAX_AT_ONCE]:
        if record_touch(conn, lead, now, lead.assignee, touch) is None:
            break
        counted += 1
    return counted


# --- from HubSpot's engagements -----------------------------------------------------------------

def engagement_touches(engagements: Iterable[Engagement], owners: set[str], since: datetime,
                       counted: set[str]) -> list[Touch]:
    """PURE: the engagements that are new contact attempts: by one of `owners`, after `since`, not counted
    before, oldest first."""
    found = []
    for engagement in engagements:
        props = engagement.properties
        at = hubspot_time(props.get("hs_timestamp"))
        if (engagement.id in counted or at is None or at <= since or props.get("hubspot_owner_id") not in owners
                or any(props.get(name, "").upper() in values for name, values in NOT_ATTEMPTS.items())):
            continue
        found.append((at, Touch(WORDS.get(engagement.kind, engagement.kind),
                                {"engagement": engagement.id, "occurred_at": at.isoformat()}, at)))
    return [touch for _, touch in sorted(found, key=lambda pair: pair[0])]


def counted_so_far(conn: Connection, lead_id: int) -> tuple[set[str], datetime | None]:
    """The engagement ids already counted on the lead, and the latest time a property count covered."""
    rows = conn.execute(select(lead_events.c.detail).where(lead_events.c.lead_id == lead_id,
                                                          lead_events.c.kind == "touch"))
    ids, covered = set(), []
    for row in rows:
        detail = journey.detail_of(row)
        if detail.get("engagement"):
            ids.add(str(detail["engagement"]))
        if moment := hubspot_time(detail.get("counted_until")):
            covered.append(moment)
    return ids, max(covered, default=None)


def read_engagements(read: Callable[[list[str]], dict[str, list[Engagement]]], contact_ids: Sequence[str],
                     spare_reads: int = ISOLATION_READS) -> dict[str, list[Engagement] | None]:
    """The contacts' engagements through `read` (HubSpotCrm.read_engagements). A contact HubSpot persistently
    refuses (refuses_contacts) is None, its touches then come from the properties; it is found by halving the
    batch, so one odd contact never costs the others theirs. Anything else (403, 429, 5xx) raises, as does the
    refusal when isolating it would take more than `spare_reads` further reads (the portal refuses them all)."""
    budget = [spare_reads]
    return _read_isolating(read, list(contact_ids), budget)


def refuses_contacts(error: IntegrationError) -> bool:
    """A client error that asking again will not mend (400, 404, …), other than a missing scope (403)."""
    return error.permanent and error.status is not None and 400 <= error.status < 500 and error.status != 403


def _read_isolating(read: Callable[[list[str]], dict[str, list[Engagement]]], ids: list[str],
                    budget: list[int]) -> dict[str, list[Engagement] | None]:
    try:
        return dict(read(ids))
    except IntegrationError as error:
        if not refuses_contacts(error):
            raise
        if len(ids) == 1:
            log.warning("contact=%s calls, emails and meetings not readable (HTTP %s): its touches come from the "
                        "sales-activity properties", ids[0], error.status)
            return {ids[0]: None}
        if budget[0] < 2:
            raise
        budget[0] -= 2
        half = len(ids) // 2
        return _read_isolating(read, ids[:half], budget) | _read_isolating(read, ids[half:], budget)


# --- from the sales-activity properties (the fallback) -------------------------------------------

def property_touches(before: dict[str, Any], after: dict[str, Any]) -> list[Touch]:
    """PURE: attempts HubSpot counted between two sales snapshots (cards.sales_snapshot) of the contact."""
    new = max(0, _number(after["sales_touches"]) - _number(before["sales_touches"]))
    if not new and after["last_sales_activity"] and after["last_sales_activity"] != before["last_sales_activity"]:
        new = 1   # a portal that keeps no count still moves the last-activity date
    covered = after["last_sales_activity"]
    return [Touch("hubspot", {"counted_until": covered}, hubspot_time(covered))] * min(new, MAX_AT_ONCE)


def sales_activity_moved(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """PURE: did the rep's work on the contact change since the card last looked?"""
    return any(after[key] != before[key] for key in ("sales_touches", "last_sales_activity"))


def _number(value: Any) -> int:
    try:
        return int(float(value or 0))
    except (TypeError, ValueError):
        return 0
