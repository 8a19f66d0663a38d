"""PURE: the JSON snapshot a lead's Slack card renders from (stored on the lead, refreshed on new activity)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, Sequence

from bot.models import Activity, Contact, Route, Score, to_utc_iso

TRAIL_LENGTH = 10
ACTIVITY_WORDS = {
    "form_submission": "Submitted form “{label}”",
    "page_view": "{count} page views",
    "email_open": "Opened a marketing email",
    "email_click": "Clicked a marketing email",
    "meeting_booked": "Booked a meeting",
    "chat": "Chatted",
}


def hubspot_record_url(portal_id: str | None, contact_id: str) -> str | None:
    if not portal_id:
        return None
    return f"https://app.hubspot.com/contacts/{portal_id}/record/0-1/{contact_id}"


def build_card(contact: Contact, score: Score, activities: Sequence[Activity], route: Route,
               portal_id: str | None, lead_id: int | None, since: datetime | None,
               now: datetime) -> dict[str, Any]:
    """Everything a rep needs to start warm: who, why now, the score and its reasons, the trail."""
    return {
        "lead_id": lead_id, "contact_id": contact.id,
        "hubspot_url": hubspot_record_url(portal_id, contact.id),
        "name": contact.display_name, "title": contact.get("jobtitle"), "email": contact.get("email"),
        "company": contact.get("company.name") or contact.get("company"),
        "size": contact.get("company.numberofemployees") or contact.get("numemployees"),
        "industry": contact.get("company.industry") or contact.get("industry"),
        "country": contact.get("country") or contact.get("company.country"),
        "score": score.total, "fit": score.fit, "engagement": score.engagement,
        "high_intent": score.high_intent, "summary": score.summary,
        "reasons": [asdict(reason) for reason in score.reasons],
        "why_now": why_now(activities, since),
        "activities": [activity_entry(a) for a in list(activities)[:TRAIL_LENGTH]],
        "became_mql_at": to_utc_iso(now),
        "score_history": [{"at": to_utc_iso(now), "total": score.total}],
        "assignee": None, "owner_name": None, "route_why": route.why,
        "company_owner_id": contact.get("company.hubspot_owner_id"),
    } | sales_snapshot(contact)


def why_now(activities: Sequence[Activity], since: datetime | None) -> list[dict[str, str]]:
    """The triggering events: activity since the last score (or the newest activity when there was none)."""
    recent = [a for a in activities if since is None or a.occurred_at > since] or list(activities)[:1]
    return [{"label": describe(a), "occurred_at": to_utc_iso(a.occurred_at)} for a in recent[:5]]


def activity_entry(activity: Activity) -> dict[str, Any]:
    return {"kind": activity.kind, "label": activity.label, "count": activity.count,
            "occurred_at": to_utc_iso(activity.occurred_at), "text": describe(activity)}


def describe(activity: Activity) -> str:
    template = ACTIVITY_WORDS.get(activity.kind, "{label}")
    return template.format(label=activity.label or activity.kind, count=activity.count)


def refreshed_card(card: dict[str, Any], score: Score, activities: Sequence[Activity]) -> dict[str, Any] | None:
    """The card with new activity and score, or None when nothing a rep would see changed."""
    trail = [activity_entry(a) for a in list(activities)[:TRAIL_LENGTH]]
    if trail == card.get("activities") and score.total == card.get("score"):
        return None
    reasons = [asdict(r) for r in score.reasons]
    return card | {"activities": trail, "score": score.total, "fit": score.fit, "engagement": score.engagement,
                   "reasons": reasons, "changes_since_last_alert": changes(card, score.total, reasons),
                   "score_history": (card.get("score_history") or [])[-9:] + [
                       {"at": to_utc_iso(score.computed_at), "total": score.total}]}


def changes(card: dict[str, Any], total: float, reasons: list[dict[str, Any]]) -> list[str]:
    """What changed since the alert, in a rep's words: the score, and the rules that now fire or stopped."""
    before = {r["rule"]: r["points"] for r in card.get("reasons") or []}
    after = {r["rule"]: r["points"] for r in reasons}
    lines = [f"Score {card.get('score', 0):g} → {total:g}"] if total != card.get("score") else []
    lines += [f"New: {rule} ({after[rule]:+g})" for rule in after if rule not in before]
    lines += [f"No longer: {rule}" for rule in before if rule not in after]
    return (card.get("changes_since_last_alert") or []) + lines if lines else card.get("changes_since_last_alert", [])


def past_entry(decision: dict[str, Any] | None) -> dict[str, Any] | None:
    """A returning lead's previous outcome, for "Disqualified 34 days ago: No budget"."""
    if not decision:
        return None
    outcome = {"sql": "sql", "not_yet": "nurture", "no_response": "recycled"}.get(decision.get("outcome"),
                                                                                  decision.get("outcome"))
    return {"outcome": outcome, "reason": decision.get("reason"), "at": to_utc_iso(decision["at"])}


def sales_snapshot(contact: Contact) -> dict[str, Any]:
    """What HubSpot says of the reps' work on the contact: touches counted there, last activity, connected."""
    return {"sales_touches": contact.get("num_contacted_notes"),
            "last_sales_activity": contact.get("hs_last_sales_activity_timestamp")
            or contact.get("notes_last_contacted"),
            "connected": contact.get("hs_lead_status") == "CONNECTED"}


def sales_snapshot_of(card: dict[str, Any]) -> dict[str, Any]:
    return {key: card.get(key) for key in ("sales_touches", "last_sales_activity", "connected")}
