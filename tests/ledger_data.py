"""Leads and their journey steps written straight into the store, as the service records them: the report's tests
and bench/report_speed.py build ledgers with known answers from these."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import Connection

from bot.store.schema import lead_events, leads


@dataclass(frozen=True)
class LeadSpec:
    """One lead's journey: the prospect acted at `action_at`; everything else is seconds after that action."""
    contact_id: str
    action_at: datetime
    sdr: str = "U1"
    owner_id: str = "101"
    source: str | None = "ORGANIC_SEARCH"
    campaign: str | None = None
    score: float = 120
    rules: tuple[str, ...] = ()
    alert_after: float | None = 20          # action -> alert in Slack (None: never alerted)
    touch_after: float | None = None        # alert -> first touch (None: never touched)
    touches: int = 0
    decision: str | None = None             # sql | not_yet | no_response | disqualified (None: still open)
    reason: str | None = None
    breaches: tuple[tuple[str, str], ...] = ()   # (deadline, cause)
    accepted: bool = True
    extra_steps: int = 0                    # more steps of kinds the report ignores (card refreshes, snoozes)
    high_intent: bool = False
    decided_after: float = 3600             # action -> decision


def insert(conn: Connection, specs: Iterable[LeadSpec], first_id: int = 1) -> int:
    """Writes the leads (ids from first_id, in order) and their steps; returns the number of steps written."""
    lead_rows, step_rows = [], []
    for lead_id, spec in enumerate(specs, start=first_id):
        lead_rows.append(_lead_row(lead_id, spec))
        step_rows += _steps(lead_id, spec)
    if lead_rows:
        conn.execute(leads.insert(), lead_rows)
    if step_rows:
        conn.execute(lead_events.insert(), step_rows)
    return len(step_rows)


def _lead_row(lead_id: int, spec: LeadSpec) -> dict:
    mql_at = spec.action_at + timedelta(seconds=3)
    touched = _touch_at(spec)
    decided = spec.action_at + timedelta(seconds=spec.decided_after) if spec.decision else None
    return {"id": lead_id, "contact_id": spec.contact_id, "open_contact_id": None if spec.decision else spec.contact_id,
            "status": "closed" if spec.decision else ("accepted" if spec.accepted else "new"),
            "became_mql_at": mql_at, "high_intent": spec.high_intent, "score": spec.score, "summary": "", "card": "{}",
            "owner_id": spec.owner_id, "assignee": spec.sdr,
            "accepted_at": (touched or mql_at) if spec.accepted else None,
            "accepted_by": spec.sdr if spec.accepted else None, "touches": spec.touches, "decision": spec.decision,
            "decision_reason": spec.reason, "decided_at": decided, "decided_by": spec.sdr if spec.decision else None,
            "updated_at": decided or mql_at}


def _touch_at(spec: LeadSpec) -> datetime | None:
    if spec.touch_after is None or spec.alert_after is None:
        return None
    return spec.action_at + timedelta(seconds=spec.alert_after + spec.touch_after)


def _steps(lead_id: int, spec: LeadSpec) -> list[dict]:
    mql_at = spec.action_at + timedelta(seconds=3)
    detail = {"occurred_at": spec.action_at.isoformat(), "received_at": (spec.action_at + timedelta(seconds=2)).isoformat(),
              "score": spec.score, "high_intent": spec.high_intent, "rules": list(spec.rules), "source": spec.source,
              "campaign": spec.campaign}
    steps = [_step(lead_id, spec, "mql", mql_at, None, detail)]
    if spec.alert_after is not None:
        steps.append(_step(lead_id, spec, "alerted", spec.action_at + timedelta(seconds=spec.alert_after), None, {}))
    if (touched := _touch_at(spec)) is not None:
        steps.append(_step(lead_id, spec, "touch", touched, spec.sdr, {"touch": "call", "number": 1}))
    for number, (deadline, cause) in enumerate(spec.breaches):
        steps.append(_step(lead_id, spec, "breach", mql_at + timedelta(minutes=5 + number), spec.sdr,
                           {"deadline": deadline, "cause": cause, "words": "..."}))
    for number in range(spec.extra_steps):
        steps.append(_step(lead_id, spec, "snoozed", mql_at + timedelta(seconds=30 + number), spec.sdr, {}))
    if spec.decision:
        steps.append(_step(lead_id, spec, "decided", spec.action_at + timedelta(seconds=spec.decided_after), spec.sdr,
                           {"outcome": spec.decision, "reason": spec.reason}))
    return steps


def _step(lead_id: int, spec: LeadSpec, kind: str, at: datetime, actor: str | None, detail: dict) -> dict:
    return {"lead_id": lead_id, "contact_id": spec.contact_id, "kind": kind, "at": at, "actor": actor,
            "detail": json.dumps(detail)}
