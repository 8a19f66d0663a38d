"""bot.touches: which HubSpot engagements and property moves are contact attempts (pure parts)."""
from datetime import datetime, timezone

import pytest

from bot.touches import engagement_touches, property_touches, sales_activity_moved, touch_time
from integrations.hubspot.activity import Engagement

MQL = datetime(2026, 11, 18, 15, 0, tzinfo=timezone.utc)
OWNERS = {"201"}


def e(kind: str, minute: int, owner: str = "201", engagement_id: str = "1", **props) -> Engagement:
    return Engagement(engagement_id, kind, {"hs_timestamp": f"2026-11-18T15:{minute:02d}:00Z",
                                            "hubspot_owner_id": owner, **props})


@pytest.mark.parametrize("engagement, counts", [
    (e("calls", 5, hs_call_direction="OUTBOUND"), True),
    (e("calls", 5), True),                                              # direction not logged: the rep's call
    (e("calls", 5, hs_call_direction="INBOUND"), False),
    (e("emails", 5, hs_email_direction="EMAIL"), True),
    (e("emails", 5, hs_email_direction="INCOMING_EMAIL"), False),
    (e("emails", 5, hs_email_direction="FORWARDED_EMAIL"), False),
    (e("meetings", 5, hs_meeting_outcome="COMPLETED"), True),
    (e("meetings", 5, hs_meeting_outcome="NO_SHOW"), True),             # the rep turned up: an attempt
    (e("meetings", 5, hs_meeting_outcome="CANCELED"), False),
    (e("calls", 5, owner="202"), False),                                # someone else's call
    (e("calls", 0), False),                                             # at the MQL moment: not after it
    (Engagement("1", "calls", {"hubspot_owner_id": "201"}), False),     # no time: cannot be placed
])
def test_which_engagements_are_touches(engagement, counts):
    found = engagement_touches([engagement], OWNERS, MQL, counted=set())
    assert bool(found) == counts


def test_engagement_touches_are_oldest_first_and_skip_those_counted():
    found = engagement_touches([e("emails", 9, engagement_id="b"), e("calls", 3, engagement_id="a"),
                                e("calls", 5, engagement_id="c")], OWNERS, MQL, counted={"c"})
    assert [(t.kind, t.detail["engagement"]) for t in found] == [("call", "a"), ("email", "b")]
    assert found[0].detail["occurred_at"] == "2026-11-18T15:03:00+00:00"


def snapshot(touches, last):
    return {"sales_touches": touches, "last_sales_activity": last, "connected": False}


@pytest.mark.parametrize("before, after, expected", [
    (snapshot(None, None), snapshot("2", "2026-11-18T15:10:00Z"), 2),
    (snapshot("2", "2026-11-18T15:10:00Z"), snapshot("2", "2026-11-18T15:10:00Z"), 0),
    (snapshot(None, "2026-11-18T15:10:00Z"), snapshot(None, "2026-11-18T16:10:00Z"), 1),   # no count kept
    (snapshot("3", "x"), snapshot("1", "y"), 1),                        # a count going down: the date moved
    (snapshot("0", None), snapshot("500", "2026-11-18T15:10:00Z"), 20),   # an import: at most 20 at once
    (snapshot("0", None), snapshot("not a number", None), 0),
])
def test_property_touches_count_what_moved(before, after, expected):
    found = property_touches(before, after)
    assert len(found) == expected
    assert all(t.detail == {"counted_until": after["last_sales_activity"]} for t in found)
    assert sales_activity_moved(before, after) == (before != after)


@pytest.mark.parametrize("occurred, expected", [
    (datetime(2026, 11, 18, 15, 6, tzinfo=timezone.utc), datetime(2026, 11, 18, 15, 6, tzinfo=timezone.utc)),
    (datetime(2026, 11, 18, 14, 0, tzinfo=timezone.utc), MQL),          # a count covering calls before the MQL
    (datetime(2026, 11, 18, 15, 30, tzinfo=timezone.utc), datetime(2026, 11, 18, 15, 10, tzinfo=timezone.utc)),
    (None, datetime(2026, 11, 18, 15, 10, tzinfo=timezone.utc)),        # no time given: when it was recorded
])
def test_a_touch_counts_from_when_it_happened_between_the_mql_and_its_detection(occurred, expected):
    detected = datetime(2026, 11, 18, 15, 10, tzinfo=timezone.utc)
    assert touch_time(occurred, MQL, detected) == expected


def test_hubspot_touches_carry_their_own_time():
    [call] = engagement_touches([e("calls", 4)], OWNERS, MQL, counted=set())
    assert call.occurred_at == datetime(2026, 11, 18, 15, 4, tzinfo=timezone.utc)
    [counted] = property_touches(snapshot("0", None), snapshot("1", "2026-11-18T15:07:00Z"))
    assert counted.occurred_at == datetime(2026, 11, 18, 15, 7, tzinfo=timezone.utc)
