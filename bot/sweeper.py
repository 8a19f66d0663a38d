"""The SLA sweeper: one due deadline step per call, claimed with compare-and-set. escalate_one() -> bool.

Each step's effects are recorded in the same transaction that advances the deadline, so a crash does both
or neither, and the effect's key (deadline, step) makes a replay a no-op. Ladders come from the current
sla.yaml (bot.sla decides them), so a ladder edit applies to open leads from their next step.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.engine import Row

from bot import actions, sla as sla_core
from bot.business_time import BusinessCalendar, start_of_local_day
from bot.calendars import calendar_of
from bot.services import Services
from bot.store import deadlines, effects, inbox, journey, kv, leads, schema

log = logging.getLogger("handoff.sweeper")


def escalate_one(svc: Services, now: datetime | None = None) -> bool:
    """Run the most overdue deadline step; False when nothing is due."""
    now = now or svc.clock()
    with svc.engine.begin() as conn:
        row = deadlines.claim_due_deadline(conn, now)
        if row is None:
            return False
        lead = leads.get_lead(conn, row.lead_id)
        if lead is None:
            deadlines.end(conn, row, "cancelled", now)
            return True
        STEPS.get(row.kind, _ladder_step)(svc, conn, row, lead, now)
    log.info("lead=%s %s step %d handled, %.0f s after it was due", lead.id, row.kind, row.step,
             (now - row.run_at).total_seconds())
    return True


# --- the ladders: accept, first touch, cadence -----------------------------------------------------

def _still_running(kind: str, lead: Row) -> bool:
    """A clock stops when what it waits for happened: the Accept, a first touch, a decision."""
    if kind == sla_core.ACCEPT:
        return lead.status == "new"
    if kind == sla_core.FIRST_TOUCH:
        return lead.status in leads.OPEN_STATUSES and lead.touches == 0
    return lead.status in leads.OPEN_STATUSES


def _ladder_step(svc: Services, conn: Connection, row: Row, lead: Row, now: datetime) -> None:
    sla = svc.config.sla
    step = sla_core.due_step(sla, row.kind, row.started_at, row.due_at, row.step)
    if not _still_running(row.kind, lead) or step is None:
        deadlines.end(conn, row, "done" if step is None else "cancelled", now)
        return
    if step.due_at >= row.due_at and not journey.count_for_deadline(conn, lead.id, row.id):
        _record_breach(svc, conn, row, lead, now)
    PERFORM[step.action](svc, conn, row, lead, now)
    following = sla_core.due_step(sla, row.kind, row.started_at, row.due_at, row.step + 1)
    deadlines.advance(conn, row, following.due_at if following else None, now)


def _notice(svc: Services, conn: Connection, row: Row, lead: Row, now: datetime, action: str) -> None:
    effects.add_effect(conn, f"deadline:{row.id}:step:{row.step}", "slack_notice",
                       {"lead_id": lead.id, "action": action, "deadline_id": row.id, "kind": row.kind}, now,
                       lead_id=lead.id)
    journey.record(conn, lead.id, lead.contact_id, "escalated", now, None, action=action, deadline=row.kind,
                   late_seconds=(now - row.due_at).total_seconds())
    # The card shows the step in its story and its SLA as overdue.
    effects.add_effect(conn, f"deadline:{row.id}:step:{row.step}:card", "slack_update_card", {"lead_id": lead.id},
                       now, lead_id=lead.id)


def _reassign(svc: Services, conn: Connection, row: Row, lead: Row, now: datetime) -> None:
    """The ladder's last resort: the next rep in the pool gets the lead (and a fresh accept clock)."""
    if not actions.hand_to_next_in_pool(svc, conn, lead, "Not accepted in time (SLA)", None, now):
        _notice(svc, conn, row, lead, now, "notify_managers")   # nobody else in the pool: tell the managers


def _close_cadence(svc: Services, conn: Connection, row: Row, lead: Row, now: datetime) -> None:
    """The cadence window ended without a decision: recycle to nurture, with the reason marketing reads."""
    state = sla_core.CadenceState(touches=lead.touches, connected=bool(leads.card_of(lead).get("connected")))
    if sla_core.cadence_verdict(svc.config.sla, state) == sla_core.MET:
        return
    reason = sla_core.recycle_reason(svc.config.sla, state)
    actions.recycle(svc, conn, lead, reason, now)
    effects.add_effect(conn, f"deadline:{row.id}:recycled", "slack_notice",
                       {"lead_id": lead.id, "action": "recycled", "deadline_id": row.id}, now, lead_id=lead.id)


PERFORM = {
    "remind_sdr": lambda svc, conn, row, lead, now: _notice(svc, conn, row, lead, now, "remind_sdr"),
    "notify_managers": lambda svc, conn, row, lead, now: _notice(svc, conn, row, lead, now, "notify_managers"),
    "reassign": _reassign,
    sla_core.CLOSE_CADENCE: _close_cadence,
}


# --- why it was late, and a rep's day of misses -----------------------------------------------------

def _record_breach(svc: Services, conn: Connection, row: Row, lead: Row, now: datetime) -> None:
    """Every missed deadline records its cause: our delay (system), availability, or the rep (human)."""
    calendar = calendar_of(svc.config.sla, svc.config.routing, lead.owner_id)
    first = journey.first_step(conn, lead.id, "mql") or {}
    alerted = journey.first_step(conn, lead.id, "alerted")
    away = kv.away_reps(conn, row.due_at)
    cause, words = sla_core.breach_cause(
        alerted_at=alerted["at"] if alerted else None, became_mql_at=lead.became_mql_at,
        event_occurred_at=_time(first.get("occurred_at")), event_received_at=_time(first.get("received_at")),
        calendar=calendar, rep_away=lead.assignee in away, now=row.due_at, effects=_messages_to_rep(conn, row))
    journey.record(conn, lead.id, lead.contact_id, "breach", now, lead.assignee, deadline=row.kind,
                   deadline_id=row.id, cause=cause, words=words)
    if cause == sla_core.HUMAN and lead.assignee:
        _count_against_rep(svc, conn, lead, calendar, now)


def _messages_to_rep(conn: Connection, row: Row) -> list[sla_core.EffectTries]:
    """How the lead's cards and this deadline's earlier reminders fared before it passed (Slack's failures).

    Only messages to the rep count: a manager's notice or a CRM write that failed cannot have made the rep late."""
    what = _message_keys(conn, row)
    # By their exact keys, on the unique index: the outbox has no index by lead, and a breach must stay cheap.
    found = conn.execute(select(schema.effects).where(schema.effects.c.key.in_(list(what)),
                                                      schema.effects.c.created_at >= row.started_at,
                                                      schema.effects.c.created_at <= row.due_at))
    return [sla_core.effect_tries(what[effect.key], "Slack", state=effect.state, attempts=effect.attempts,
                                  claimed=effect.claim_token is not None, last_error=effect.last_error,
                                  created_at=effect.created_at, done_at=effect.done_at, due_at=row.due_at)
            for effect in found if effects.payload_of(effect).get("action", "remind_sdr") == "remind_sdr"]


def _message_keys(conn: Connection, row: Row) -> dict[str, str]:
    """Effect key -> what it is, for the messages that should have reached the rep before this deadline: the rep's
    cards (worker.py and actions.py key them so: one more per reassign) and this deadline's reminders. The leads
    channel's copy is the team's: the rep's own card is the one that makes them fast or late."""
    reassigned = journey.count(conn, row.lead_id, "reassigned")
    first_card = f"lead:{row.lead_id}:card:assignee"
    cards = [first_card] + [f"{first_card}:r{number}" for number in range(1, reassigned + 1)]
    reminders = [f"deadline:{row.id}:step:{step}" for step in range(row.step)]
    return dict.fromkeys(cards, sla_core.ALERT) | dict.fromkeys(reminders, sla_core.REMINDER)


def _count_against_rep(svc: Services, conn: Connection, lead: Row, calendar: BusinessCalendar,
                       now: datetime) -> None:
    """Too many misses in one of the rep's local days (their calendar's zone): marked away for the rest of it."""
    day_start = start_of_local_day(now, calendar.timezone)
    misses = journey.breaches_since(conn, lead.assignee, day_start, cause=sla_core.HUMAN)
    if sla_core.breaches_exceed(svc.config.sla, misses) and lead.assignee not in kv.away_reps(conn, now):
        kv.set_away(conn, lead.assignee, day_start + timedelta(days=1), now)
        effects.add_effect(conn, f"rep:{lead.assignee}:away:{day_start.date()}", "slack_notice",
                           {"lead_id": lead.id, "action": "rep_marked_away", "misses": misses}, now,
                           lead_id=lead.id)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# --- other clocks -----------------------------------------------------------------------------------

def _snooze_over(svc: Services, conn: Connection, row: Row, lead: Row, now: datetime) -> None:
    """The snooze ends: the lead is back on the rep's list and its card says so."""
    if leads.wake_lead(conn, lead.id, now):
        journey.record(conn, lead.id, lead.contact_id, "woke", now)
        effects.add_effect(conn, f"deadline:{row.id}:wake", "slack_update_card", {"lead_id": lead.id}, now,
                           lead_id=lead.id)
    deadlines.end(conn, row, "done", now)


def _revisit_due(svc: Services, conn: Connection, row: Row, lead: Row, now: datetime) -> None:
    """A "not yet" lead's revisit date: it re-enters scoring, and marketing ops are told."""
    inbox.enqueue_rescore(conn, lead.contact_id, f"handoff:revisit:{row.id}", lead.portal_id, now)
    effects.add_effect(conn, f"deadline:{row.id}:revisit", "slack_notice",
                       {"lead_id": lead.id, "action": "revisit_due", "deadline_id": row.id}, now, lead_id=lead.id)
    journey.record(conn, lead.id, lead.contact_id, "revisit_due", now)
    deadlines.end(conn, row, "done", now)


STEPS = {"snooze": _snooze_over, "revisit": _revisit_due}
