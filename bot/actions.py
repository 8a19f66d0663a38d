"""What an SDR's click or form does, decided and recorded in one transaction per action.

The Slack listeners only call these. Every action checks the same things first (the lead exists, the user may
act on it, it is still open), changes the lead with a compare-and-set, and records its side effects (HubSpot
writes, notes, Slack posts) in the outbox with keys, so a double click or a re-submitted form acts once.
"""
from __future__ import annotations

import hashlib
import html
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Row

from bot import lifecycle
from bot.clocks import start_clocks
from bot.models import to_utc_iso
from bot.routing import may_act_on_lead
from bot.services import Services
from bot.store import deadlines, effects, journey, kv, leads
from bot.summary import summary_fields
from bot.timefmt import duration_words
from bot.touches import Touch, record_touch

log = logging.getLogger("handoff.actions")

ACCEPTED, DONE, ALREADY_DONE, NOT_ALLOWED, UNKNOWN_LEAD, INVALID = (
    "accepted", "done", "already_done", "not_allowed", "unknown_lead", "invalid")


@dataclass(frozen=True)
class Outcome:
    kind: str
    assignee: str | None = None       # who owns the lead (for "assigned to @…")
    accepted_by: str | None = None
    status: str | None = None
    message: str | None = None        # what to tell the user, when there is something to say


def guard(conn: Connection, svc: Services, lead_id: int, user_id: str,
           open_only: bool = True) -> tuple[Row | None, Outcome | None]:
    """The checks every action shares: the lead exists, the user may act on it, it is still open."""
    lead = leads.get_lead(conn, lead_id)
    if lead is None:
        return None, Outcome(UNKNOWN_LEAD, message="Handoff has no such lead any more.")
    # A lead nobody in Slack owns sits in the fallback channel: whoever claims it first takes it.
    if lead.assignee is not None and not may_act_on_lead(user_id, lead.assignee, svc.config.routing):
        log.info("lead=%s action refused for user=%s", lead_id, user_id)
        return None, Outcome(NOT_ALLOWED, assignee=lead.assignee, status=lead.status)
    if open_only and lead.status not in leads.OPEN_STATUSES:
        return None, Outcome(ALREADY_DONE, assignee=lead.assignee, accepted_by=lead.accepted_by,
                             status=lead.status, message=stale_text(lead))
    return lead, None


def stale_text(lead: Row) -> str:
    """What a stale button answers: the lead's current state."""
    if lead.decision:
        by = f" by <@{lead.decided_by}>" if lead.decided_by else ""
        return f"This lead was already decided{by}: {lead.status}" + (
            f" ({lead.decision_reason})" if lead.decision_reason else "") + "."
    if lead.status == "closed":
        return f"This lead is closed: {lead.closed_reason or 'no reason recorded'}."
    if lead.accepted_by:
        return f"Already accepted by <@{lead.accepted_by}>."
    return f"This lead is {lead.status}."


def accept_lead(svc: Services, lead_id: int, user_id: str, now: datetime) -> Outcome:
    """The assignee or a manager accepts once (anyone, for an unassigned lead); others are told who owns it."""
    with svc.engine.begin() as conn:
        lead, refused = guard(conn, svc, lead_id, user_id, open_only=False)
        if refused:
            return refused
        if not leads.mark_accepted(conn, lead_id, user_id, now):
            return Outcome(ALREADY_DONE, assignee=lead.assignee, accepted_by=lead.accepted_by,
                           status=lead.status, message=None if lead.accepted_by == user_id else stale_text(lead))
        deadlines.cancel_for_lead(conn, lead_id, now, kinds=("accept",))
        owner_id = lead.owner_id if user_id == lead.assignee else kv.owner_for_slack_user(conn, user_id)
        writes = lifecycle.accept_writeback(owner_id or lead.owner_id, _name_of(conn, owner_id), now)
        _write_contact(conn, lead, "accept-writeback", writes, now)
        journey.record(conn, lead.id, lead.contact_id, "accepted", now, user_id,
                       seconds_to_accept=(now - lead.became_mql_at).total_seconds())
        record_summary(conn, lead.id, now)
        effects.refresh_cards(conn, lead.id, now)
    log.info("lead=%s accepted by user=%s after %.0f s", lead_id, user_id,
             (now - lead.became_mql_at).total_seconds())
    return Outcome(ACCEPTED, assignee=lead.assignee, accepted_by=user_id, status="accepted")


def log_touch(svc: Services, lead_id: int, user_id: str, kind: str, note: str, now: datetime) -> Outcome:
    """A contact attempt (call, email, LinkedIn, other): counts towards the cadence, noted in HubSpot."""
    with svc.engine.begin() as conn:
        lead, refused = guard(conn, svc, lead_id, user_id)
        if refused:
            return refused
        count = record_touch(conn, lead, now, user_id, Touch(kind, {}))   # cadence, journey, first-touch deadline
        record_summary(conn, lead.id, now)
        _note(conn, lead, f"touch-{count}", f"{kind.capitalize()} logged in Handoff by the rep"
                                             + (f": {note}" if note else "."), now)
        effects.refresh_cards(conn, lead.id, now)
    return Outcome(DONE, status=lead.status, message=f"Touch {count} logged ({kind}).")


def snooze_lead(svc: Services, lead_id: int, user_id: str, minutes: int, now: datetime) -> Outcome:
    """Put a lead aside until a time; its SLA clock pauses, but never longer than sla.yaml allows."""
    limit = svc.config.sla.max_snooze
    if minutes <= 0 or timedelta(minutes=minutes) > limit:
        return Outcome(INVALID, message=f"A lead can be snoozed for at most {duration_words(limit)}.")
    until = now + timedelta(minutes=minutes)
    with svc.engine.begin() as conn:
        lead, refused = guard(conn, svc, lead_id, user_id)
        if refused:
            return refused
        leads.snooze_lead(conn, lead_id, until, now)
        deadlines.postpone_for_lead(conn, lead_id, timedelta(minutes=minutes), now)
        deadlines.open_deadline(conn, lead_id=lead_id, kind="snooze", started_at=now, due_at=until,
                                first_step_at=until, now=now)
        journey.record(conn, lead.id, lead.contact_id, "snoozed", now, user_id, until=until.isoformat())
        effects.refresh_cards(conn, lead.id, now)
    return Outcome(DONE, status="snoozed", message=f"Snoozed for {duration_words(timedelta(minutes=minutes))}.")


def reassign_lead(svc: Services, lead_id: int, user_id: str, to: str, reason: str, now: datetime) -> Outcome:
    """Hand the lead to a chosen rep (a Slack user) or the next in the SDR pool; they accept it afresh."""
    with svc.engine.begin() as conn:
        lead, refused = guard(conn, svc, lead_id, user_id)
        if refused:
            return refused
        owner_id, assignee, why = _reassign_target(conn, svc, lead, to, reason, now)
        if owner_id is None and assignee is None:
            return Outcome(INVALID, message="Nobody to hand this lead to: the SDR pool has no one else.")
        _hand_over(svc, conn, lead, owner_id, assignee, why, reason, user_id, now)
    return Outcome(DONE, status="new", message="Reassigned" + (f" to <@{assignee}>." if assignee else "."))


def hand_to_next_in_pool(svc: Services, conn: Connection, lead: Row, reason: str, actor: str | None,
                         now: datetime) -> bool:
    """The SLA ladder's reassign step: the next SDR in the pool; False when the pool has nobody else."""
    owner_id, assignee, why = _reassign_target(conn, svc, lead, "next", reason, now)
    if owner_id is None:
        return False
    _hand_over(svc, conn, lead, owner_id, assignee, why, reason, actor, now)
    return True


def _hand_over(svc: Services, conn: Connection, lead: Row, owner_id: str | None, assignee: str | None, why: str,
               reason: str, actor: str | None, now: datetime) -> None:
    """New owner, fresh clocks, a card in the new rep's DM, the old cards updated."""
    leads.reassign_lead(conn, lead.id, owner_id, assignee, why, now)
    deadlines.cancel_for_lead(conn, lead.id, now, kinds=("accept", "first_touch"))
    start_clocks(svc, conn, lead.id, lead.high_intent, now, kinds=("accept", "first_touch"))
    number = journey.count(conn, lead.id, "reassigned") + 1
    journey.record(conn, lead.id, lead.contact_id, "reassigned", now, actor, to_owner=owner_id,
                   to_user=assignee, reason=reason)
    effects.add_effect(conn, f"lead:{lead.id}:card:assignee:r{number}", "slack_card",
                       {"lead_id": lead.id, "target": "assignee"}, now, lead_id=lead.id)
    effects.refresh_cards(conn, lead.id, now)


def recycle(svc: Services, conn: Connection, lead: Row, reason: str, now: datetime) -> bool:
    """The cadence ran out without a connect: back to nurture as "no response", marketing told why."""
    if not leads.decide_lead(conn, lead.id, decision="no_response", reason=reason, user_id=None, bant=None,
                             revisit_at=None, ae_owner_id=None, ae_user=None, now=now):
        return False
    _close_out(conn, lead, now)
    _write_contact(conn, lead, "decision", lifecycle.recycle_writeback(reason), now)
    journey.record(conn, lead.id, lead.contact_id, "decided", now, None, outcome="no_response", reason=reason)
    record_summary(conn, lead.id, now)
    effects.refresh_cards(conn, lead.id, now)
    return True


def _reassign_target(conn: Connection, svc: Services, lead: Row, to: str, reason: str,
                     now: datetime) -> tuple[str | None, str | None, str]:
    routing = svc.config.routing
    if to != "next":
        return kv.owner_for_slack_user(conn, to) or _explicit_owner(routing, to), to, f"Reassigned: {reason}"
    away = kv.away_reps(conn, now)   # reps away (or marked away after misses) are passed over
    owners = kv.known_slack_users(conn, routing.slack_users)
    others = [owner for owner in routing.sdr_pool if owner != lead.owner_id and owners.get(owner) not in away]
    if not others:
        return None, None, ""
    owner_id = others[kv.take_turn(conn, "sdr_pool", len(others))]
    return owner_id, None, f"Reassigned to the next in the pool: {reason}"


def _explicit_owner(routing, slack_user_id: str) -> str | None:
    return next((owner for owner, user in routing.slack_users.items() if user == slack_user_id), None)


def disqualify_lead(svc: Services, lead_id: int, user_id: str, reason: str, now: datetime) -> Outcome:
    """Disqualified, always with a reason: marketing learns from it (Sin 4)."""
    if not reason.strip():
        return Outcome(INVALID, message="A disqualification needs a reason.")
    with svc.engine.begin() as conn:
        lead, refused = guard(conn, svc, lead_id, user_id)
        if refused:
            return refused
        if not leads.decide_lead(conn, lead_id, decision="disqualified", reason=reason, user_id=user_id,
                                 bant=None, revisit_at=None, ae_owner_id=None, ae_user=None, now=now):
            return Outcome(ALREADY_DONE, status=lead.status, message=stale_text(lead))
        _close_out(conn, lead, now)
        _write_contact(conn, lead, "decision", lifecycle.disqualify_writeback(reason), now)
        _note(conn, lead, "decision", f"Disqualified in Handoff: {reason}", now)
        journey.record(conn, lead.id, lead.contact_id, "decided", now, user_id, outcome="disqualified",
                       reason=reason)
        record_summary(conn, lead.id, now)
        effects.refresh_cards(conn, lead.id, now)
    return Outcome(DONE, status="disqualified", message=f"Disqualified: {reason}.")


def qualify_lead(svc: Services, lead_id: int, user_id: str, bant: dict[str, Any], summary: str,
                 now: datetime) -> Outcome:
    """The verification call's outcome: SQL to an AE, not yet (re-nurture) or no response (recycle)."""
    outcome = bant["outcome"]
    with svc.engine.begin() as conn:
        lead, refused = guard(conn, svc, lead_id, user_id)
        if refused:
            return refused
        ae_owner, ae_user = _choose_ae(conn, svc, lead) if outcome == "sql" else (None, None)
        revisit = _revisit_at(bant) if outcome == "not_yet" else None
        if not leads.decide_lead(conn, lead_id, decision=outcome, reason=bant.get("reason"), user_id=user_id,
                                 bant=bant, revisit_at=revisit, ae_owner_id=ae_owner, ae_user=ae_user, now=now):
            return Outcome(ALREADY_DONE, status=lead.status, message=stale_text(lead))
        _close_out(conn, lead, now)
        _write_contact(conn, lead, "decision", lifecycle.qualify_writeback(outcome, ae_owner, revisit, summary), now)
        _note(conn, lead, "decision", f"{lifecycle.OUTCOME_WORDS[outcome]} in Handoff. BANT: {summary}", now)
        journey.record(conn, lead.id, lead.contact_id, "decided", now, user_id, outcome=outcome,
                       ae=ae_user or ae_owner, revisit_at=revisit.isoformat() if revisit else None)
        record_summary(conn, lead.id, now)
        _after_decision(svc, conn, lead, outcome, ae_owner, revisit, now)
        effects.refresh_cards(conn, lead.id, now)
    return Outcome(DONE, status=leads.DECIDED[outcome], message=f"{lifecycle.OUTCOME_WORDS[outcome]}.")


def _after_decision(svc: Services, conn: Connection, lead: Row, outcome: str, ae_owner: str | None,
                    revisit: datetime | None, now: datetime) -> None:
    # The AE's Slack user may not be known yet: the handoff effect finds it by their HubSpot email, as for reps.
    if outcome == "sql" and ae_owner:
        effects.add_effect(conn, f"lead:{lead.id}:ae-handoff", "slack_ae_handoff", {"lead_id": lead.id}, now,
                           lead_id=lead.id)
    if revisit is not None:
        deadlines.open_deadline(conn, lead_id=lead.id, kind="revisit", started_at=now, due_at=revisit,
                                first_step_at=revisit, now=now)


def _choose_ae(conn: Connection, svc: Services, lead: Row) -> tuple[str | None, str | None]:
    """The company's owner (account stickiness), else the next AE in the pool; their Slack user if already known."""
    routing = svc.config.routing
    company_owner = leads.card_of(lead).get("company_owner_id")
    owner = company_owner or (routing.ae_pool[kv.take_turn(conn, "ae_pool", len(routing.ae_pool))]
                              if routing.ae_pool else None)
    if owner is None:
        return None, None
    user = kv.known_slack_users(conn, routing.slack_users).get(owner)
    return owner, user


def _revisit_at(bant: dict[str, Any]) -> datetime | None:
    value = bant.get("revisit_date")
    return datetime.fromisoformat(f"{value}T13:00:00+00:00") if value else None


def _close_out(conn: Connection, lead: Row, now: datetime) -> None:
    deadlines.cancel_for_lead(conn, lead.id, now)


def record_summary(conn: Connection, lead_id: int, now: datetime) -> None:
    """HubSpot's summary properties (bot.summary) after a step that changes them: accept, a touch, a decision.

    The key is the content's digest: a replayed step writes nothing new, and every later step (another touch,
    a re-accept after a reassign) differs in content, so it is written too.
    """
    lead = leads.get_lead(conn, lead_id)
    fields = current_summary(conn, lead)
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    # The write carries its lead: a retried older write sends the summary as it stands then, never a stale one.
    effects.add_effect(conn, f"lead:{lead.id}:summary:{digest}", "hubspot_update",
                       {"contact_id": lead.contact_id, "properties": fields, "summary_of_lead": lead.id}, now,
                       lead_id=lead.id)


def current_summary(conn: Connection, lead: Row) -> dict[str, str]:
    """The lead's HubSpot summary properties from what the store holds now."""
    first_touch = journey.first_step(conn, lead.id, "touch")
    return summary_fields(lead, first_touch["at"] if first_touch else None)


def _write_contact(conn: Connection, lead: Row, step: str, properties: dict[str, str], now: datetime) -> None:
    effects.add_effect(conn, f"lead:{lead.id}:{step}", "hubspot_update",
                       {"contact_id": lead.contact_id, "properties": properties}, now, lead_id=lead.id)


def _note(conn: Connection, lead: Row, step: str, body: str, now: datetime) -> None:
    """A note on the HubSpot contact, so an AE sees in HubSpot what the rep saw in Slack.

    HubSpot renders a note's body as HTML: what the rep typed is escaped so it stays text.
    """
    effects.add_effect(conn, f"lead:{lead.id}:note:{step}", "hubspot_note",
                       {"contact_id": lead.contact_id, "body": html.escape(body), "at": to_utc_iso(now)}, now,
                       lead_id=lead.id)


def _name_of(conn: Connection, owner_id: str | None) -> str | None:
    return kv.cached_owner_name(conn, owner_id) if owner_id else None
