"""HubSpot's web-analytics events as a third activity source (after the contact record and workflow webhooks).

Asked only where the answer can matter, because each contact costs a call of the shared HubSpot budget: a
contact scoring within `near_threshold` points below mql_threshold (its page views with their URL may make
it an MQL), or any open lead when `open_leads` is on; never twice for a contact within `every`; from the
newest event already kept (incremental), the first time `lookback` back. A portal whose plan or token lacks
the API (403/404) is remembered for `recheck_unavailable` and not asked meanwhile: one log line, no storm.

The fetch runs inside the batch's lease and stops before its share of it is spent (TimeBox), so the batch
can finish while its lease holds rather than be taken over by another worker mid-way; the contacts not reached
are put back through scoring (an inbox event keyed by contact and claim), so none is skipped. When a contact was last asked is kept per contact
in settings_kv; marks older than `lookback` are swept a page at a time (prune_fetch_marks).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping

from sqlalchemy import Connection, select, tuple_

from bot.activities import ANALYTICS, activities_from_events, merged_trail
from bot.models import Activity, Contact
from bot.rules.analytics import AnalyticsEvents
from bot.rules.scoring import ScoringRules
from bot.scoring import score_contact
from bot.services import Services, backoff
from bot.store import inbox, kv, leads, timeline
from bot.store.schema import settings_kv
from integrations.errors import IntegrationError

log = logging.getLogger("handoff.web_events")
UNAVAILABLE = "hubspot-web-events"   # the throttle that remembers a portal without the API
MAX_PAGES = 3                        # per contact per fetch; the rest waits for the next one (the cursor stays)
_FETCHED = "web-events-fetched:"     # settings key prefix: when a contact's events were last asked for
_MISSING = frozenset({403, 404})     # no scope, or a portal below Enterprise: not an error of ours
_PRUNE_CURSOR = "web-events-prune-after"   # settings key: the last fetch mark the sweep looked at
PRUNE_PAGE = 200                     # fetch marks looked at per sweep step (a batch adds at most 100)


@dataclass
class TimeBox:
    """The part of a batch's lease the fetch may use: a time.monotonic() deadline (durations, so a wall clock
    that jumps cannot stretch it), and the claim it runs under, which names the events of its deferrals."""
    ends: float
    claim: str
    slowest: float = 0.0             # the slowest call so far: the next one is started only if it would fit
    calls: int = 0

    def fits_another_call(self) -> bool:
        return time.monotonic() + self.slowest <= self.ends

    def timed(self, started: float) -> None:
        self.calls += 1
        self.slowest = max(self.slowest, time.monotonic() - started)


def fetch_for_batch(svc: Services, contacts: Mapping[str, Contact], now: datetime, box: TimeBox | None = None) -> int:
    """Fetch and keep the events of the batch's contacts that are worth it; how many new activities were kept.
    A failure here never fails the batch: events are an enrichment, the next batch asks again. Past `box`'s
    end, the contacts not reached go back to the inbox (defer) instead of outlasting the batch's lease."""
    settings = svc.config.scoring.analytics_events
    if settings is None or not contacts or svc.crm is None:
        return 0
    with svc.engine.begin() as conn:   # each fetch round sweeps one page of old marks: bounded work, no job
        prune_fetch_marks(conn, now - max(settings.lookback, settings.every))
    with svc.engine.connect() as conn:
        if (kv.blocked_until(conn, UNAVAILABLE) or now) > now:
            return 0
        due = _contacts_due(conn, svc.config.scoring, settings, list(contacts.values()), now)
        resume = timeline.newest_from(conn, due, ANALYTICS)
    kept = 0
    for done, contact_id in enumerate(due):
        try:
            found, finished = _fetch_one(svc, settings, contact_id, resume.get(contact_id), now, box)
        except IntegrationError as error:
            _stop(svc, error, now)
            break
        kept += found
        if not finished:
            _defer(svc, due[done:], box, now)
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
               now: datetime, box: TimeBox | None) -> tuple[int, bool]:
    """Up to MAX_PAGES pages, oldest first; each page is kept as it arrives, so a failure loses nothing read.
    (new activities kept, whether the contact was finished: False when `box` had no room for a page)."""
    # From the newest kept event, a millisecond early: an event sharing its instant is not skipped (dedupe
    # keys make the one seen already a no-op).
    since = newest - timedelta(milliseconds=1) if newest else now - settings.lookback
    only = next(iter(settings.event_types)) if len(settings.event_types) == 1 else None
    kept, after = 0, None
    for _ in range(MAX_PAGES):
        if box is not None and not box.fits_another_call():
            return kept, False     # not marked fetched: the pages kept are where the next fetch resumes
        started = time.monotonic()
        page = svc.crm.read_analytics_events(contact_id, since, only, after=after)
        if box is not None:
            box.timed(started)
        kept += _keep(svc, contact_id, activities_from_events(page.events, settings.event_types), now)
        after = page.next_after
        if after is None:
            break
    with svc.engine.begin() as conn:
        kv.put_setting(conn, _FETCHED + contact_id, now.isoformat())
    log.info("contact=%s web analytics events: %d new", contact_id, kept)
    return kept, True


def _defer(svc: Services, contact_ids: list[str], box: TimeBox, now: datetime) -> None:
    """Out of time: the contacts not reached are scored again from the inbox, where their fetch comes due.
    Keyed by contact and claim, so a batch replayed under the same claim adds nothing twice. A batch that
    reached none leaves them for their next change: re-queueing it as it was would only loop."""
    if box.calls == 0:
        log.warning("web analytics events: no time left in the batch's lease for %d contacts; asked at their "
                    "next change", len(contact_ids))
        return
    with svc.engine.begin() as conn:
        portal_id = svc.settings.hubspot_portal_id or kv.get_setting(conn, "portal_id")
        for contact_id in contact_ids:
            inbox.enqueue_rescore(conn, contact_id, f"web-events:{contact_id}:{box.claim}", portal_id, now)
    log.info("web analytics events: the batch's lease is running out; %d contacts fetched in the next round",
             len(contact_ids))


def prune_fetch_marks(conn: Connection, older_than: datetime, limit: int = PRUNE_PAGE) -> int:
    """Delete the fetch marks from before `older_than` among the next `limit` after the sweep's cursor (key
    order, the primary key's index), and move the cursor on, back to the start at the end. Each call reads one
    index range however many contacts were ever asked about; a mark that old decides nothing (it is older than
    `every`, and the first fetch reaches back `lookback` anyway). How many were deleted."""
    after = kv.get_setting(conn, _PRUNE_CURSOR) or ""
    marks = conn.execute(select(settings_kv.c.key, settings_kv.c.value)
                         .where(settings_kv.c.key > after, settings_kv.c.key.startswith(_FETCHED, autoescape=True))
                         .order_by(settings_kv.c.key).limit(limit)).all()
    stale = [(mark.key, mark.value) for mark in marks if _fetched_before(mark.value, older_than)]
    if stale:   # key AND value: a mark a worker renewed since it was read here stays
        conn.execute(settings_kv.delete().where(tuple_(settings_kv.c.key, settings_kv.c.value).in_(stale)))
    kv.put_setting(conn, _PRUNE_CURSOR, marks[-1].key if len(marks) == limit else "")
    return len(stale)


def _fetched_before(value: str, moment: datetime) -> bool:
    try:
        return datetime.fromisoformat(value) < moment
    except ValueError:
        return True      # not a time this module wrote: nothing reads it as one either


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
