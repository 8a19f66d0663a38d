"""PURE: the activity trail HubSpot keeps on the contact record and the events its web-analytics API lists,
as Activity values (newest first)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Collection, Iterable, Mapping, Sequence

from bot.models import Activity, Contact, parse_hubspot_time, parse_range
from integrations.hubspot.activity import AnalyticsEvent

RECENT_CONVERSION = ("recent_conversion_date", "recent_conversion_event_name")
FIRST_CONVERSION = ("first_conversion_date", "first_conversion_event_name")
# (kind, date property). These dates come without a trustworthy name: hs_email_last_email_name
# is the last email SENT, not the one opened, so email activities carry no label.
_DATED = (
    ("email_open", "hs_email_last_open_date"),
    ("email_click", "hs_email_last_click_date"),
    ("meeting_booked", "engagements_last_meeting_booked"),
)
PAGE_VIEWS = "hs_analytics_num_page_views"
# The last session's time, else "last seen": older portals fill only one of them.
LAST_VISIT = ("hs_analytics_last_visit_timestamp", "hs_analytics_last_timestamp")
ANALYTICS = "analytics"   # Activity.source of what the web-analytics events API listed
TRAIL_PROPERTIES = tuple(sorted({when for _, when in _DATED} | set(RECENT_CONVERSION) | set(FIRST_CONVERSION)
                                | {PAGE_VIEWS, *LAST_VISIT}))


def activities_from_contact(contact: Contact, kinds: Collection[str] | None = None) -> list[Activity]:
    """What the contact did, derived from its HubSpot properties; unreadable values give nothing, never raise.
    `kinds`: only the activities of these kinds (None: of every kind)."""
    found: list[Activity | None] = []
    if kinds is None or "form_submission" in kinds:
        recent = _dated(contact, "form_submission", *RECENT_CONVERSION)
        found += [recent, _first_conversion(contact, recent)]
    if kinds is None or "page_view" in kinds:
        found.append(_page_views(contact))
    found += [_dated(contact, kind, when) for kind, when in _DATED if kinds is None or kind in kinds]
    return sorted(filter(None, found), key=lambda activity: activity.occurred_at, reverse=True)


def hubspot_time(value: str | None) -> datetime | None:
    """A HubSpot date, or None when it is missing or unreadable."""
    if value is None:
        return None
    try:
        return parse_hubspot_time(value)
    except (ValueError, OverflowError, OSError):   # an epoch far outside what datetime holds
        return None


def _time(contact: Contact, name: str) -> datetime | None:
    return hubspot_time(contact.get(name))


def _dated(contact: Contact, kind: str, when: str, label: str | None = None) -> Activity | None:
    moment = _time(contact, when)
    return Activity(kind, moment, label=(contact.get(label) if label else None) or "") if moment else None


def _first_conversion(contact: Contact, recent: Activity | None) -> Activity | None:
    """The first conversion, unless it is the recent one (one conversion: listed once)."""
    if recent is not None and all(contact.get(first) == contact.get(last)
                                  for first, last in zip(FIRST_CONVERSION, RECENT_CONVERSION)):
        return None     # the same date and name: the same Activity, so no need to parse it again
    first = _dated(contact, "form_submission", *FIRST_CONVERSION)
    return None if first == recent else first


def _page_views(contact: Contact) -> Activity | None:
    """HubSpot only counts page views: one aggregate Activity, dated by the last session."""
    views = parse_range(contact.get(PAGE_VIEWS))
    if views is None or views[0] < 1 or views[0] != views[1]:
        return None
    moment = next(filter(None, (_time(contact, name) for name in LAST_VISIT)), None)
    return Activity("page_view", moment, count=int(views[0])) if moment is not None else None


def activities_from_events(events: Iterable[AnalyticsEvent],
                           event_types: Mapping[str, str]) -> list[tuple[str, Activity]]:
    """HubSpot web-analytics events as (dedupe key, Activity): page views carry their URL (so `url:` globs
    fire), other mapped event types their type name; types scoring.yaml does not map are left out. HubSpot's
    event id is unique per occurrence, so a refetch stores nothing twice."""
    return [(f"{ANALYTICS}:{event.id}"[:200],
             Activity(kind=event_types[event.event_type], occurred_at=event.occurred_at.astimezone(timezone.utc),
                      label=_event_label(event, event_types[event.event_type])[:2000], source=ANALYTICS))
            for event in events if event.event_type in event_types]


def _event_label(event: AnalyticsEvent, kind: str) -> str:
    if kind == "page_view":
        return event.properties.get("hs_url", "")
    return event.properties.get("hs_url") or event.event_type


def merged_trail(contact: Contact, kept: Sequence[Activity]) -> list[Activity]:
    """The contact record's trail plus what Handoff keeps, newest first. HubSpot's page-view count already
    includes the views the events API listed one by one, so the count keeps only the views without a URL."""
    listed = sum(activity.count for activity in kept if activity.source == ANALYTICS and activity.kind == "page_view")
    trail = [_fewer_views(activity, listed) for activity in activities_from_contact(contact)]
    return sorted(filter(None, [*trail, *kept]), key=lambda activity: activity.occurred_at, reverse=True)


def _fewer_views(activity: Activity, listed: int) -> Activity | None:
    if not listed or activity.kind != "page_view" or activity.source != "hubspot":
        return activity
    left = activity.count - listed
    return replace(activity, count=left) if left > 0 else None
