"""PURE: Block Kit for the lead card and the messages around it (reminder, escalation, AE handoff), as plain dicts.

CRM text is attacker-controllable (web forms), so every CRM value is cleaned (control and
bidi-override characters dropped), escaped for mrkdwn (`&`, `<`, `>`; specs/slack.md §8) and
clipped *after* escaping so that no limit of specs/slack.md §5 can be exceeded and no entity is
cut in half. mrkdwn objects carry `verbatim: true` so Slack never auto-links or auto-mentions.
`<…>` tokens are only ever built by `link()`, `mention()` and `slack_date()`; the story lines we
write ourselves go through `safe_mrkdwn()`, which keeps exactly those tokens and escapes the rest.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from bot.models import parse_hubspot_time
from bot.timefmt import ago, duration_words

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
CHANGE_ITEMS = 5
SCORE_HISTORY_ITEMS = 8
STORY_ITEMS = 10

# action_id -> (button text, style); the order of each status's tuple is the order on the card.
BUTTONS: dict[str, tuple[str, str | None]] = {
    "accept_lead": ("Accept", "primary"), "log_touch": ("Log touch", None), "qualify_lead": ("Qualify", "primary"),
    "reassign_lead": ("Reassign", None), "snooze_lead": ("Snooze", None), "disqualify_lead": ("Disqualify", "danger"),
}
_WORKING = ("log_touch", "qualify_lead", "reassign_lead", "snooze_lead", "disqualify_lead")
BUTTONS_BY_STATUS: dict[str, tuple[str, ...]] = {
    "new": ("accept_lead", "reassign_lead", "snooze_lead", "disqualify_lead"),
    "accepted": _WORKING, "snoozed": _WORKING,
}
OPEN_STATUSES = frozenset(BUTTONS_BY_STATUS)
DECIDED: dict[str, tuple[str, str]] = {     # status -> (emoji, words)
    "qualified": (":white_check_mark:", "Qualified (SQL)"), "nurture": (":seedling:", "Not yet: back to nurture"),
    "recycled": (":recycle:", "No response: recycled into nurture"),
    "disqualified": (":no_entry_sign:", "Disqualified"),
}
STATUS_WORDS = {"new": "waiting for Accept", "accepted": "accepted", "snoozed": "snoozed", "closed": "closed",
                **{status: words for status, (_, words) in DECIDED.items()}}
PAST_WORDS = {"disqualified": "Disqualified", "nurture": "Sent back to nurture",
              "recycled": "Recycled after no response", "sql": "Qualified (SQL)"}

# BANT vocabulary, shared by the modal (option values) and every summary of a decision.
BUDGET_WORDS = {"yes": "Budget confirmed", "no": "No budget", "unknown": "Budget unknown"}
AUTHORITY_WORDS = {"decision_maker": "Decision maker", "influencer": "Influencer", "user": "User",
                   "unknown": "Authority unknown"}
TIMELINE_WORDS = {"this_quarter": "This quarter", "next_quarter": "Next quarter", "six_months_plus": "6+ months",
                  "unknown": "Timeline unknown"}

# Bidi embeddings/overrides/isolates and marks: they can make "gro.live" read as "evil.org".
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")      # exactly Unicode category Cc
_SAFE_URL = re.compile(r"https?://[^\s|<>]+", re.IGNORECASE)
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,39}")       # real ids are ~11 characters; longer is not one Slack issued
# The only tokens our own story lines may carry: user mentions, channel links, dates and entities.
_OUR_TOKEN = re.compile(r"<@[UW][A-Z0-9]+>|<#C[A-Z0-9]+>|<!date\^\d{1,12}\^[^|<>]{1,100}\|[^|<>]{0,100}>"
                        r"|&(?:amp|lt|gt);")
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
    return _clip_pieces([esc(char) for char in text[:limit]], limit)


def safe_mrkdwn(value: Any, limit: int) -> str:
    """Our own mrkdwn line: mentions, channel links, dates and entities kept whole, anything else escaped,
    clipped to `limit` at a token boundary."""
    text = clean(value)
    pieces: list[str] = []
    start = 0
    for token in _OUR_TOKEN.finditer(text):
        pieces += [esc(char) for char in text[start:token.start()]] + [token.group()]
        start = token.end()
    pieces += [esc(char) for char in text[start:]]
    joined = "".join(pieces)
    return joined if len(joined) <= limit else _clip_pieces(pieces, limit)


def _clip_pieces(pieces: list[str], limit: int) -> str:
    """Whole pieces while they fit in `limit` with room for the ellipsis, then "…"."""
    kept, size = [], 0
    for piece in pieces:
        if size + len(piece) > limit - 1:
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept).rstrip() + "…"


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


def slack_date(moment: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A time Slack shows in each reader's own time zone (and still right when the card is read later);
    the fallback for old clients is UTC."""
    utc = moment.astimezone(timezone.utc)
    return f"<!date^{int(utc.timestamp())}^{fmt}|{utc:%Y-%m-%d %H:%M} UTC>"


def day_words(day: date) -> str:
    """A calendar day as "Mar 1, 2027": a plain date, because a date token would shift it across time zones."""
    return f"{day:%b} {day.day}, {day.year}"


def not_assignee_text(assignee: str | None) -> str:
    """The ephemeral answer to someone other than the assignee pressing a button on the card."""
    if assignee is None:
        return "This lead is not assigned to you."
    return f"This lead is assigned to {mention(assignee)}."


def bant_summary(bant: Mapping[str, Any] | None) -> str:
    """The BANT answers as one plain-text line ("Budget confirmed (50–100k) · Decision maker · Need: …");
    NOT escaped: escape it for mrkdwn or HTML where it goes."""
    answers = as_mapping(bant)
    if not answers:
        return ""
    budget_range = clean(answers.get("budget_range"))
    budget = word_for(BUDGET_WORDS, answers.get("budget_confirmed"))
    need, notes = clean(answers.get("need")), clean(answers.get("notes"))
    parts = [f"{budget} ({budget_range})" if budget_range else budget,
             word_for(AUTHORITY_WORDS, answers.get("authority")), f"Need: {need}" if need else "",
             word_for(TIMELINE_WORDS, answers.get("timeline")), f"Notes: {notes}" if notes else ""]
    return " · ".join(part for part in parts if part)


# --- public messages ------------------------------------------------------------------------

def alert_message(card: Mapping[str, Any], state: Mapping[str, Any], now: datetime) -> tuple[str, list[dict]]:
    """The lead card (fallback text, blocks) in its current state: who, why now, score, trail, story, actions."""
    # "Accept right away" is only true before anyone has.
    fast_lane = [context_block(FAST_LANE)] if card.get("high_intent") and status_of(state) == "new" else []
    blocks = [header_block(contact_name(card)), *fast_lane, *_past_blocks(card, now), *_summary(card, section_block),
              _who_section(card), *_why_now(card, now), _score_section(card), *_trail(card, now),
              context_block(_assignment_text(card)), *optional_context(status_text(state, card, now, live=False)),
              *optional_context(_story_text(state)), _status_block(card, state)]
    return _alert_fallback(card, state), blocks


def reminder_message(card: Mapping[str, Any], now: datetime) -> tuple[str, list[dict]]:
    """The DM nudging the assigned SDR: the lead is not accepted yet and has waited this long."""
    waited = _waited(card, now)
    name = esc_clip(contact_name(card), LINE_LIMIT)
    waiting = f", waiting {waited}" if waited else ""
    text = f":alarm_clock: *{name}* is still waiting for you: not accepted yet{waiting}."
    blocks = [section_block(join_lines([text, who_line(card), hubspot_link(card)])), *_summary(card, context_block),
              _actions(card, ("accept_lead",), ACTIONS_BLOCK_ID)]
    since = f" ({waited})" if waited else ""
    return _fallback(f"Reminder: {contact_name(card)} is waiting for you{since}"), blocks


def escalation_message(card: Mapping[str, Any], now: datetime) -> tuple[str, list[dict]]:
    """The managers' channel notice: the lead, its assignee and how long it has waited unaccepted."""
    waited = _waited(card, now)
    name = esc_clip(contact_name(card), LINE_LIMIT)
    text = (f":rotating_light: *{name}* has waited {waited} without being accepted." if waited
            else f":rotating_light: *{name}* has not been accepted yet.")
    lines = [text, who_line(card), _assignment_text(card), hubspot_link(card)]
    blocks = [section_block(join_lines(lines)), *_summary(card, context_block)]
    waiting = f" for {waited}" if waited else ""
    return _fallback(f"Escalation: {contact_name(card)} not accepted{waiting}"), blocks


def ae_handoff_message(card: Mapping[str, Any], state: Mapping[str, Any], now: datetime) -> tuple[str, list[dict]]:
    """The Account Executive's DM for a new SQL: who qualified it, the BANT answers and the whole card's context."""
    decision = as_mapping(state.get("decision"))
    name = esc_clip(contact_name(card), LINE_LIMIT)
    sdr = mention(decision.get("by")) if decision.get("by") else "An SDR"
    intro = f":handshake: {sdr} qualified *{name}* and handed the lead to you."
    blocks = [header_block(f"New SQL: {contact_name(card)}"), section_block(intro), _who_section(card),
              section_block(_bant_lines(decision.get("bant"))), *_past_blocks(card, now), *_why_now(card, now),
              _score_section(card), *_trail(card, now), *optional_context(_story_text(state))]
    return _fallback(f"New SQL for you: {contact_name(card)}" + _role_suffix(card)), blocks


def revisit_message(card: Mapping[str, Any], state: Mapping[str, Any], now: datetime) -> tuple[str, list[dict]]:
    """Marketing ops' notice that a Not-yet lead reached its revisit date and re-enters scoring."""
    name = esc_clip(contact_name(card), LINE_LIMIT)
    intro = f":calendar: *{name}* reached its revisit date and re-enters scoring now."
    blocks = [section_block(join_lines([intro, who_line(card), hubspot_link(card)])),
              context_block(decision_text(state)), context_block(score_line(card)), *_past_blocks(card, now)]
    return _fallback(f"Revisit due: {contact_name(card)}{_role_suffix(card)} re-enters scoring"), blocks


# --- pieces the App Home and slash commands share ---------------------------------------------

def lead_actions(card: Mapping[str, Any], state: Mapping[str, Any], block_id: str = ACTIONS_BLOCK_ID) -> dict | None:
    """The actions block for the lead's status (each button's value is the lead id), or None once decided."""
    buttons = BUTTONS_BY_STATUS.get(status_of(state))
    return _actions(card, buttons, block_id) if buttons else None


def _status_block(card: Mapping[str, Any], state: Mapping[str, Any]) -> dict:
    """The card's last block: the buttons while the lead is open, else what was decided."""
    return lead_actions(card, state) or context_block(decision_text(state))


def decision_text(state: Mapping[str, Any]) -> str:
    """One mrkdwn line for a decided or closed lead: what, who, when, why (and the AE and BANT for an SQL)."""
    status = status_of(state)
    if status not in DECIDED:
        reason = esc_clip(state.get("closed_reason"), LINE_LIMIT)
        words = "Closed" if status == "closed" else f"Status: {esc_clip(status, 40)}"
        return f"{words}: {reason}" if reason else words
    emoji, words = DECIDED[status]
    return " · ".join([f"{emoji} *{words}*", *_decision_details(as_mapping(state.get("decision")))])


def status_text(state: Mapping[str, Any], card: Mapping[str, Any], now: datetime, *, live: bool) -> str:
    """Accepted by whom, snoozed until when, the SLA clock and the touch count, as one mrkdwn line.
    `live` (App Home, slash commands) says "3 min left"; a posted card says the due time instead."""
    parts = [_accepted_text(card, state) if state.get("accepted_by") or status_of(state) == "accepted" else "",
             _snoozed_text(state), sla_text(state.get("sla"), now, live=live), _touches_text(state)]
    return " · ".join(part for part in parts if part)


def sla_text(sla: Any, now: datetime, *, live: bool) -> str:
    """":stopwatch: Accept within 5 min · 3 min left" (or "due …", or "*overdue by 3 min*"); "" without an SLA."""
    clock = as_mapping(sla)
    if not clock:
        return ""
    label = esc_clip(clock.get("label"), LINE_LIMIT // 2) or "SLA"
    due = read_time(clock.get("due_at"))
    if clock.get("overdue") or (due is not None and due <= now):
        late = f"*overdue by {duration_words(now - due)}*" if live and due else "*overdue*"
        return f":stopwatch: {label} · {late}" + (f" (was due {slack_date(due)})" if due and not live else "")
    if due is None:
        return f":stopwatch: {label}"
    return f":stopwatch: {label} · " + (f"{duration_words(due - now)} left" if live else f"due {slack_date(due)}")


def who_line(card: Mapping[str, Any]) -> str:
    """"*VP Engineering* at *Acme*", escaped."""
    title = esc_clip(card.get("title"), LINE_LIMIT)
    company = esc_clip(card.get("company"), LINE_LIMIT)
    if title and company:
        return f"*{title}* at *{company}*"
    return f"*{title or company}*" if title or company else "No title or company in HubSpot"


def score_line(card: Mapping[str, Any]) -> str:
    """"*Score 135* · fit 55 · engagement 80", then the score history when there is one."""
    history = _score_history(card)
    return _score_title(card) + (f"\nScore history: {history}" if history else "")


def past_text(card: Mapping[str, Any], now: datetime) -> str:
    """For a returning lead: "Disqualified 34 days ago: No budget" (escaped); "" for a first-time lead."""
    past = as_mapping(card.get("past"))
    if not past:
        return ""
    words = word_for(PAST_WORDS, past.get("outcome"), "Seen before")
    at = read_time(past.get("at"))
    when = f" {_days_ago(at, now)}" if at else ""
    reason = esc_clip(past.get("reason"), LINE_LIMIT)
    return f"{words}{when}: {reason}" if reason else f"{words}{when}"


# --- block builders -------------------------------------------------------------------------

def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def header_block(name: str) -> dict:
    """A header of plain text clipped to Slack's 150 characters."""
    # plain_text is never parsed, so CRM text goes in unescaped (specs/slack.md §8, rule 1).
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(name, HEADER_LIMIT), "emoji": True}}


def section_block(text: str, fields: list[str] | None = None) -> dict:
    """A section of already-escaped mrkdwn (text ≤ 3000, each field ≤ 2000: the caller clips)."""
    block: dict = {"type": "section", "text": _mrkdwn(text)}
    if fields:
        block["fields"] = [_mrkdwn(field) for field in fields]
    return block


def context_block(text: str) -> dict:
    """A context of one already-escaped mrkdwn element (≤ 3000: the caller clips)."""
    return {"type": "context", "elements": [_mrkdwn(text)]}


def optional_context(text: str) -> list[dict]:
    """A context block, or nothing: Slack rejects an empty text object."""
    return [context_block(text)] if text else []


def _button(action_id: str, lead_id: str) -> dict:
    text, style = BUTTONS[action_id]
    button = {"type": "button", "action_id": action_id, "value": lead_id,
              "text": {"type": "plain_text", "text": text, "emoji": True}}
    return {**button, "style": style} if style else button


def _actions(card: Mapping[str, Any], action_ids: Iterable[str], block_id: str) -> dict:
    lead_id = truncate(clean(card.get("lead_id")), BUTTON_VALUE_LIMIT)
    return {"type": "actions", "block_id": block_id, "elements": [_button(a, lead_id) for a in action_ids]}


def _summary(card: Mapping[str, Any], build: Callable[[str], dict]) -> list[dict]:
    """The card's one-line summary as a block built by `build`, or nothing when it is empty."""
    summary = esc_clip(card.get("summary"), SECTION_LIMIT)
    return [build(summary)] if summary else []


def _listed(title: str, records: Any, render: Callable[[Any], str], most: int) -> list[dict]:
    """A bullet section of the first `most` records, or nothing when there are none."""
    items = records if isinstance(records, list) else []
    return [section_block(bullet_list(title, [render(item) for item in items[:most]], len(items)))] if items else []


def join_lines(lines: Iterable[str]) -> str:
    """Non-empty lines joined; callers pass a few lines each clipped to LINE_LIMIT, well inside a section."""
    return "\n".join(line for line in lines if line)


def bullet_list(title: str, lines: list[str], total: int, limit: int = SECTION_LIMIT) -> str:
    """A titled bullet list of the first of `total` items that fits `limit`, then "…and N more"."""
    text, shown = title, 0
    for line in lines:
        candidate = f"{text}\n• {line}"
        if len(candidate) > limit - 40:   # room for the "and N more" line
            break
        text, shown = candidate, shown + 1
    if shown < total:
        text += f"\n…and {total - shown} more"
    return text


# --- card content ---------------------------------------------------------------------------

def contact_name(card: Mapping[str, Any]) -> str:
    """The contact's cleaned name (NOT escaped), or "Contact <id>" when HubSpot has none."""
    return clean(card.get("name")) or f"Contact {clean(card.get('contact_id'))}".strip()


def _role_suffix(card: Mapping[str, Any]) -> str:
    """" (VP Engineering at Acme)" for fallback texts, or ""."""
    role = " at ".join(value for value in (clean(card.get("title")), clean(card.get("company"))) if value)
    return f" ({role})" if role else ""


def hubspot_link(card: Mapping[str, Any]) -> str:
    """"<url|Open in HubSpot>" when the card has a record url, else ""."""
    return link(card.get("hubspot_url"), "Open in HubSpot") if card.get("hubspot_url") else ""


def _who_section(card: Mapping[str, Any]) -> dict:
    fields = [f"*{label}*\n{value}" for label, value in _firmographics(card) if value]
    return section_block(join_lines([who_line(card), hubspot_link(card)]), fields)


def _firmographics(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    size = esc_clip(card.get("size"), FIELD_LIMIT - 40)
    industry = esc_clip(clean(card.get("industry")).replace("_", " ").capitalize(), FIELD_LIMIT - 40)
    place = ", ".join(value for value in (clean(card.get(key)) for key in ("city", "region", "country")) if value)
    return [("Size", f"{size} employees" if size else ""), ("Industry", industry),
            ("Location", esc_clip(place, FIELD_LIMIT - 40))]


def _past_blocks(card: Mapping[str, Any], now: datetime) -> list[dict]:
    """A returning lead's past, then what is new since then (or since the last alert)."""
    past = past_text(card, now)
    title = "*New since then*" if past else "*Changed since the last alert*"
    changes = _listed(title, card.get("changes_since_last_alert"), lambda c: esc_clip(c, LINE_LIMIT), CHANGE_ITEMS)
    returning = [context_block(f":leftwards_arrow_with_hook: *Returning lead*: {past}")] if past else []
    return returning + changes


def _why_now(card: Mapping[str, Any], now: datetime) -> list[dict]:
    return _listed("*Why now*", as_records(card.get("why_now")), lambda event: _why_now_line(event, now), WHY_NOW_ITEMS)


def _trail(card: Mapping[str, Any], now: datetime) -> list[dict]:
    return _listed("*Recent activity*", as_records(card.get("activities")), lambda act: _activity_line(act, now),
                   ACTIVITY_ITEMS)


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


def _score_history(card: Mapping[str, Any]) -> str:
    """"40 → 85 → 135" from the last few totals, "… → " first when older ones are left out."""
    totals = [_number(point.get("total")) for point in as_records(card.get("score_history"))]
    shown = " → ".join(totals[-SCORE_HISTORY_ITEMS:])
    return f"… → {shown}" if len(totals) > SCORE_HISTORY_ITEMS else shown


def _score_section(card: Mapping[str, Any]) -> dict:
    reasons = as_records(card.get("reasons"))
    return section_block(bullet_list(score_line(card), [_reason_line(r) for r in _top_reasons(reasons)], len(reasons)))


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


def _accepted_text(card: Mapping[str, Any], state: Mapping[str, Any]) -> str:
    who = f"Accepted by {mention(state.get('accepted_by'))}" if state.get("accepted_by") else "Accepted"
    became, accepted = read_time(card.get("became_mql_at")), read_time(state.get("accepted_at"))
    if became is None or accepted is None:
        return who
    return f"{who} after {duration_words(accepted - became)}"


def _snoozed_text(state: Mapping[str, Any]) -> str:
    if status_of(state) != "snoozed":
        return ""
    until = read_time(state.get("snoozed_until"))
    return f":zzz: Snoozed until {slack_date(until)}" if until else ":zzz: Snoozed"


def _touches_text(state: Mapping[str, Any]) -> str:
    """"Touches 2/7" once the lead is worked (the cadence before No response), else ""."""
    touches, target = as_count(state.get("touches")), as_count(state.get("touch_target"))
    if status_of(state) == "new" and not touches:
        return ""
    if target:
        return f"Touches {touches}/{target}"
    return f"Touches {touches}" if touches else ""


def _decision_details(decision: Mapping[str, Any]) -> list[str]:
    """Who decided, when, the AE or revisit date, the reason and the BANT answers: each escaped and clipped."""
    at, revisit = read_time(decision.get("at")), read_time(decision.get("revisit_at"))
    bant = bant_summary(decision.get("bant"))
    parts = [f"by {mention(decision.get('by'))}" if decision.get("by") else "", slack_date(at) if at else "",
             f"Handed to {mention(decision.get('ae'))}" if decision.get("ae") else "",
             f"Revisit {day_words(revisit.date())}" if revisit else "",
             f"Reason: {esc_clip(decision.get('reason'), LINE_LIMIT)}" if clean(decision.get("reason")) else "",
             f"BANT: {esc_clip(bant, SECTION_LIMIT // 2)}" if bant else ""]
    return [part for part in parts if part]


def _bant_lines(bant: Any) -> str:
    """The BANT answers as a titled list for the AE (escaped, each answer clipped to fit one section)."""
    answers = as_mapping(bant)
    if not answers:
        return "*BANT*\nNo BANT answers were recorded."
    budget = word_for(BUDGET_WORDS, answers.get("budget_confirmed"))
    budget_range = esc_clip(answers.get("budget_range"), LINE_LIMIT // 2)
    lines = [f"*Budget*: {budget}" + (f" ({budget_range})" if budget_range else ""),
             f"*Authority*: {word_for(AUTHORITY_WORDS, answers.get('authority'))}",
             f"*Need*: {esc_clip(answers.get('need'), 1200) or 'not recorded'}",
             f"*Timeline*: {word_for(TIMELINE_WORDS, answers.get('timeline'))}",
             f"*Notes*: {esc_clip(answers.get('notes'), 800)}" if clean(answers.get("notes")) else ""]
    return "*BANT*\n" + join_lines(lines)


def _story_text(state: Mapping[str, Any]) -> str:
    """The lead's story, oldest first: the newest few steps with their times that fit one context element."""
    steps = as_records(state.get("history"))
    kept: list[str] = []
    size = 0
    for step in reversed(steps[-STORY_ITEMS:]):
        line = _story_line(step)
        if size + len(line) + 1 > SECTION_LIMIT - 40:     # room for the "earlier steps" line
            break
        kept.insert(0, line)
        size += len(line) + 1
    earlier = len(steps) - len(kept)
    return join_lines([f"_{earlier} earlier steps not shown_" if earlier else "", *kept])


def _story_line(step: Mapping[str, Any]) -> str:
    at = read_time(step.get("at"))
    text = safe_mrkdwn(step.get("text"), LINE_LIMIT)
    return f"{slack_date(at)} · {text}" if at else text


def _alert_fallback(card: Mapping[str, Any], state: Mapping[str, Any]) -> str:
    kind = "High-intent MQL" if card.get("high_intent") else "New MQL"
    status = status_of(state)
    suffix = f" · {STATUS_WORDS[status]}" if status in STATUS_WORDS and status != "new" else ""
    return _fallback(f"{kind}: {contact_name(card)}{_role_suffix(card)}", suffix)


def _fallback(text: str, suffix: str = "") -> str:
    """The top-level `text`: Slack parses it like mrkdwn, so it is escaped too (specs/slack.md §8, rule 3)."""
    return esc_clip(text, FALLBACK_LIMIT - len(suffix)) + suffix


# --- tolerant readers: the card is stored JSON, so any field may be missing or odd ----------

def as_records(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in `value` when it is a list, else []."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def as_mapping(value: Any) -> Mapping[str, Any]:
    """`value` when it is a mapping, else {}."""
    return value if isinstance(value, Mapping) else {}


def word_for(words: Mapping[str, str], value: Any, default: str | None = None) -> str:
    """The words for a stored code; `default` (else the words for "unknown") for any other value, lists included."""
    fallback = words["unknown"] if default is None else default
    return words.get(value, fallback) if isinstance(value, str) else fallback


def status_of(state: Mapping[str, Any]) -> str:
    """The lead's status; a state without one is a fresh alert."""
    status = state.get("status")
    return status if isinstance(status, str) and status else "new"


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number and abs(number) != float("inf") else 0.0


def as_count(value: Any) -> int:
    """A stored count (0 to 999 999); anything else, booleans included, reads as 0."""
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**6 else 0


def _number(value: Any) -> str:
    number = _float(value)
    if abs(number) >= 1e9:
        return f"{number:.3g}"
    return str(int(number)) if number.is_integer() else f"{number:.1f}"


def read_time(value: Any) -> datetime | None:
    """A stored ISO time (or epoch ms) as an aware datetime; None when absent or unreadable."""
    try:
        return parse_hubspot_time(value if isinstance(value, str) else None)
    except (ValueError, OverflowError, OSError):
        return None


def _days_ago(moment: datetime, now: datetime) -> str:
    """"34 days ago" past a day (the scale a returning lead is read at), else "2 h ago"."""
    days = (now - moment).days
    if days >= 1:
        return f"{days} day{'s' if days > 1 else ''} ago"
    return ago(moment, now)


def _ago(value: Any, now: datetime) -> str:
    return ago(read_time(value), now)


def _waited(card: Mapping[str, Any], now: datetime) -> str | None:
    became = read_time(card.get("became_mql_at"))
    return duration_words(now - became) if became else None
