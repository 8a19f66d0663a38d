"""Executes recorded side effects: HubSpot batch writes and Slack posts/updates. run_one_batch() -> bool.

Each effect row has a unique key, so a decision replayed after a crash never records a second post.
A Slack post whose outcome is unknown (connection lost after sending) is looked up by that key in the
channel's history before it is posted again.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Callable, Sequence

from sqlalchemy import Connection
from sqlalchemy.engine import Row

from bot import actions, review, slack_blocks, slack_views
from bot.routing import explicit_slack_user
from bot.services import Services, backoff
from bot.store import effects, journey, kv, leads
from integrations.errors import IntegrationError

log = logging.getLogger("handoff.outbox")
MAX_ATTEMPTS = 12
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="outbox")


def run_one_batch(svc: Services, now: datetime | None = None) -> bool:
    """Claim due effects and perform them; False when there was nothing due."""
    now = now or svc.clock()
    with svc.engine.begin() as conn:
        rows = effects.claim_effects(conn, now, lease=timedelta(seconds=svc.settings.lease_seconds))
    if not rows:
        return False
    # Slack first, several at a time: speed to lead is measured at the rep's screen, and each effect is
    # independent of the others; the CRM write-back follows in one batch.
    slack_rows = [row for row in rows if row.kind != "hubspot_update"]
    list(_POOL.map(lambda row: _run_one(svc, row, now), slack_rows))
    writes = [r for r in rows if r.kind == "hubspot_update"]
    if writes:
        _run_hubspot_updates(svc, writes, now)
    return True


def _run_hubspot_updates(svc: Services, rows: Sequence[Row], now: datetime) -> None:
    """All due contact writes in one batch update per 100 (HubSpot's batch limit and our rate budget)."""
    if svc.crm is None:
        _finish_all(svc, rows, now, "skipped", {"reason": "HubSpot is not configured"})
        return
    if _blocked(svc, "hubspot", rows, now):
        return
    updates: dict[str, dict[str, str]] = {}
    with svc.engine.connect() as conn:
        for row in rows:   # two writes to one contact in one batch: merge them, later wins
            payload = effects.payload_of(row)
            updates.setdefault(payload["contact_id"], {}).update(_properties_now(conn, payload))
    try:
        missing = svc.crm.update_contacts(updates)
    except IntegrationError as error:
        for row in rows:
            _failed(svc, row, now, error, "hubspot")
        return
    with svc.engine.begin() as conn:
        for row in rows:
            contact_id = effects.payload_of(row)["contact_id"]
            effects.complete_effect(conn, row, now, {"missing": contact_id in missing})
    log.info("hubspot write-back: contacts=%d missing=%d", len(updates), len(missing))


def _properties_now(conn: Connection, payload: dict) -> dict[str, str]:
    """What to write: the payload's properties, or for a lead's summary the summary as it stands now (a write
    retried after a newer one succeeded must not put older figures back)."""
    lead_id = payload.get("summary_of_lead")
    lead = leads.get_lead(conn, lead_id) if lead_id is not None else None
    return actions.current_summary(conn, lead) if lead is not None else payload["properties"]


def _run_one(svc: Services, row: Row, now: datetime) -> None:
    service, perform = EFFECTS[row.kind]
    if (svc.slack if service == "slack" else svc.crm) is None:
        _finish_all(svc, [row], now, "skipped", {"reason": f"{service} is not configured"})
        return
    if _blocked(svc, service, [row], now):
        return
    try:
        result = perform(svc, row, now)
    except IntegrationError as error:
        _failed(svc, row, now, error, service)
        return
    except Exception as error:   # a bug in one effect must not stop the others
        log.exception("effect %s failed", row.key)
        _failed(svc, row, now, error, None)
        return
    step = result.pop("journey", None)
    with svc.engine.begin() as conn:   # one commit for the record and the step it adds to the lead's journey
        effects.complete_effect(conn, row, now, result, state="skipped" if result.get("skipped") else "done")
        if step:
            journey.record(conn, step.pop("lead_id"), step.pop("contact_id"), step.pop("kind"), step.pop("at"),
                           step.pop("actor"), **step)


def _post_card(svc: Services, row: Row, now: datetime) -> dict:
    """The lead's card to its rep (DM; the fallback channel when they have no Slack user) or the leads channel."""
    payload = effects.payload_of(row)
    lead = _lead_with_assignee(svc, payload["lead_id"], now)
    if lead.status == "closed":
        return {"skipped": f"lead closed before its card went out: {lead.closed_reason}"}
    channel = _card_channel(svc, lead, payload["target"])
    if channel is None:
        return {"skipped": "the fallback channel is the leads channel, which gets the card anyway"}
    text, blocks = slack_blocks.alert_message(leads.card_of(lead), leads.lead_state(lead), now)
    posted = svc.slack.post_message(channel=channel, text=text, blocks=blocks, effect_key=row.key,
                                    look_for_duplicate=row.attempts > 1)
    log.info("lead=%s card posted to %s", lead.id, payload["target"])
    return {"channel": posted.channel, "ts": posted.ts,
            "journey": {"lead_id": lead.id, "contact_id": lead.contact_id, "kind": "alerted", "at": svc.clock(),
                        "actor": lead.assignee, "target": payload["target"]}}


def _card_channel(svc: Services, lead: Row, target: str) -> str | None:
    channels = svc.config.routing
    if target == "leads_channel":
        return channels.leads_channel
    if lead.assignee:
        return svc.slack.open_dm(lead.assignee)
    return None if channels.fallback_channel == channels.leads_channel else channels.fallback_channel


def _update_cards(svc: Services, row: Row, now: datetime) -> dict:
    """Edit every posted copy of the card in place so it tells the lead's current state."""
    lead_id = effects.payload_of(row)["lead_id"]
    with svc.engine.connect() as conn:
        lead = leads.get_lead(conn, lead_id)
        posted = effects.posted_messages(conn, lead_id)
    text, blocks = slack_blocks.alert_message(leads.card_of(lead), leads.lead_state(lead), now)
    for message in posted:
        svc.slack.update_message(channel=message["channel"], ts=message["ts"], text=text, blocks=blocks)
    return {"updated": len(posted)}


def _post_notice(svc: Services, row: Row, now: datetime) -> dict:
    """An SLA step or an SDR-loop notice. A ladder step is skipped once its clock stopped (accepted, touched,
    decided): the sweeper decided it while the clock ran, and the rep may have acted since."""
    payload = effects.payload_of(row)
    lead = _lead_with_assignee(svc, payload["lead_id"], now)
    if payload["action"] in ("remind_sdr", "notify_managers") and not _clock_running(payload, lead):
        return {"skipped": f"lead is {lead.status}"}
    channel, (text, blocks) = NOTICES[payload["action"]](svc, lead, payload, now)
    posted = svc.slack.post_message(channel=channel, text=text, blocks=blocks, effect_key=row.key,
                                    thread_ts=_card_thread(svc, lead.id, channel, payload["action"]),
                                    look_for_duplicate=row.attempts > 1)
    log.info("lead=%s notice %s posted", lead.id, payload["action"])
    return {"channel": posted.channel, "ts": posted.ts}


def _card_thread(svc: Services, lead_id: int, channel: str, action: str) -> str | None:
    """A reminder goes in the thread of the rep's card, so the card keeps the lead's whole story."""
    if action != "remind_sdr":
        return None
    with svc.engine.connect() as conn:
        cards_here = [m for m in effects.posted_messages(conn, lead_id) if m.get("channel") == channel]
    return cards_here[-1]["ts"] if cards_here else None


def _clock_running(payload: dict, lead: Row) -> bool:
    if payload.get("kind", "accept") == "accept":
        return lead.status == "new"
    return lead.status in leads.OPEN_STATUSES and (payload.get("kind") != "first_touch" or lead.touches == 0)


def _reminder(svc: Services, lead: Row, payload: dict, now: datetime):
    channel = svc.slack.open_dm(lead.assignee) if lead.assignee else svc.config.routing.fallback_channel
    text, blocks = slack_blocks.reminder_message(leads.card_of(lead), now)
    if payload.get("kind") == "first_touch":
        text, blocks = _with_line(text, blocks, ":telephone_receiver: The first contact attempt is due now: "
                                                "log it with *Log touch* once made.")
    return channel, (text, blocks)


def _escalation(svc: Services, lead: Row, payload: dict, now: datetime):
    text, blocks = slack_blocks.escalation_message(leads.card_of(lead), now)
    with svc.engine.connect() as conn:
        breaches = journey.breaches(conn, lead.id)
    if breaches:   # why it was late: our delay, availability, or the rep (shown, and kept for the reports)
        last = breaches[-1]
        text, blocks = _with_line(text, blocks, f"Why late ({last['cause']}): {slack_blocks.esc(last['words'])}")
    return svc.config.routing.manager_channel, (text, blocks)


def _revisit(svc: Services, lead: Row, payload: dict, now: datetime):
    return svc.config.routing.ops_channel, slack_views.revisit_message(leads.card_of(lead), leads.lead_state(lead), now)


def _recycled(svc: Services, lead: Row, payload: dict, now: datetime):
    name = slack_blocks.esc_clip(slack_blocks.contact_name(leads.card_of(lead)), 200)
    text = f"Recycled to nurture: {name} — {slack_blocks.esc(lead.decision_reason or 'no response')}"
    return svc.config.routing.ops_channel, (text, None)


def _rep_away(svc: Services, lead: Row, payload: dict, now: datetime):
    text = (f"<@{lead.assignee}> missed {payload.get('misses')} SLA deadlines today and is marked away for the "
            "rest of the day. `/handoff back` undoes it.")
    return svc.config.routing.manager_channel, (text, None)


NOTICES = {"remind_sdr": _reminder, "notify_managers": _escalation, "revisit_due": _revisit,
           "recycled": _recycled, "rep_marked_away": _rep_away}


def _with_line(text: str, blocks: list[dict] | None, line: str) -> tuple[str, list[dict]]:
    """The message with one more context line (our words only; CRM text is escaped by the caller)."""
    extra = {"type": "context", "elements": [{"type": "mrkdwn", "text": line, "verbatim": True}]}
    return text, list(blocks or []) + [extra]


def _post_ae_handoff(svc: Services, row: Row, now: datetime) -> dict:
    """The AE's DM: the whole context and the BANT summary, so the discovery call starts warm. An AE nobody mapped
    is found by their HubSpot email; one without a Slack user gets it in the fallback channel, named."""
    lead = _lead_with_ae(svc, effects.payload_of(row)["lead_id"], now)
    text, blocks = slack_views.ae_handoff_message(leads.card_of(lead), leads.lead_state(lead), now)
    if lead.ae_user:
        channel = svc.slack.open_dm(lead.ae_user)
    else:
        channel = svc.config.routing.fallback_channel
        text = f"No Slack user for AE (HubSpot owner {lead.ae_owner_id}): please pass this SQL on. {text}"
    posted = svc.slack.post_message(channel=channel, text=text, blocks=blocks, effect_key=row.key,
                                    look_for_duplicate=row.attempts > 1)
    log.info("lead=%s handed to its AE%s", lead.id, "" if lead.ae_user else " (fallback channel)")
    return {"channel": posted.channel, "ts": posted.ts}


def _create_note(svc: Services, row: Row, now: datetime) -> dict:
    """A note on the contact, once. HubSpot has no idempotency key for creates, so the note carries its effect
    key, and a retry (an earlier answer may have been lost after HubSpot stored it) looks for it first."""
    payload = effects.payload_of(row)
    marker = f"(Handoff ref {row.key})"
    if row.attempts > 1:
        existing = svc.crm.find_note(payload["contact_id"], marker)
        if existing:
            return {"note_id": existing, "found": True}
    note_id = svc.crm.create_note(payload["contact_id"], f"{payload['body']} {marker}", payload["at"])
    return {"note_id": note_id}


def _post_ops_notice(svc: Services, row: Row, now: datetime) -> dict:
    """A plain notice to marketing ops' channel (a refused config edit): our words, Slack-escaped."""
    text = slack_blocks.esc(effects.payload_of(row)["text"])
    posted = svc.slack.post_message(channel=svc.config.routing.ops_channel, text=text, blocks=None,
                                    effect_key=row.key, look_for_duplicate=row.attempts > 1)
    return {"channel": posted.channel, "ts": posted.ts}


EFFECTS = {"slack_card": ("slack", _post_card), "slack_update_card": ("slack", _update_cards),
           "slack_notice": ("slack", _post_notice), "slack_ae_handoff": ("slack", _post_ae_handoff),
           "hubspot_note": ("hubspot", _create_note), "slack_ops_notice": ("slack", _post_ops_notice),
           review.REVIEW_KIND: ("slack", review.post_review), review.CHART_KIND: ("slack", review.post_chart)}


def _lead_with_assignee(svc: Services, lead_id: int, now: datetime) -> Row:
    """The lead, with its owner's Slack user resolved once (explicit mapping, cache, then email lookup)."""
    return _lead_with_user(svc, lead_id, now, "owner_id", "assignee", leads.set_assignee)


def _lead_with_ae(svc: Services, lead_id: int, now: datetime) -> Row:
    """The lead, with its AE's Slack user resolved the same way (an AE nobody mapped is found by email)."""
    return _lead_with_user(svc, lead_id, now, "ae_owner_id", "ae_user",
                           lambda conn, lead, user, _name, at: leads.set_ae_user(conn, lead, user, at))


def _lead_with_user(svc: Services, lead_id: int, now: datetime, owner_column: str, user_column: str,
                    save: Callable[..., None]) -> Row:
    with svc.engine.connect() as conn:
        lead = leads.get_lead(conn, lead_id)
    if getattr(lead, user_column) or not getattr(lead, owner_column):
        return lead
    user_id, owner_name = _slack_user_for_owner(svc, getattr(lead, owner_column), now)
    with svc.engine.begin() as conn:
        save(conn, lead_id, user_id, owner_name, now)
        return leads.get_lead(conn, lead_id)


def _slack_user_for_owner(svc: Services, owner_id: str, now: datetime) -> tuple[str | None, str | None]:
    explicit = explicit_slack_user(owner_id, svc.config.routing)
    with svc.engine.connect() as conn:
        hit, user_id, name = kv.cached_slack_user(conn, owner_id, now)
    if not hit:
        user_id, name = _look_up_owner(svc, owner_id, by_email=explicit is None)
        with svc.engine.begin() as conn:
            kv.cache_slack_user(conn, owner_id, user_id, name, now)
        log.info("owner=%s slack user %s", owner_id, "found" if explicit or user_id else "not found")
    return explicit or user_id, name


def _look_up_owner(svc: Services, owner_id: str, by_email: bool) -> tuple[str | None, str | None]:
    """HubSpot owner -> (Slack user by the owner's email, the owner's name)."""
    owner = svc.crm.get_owner(owner_id) if svc.crm else None
    if owner is None:
        return None, None
    name = " ".join(part for part in (owner.first_name, owner.last_name) if part) or None
    user_id = svc.slack.lookup_user_by_email(owner.email) if by_email and owner.email else None
    return user_id, name


def _blocked(svc: Services, name: str, rows: Sequence[Row], now: datetime) -> bool:
    """After a 429 every process waits: push the effects to the end of the pause without counting it."""
    with svc.engine.begin() as conn:
        until = kv.blocked_until(conn, name)
        if until is None or until <= now:
            return False
        for row in rows:
            effects.retry_effect(conn, row, until, f"{name} rate limited")
    return True


def _failed(svc: Services, row: Row, now: datetime, error: Exception, service: str | None) -> None:
    permanent = isinstance(error, IntegrationError) and error.permanent
    retry_after = getattr(error, "retry_after", None)
    with svc.engine.begin() as conn:
        if service and isinstance(error, IntegrationError) and error.status == 429:
            kv.block(conn, service, now + backoff(row.attempts, retry_after))
        if permanent or row.attempts >= MAX_ATTEMPTS:
            effects.fail_effect(conn, row, now, str(error))
            log.error("effect %s failed for good: %s", row.key, error)
            return
        effects.retry_effect(conn, row, now + backoff(row.attempts, retry_after), str(error))
    log.warning("effect %s retried later: %s", row.key, error)


def _finish_all(svc: Services, rows: Sequence[Row], now: datetime, state: str, result: dict) -> None:
    with svc.engine.begin() as conn:
        for row in rows:
            effects.complete_effect(conn, row, now, result, state=state)
