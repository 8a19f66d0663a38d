"""PURE: what HubSpot's activity reads answer, as plain values — the owner's calls, emails and meetings on a
contact (associations v4 + object batch reads) and the contact's web-analytics events (events v3)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The contact's sales activities read as touches; tasks and notes are not contact attempts.
ENGAGEMENT_TYPES = ("calls", "emails", "meetings")
ENGAGEMENT_PROPERTIES = ("hs_timestamp", "hubspot_owner_id", "hs_call_direction", "hs_email_direction",
                         "hs_meeting_outcome")
EVENTS_PAGE_LIMIT = 100


@dataclass(frozen=True)
class Engagement:
    id: str
    kind: str                      # calls | emails | meetings (HubSpot's object type)
    properties: dict[str, str]


@dataclass(frozen=True)
class AnalyticsEvent:
    id: str                        # unique per occurrence: the timeline's dedupe key
    event_type: str                # e_visited_page, pe{portalId}_{name}, ae{appId}_{name}
    occurred_at: datetime
    properties: dict[str, str]     # hs_url, hs_title, hs_referrer, …


@dataclass(frozen=True)
class AnalyticsPage:
    events: list[AnalyticsEvent]
    next_after: str | None         # paging.next.after: more events wait behind this cursor


def associated_ids(answer: Any) -> dict[str, list[str]]:
    """from-id -> to-ids of an associations v4 batch answer. Contacts with none come back as errors (207)
    and simply have no entry."""
    found: dict[str, list[str]] = {}
    for result in getattr(answer, "results", None) or []:
        source = str(getattr(result._from, "id", "") or "")
        if source:
            found.setdefault(source, []).extend(str(link.to_object_id) for link in result.to or [])
    return found


def next_association_pages(answer: Any) -> list[tuple[str, str]]:
    """(from-id, after) for each result with more associations behind paging.next.after."""
    pages = []
    for result in getattr(answer, "results", None) or []:
        after = getattr(getattr(result.paging, "next", None), "after", None) if result.paging else None
        if after:
            pages.append((str(result._from.id), str(after)))
    return pages
