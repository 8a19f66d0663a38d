"""PURE: Block Kit for lead alerts, reminders and escalations, as plain dicts.

CRM text is attacker-controllable (web forms), so every CRM value is cleaned (control and
bidi-override characters dropped), escaped for mrkdwn (`&`, `<`, `>`; specs/slack.md §8) and
clipped *after* escaping so that no limit of specs/slack.md §5 can be exceeded and no entity is
cut in half. mrkdwn objects carry `verbatim: true` so Slack never auto-links or auto-mentions.
`<…>` tokens are only ever built by `link()` and `mention()`.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

from bot.models import parse_hubspot_time
from bot.timefmt import ago, duration_words

ACCEPT_ACTION_ID = "accept_lead"
FAST_LANE = ":zap: *Fast lane*: high-intent signal, accept right away"
ACTIONS_BLOCK_ID = "lead_actions"

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
BUTTON_VALUE_LIMIT = 2000
FALLBACK_LIMIT = 1000        # notifications show a line or two; Slack itself allows 40k
LINE_LIMIT = 300             # one bullet line, so a single huge value cannot crowd out the rest
URL_LIMIT = 1000             # a record link is ~60 chars; longer is not a link we made
TOP_REASONS = 5
WHY_NOW_ITEMS = 5
ACTIVITY_ITEMS = 10

# Bidi embeddings/overrides/isolates and marks: they can make "gro.live" read as "evil.org".
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")      # exactly Unicode category Cc
_SAFE_URL = re.compile(r"https?://[^\s|<>]+", re.IGNORECASE)
_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_ACTIVITY_WORDS = {
    "form_submission": "Form submitted", "page_view": "Page view", "email_open": "Email open",
    "email_click": "Email click", "meeting_booked": "Meeting booked", "chat": "Chat",
}


# --- text helpers ---------------------------------------------------------------------------

def esc(text: str) -> str:
    """Escape Slack's three control characters, `&` first so entities are not double-escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut with a trailing ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def clean(value: Any) -> str:
    """CRM value as one line: bidi controls dropped, other control characters and runs of whitespace -> one space."""
    text = "" if value is None else str(value)
    return " ".join(_CONTROL.sub(" ", _BIDI.sub("", text)).split())


def esc_clip(value: Any, limit: int) -> str:
    """Cleaned, escaped CRM text of at most `limit` characters; never cuts an `&amp;` in half."""
    text = clean(value)
    escaped = esc(text)
    if len(escaped) <= limit:
        return escaped
    pieces, size = [], 0
    for char in text[:limit]:
        piece = esc(char)
        if size + len(piece) > limit - 1:
            break
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces).rstrip() + "…"


def link(url: Any, label: Any) -> str:
    """`<url|label>` for a plain http(s) url; anything else renders as the escaped label, never as a link."""
    target = clean(url)
    text = esc_clip(label, LINE_LIMIT)
    if not _SAFE_URL.fullmatch(target) or len(target) > URL_LIMIT:
        return text
    text = text.replace("|", "")
    return f"<{esc(target)}|{text}>" if text else f"<{esc(target)}>"


def mention(user_id: Any) -> str:
    """`<@U…>` for a well-formed Slack user id; anything else renders as inert escaped text."""
    if isinstance(user_id, str) and _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return esc_clip(user_id, LINE_LIMIT)


def not_assignee_text(assignee: str | None) -> str:
    """The ephemeral answer to someone other than the assignee pressing Accept."""
    if assignee is None:
        return "This lead is not assigned to you."
    return f"This lead is assigned to {mention(assignee)}."


# --- public messages ------------------------------------------------------------------------

def alert_message(card: Mapping[str, Any], state: Mapping[str, Any], now: datetime) -> tuple[str, list[dict]]:
    """The lead alert (fallback text, blocks) for the card in its current state."""
    fast_lane = [_context(FAST_LANE)] if card.get("high_intent") else []
    why_now = _listed("*Why now*", card.get("why_now"), lambda event: _why_now_line(event, now), WHY_NOW_ITEMS)
    trail = _listed("*Recent activity*", card.get("activities"), lambda act: _activity_line(act, now), ACTIVITY_ITEMS)
    blocks = [_header(_contact_name(card)), *fast_lane, *_summary(card, _section), _who_section(card),
              *why_now, _score_section(card), *trail, _context(_assignment_text(card)), _status_block(card, state)]
    return _alert_fallback(card, state), blocks


def reminder_message(card: Mapping[str, Any], now: datetime) -> tuple[str, list[dict]]:
    """The DM nudging the assigned SDR: the lead is not accepted yet and has waited this long."""
    waited = _waited(card, now)
    name = esc_clip(_contact_name(card), LINE_LIMIT)
    waiting = f", waiting {waited}" if waited else ""
    text = f":alarm_clock: *{name}* is still waiting for you: not accepted yet{waiting}."
    blocks = [_section(_lines([text, _who_line(card), _hubspot_link(card)])), *_summary(card, _context),
              _accept_actions(card)]
    since = f" ({waited})" if waited else ""
    return _fallback(f"Reminder: {_contact_name(card)} is waiting for you{since}"), blocks


def escalation_message(card: Mapping[str, Any], now: datetime) -> tuple[str, list[dict]]:
    """The managers' channel notice: the lead, its assignee and how long it has waited unaccepted."""
    waited = _waited(card, now)
    name = esc_clip(_contact_name(card), LINE_LIMIT)
    text = (f":rotating_light: *{name}* has waited {waited} without being accepted." if waited
            else f":rotating_light: *{name}* has not been accepted yet.")
    lines = [text, _who_line(card), _assignment_text(card), _hubspot_link(card)]
    blocks = [_section(_lines(lines)), *_summary(card, _context)]
    waiting = f" for {waited}" if waited else ""
    return _fallback(f"Escalation: {_contact_name(card)} not accepted{waiting}"), blocks


# --- block builders -------------------------------------------------------------------------

def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _header(name: str) -> dict:
    # plain_text is never parsed, so CRM text goes in unescaped (specs/slack.md §8, rule 1).
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(name, HEADER_LIMIT), "emoji": True}}


def _section(text: str, fields: list[str] | None = None) -> dict:
    block: dict = {"type": "section", "text": _mrkdwn(text)}
    if fields:
        block["fields"] = [_mrkdwn(field) for field in fields]
    return block


def _context(text: str) -> dict:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _accept_actions(card: Mapping[str, Any]) -> dict:
    button = {
        "type": "button", "action_id": ACCEPT_ACTION_ID, "style": "primary",
        "text": {"type": "plain_text", "text": "Accept", "emoji": True},
        "value": truncate(clean(card.get("lead_id")), BUTTON_VALUE_LIMIT),
    }
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": [button]}


def _summary(card: Mapping[str, Any], build: Callable[[str], dict]) -> list[dict]:
    """The card's one-line summary as a block built by `build`, or nothing when it is empty."""
    summary = esc_clip(card.get("summary"), SECTION_LIMIT)
    return [build(summary)] if summary else []


def _listed(title: str, records: Any, render: Callable[[Mapping[str, Any]], str], most: int) -> list[dict]:
    """A bullet section of the first `most` records, or nothing when there are none."""
    items = _records(records)
    return [_section(_bullets(title, [render(item) for item in items[:most]], len(items)))] if items else []


def _lines(lines: Iterable[str]) -> str:
    """Non-empty lines joined; callers pass a few lines each clipped to LINE_LIMIT, well inside a section."""
    return "\n".join(line for line in lines if line)


def _bullets(title: str, lines: list[str], total: int) -> str:
    """A titled bullet list of the first of `total` items that fits a section, then "…and N more"."""
    text, shown = title, 0
    for line in lines:
        candidate = f"{text}\n• {line}"
        if len(candidate) > SECTION_LIMIT - 40:   # room for the "and N more" line
            break
        text, shown = candidate, shown + 1
    if shown < total:
        text += f"\n…and {total - shown} more"
    return text


# --- card content ---------------------------------------------------------------------------

def _contact_name(card: Mapping[str, Any]) -> str:
    return clean(card.get("name")) or f"Contact {clean(card.get('contact_id'))}".strip()


def _who_line(card: Mapping[str, Any]) -> str:
    title = esc_clip(card.get("title"), LINE_LIMIT)
    company = esc_clip(card.get("company"), LINE_LIMIT)
    if title and company:
        return f"*{title}* at *{company}*"
    return f"*{title or company}*" if title or company else "No title or company in HubSpot"


def _hubspot_link(card: Mapping[str, Any]) -> str:
    return link(card.get("hubspot_url"), "Open in HubSpot") if card.get("hubspot_url") else ""


def _who_section(card: Mapping[str, Any]) -> dict:
    fields = [f"*{label}*\n{value}" for label, value in _firmographics(card) if value]
    return _section(_lines([_who_line(card), _hubspot_link(card)]), fields)


def _firmographics(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    size = esc_clip(card.get("size"), FIELD_LIMIT - 40)
    industry = esc_clip(clean(card.get("industry")).replace("_", " ").capitalize(), FIELD_LIMIT - 40)
    return [("Size", f"{size} employees" if size else ""), ("Industry", industry),
            ("Country", esc_clip(card.get("country"), FIELD_LIMIT - 40))]


def _why_now_line(event: Mapping[str, Any], now: datetime) -> str:
    return f"{esc_clip(event.get('label'), LINE_LIMIT)} · {_ago(event.get('occurred_at'), now)}"


def _activity_line(activity: Mapping[str, Any], now: datetime) -> str:
    kind = clean(activity.get("kind"))
    words = _ACTIVITY_WORDS.get(kind) or kind.replace("_", " ").capitalize() or "Activity"
    count = activity.get("count")
    times = f"{count} × " if isinstance(count, int) and count > 1 else ""
    label = esc_clip(activity.get("label"), LINE_LIMIT)
    what = f"{times}{esc(words[:60])}: {label}" if label else f"{times}{esc(words[:60])}"
    return f"{what} · {_ago(activity.get('occurred_at'), now)}"


def _score_title(card: Mapping[str, Any]) -> str:
    return (f"*Score {_number(card.get('score'))}* · fit {_number(card.get('fit'))}"
            f" · engagement {_number(card.get('engagement'))}")


def _score_section(card: Mapping[str, Any]) -> dict:
    reasons = _records(card.get("reasons"))
    return _section(_bullets(_score_title(card), [_reason_line(r) for r in _top_reasons(reasons)], len(reasons)))


def _top_reasons(reasons: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The reasons that moved the score most, biggest first."""
    return sorted(reasons, key=lambda reason: -abs(_float(reason.get("points"))))[:TOP_REASONS]


def _reason_line(reason: Mapping[str, Any]) -> str:
    points = _float(reason.get("points"))
    rule = esc_clip(reason.get("rule"), LINE_LIMIT // 2)
    evidence = esc_clip(reason.get("evidence"), LINE_LIMIT)
    detail = f"{rule}: {evidence}" if evidence and evidence != rule else rule
    return f"*{'+' if points >= 0 else '−'}{_number(abs(points))}* {detail}"


def _assignment_text(card: Mapping[str, Any]) -> str:
    why = esc_clip(card.get("route_why"), LINE_LIMIT)
    if card.get("assignee"):
        who = f"Assigned to {mention(card.get('assignee'))}"
    elif clean(card.get("owner_name")):
        who = f"Owner {esc_clip(card.get('owner_name'), LINE_LIMIT)} is not in Slack: sent to the team channel"
    else:
        who = "Not assigned: sent to the team channel"
    return f"{who} · {why}" if why else who


def _status_block(card: Mapping[str, Any], state: Mapping[str, Any]) -> dict:
    status = state.get("status")
    if status == "accepted":
        return _context(_accepted_text(card, state))
    if status == "closed":
        reason = esc_clip(state.get("closed_reason"), LINE_LIMIT)
        return _context(f"Closed: {reason}" if reason else "Closed")
    return _accept_actions(card)


def _accepted_text(card: Mapping[str, Any], state: Mapping[str, Any]) -> str:
    who = f"Accepted by {mention(state.get('accepted_by'))}" if state.get("accepted_by") else "Accepted"
    became = parse_hubspot_time(_str_or_none(card.get("became_mql_at")))
    accepted = parse_hubspot_time(_str_or_none(state.get("accepted_at")))
    if became is None or accepted is None:
        return who
    return f"{who} after {duration_words(accepted - became)}"


def _alert_fallback(card: Mapping[str, Any], state: Mapping[str, Any]) -> str:
    kind = "High-intent MQL" if card.get("high_intent") else "New MQL"
    role = " at ".join(value for value in (clean(card.get("title")), clean(card.get("company"))) if value)
    status = {"accepted": " · accepted", "closed": " · closed"}.get(state.get("status"), "")
    return _fallback(f"{kind}: {_contact_name(card)}" + (f" ({role})" if role else ""), status)


def _fallback(text: str, suffix: str = "") -> str:
    """The top-level `text`: Slack parses it like mrkdwn, so it is escaped too (specs/slack.md §8, rule 3)."""
    return esc_clip(text, FALLBACK_LIMIT - len(suffix)) + suffix


# --- tolerant readers: the card is stored JSON, so any field may be missing or odd ----------

def _records(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number and abs(number) != float("inf") else 0.0


def _number(value: Any) -> str:
    number = _float(value)
    if abs(number) >= 1e9:
        return f"{number:.3g}"
    return str(int(number)) if number.is_integer() else f"{number:.1f}"


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _ago(value: Any, now: datetime) -> str:
    return ago(parse_hubspot_time(_str_or_none(value)), now)


def _waited(card: Mapping[str, Any], now: datetime) -> str | None:
    became = parse_hubspot_time(_str_or_none(card.get("became_mql_at")))
    return duration_words(now - became) if became else None
