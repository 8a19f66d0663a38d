"""HubSpot's web-analytics events as a third activity source (after the contact record and workflow webhooks).

Asked only where the answer can matter, because each contact costs a call of the shared HubSpot budget: a
contact scoring within `near_threshold` points below mql_threshold (its page views with their URL may make
it an MQL), or any open lead when `open_leads` is on; never twice for a contact within `every`; from the
newest event already kept (incremental), the first time `lookback` back. A portal whose plan or token lacks
the API (403/404) is remembered for `recheck_unavailable` and not asked meanwhile: one log line, no storm.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Mapping

from bot.activities import ANALYTICS, activities_from_events, merged_trail
from bot.models import Activity, Contact
from bot.rules.analytics import AnalyticsEvents
from bot.rules.scoring import ScoringRules
from bot.scoring import score_contact
from bot.services import Services, backoff
from bot.store import kv, leads, timeline
from integrations.errors import IntegrationError

log = logging.getLogger("handoff.web_events")
UNAVAILABLE = "hubspot-web-events"   # the throttle that remembers a portal without the API
MAX_PAGES = 3                        # per contact per fetch; the rest waits for the next one (the cursor stays)
_FETCHED = "web-events-fetched:"     # settings key prefix: when a contact's events were last asked for
_MISSING = frozenset({403, 404})     # no scope, or a portal below Enterprise: not an error of ours


def fetch_for_batch(svc: Services, contacts: Mapping[str, Contact], now: datetime) -> int:
    """Fetch and keep the events of the batch's contacts that are worth it; how many new activities were kept.
    A failure here never fails the batch: events are an enrichment, the next batch asks again."""
    settings = svc.config.scoring.analytics_events
    if settings is None or not contacts or svc.crm is None:
        return 0
    with svc.engine.connect() as conn:
        if (kv.blocked_until(conn, UNAVAILABLE) or now) > now:
            return 0
        due = _contacts_due(conn, svc.config.scoring, settings, list(contacts.values()), now)
        resume = timeline.newest_from(conn, due, ANALYTICS)
    kept = 0
    for contact_id in due:
        try:
            kept += _fetch_one(svc, settings, contact_id, resume.get(contact_id), now)
        except IntegrationError as error:
            _stop(svc, error, now)
            break
    return kept


def worth_fetching(total: float, has_open_lead: bool, rules: ScoringRules, settings: AnalyticsEvents) -> bool:
    """PURE: could this contact's web events change what Handoff decides or shows?"""
    if has_open_lead and settings.open_leads:
        return True
    return rules.mql_threshold - settings.near_threshold <= total < rules.mql_threshold


def _contacts_due(conn, rules: ScoringRules, settings: AnalyticsEvents, contacts: list[Contact],
                  now: datetime) -> list[str]:
    ids = [contact.id for contact in contacts]
    kept = timeline.recent_activities(conn, ids, now)
    due = []
    for contact in contacts:
        has_lead = leads.open_lead_for(conn, contact.id) is not None
        score = score_contact(contact, merged_trail(contact, kept.get(contact.id, [])), rules, now,
                              was_mql=has_lead, explain=False)
        if worth_fetching(score.total, has_lead, rules, settings) and _not_fetched_since(conn, contact.id,
                                                                                         now - settings.every):
            due.append(contact.id)
    return due


def _not_fetched_since(conn, contact_id: str, since: datetime) -> bool:
    fetched = kv.get_setting(conn, _FETCHED + contact_id)
    return fetched is None or datetime.fromisoformat(fetched) <= since


def _fetch_one(svc: Services, settings: AnalyticsEvents, contact_id: str, newest: datetime | None,
               now: datetime) -> int:
    """Up to MAX_PAGES pages, oldest first; each page is kept as it arrives, so a failure loses nothing read."""
    # From the newest kept event, a millisecond early: an event sharing its instant is not skipped (dedupe
    # keys make the one seen already a no-op).
    since = newest - timedelta(milliseconds=1) if newest else now - settings.lookback
    only = next(iter(settings.event_types)) if len(settings.event_types) == 1 else None
    kept, after = 0, None
    for _ in range(MAX_PAGES):
        page = svc.crm.read_analytics_events(contact_id, since, only, after=after)
        kept += _keep(svc, contact_id, activities_from_events(page.events, settings.event_types), now)
        after = page.next_after
        if after is None:
            break
    with svc.engine.begin() as conn:
        kv.put_setting(conn, _FETCHED + contact_id, now.isoformat())
    log.info("contact=%s web analytics events: %d new", contact_id, kept)
    return kept


def _keep(svc: Services, contact_id: str, keyed: list[tuple[str, Activity]], now: datetime) -> int:
    with svc.engine.begin() as conn:
        return timeline.add_activities(conn, contact_id, keyed, now)


def _stop(svc: Services, error: IntegrationError, now: datetime) -> None:
    """No scope or no feature: remember it. Rate limited: the whole HubSpot budget waits. Else: next batch."""
    with svc.engine.begin() as conn:
        if error.status in _MISSING:
            until = now + svc.config.scoring.analytics_events.recheck_unavailable
            kv.block(conn, UNAVAILABLE, until)
            log.warning("HubSpot's web analytics events API is not available to this app (HTTP %s: a scope "
                        "missing, or the portal is below Enterprise): not asked again until %s",
                        error.status, until.isoformat())
            return
        if error.status == 429:
            kv.block(conn, "hubspot", now + backoff(1, error.retry_after))
    log.warning("web analytics events not read this time: %s", error)
