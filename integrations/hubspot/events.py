"""Parse a HubSpot webhook batch into WebhookEvents (pure), and decide lane and relevance per event."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

HANDLED_TYPES = {"contact.creation", "contact.propertyChange", "contact.deletion", "contact.merge",
                 "contact.restore", "contact.privacyDeletion"}

# A form submission or a booked meeting is the moment a rep can still catch the prospect.
HOT_PROPERTIES: frozenset[str] = frozenset({
    "recent_conversion_date", "recent_conversion_event_name", "num_conversion_events",
    "first_conversion_date", "first_conversion_event_name",
    "engagements_last_meeting_booked", "engagements_last_meeting_booked_campaign",
    "engagements_last_meeting_booked_medium", "engagements_last_meeting_booked_source",
})
HOT_LANE, NORMAL_LANE = 0, 1
OWN_PROPERTY_PREFIX = "handoff_"

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_MS = 253_402_300_799_999          # 9999-12-31T23:59:59.999Z: datetime's last representable ms
_ID = re.compile(r"[0-9]{1,20}", re.ASCII)


class MalformedBatch(ValueError):
    """The body is not a JSON array of objects: the whole delivery is refused (400)."""


class _Skip(Exception):
    """One event cannot be used; the message says why."""


@dataclass(frozen=True)
class WebhookEvent:
    dedupe_key: str        # "hubspot:{portalId}:{subscriptionId}:{eventId}": the same for every attemptNumber
    event_type: str
    portal_id: str
    object_id: str | None
    occurred_at: datetime
    property_name: str | None = None
    property_value: str | None = None
    change_source: str | None = None
    source_id: str | None = None
    app_id: str | None = None
    primary_object_id: str | None = None
    merged_object_ids: tuple[str, ...] = ()
    new_object_id: str | None = None
    attempt_number: int = 0
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def parse_batch(body: bytes) -> tuple[list[WebhookEvent], list[str]]:
    """The usable events of a delivery and one line per skipped event ("event 3: missing eventId").

    Raises MalformedBatch when the body is not JSON or not an array of objects; events are
    numbered from 0, as positions in the array.
    """
    items = _load_array(body)
    events, problems = [], []
    for index, item in enumerate(items):
        try:
            events.append(parse_event(item))
        except _Skip as skip:
            problems.append(f"event {index}: {skip}")
    return events, problems


def _load_array(body: bytes) -> list[dict]:
    try:
        data = json.loads(body)
    except RecursionError:
        raise MalformedBatch("body nests too deeply") from None
    except ValueError as error:        # JSONDecodeError and UnicodeDecodeError alike
        raise MalformedBatch(f"body is not JSON ({error.__class__.__name__})") from None
    if not isinstance(data, list):
        raise MalformedBatch(f"body is a JSON {_kind(data)}, not an array of events")
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise MalformedBatch(f"item {index} is a JSON {_kind(item)}, not an event object")
    return data


def _kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def parse_event(item: Mapping[str, Any]) -> WebhookEvent:
    """One event object as a WebhookEvent; raises _Skip naming the first missing or ill-typed field."""
    portal_id = _required_id(item, "portalId")
    event_id = _required_id(item, "eventId")
    subscription_id = _optional_id(item, "subscriptionId") or ""
    return WebhookEvent(
        dedupe_key=f"hubspot:{portal_id}:{subscription_id}:{event_id}",
        event_type=_event_type(item),
        portal_id=portal_id,
        object_id=_optional_id(item, "objectId"),
        occurred_at=_occurred_at(item),
        property_name=_optional_text(item, "propertyName"),
        property_value=_optional_text(item, "propertyValue"),
        change_source=_optional_text(item, "changeSource"),
        source_id=_optional_text(item, "sourceId"),
        app_id=_optional_id(item, "appId"),
        primary_object_id=_optional_id(item, "primaryObjectId"),
        merged_object_ids=_id_list(item, "mergedObjectIds"),
        new_object_id=_optional_id(item, "newObjectId"),
        attempt_number=_attempt(item),
        raw=dict(item),
    )


def _event_type(item: Mapping[str, Any]) -> str:
    # Real deliveries say "subscriptionType"; the docs' own example says "eventType".
    value = item.get("subscriptionType", item.get("eventType"))
    if value is None:
        raise _Skip("missing subscriptionType")
    if not isinstance(value, str) or not value:
        raise _Skip("subscriptionType is not a non-empty string")
    return value


def _id_text(value: Any) -> str | None:
    """HubSpot ids are JSON integers; digit strings are accepted too. None when it is neither."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10 ** 20:
        return str(value)
    if isinstance(value, str) and _ID.fullmatch(value):
        return value
    return None


def _required_id(item: Mapping[str, Any], key: str) -> str:
    if item.get(key) is None:
        raise _Skip(f"missing {key}")
    return _optional_id(item, key)


def _optional_id(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    text = _id_text(value)
    if text is None:
        raise _Skip(f"{key} is not an id")
    return text


def _id_list(item: Mapping[str, Any], key: str) -> tuple[str, ...]:
    values = item.get(key)
    if values is None:
        return ()
    texts = [_id_text(value) for value in values] if isinstance(values, list) else [None]
    if None in texts:
        raise _Skip(f"{key} is not a list of ids")
    return tuple(texts)


def _optional_text(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return json.dumps(value)       # a number where HubSpot documents a string: keep its JSON text
    raise _Skip(f"{key} is not a string")


def _occurred_at(item: Mapping[str, Any]) -> datetime:
    value = item.get("occurredAt")
    if value is None:
        raise _Skip("missing occurredAt")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Skip("occurredAt is not epoch milliseconds")
    if not 0 <= value <= _MAX_MS:
        raise _Skip("occurredAt is out of range")
    return _EPOCH + timedelta(milliseconds=value)


def _attempt(item: Mapping[str, Any]) -> int:
    value = item.get("attemptNumber", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Skip("attemptNumber is not a count")
    return value


def is_handled(event: WebhookEvent) -> bool:
    """True for the contact events Handoff acts on; others are acknowledged and logged only."""
    return event.event_type in HANDLED_TYPES


def lane_for(event: WebhookEvent) -> int:
    """0 (hot) for a new contact or a conversion/meeting property change; 1 for everything else."""
    if event.event_type == "contact.creation":
        return HOT_LANE
    if event.event_type == "contact.propertyChange" and event.property_name in HOT_PROPERTIES:
        return HOT_LANE
    return NORMAL_LANE


def is_own_write(event: WebhookEvent) -> bool:
    """True when a property change is Handoff's own write echoing back, which must not re-trigger work."""
    if event.event_type != "contact.propertyChange":
        return False
    if (event.property_name or "").startswith(OWN_PROPERTY_PREFIX):
        return True
    # Writes made with our app's token come back with sourceId = our appId.
    return event.source_id is not None and event.source_id == event.app_id


def contact_ids_touched(event: WebhookEvent) -> list[str]:
    """Every contact id the event concerns, surviving record first for merges, without repeats."""
    ids = [event.new_object_id, event.primary_object_id, event.object_id, *event.merged_object_ids]
    return list(dict.fromkeys(contact_id for contact_id in ids if contact_id))
