"""Parsing HubSpot webhook batches: one captured-shape fixture per handled type, the docs example, hostile bodies."""
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from integrations.hubspot.events import (
    HANDLED_TYPES, HOT_LANE, NORMAL_LANE, MalformedBatch, WebhookEvent, contact_ids_touched,
    is_handled, is_own_write, lane_for, parse_batch)

FIXTURES = Path(__file__).parent / "fixtures" / "hubspot"
BASE = {"eventId": 7, "subscriptionId": 25, "portalId": 62515, "appId": 54321,
        "occurredAt": 1742077073905, "subscriptionType": "contact.creation", "attemptNumber": 0,
        "objectId": 901}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def event_dict(**changes) -> dict:
    """BASE with changes applied; a change to None removes the key."""
    return {key: value for key, value in {**BASE, **changes}.items() if value is not None}


def parse_one(**changes) -> WebhookEvent:
    events, problems = parse_batch(json.dumps([event_dict(**changes)]).encode())
    assert problems == []
    return events[0]


@pytest.mark.parametrize("name, event_type, lane", [
    ("contact_creation.json", "contact.creation", HOT_LANE),
    ("contact_propertyChange.json", "contact.propertyChange", HOT_LANE),
    ("contact_deletion.json", "contact.deletion", NORMAL_LANE),
    ("contact_merge.json", "contact.merge", NORMAL_LANE),
    ("contact_restore.json", "contact.restore", NORMAL_LANE),
    ("contact_privacyDeletion.json", "contact.privacyDeletion", NORMAL_LANE),
])
def test_every_handled_fixture_parses(name, event_type, lane):
    events, problems = parse_batch(fixture(name))
    raw = json.loads(fixture(name))[0]
    assert problems == []
    [event] = events
    assert event.event_type == event_type
    assert is_handled(event)
    assert lane_for(event) == lane
    assert event.portal_id == "62515"
    assert event.object_id == "106314056576"
    assert event.dedupe_key == f"hubspot:62515:{raw['subscriptionId']}:{raw['eventId']}"
    assert event.raw == raw
    assert event.occurred_at == datetime.fromtimestamp(raw["occurredAt"] / 1000, tz=timezone.utc)


def test_fixtures_cover_every_handled_type():
    covered = {json.loads(path.read_bytes())[0]["subscriptionType"] for path in FIXTURES.glob("contact_*.json")}
    assert covered == HANDLED_TYPES


def test_property_change_fixture_keeps_property_and_source():
    [event], _ = parse_batch(fixture("contact_propertyChange.json"))
    assert (event.property_name, event.property_value) == ("recent_conversion_event_name", "Request a demo")
    assert (event.change_source, event.app_id) == ("FORM", "9393361")
    assert event.source_id == "8a1c0e9e-4f0b-4d4e-9b6a-2f6f3c1d7e55"
    assert not is_own_write(event)


def test_merge_fixture_names_survivor_and_absorbed_ids():
    [event], _ = parse_batch(fixture("contact_merge.json"))
    assert event.primary_object_id == "106314056576"
    assert event.merged_object_ids == ("106314056599",)
    assert event.new_object_id == "106314056576"
    assert contact_ids_touched(event) == ["106314056576", "106314056599"]


def test_docs_example_with_event_type_key_parses():
    events, problems = parse_batch(fixture("docs_example_eventType.json"))
    assert problems == []
    assert [e.event_type for e in events] == ["contact.propertyChange", "contact.creation"]
    assert [e.dedupe_key for e in events] == ["hubspot:33:25:3816279340", "hubspot:33:22:3816279480"]
    assert events[0].occurred_at == datetime(2016, 5, 2, 19, 11, 47, 945000, tzinfo=timezone.utc)
    assert events[0].property_value == "subscriber"


def test_retries_of_one_event_share_the_dedupe_key():
    first, retry = parse_one(attemptNumber=0), parse_one(attemptNumber=4)
    assert first.dedupe_key == retry.dedupe_key
    assert retry.attempt_number == 4


@pytest.mark.parametrize("changes, expected", [
    ({"eventId": "7"}, "hubspot:62515:25:7"),
    ({"portalId": "62515"}, "hubspot:62515:25:7"),
    ({"subscriptionId": None}, "hubspot:62515::7"),
    ({"subscriptionId": 99}, "hubspot:62515:99:7"),
])
def test_dedupe_key(changes, expected):
    assert parse_one(**changes).dedupe_key == expected


@pytest.mark.parametrize("body, reason", [
    (b"", "not JSON"),
    (b"not json", "not JSON"),
    (b"\xff\xfe\x00", "not JSON"),
    (b'[{"eventId": 1}', "not JSON"),
    (b'{"eventId": 1}', "a JSON object, not an array"),
    (b'"events"', "a JSON string, not an array"),
    (b"null", "a JSON null, not an array"),
    (b"[1, 2, 3]", "item 0 is a JSON number"),
    (b'[{"eventId": 1}, [], {}]', "item 1 is a JSON array"),
    (b'[{"eventId": 1}, null]', "item 1 is a JSON null"),
    (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    (b'[{"eventId": ' + b"9" * 5000 + b"}]", "not JSON"),
])
def test_hostile_bodies_raise_malformed_batch(body, reason):
    with pytest.raises(MalformedBatch, match=reason):
        parse_batch(body)


def test_empty_array_is_an_empty_batch():
    assert parse_batch(b"[]") == ([], [])


def test_deeply_nested_value_inside_an_event_does_not_break_the_batch():
    item = {**BASE, "extra": json.loads("[" * 500 + "]" * 500)}
    events, problems = parse_batch(json.dumps([item]).encode())
    assert (len(events), problems) == (1, [])


@pytest.mark.parametrize("changes, problem", [
    ({"eventId": None}, "missing eventId"),
    ({"portalId": None}, "missing portalId"),
    ({"occurredAt": None}, "missing occurredAt"),
    ({"subscriptionType": None}, "missing subscriptionType"),
    ({"eventId": 1.5}, "eventId is not an id"),
    ({"eventId": True}, "eventId is not an id"),
    ({"eventId": -3}, "eventId is not an id"),
    ({"eventId": "7:8"}, "eventId is not an id"),
    ({"portalId": {"id": 1}}, "portalId is not an id"),
    ({"subscriptionId": "abc"}, "subscriptionId is not an id"),
    ({"objectId": [901]}, "objectId is not an id"),
    ({"occurredAt": "1742077073905"}, "occurredAt is not epoch milliseconds"),
    ({"occurredAt": 1.7e12}, "occurredAt is not epoch milliseconds"),
    ({"occurredAt": -1}, "occurredAt is out of range"),
    ({"occurredAt": 10 ** 30}, "occurredAt is out of range"),
    ({"subscriptionType": 3}, "subscriptionType is not a non-empty string"),
    ({"subscriptionType": ""}, "subscriptionType is not a non-empty string"),
    ({"propertyName": ["a"]}, "propertyName is not a string"),
    ({"propertyValue": {"v": 1}}, "propertyValue is not a string"),
    ({"mergedObjectIds": "12"}, "mergedObjectIds is not a list of ids"),
    ({"mergedObjectIds": [12, "x"]}, "mergedObjectIds is not a list of ids"),
    ({"attemptNumber": "0"}, "attemptNumber is not a count"),
    ({"attemptNumber": -1}, "attemptNumber is not a count"),
])
def test_bad_events_are_skipped_and_described(changes, problem):
    good = event_dict(eventId=1)
    events, problems = parse_batch(json.dumps([good, event_dict(**changes), good]).encode())
    assert len(events) == 2
    assert problems == [f"event 1: {problem}"]


def test_subscription_type_wins_over_the_docs_event_type_key():
    assert parse_one(subscriptionType="contact.deletion", eventType="contact.creation").event_type == \
        "contact.deletion"


def test_numeric_property_value_is_kept_as_text():
    event = parse_one(subscriptionType="contact.propertyChange", propertyName="num_conversion_events",
                      propertyValue=3)
    assert event.property_value == "3"


def test_occurred_at_keeps_milliseconds_in_utc():
    assert parse_one(occurredAt=1_000_001).occurred_at == datetime(1970, 1, 1, 0, 16, 40, 1000,
                                                                   tzinfo=timezone.utc)


def test_events_are_hashable_whatever_raw_holds():
    event = parse_one(extra={"nested": [1, 2]})
    assert len({event, parse_one(extra={"nested": [1, 2]})}) == 1


@pytest.mark.parametrize("changes, handled", [
    ({"subscriptionType": "contact.associationChange"}, False),
    ({"subscriptionType": "company.creation"}, False),
    ({"subscriptionType": "object.creation", "objectTypeId": "0-1"}, False),
    ({"subscriptionType": "contact.merge"}, True),
])
def test_is_handled(changes, handled):
    assert is_handled(parse_one(**changes)) is handled


@pytest.mark.parametrize("changes, lane", [
    ({"subscriptionType": "contact.creation"}, HOT_LANE),
    ({"subscriptionType": "contact.propertyChange", "propertyName": "recent_conversion_date"}, HOT_LANE),
    ({"subscriptionType": "contact.propertyChange", "propertyName": "engagements_last_meeting_booked"},
     HOT_LANE),
    ({"subscriptionType": "contact.propertyChange", "propertyName": "jobtitle"}, NORMAL_LANE),
    ({"subscriptionType": "contact.propertyChange"}, NORMAL_LANE),
    ({"subscriptionType": "contact.deletion"}, NORMAL_LANE),
    ({"subscriptionType": "company.propertyChange", "propertyName": "recent_conversion_date"}, NORMAL_LANE),
])
def test_lane_for(changes, lane):
    assert lane_for(parse_one(**changes)) == lane


@pytest.mark.parametrize("changes, own", [
    ({"propertyName": "handoff_score", "sourceId": "userId:1"}, True),
    ({"propertyName": "lifecyclestage", "sourceId": "54321", "changeSource": "INTEGRATION"}, True),
    ({"propertyName": "lifecyclestage", "sourceId": "userId:47812075"}, False),
    ({"propertyName": "lifecyclestage"}, False),
    ({"propertyName": "lifecyclestage", "sourceId": "54321", "appId": None}, False),
    ({"propertyName": "handoffscore"}, False),
    ({"subscriptionType": "contact.creation", "sourceId": "54321"}, False),
])
def test_is_own_write(changes, own):
    assert is_own_write(parse_one(**{"subscriptionType": "contact.propertyChange", **changes})) is own


@pytest.mark.parametrize("changes, ids", [
    ({}, ["901"]),
    ({"objectId": None}, []),
    ({"subscriptionType": "contact.merge", "objectId": 1, "primaryObjectId": 1, "mergedObjectIds": [2, 3]},
     ["1", "2", "3"]),
    ({"subscriptionType": "contact.merge", "objectId": 1, "primaryObjectId": 1, "mergedObjectIds": [2],
      "newObjectId": 9}, ["9", "1", "2"]),
    ({"subscriptionType": "contact.merge", "primaryObjectId": 1, "mergedObjectIds": [1, 2]}, ["1", "901", "2"]),
])
def test_contact_ids_touched(changes, ids):
    assert contact_ids_touched(parse_one(**changes)) == ids
