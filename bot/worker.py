"""The worker: inbox -> HubSpot read -> score -> decide -> record effects. process_one_batch() -> bool."""
from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import Connection
from sqlalchemy.engine import Row

from bot import actions, cards, lifecycle, touches, web_events
from bot.activities import merged_trail
from bot.business_time import start_of_local_day
from bot.calendars import calendar_of
from bot.clocks import start_clocks
from bot.models import Activity, Contact
from bot.routing import RouteState, route_lead
from bot.scoring import company_properties_to_read, contact_properties_to_read, score_contact
from bot.sla import TOUCH_PROPERTIES
from bot.services import Services, backoff
from bot.store import deadlines, effects, inbox, journey, kv, leads, timeline
from bot.store.inbox import claim_contact_batch
from integrations.errors import IntegrationError
from integrations.hubspot.activity import Engagement
from integrations.hubspot.crm import ContactRead
from integrations.hubspot.events import WebhookEvent, is_own_write, parse_batch

log = logging.getLogger("handoff.worker")
MAX_ATTEMPTS = 10     # a batch failing this often for a reason that is not HubSpot's goes dead
ENGAGEMENTS_UNAVAILABLE = "hubspot-engagements"   # the throttle remembering an app that may not read them
ENGAGEMENTS_RECHECK = timedelta(hours=6)          # a scope granted later is noticed within this
# The share of a batch's lease the web-events fetch may use; the rest is for the engagements read and the
# decisions, so the batch finishes while its lease still holds and no other worker takes it over.
WEB_EVENTS_SHARE = 0.5


@dataclass
class BatchPlan:
    """What a claimed batch asks for, decided from the events (pure)."""
    to_read: list[str] = field(default_factory=list)          # contacts to read and score
    merges: list[tuple[str, str]] = field(default_factory=list)   # (merged id, surviving id)
    causes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    first_seen: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)   # (occurred, received)
    portal_id: str | None = None


@dataclass(frozen=True)
class BatchFacts:
    """What the batch learned from HubSpot and the store before deciding, shared by every contact of it."""
    plan: BatchPlan
    read: ContactRead
    portal_id: str | None
    kept: dict[str, list[Activity]]                   # Handoff's own timeline, by contact
    # Calls/emails/meetings where touches moved; None (all, or one contact's): unreadable, the properties count.
    engagements: dict[str, list[Engagement] | None] | None


def plan_batch(rows: Sequence[Row]) -> BatchPlan:
    """Coalesce a batch per contact. Deletions are read too: the answer (missing) is what closes a lead."""
    plan = BatchPlan()
    for row in rows:   # the prospect's action and our receipt, earliest per contact (the ledger's first steps)
        seen = plan.first_seen.get(row.object_id)
        plan.first_seen[row.object_id] = (min(row.occurred_at, seen[0]) if seen else row.occurred_at,
                                          min(row.received_at, seen[1]) if seen else row.received_at)
    for event in _events(rows):
        # Handoff's own rescore events may carry portal 0 (none known): never a portal for record links.
        plan.portal_id = plan.portal_id or (event.portal_id if event.portal_id != "0" else None)
        if event.event_type == "contact.merge":
            survivor = event.new_object_id or event.primary_object_id or event.object_id
            plan.merges += [(old, survivor) for old in event.merged_object_ids if old != survivor]
            _want(plan, survivor, "merge")
        elif not is_own_write(event) and event.object_id:
            _want(plan, event.object_id, _cause(event))
    return plan


def _want(plan: BatchPlan, contact_id: str | None, cause: str) -> None:
    if contact_id and contact_id not in plan.to_read:
        plan.to_read.append(contact_id)
    if contact_id:
        plan.causes[contact_id].append(cause)


def _cause(event: WebhookEvent) -> str:
    return f"{event.event_type}:{event.property_name}" if event.property_name else event.event_type


def _events(rows: Sequence[Row]) -> list[WebhookEvent]:
    body = ("[" + ",".join(row.payload for row in rows) + "]").encode()
    events, _problems = parse_batch(body)
    return events


def process_one_batch(svc: Services, now: datetime | None = None) -> bool:
    """Claim one batch of contacts' events and handle it; False when there was nothing to do."""
    leased_at = time.monotonic()   # read before `now`, which the lease runs from: it ends no sooner than this says
    now = now or svc.clock()
    if svc.crm is None or _throttled(svc, "hubspot", now):
        return False      # without a token nothing is read; events wait in the inbox
    with svc.engine.begin() as conn:
        rows = claim_contact_batch(conn, now, lease=timedelta(seconds=svc.settings.lease_seconds))
    if not rows:
        return False
    box = web_events.TimeBox(ends=leased_at + svc.settings.lease_seconds * WEB_EVENTS_SHARE,
                             claim=rows[0].claim_token)
    try:
        _handle_batch(svc, rows, now, box)
    except IntegrationError as error:
        _retry_later(svc, rows, now, error)
    except Exception as error:   # a bug must not wedge the inbox: push the batch back, count it
        log.exception("batch of %d events failed", len(rows))
        _retry_later(svc, rows, now, error)
    return True


def _handle_batch(svc: Services, rows: Sequence[Row], now: datetime, box: web_events.TimeBox) -> None:
    plan = plan_batch(rows)
    with svc.engine.begin() as conn:
        for old_id, new_id in plan.merges:
            leads.rekey_contact(conn, old_id, new_id, now)
            timeline.rekey(conn, old_id, new_id)
    read = _read(svc, plan.to_read)
    web_events.fetch_for_batch(svc, {contact.id: contact for contact in read.contacts.values()}, now, box)
    engagements = _read_engagements(svc, read, now)
    with svc.engine.begin() as conn:
        facts = BatchFacts(plan, read, _portal_id(svc, conn, plan),
                           timeline.recent_activities(conn, [c.id for c in read.contacts.values()], now), engagements)
        for contact_id in plan.to_read:
            _handle_contact(svc, conn, contact_id, facts, now)
        done = inbox.finish_events(conn, rows, now)
    log.info("batch done: events=%d contacts=%d missing=%d fenced=%d", len(rows), len(plan.to_read),
             len(read.missing), len(rows) - done)


def _read(svc: Services, contact_ids: list[str]) -> ContactRead:
    if not contact_ids:
        return ContactRead(contacts={}, missing=set())
    rules = svc.config.scoring
    properties = sorted(set(contact_properties_to_read(rules)) | set(TOUCH_PROPERTIES))
    return svc.crm.read_contacts(contact_ids, properties, company_properties_to_read(rules))


def _read_engagements(svc: Services, read: ContactRead, now: datetime) -> dict[str, list[Engagement] | None] | None:
    """The calls, emails and meetings of the contacts whose open lead's sales activity moved (read only then:
    two calls per kind and 100 contacts). A contact HubSpot refuses (a 400 or 404 that asking again will not
    mend) is None and only its touches come from the sales-activity properties. None for all when this app
    may not read them (403), or HubSpot refuses every contact tried: tried again after ENGAGEMENTS_RECHECK."""
    with svc.engine.connect() as conn:
        if (kv.blocked_until(conn, ENGAGEMENTS_UNAVAILABLE) or now) > now:
            return None
        moved = [contact.id for contact in read.contacts.values() if _touches_moved(conn, contact)]
    if not moved:
        return {}
    try:
        return touches.read_engagements(svc.crm.read_engagements, moved)
    except IntegrationError as error:
        if error.status != 403 and not touches.refuses_contacts(error):
            raise      # HubSpot trouble (429, 5xx): the batch waits and tries again, as for the contact read
        with svc.engine.begin() as conn:
            kv.block(conn, ENGAGEMENTS_UNAVAILABLE, now + ENGAGEMENTS_RECHECK)
        why = "a scope is missing" if error.status == 403 else "refused for every contact tried"
        log.warning("calls, emails and meetings not readable (HTTP %s: %s): touches come from the sales-activity "
                    "properties; asked again in %s", error.status, why, ENGAGEMENTS_RECHECK)
        return None


def _touches_moved(conn: Connection, contact: Contact) -> bool:
    lead = leads.open_lead_for(conn, contact.id)
    return lead is not None and touches.sales_activity_moved(cards.sales_snapshot_of(json.loads(lead.card)),
                                                             cards.sales_snapshot(contact))


def _portal_id(svc: Services, conn: Connection, plan: BatchPlan) -> str | None:
    """For record links: HUBSPOT_PORTAL_ID, else the portal the webhooks come from (remembered)."""
    if plan.portal_id and kv.get_setting(conn, "portal_id") != plan.portal_id:
        kv.put_setting(conn, "portal_id", plan.portal_id)
    return svc.settings.hubspot_portal_id or plan.portal_id or kv.get_setting(conn, "portal_id")


def _handle_contact(svc: Services, conn: Connection, contact_id: str, facts: BatchFacts, now: datetime) -> None:
    plan = facts.plan
    contact = facts.read.contacts.get(contact_id)
    if contact is None:
        _close_gone(conn, contact_id, now)
        return
    if contact.id != contact_id:   # HubSpot answered with the merge survivor
        leads.rekey_contact(conn, contact_id, contact.id, now)
    # What HubSpot's record says, plus the behaviour Handoff keeps itself (workflow webhooks, web analytics).
    activities = merged_trail(contact, facts.kept.get(contact.id, []))
    lead = leads.open_lead_for(conn, contact.id)
    # Hysteresis: a contact with an open lead stays an MQL down to mql_exit_threshold.
    score = score_contact(contact, activities, svc.config.scoring, now, was_mql=lead is not None)
    cause = ",".join(dict.fromkeys(plan.causes[contact_id]))
    leads.record_score(conn, score, cause)
    decision = lifecycle.decide(contact, score, lead.status if lead else None)
    log.info("contact=%s score=%s mql=%s decision=%s", contact.id, score.total, score.is_mql, decision)
    if decision == lifecycle.NEW_MQL:
        lead_id = _open_lead(svc, conn, contact, score, activities, facts.portal_id, now)
        if lead_id is not None:
            _record_mql(conn, lead_id, contact, score, cause, plan.first_seen.get(contact_id), now)
    elif decision == lifecycle.REFRESH:
        _refresh_lead(conn, lead, contact, score, activities, facts.engagements, now)
    else:
        _touch_without_lead(contact.id, plan.causes[contact_id])


def _touch_without_lead(contact_id: str, causes: list[str]) -> None:
    """A rep's call or email on a contact with no open lead: its cause is in the score history; no clock runs."""
    if any(cause.endswith(touches.SALES_ACTIVITY_PROPERTIES) for cause in causes):
        log.info("contact=%s sales activity with no open lead: kept in the score history, nothing escalated",
                 contact_id)


def _close_gone(conn: Connection, contact_id: str, now: datetime) -> None:
    lead = leads.open_lead_for(conn, contact_id)
    if lead and leads.close_lead(conn, lead.id, "Contact deleted or merged away in HubSpot", now):
        deadlines.cancel_for_lead(conn, lead.id, now)
        effects.refresh_cards(conn, lead.id, now)
        log.info("contact=%s gone from HubSpot: lead=%s closed", contact_id, lead.id)


def _open_lead(svc: Services, conn: Connection, contact: Contact, score, activities,
               portal_id: str | None, now: datetime) -> int | None:
    route = route_lead(contact, svc.config.routing, lambda name, size: kv.take_turn(conn, name, size), now,
                       route_state(svc, conn, now))
    card = cards.build_card(contact, score, activities, route, portal_id, None, None, now)
    lead_id = leads.create_lead(conn, contact_id=contact.id, portal_id=portal_id, score=score,
                                owner_id=route.owner_id, route_why=route.why, card=card, now=now)
    if lead_id is None:
        return None   # another worker opened it a moment ago
    past = journey.last_decision_for(conn, contact.id, before_lead=lead_id)
    leads.set_card(conn, lead_id, card | {"lead_id": lead_id, "past": cards.past_entry(past)}, now)
    effects.add_effect(conn, f"lead:{lead_id}:mql-writeback", "hubspot_update",
                       {"contact_id": contact.id, "properties": lifecycle.mql_writeback(contact, score, now)},
                       now, lead_id=lead_id)
    for target in ("assignee", "leads_channel"):
        effects.add_effect(conn, f"lead:{lead_id}:card:{target}", "slack_card",
                           {"lead_id": lead_id, "target": target}, now, lead_id=lead_id)
    start_clocks(svc, conn, lead_id, score.high_intent, now)
    log.info("contact=%s new MQL lead=%s owner=%s high_intent=%s", contact.id, lead_id,
             route.owner_id, score.high_intent)
    return lead_id


def route_state(svc: Services, conn: Connection, now: datetime) -> RouteState:
    """Who can take a lead now: reps away (/handoff away, or marked away after misses) and today's counts."""
    away_users = kv.away_reps(conn, now)
    owners = kv.known_slack_users(conn, svc.config.routing.slack_users)
    return RouteState(away=frozenset(owner for owner, user in owners.items() if user in away_users),
                      assigned_today=_assigned_today(svc, conn, now))


def _assigned_today(svc: Services, conn: Connection, now: datetime) -> dict[str, int]:
    """Leads each capped rep got since midnight in their own time zone (a Berlin rep's day is not New York's)."""
    routing, sla = svc.config.routing, svc.config.sla
    capped = [rep.owner for rep in routing.reps.values() if rep.daily_cap is not None]
    day_starts = {owner: start_of_local_day(now, calendar_of(sla, routing, owner).timezone) for owner in capped}
    if not day_starts:
        return {}
    routed = leads.routed_since(conn, min(day_starts.values()), list(day_starts))
    return {owner: sum(1 for at in times if at >= day_starts[owner]) for owner, times in routed.items()}


def _record_mql(conn: Connection, lead_id: int, contact: Contact, score, cause: str,
                first_seen: tuple[datetime, datetime] | None, now: datetime) -> None:
    """The ledger's first steps: the prospect acted, we heard of it, scored it, routed it."""
    occurred, received = first_seen or (now, now)
    journey.record(conn, lead_id, contact.id, "mql", now, None, occurred_at=occurred.isoformat(),
                   received_at=received.isoformat(), score=score.total, high_intent=score.high_intent,
                   rules=[reason.rule for reason in score.reasons], cause=cause,
                   source=contact.get("hs_analytics_source"), campaign=contact.get("hs_analytics_source_data_1"),
                   summary=score.summary)


def _refresh_lead(conn: Connection, lead: Row, contact: Contact, score, activities,
                  engagements: dict[str, list[Engagement] | None] | None, now: datetime) -> None:
    """New activity joins the open lead's card; a rep's call, email or meeting in HubSpot counts as a touch."""
    card = cards.refreshed_card(json.loads(lead.card), score, activities)
    before, after = cards.sales_snapshot_of(json.loads(lead.card)), cards.sales_snapshot(contact)
    moved = touches.sales_activity_moved(before, after)
    touched = _count_hubspot_touches(conn, lead, before, after, engagements, now) if moved else 0
    if card is not None or before != after:   # the snapshot is what the next change is measured against
        current = json.loads(leads.get_lead(conn, lead.id).card)
        leads.set_card(conn, lead.id, (card or current) | after, now)
    if card is not None or touched:
        effects.refresh_cards(conn, lead.id, now)


def _count_hubspot_touches(conn: Connection, lead: Row, before: dict, after: dict,
                           engagements: dict[str, list[Engagement] | None] | None, now: datetime) -> int:
    """Contact attempts made in HubSpot since the card's last look: the owner's engagements when readable,
    else what the sales-activity properties counted."""
    theirs = None if engagements is None else engagements.get(lead.contact_id)
    if theirs is None:
        found = touches.property_touches(before, after)
    else:
        counted, covered = touches.counted_so_far(conn, lead.id)
        owners = {lead.owner_id, kv.owner_for_slack_user(conn, lead.assignee) if lead.assignee else None}
        since = max(filter(None, (lead.became_mql_at, covered)))
        found = touches.engagement_touches(theirs, owners - {None}, since, counted)
    new_touches = touches.record_touches(conn, lead, now, found)
    if new_touches:
        actions.record_summary(conn, lead.id, now)   # HubSpot's summary fields (bot.summary)
    return new_touches


def _throttled(svc: Services, name: str, now: datetime) -> bool:
    with svc.engine.connect() as conn:
        until = kv.blocked_until(conn, name)
    return until is not None and until > now


def _retry_later(svc: Services, rows: Sequence[Row], now: datetime, error: Exception) -> None:
    """HubSpot trouble waits (Retry-After, else backoff) without using up attempts; a bug counts them."""
    retry_after = getattr(error, "retry_after", None)
    attempts = max(row.attempts for row in rows)
    with svc.engine.begin() as conn:
        if isinstance(error, IntegrationError) and error.status == 429:
            kv.block(conn, "hubspot", now + backoff(attempts, retry_after))
        if not isinstance(error, IntegrationError) and attempts >= MAX_ATTEMPTS:
            inbox.finish_events(conn, rows, now, state="dead")
            log.error("batch of %d events dead after %d attempts: %s", len(rows), attempts, error)
            return
        inbox.retry_events(conn, rows, now + backoff(attempts, retry_after), str(error))
    log.warning("batch of %d events retried later: %s", len(rows), error)
