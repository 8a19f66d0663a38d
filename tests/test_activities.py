"""bot.activities: the trail HubSpot keeps on the contact record, newest first, never raising."""
from datetime import datetime, timezone

import pytest

from bot.activities import activities_from_contact
from bot.models import Activity, Contact

T1 = "2025-03-04T14:58:00Z"
T2 = "2025-03-01T09:00:00.000Z"
T2_MS = str(int(datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc).timestamp() * 1000))
T3 = "2025-01-15T12:00:00Z"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


CASES = [
    # (properties, activities)
    ({}, []),
    ({"recent_conversion_event_name": "Demo request", "recent_conversion_date": T1},
     [Activity("form_submission", at(T1), "Demo request")]),
    ({"recent_conversion_date": T2_MS}, [Activity("form_submission", at(T2), "")]),
    ({"recent_conversion_event_name": "Demo request"}, []),
    ({"recent_conversion_event_name": "Demo request", "recent_conversion_date": "yesterday"}, []),
    ({"recent_conversion_event_name": "Demo request", "recent_conversion_date": T1,
      "first_conversion_event_name": "Demo request", "first_conversion_date": T1},
     [Activity("form_submission", at(T1), "Demo request")]),
    ({"recent_conversion_event_name": "Demo request", "recent_conversion_date": T1,
      "first_conversion_event_name": "Ultimate guide", "first_conversion_date": T3},
     [Activity("form_submission", at(T1), "Demo request"), Activity("form_submission", at(T3), "Ultimate guide")]),
    ({"first_conversion_event_name": "Ultimate guide", "first_conversion_date": T3},
     [Activity("form_submission", at(T3), "Ultimate guide")]),
    ({"hs_analytics_num_page_views": "14", "hs_analytics_last_visit_timestamp": T1},
     [Activity("page_view", at(T1), count=14)]),
    ({"hs_analytics_num_page_views": "14", "hs_analytics_last_timestamp": T2},
     [Activity("page_view", at(T2), count=14)]),
    ({"hs_analytics_num_page_views": "14", "hs_analytics_last_visit_timestamp": T1,
      "hs_analytics_last_timestamp": T2}, [Activity("page_view", at(T1), count=14)]),
    ({"hs_analytics_num_page_views": "14.0", "hs_analytics_last_visit_timestamp": "bad",
      "hs_analytics_last_timestamp": T2}, [Activity("page_view", at(T2), count=14)]),
    ({"hs_analytics_num_page_views": "0", "hs_analytics_last_visit_timestamp": T1}, []),
    ({"hs_analytics_num_page_views": "many", "hs_analytics_last_visit_timestamp": T1}, []),
    ({"hs_analytics_num_page_views": "14"}, []),
    ({"hs_email_last_open_date": T2}, [Activity("email_open", at(T2))]),
    ({"hs_email_last_click_date": T2}, [Activity("email_click", at(T2))]),
    ({"engagements_last_meeting_booked": T3}, [Activity("meeting_booked", at(T3))]),
    ({"engagements_last_meeting_booked": "99999999999999999999"}, []),
    ({"hs_email_last_open_date": ""}, []),
]


@pytest.mark.parametrize("properties, expected", CASES)
def test_activities_from_contact(properties, expected):
    assert activities_from_contact(Contact("501", properties)) == expected


def test_the_whole_trail_is_newest_first():
    trail = activities_from_contact(Contact("501", {
        "first_conversion_event_name": "Ultimate guide", "first_conversion_date": T3,
        "hs_email_last_open_date": T2, "recent_conversion_event_name": "Demo request", "recent_conversion_date": T1,
        "hs_analytics_num_page_views": "3", "hs_analytics_last_visit_timestamp": T2_MS,
        "engagements_last_meeting_booked": "2025-02-20T10:00:00Z", "hs_email_last_click_date": T3}))
    assert [a.kind for a in trail][:1] == ["form_submission"]
    assert [a.occurred_at for a in trail] == sorted((a.occurred_at for a in trail), reverse=True)
    assert len(trail) == 6 and all(a.source == "hubspot" for a in trail)


@pytest.mark.parametrize("kinds", [(), ("form_submission",), ("page_view", "email_click"),
                                   ("email_open", "meeting_booked", "chat")])
def test_asked_for_some_kinds_the_trail_gives_just_those(kinds):
    contact = Contact("501", {
        "first_conversion_event_name": "Ultimate guide", "first_conversion_date": T3,
        "hs_email_last_open_date": T2, "recent_conversion_event_name": "Demo request", "recent_conversion_date": T1,
        "hs_analytics_num_page_views": "3", "hs_analytics_last_visit_timestamp": T2_MS,
        "engagements_last_meeting_booked": "2025-02-20T10:00:00Z", "hs_email_last_click_date": T3})
    some = activities_from_contact(contact, kinds)
    assert some == [activity for activity in activities_from_contact(contact) if activity.kind in kinds]
    assert {activity.kind for activity in some} == set(kinds) - {"chat"}


# --- web-analytics events, and the trail merged with what Handoff keeps --------------------------

from bot.activities import ANALYTICS, activities_from_events, merged_trail  # noqa: E402
from integrations.hubspot.activity import AnalyticsEvent  # noqa: E402

EVENT_TYPES = {"e_visited_page": "page_view", "pe62515_demo_video_played": "chat"}


@pytest.mark.parametrize("event, expected", [
    (AnalyticsEvent("a1", "e_visited_page", at(T1), {"hs_url": "https://acme.example/pricing", "hs_title": "P"}),
     [("analytics:a1", Activity("page_view", at(T1), "https://acme.example/pricing", source=ANALYTICS))]),
    (AnalyticsEvent("a2", "e_visited_page", at(T1), {}),
     [("analytics:a2", Activity("page_view", at(T1), "", source=ANALYTICS))]),
    (AnalyticsEvent("a3", "pe62515_demo_video_played", at(T2), {"hs_title": "Demo"}),
     [("analytics:a3", Activity("chat", at(T2), "pe62515_demo_video_played", source=ANALYTICS))]),
    (AnalyticsEvent("a4", "e_opened_email", at(T2), {}), []),        # a type scoring.yaml does not map
])
def test_events_become_keyed_activities(event, expected):
    assert activities_from_events([event], EVENT_TYPES) == expected


def test_event_times_are_utc_whatever_zone_the_client_parsed_them_in():
    from datetime import timedelta
    local = at(T1).astimezone(timezone(timedelta(hours=-5)))
    [(_, activity)] = activities_from_events([AnalyticsEvent("a", "e_visited_page", local, {})], EVENT_TYPES)
    assert activity.occurred_at.tzinfo == timezone.utc and activity.occurred_at == at(T1)


def view(label: str, when: str = T2, source: str = ANALYTICS) -> Activity:
    return Activity("page_view", at(when), label, source=source)


@pytest.mark.parametrize("kept, aggregate_count", [
    ([], 14),                                                          # nothing listed: HubSpot's count as it is
    ([view("/pricing"), view("/pricing")], 12),                        # listed views leave the count
    ([view("/pricing", source="workflow")], 14),                       # a workflow's view is not HubSpot's tracking
    ([view(f"/p{n}") for n in range(14)], None),                       # every view listed: no aggregate left
])
def test_the_page_view_count_keeps_only_views_without_a_url(kept, aggregate_count):
    contact = Contact("1", {"hs_analytics_num_page_views": "14", "hs_analytics_last_visit_timestamp": T1})
    trail = merged_trail(contact, kept)
    aggregate = [a for a in trail if a.source == "hubspot" and a.kind == "page_view"]
    assert [a.count for a in aggregate] == ([aggregate_count] if aggregate_count else [])
    assert len(trail) == len(aggregate) + len(kept)
    assert [a.occurred_at for a in trail] == sorted((a.occurred_at for a in trail), reverse=True)
