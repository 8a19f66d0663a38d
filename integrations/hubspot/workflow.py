"""PURE: what a HubSpot workflow's "Send a webhook" action sends us, parsed. Marketing ops choose the body:
either an activity Handoff should remember (page views with their URL, chats, …), or the contact as the
workflow sends it by default (then Handoff simply re-scores that contact)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.models import Activity, parse_hubspot_time

KINDS = frozenset({"form_submission", "page_view", "email_open", "email_click", "meeting_booked", "chat"})
ID_KEYS = ("contactId", "objectId", "hs_object_id", "vid")
LABEL_KEYS = ("url", "label", "form", "name", "campaign")


class MalformedWorkflowCall(ValueError):
    """The body is not one Handoff understands; the message says what is wrong (answered with 400)."""


@dataclass(frozen=True)
class WorkflowCall:
    contact_id: str
    activity: Activity | None    # None: the workflow sent the contact itself, so just score it again
    key: str                     # the same for a redelivery of the same call


def parse_workflow_call(body: bytes, now: datetime) -> WorkflowCall:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise MalformedWorkflowCall("the body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedWorkflowCall("the body must be a JSON object")
    contact_id = _contact_id(data)
    raw = data.get("activity", data if "kind" in data else None)
    activity = _activity(raw, now) if raw is not None else None
    key = f"workflow:{data.get('eventId') or hashlib.sha256(body).hexdigest()}"
    return WorkflowCall(contact_id=contact_id, activity=activity, key=key[:200])


def _contact_id(data: dict[str, Any]) -> str:
    props = data.get("properties") if isinstance(data.get("properties"), dict) else {}
    for key in ID_KEYS:
        value = data.get(key, props.get(key))
        value = value.get("value") if isinstance(value, dict) else value   # v1 contact JSON: {"value": "..."}
        if value is not None and str(value).isdigit() and len(str(value)) <= 20:
            return str(value)
    raise MalformedWorkflowCall(f"no contact id: send one of {', '.join(ID_KEYS)} (digits)")


def _activity(raw: Any, now: datetime) -> Activity:
    if not isinstance(raw, dict):
        raise MalformedWorkflowCall("`activity` must be an object")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise MalformedWorkflowCall(f"activity kind must be one of {', '.join(sorted(KINDS))} (got {kind!r})")
    occurred = parse_hubspot_time(str(raw["occurredAt"])) if raw.get("occurredAt") not in (None, "") else now
    if occurred is None:
        raise MalformedWorkflowCall(f"occurredAt is not a time: {raw.get('occurredAt')!r} (epoch ms or ISO-8601)")
    count = raw.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10_000:
        raise MalformedWorkflowCall(f"count must be a whole number from 1 to 10000 (got {count!r})")
    label = next((str(raw[key]) for key in LABEL_KEYS if raw.get(key) not in (None, "")), "")
    return Activity(kind=kind, occurred_at=occurred, label=label[:2000], count=count, source="workflow")
