"""bot.slack_blocks: the alert card and its escaping, as tables with a fixed NOW.

Snapshots live in tests/snapshots/*.json; after an intended change, regenerate them with
UPDATE_SNAPSHOTS=1 and review the diff.
"""
from __future__ import annotations

import copy
import json
import os
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from slack_sdk.models.blocks import Block

from bot.slack_blocks import (
    ae_handoff_message, alert_message, bant_summary, clean, day_words, esc, esc_clip, escalation_message, link,
    mention, not_assignee_text, reminder_message, revisit_message, safe_mrkdwn, sla_text, slack_date, status_text,
    truncate,
)
from tests.fakes.fake_slack import block_kit_problems, find_pings

NOW = datetime(2026, 11, 23, 10, 2, 10, tzinfo=timezone.utc)
SNAPSHOTS = Path(__file__).parent / "snapshots"
HUBSPOT_URL = "https://app.hubspot.com/contacts/62515/record/0-1/501"
INJECTION = "<!channel> & <@U999>|x"

# Slack date tokens for the times below (epoch seconds), as the card renders them.
DUE_ACCEPT = "<!date^1795428305^{date_short_pretty} {time}|2026-11-23 10:05 UTC>"
DUE_TOUCH = "<!date^1795431605^{date_short_pretty} {time}|2026-11-23 11:00 UTC>"
AT_SENT = "<!date^1795428005^{date_short_pretty} {time}|2026-11-23 10:00 UTC>"
AT_ACCEPTED = "<!date^1795428135^{date_short_pretty} {time}|2026-11-23 10:02 UTC>"
AT_NOON = "<!date^1795435200^{date_short_pretty} {time}|2026-11-23 12:00 UTC>"
AT_DECIDED = "<!date^1795446000^{date_short_pretty} {time}|2026-11-23 15:00 UTC>"

SLA_ACCEPT = {"label": "Accept within 5 min", "due_at": "2026-11-23T10:05:05Z", "overdue": False}
SLA_TOUCH = {"label": "First touch within 1 h", "due_at": "2026-11-23T11:00:05Z", "overdue": False}
STORY = [
    {"at": "2026-11-23T10:00:05Z", "text": "Alert sent to <@U0REP> · Contact owner in HubSpot"},
    {"at": "2026-11-23T10:02:15Z", "text": "Accepted by <@U0REP>"},
    {"at": "2026-11-23T10:30:00Z", "text": "Call logged by <@U0REP>: no answer"},
    {"at": "2026-11-23T10:31:00Z", "text": "Email logged by <@U0REP>"},
]
BANT = {"budget_confirmed": "yes", "budget_range": "50–100k", "authority": "decision_maker",
        "need": "Leads wait hours for a rep", "timeline": "this_quarter", "notes": None, "outcome": "sql",
        "revisit_date": None}
NEW = {"status": "new", "accepted_by": None, "accepted_at": None, "closed_reason": None, "snoozed_until": None,
       "touches": 0, "touch_target": 7, "sla": SLA_ACCEPT, "decision": None, "history": STORY[:1]}
ACCEPTED = {**NEW, "status": "accepted", "accepted_by": "U0REP", "accepted_at": "2026-11-23T10:02:15Z",
            "touches": 2, "sla": SLA_TOUCH, "history": STORY}
SNOOZED = {**ACCEPTED, "status": "snoozed", "snoozed_until": "2026-11-23T12:00:00Z", "sla": None,
           "history": [*STORY, {"at": "2026-11-23T10:32:00Z", "text": "Snoozed for 1 h 28 min by <@U0REP>"}]}


def decided(status: str, outcome: str, **decision: Any) -> dict[str, Any]:
    base = {"outcome": outcome, "reason": None, "by": "U0REP", "at": "2026-11-23T15:00:00Z", "ae": None,
            "revisit_at": None, "bant": None}
    return {**ACCEPTED, "status": status, "sla": None, "decision": {**base, **decision},
            "history": [*STORY, {"at": "2026-11-23T15:00:00Z", "text": f"Decided by <@U0REP>: {outcome}"}]}


QUALIFIED = decided("qualified", "sql", ae="U0AE", bant=BANT)
NURTURE = decided("nurture", "not_yet", reason="Budget opens next fiscal year", revisit_at="2027-04-01",
                  bant={**BANT, "timeline": "six_months_plus", "outcome": "not_yet", "revisit_date": "2027-04-01"})
RECYCLED = decided("recycled", "no_response", reason="7 touches over 10 business days, no answer")
DISQUALIFIED = decided("disqualified", "disqualified", reason="No budget")
CLOSED = {**NEW, "status": "closed", "sla": None, "closed_reason": "Duplicate of lead 9"}
STATES = {"new": NEW, "accepted": ACCEPTED, "snoozed": SNOOZED, "qualified": QUALIFIED, "nurture": NURTURE,
          "recycled": RECYCLED, "disqualified": DISQUALIFIED, "closed": CLOSED}

CARD: dict[str, Any] = {
    "lead_id": 12, "contact_id": "501", "hubspot_url": HUBSPOT_URL,
    "name": "Ada Lovelace", "title": "VP Engineering", "company": "Acme", "size": "250",
    "industry": "COMPUTER_SOFTWARE", "country": "Germany",
    "score": 135.0, "fit": 55.0, "engagement": 80.0, "high_intent": True,
    "summary": "Requested a demo 2 min ago · 14 page views, last 2 min ago · VP at a 250-person software company",
    "reasons": [
        {"rule": "VP or C-level title", "axis": "fit", "points": 25, "evidence": "Title: VP Engineering"},
        {"rule": "Requested a demo", "axis": "engagement", "points": 60, "evidence": "Requested a demo 2 min ago"},
        {"rule": "Pricing page views", "axis": "engagement", "points": 20, "evidence": "14 page views, last 2 min ago"},
        {"rule": "Free-mail address", "axis": "fit", "points": -10, "evidence": "Email at gmail.com"},
    ],
    "why_now": [{"label": "Submitted form “Demo request”", "occurred_at": "2026-11-23T10:00:00Z"}],
    "activities": [
        {"kind": "form_submission", "label": "Demo request", "occurred_at": "2026-11-23T10:00:00Z", "count": 1},
        {"kind": "page_view", "label": "/pricing", "occurred_at": "2026-11-23T10:00:00Z", "count": 14},
        {"kind": "email_open", "label": "Webinar follow-up", "occurred_at": "2026-11-22T08:00:00Z", "count": 1},
    ],
    "became_mql_at": "2026-11-23T10:00:05Z",
    "assignee": "U0REP", "owner_name": "Riley Rep", "route_why": "Contact owner in HubSpot",
}


def card(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(CARD), **changes}


def assert_snapshot(name: str, value: Any) -> None:
    path = SNAPSHOTS / f"{name}.json"
    rendered = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


def assert_valid(text: str, blocks: list[dict]) -> None:
    """Within every Block Kit limit by our checker (the fake's) and by slack_sdk's own validators."""
    assert block_kit_problems(blocks) == []
    for block in blocks:
        Block.parse(block).validate_json()
    assert 0 < len(text) <= 1000


def mrkdwn_texts(blocks: list[dict]) -> Iterator[str]:
    for value in _walk(blocks):
        if isinstance(value, dict) and value.get("type") == "mrkdwn":
            assert value.get("verbatim") is True
            yield value["text"]


def _walk(value: Any) -> Iterator[Any]:
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        yield from _walk(child)


def slack_tokens(text: str) -> list[str]:
    """Every `<…>` token Slack would interpret in a mrkdwn string."""
    return re.findall(r"<[^<>]*>", text)


def foreign_tokens(text: str, allowed: set[str]) -> list[str]:
    """`<…>` tokens that are neither in `allowed` nor one of our own date tokens."""
    return [token for token in slack_tokens(text)
            if token not in allowed and not re.fullmatch(r"<!date\^\d+\^[^|<>]+\|[^|<>]+>", token)]


# --- text helpers ------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("plain", "plain"),
    ("a & b", "a &amp; b"),
    ("<b>", "&lt;b&gt;"),
    ("&lt;", "&amp;lt;"),                      # & first: an existing entity is shown, not decoded
    (INJECTION, "&lt;!channel&gt; &amp; &lt;@U999&gt;|x"),
    ("", ""),
])
def test_esc(raw: str, expected: str) -> None:
    assert esc(raw) == expected


@pytest.mark.parametrize("raw, limit, expected", [
    ("short", 10, "short"),
    ("exactly10!", 10, "exactly10!"),
    ("eleven chars", 10, "eleven ch…"),
    ("word   spaces here", 8, "word…"),
    ("abc", 1, "…"),
])
def test_truncate(raw: str, limit: int, expected: str) -> None:
    assert truncate(raw, limit) == expected


@pytest.mark.parametrize("raw, expected", [
    (None, ""),
    (42, "42"),
    ("Ada\nLovelace", "Ada Lovelace"),
    ("a\x00b\x1bc", "a b c"),
    ("\u202egro.live\u202c", "gro.live"),          # right-to-left override dropped
    ("x\u2066y\u2069z\u200f", "xyz"),
    ("  many   spaces\t", "many spaces"),
    ("line\u2028sep", "line sep"),
    ("emoji 👩‍💻 kept", "emoji 👩‍💻 kept"),
])
def test_clean(raw: Any, expected: str) -> None:
    assert clean(raw) == expected


@pytest.mark.parametrize("url, label, expected", [
    (HUBSPOT_URL, "Open in HubSpot", f"<{HUBSPOT_URL}|Open in HubSpot>"),
    ("https://x.example/?a=1&b=2", "Q", "<https://x.example/?a=1&amp;b=2|Q>"),
    ("HTTP://x.example/", "", "<HTTP://x.example/>"),
    ("https://x.example/", "a|b <c>", "<https://x.example/|ab &lt;c&gt;>"),
    ("javascript:alert(1)", "Open", "Open"),
    ("https://evil.example|Open in Salesforce", "Open", "Open"),
    ("https://evil.example/>x", "Open", "Open"),
    ("https://x.example/a b", "Open", "Open"),
    ("mailto:bob@example.com", "Email", "Email"),
    ("https://x.example/" + "a" * 982, "Long", "<https://x.example/" + "a" * 982 + "|Long>"),
    ("https://x.example/" + "a" * 983, "Long", "Long"),
    (None, "<b>", "&lt;b&gt;"),
])
def test_link(url: Any, label: str, expected: str) -> None:
    assert link(url, label) == expected


@pytest.mark.parametrize("user_id, expected", [
    ("U0REP", "<@U0REP>"),
    ("W012A3CDE", "<@W012A3CDE>"),
    ("u0rep", "u0rep"),
    ("U0REP>|<!channel", "U0REP&gt;|&lt;!channel"),
    ("<!here>", "&lt;!here&gt;"),
    ("C0CHANNEL", "C0CHANNEL"),
    ("U" + "A" * 39, "<@U" + "A" * 39 + ">"),
    ("U" + "A" * 40, "U" + "A" * 40),             # not an id Slack issued: inert text
    (None, ""),
])
def test_mention(user_id: Any, expected: str) -> None:
    assert mention(user_id) == expected


@pytest.mark.parametrize("assignee, expected", [
    ("U0REP", "This lead is assigned to <@U0REP>."),
    ("<!channel>", "This lead is assigned to &lt;!channel&gt;."),
    (None, "This lead is not assigned to you."),
])
def test_not_assignee_text(assignee: str | None, expected: str) -> None:
    assert not_assignee_text(assignee) == expected


@pytest.mark.parametrize("clip, text, limit, expected", [
    (esc_clip, "a & b", 20, "a &amp; b"),
    (esc_clip, "&&&&", 12, "&amp;&amp;…"),       # never cuts "&amp;" in half
    (esc_clip, "<<<<", 8, "&lt;…"),
    (esc_clip, "abcdef", 4, "abc…"),
    (safe_mrkdwn, "Accepted by <@U0REP>", 100, "Accepted by <@U0REP>"),
    (safe_mrkdwn, "Handed to <@U0AE> in <#C0LEADS>", 100, "Handed to <@U0AE> in <#C0LEADS>"),
    (safe_mrkdwn, f"Snoozed until {AT_NOON}", 200, f"Snoozed until {AT_NOON}"),
    (safe_mrkdwn, "Reason: R&amp;D &lt;b&gt;", 100, "Reason: R&amp;D &lt;b&gt;"),     # entities we made stay whole
    (safe_mrkdwn, "Reason: R&D <!channel> <@u1> <https://x.example|y>", 200,
     "Reason: R&amp;D &lt;!channel&gt; &lt;@u1&gt; &lt;https://x.example|y&gt;"),
    (safe_mrkdwn, "<!date^1^{time}|x> <!date^12^{time}|a|b>", 200, "<!date^1^{time}|x> &lt;!date^12^{time}|a|b&gt;"),
    (safe_mrkdwn, "by <@U0REP> today", 12, "by <@U0REP>…"),
    (safe_mrkdwn, "by <@U0REP> today", 10, "by…"),                                    # never half a mention
    (safe_mrkdwn, "a &amp; b", 5, "a…"),
    (safe_mrkdwn, "line\none\u202e", 100, "line one"),
])
def test_clipped_escaping(clip: Any, text: str, limit: int, expected: str) -> None:
    """esc_clip escapes everything; safe_mrkdwn keeps the tokens we build. Neither exceeds the limit."""
    assert clip(text, limit) == expected
    assert len(clip(text, limit)) <= limit


@pytest.mark.parametrize("moment, fmt, expected", [
    (datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc), "{date_short_pretty} {time}", AT_NOON),
    (datetime(2026, 11, 23, 7, 0, tzinfo=timezone(timedelta(hours=-5))), "{time}",
     "<!date^1795435200^{time}|2026-11-23 12:00 UTC>"),
])
def test_slack_date_renders_in_the_readers_zone_with_a_utc_fallback(moment: datetime, fmt: str, expected: str) -> None:
    assert slack_date(moment, fmt) == expected


@pytest.mark.parametrize("day, expected", [(date(2027, 4, 1), "Apr 1, 2027"), (date(2026, 12, 31), "Dec 31, 2026")])
def test_day_words(day: date, expected: str) -> None:
    assert day_words(day) == expected


@pytest.mark.parametrize("bant, expected", [
    (BANT, "Budget confirmed (50–100k) · Decision maker · Need: Leads wait hours for a rep · This quarter"),
    ({**BANT, "budget_confirmed": "no", "budget_range": None, "authority": "unknown", "need": None,
      "timeline": "unknown", "notes": "Call back\nafter the audit"},
     "No budget · Authority unknown · Timeline unknown · Notes: Call back after the audit"),
    ({"budget_confirmed": "maybe", "authority": 5, "timeline": ["x"]},
     "Budget unknown · Authority unknown · Timeline unknown"),
    ({**BANT, "need": "<!channel> & co"},
     "Budget confirmed (50–100k) · Decision maker · Need: <!channel> & co · This quarter"),
    ({}, ""),
    (None, ""),
])
def test_bant_summary_is_one_plain_line(bant: Any, expected: str) -> None:
    assert bant_summary(bant) == expected


# --- the card, in every status ---------------------------------------------------------------------

@pytest.mark.parametrize("status", list(STATES))
def test_card_snapshots(status: str) -> None:
    text, blocks = alert_message(CARD, STATES[status], NOW)
    assert_valid(text, blocks)
    assert_snapshot(f"card_{status}", {"text": text, "blocks": blocks})


def test_new_card_shows_who_why_score_trail_and_the_buttons() -> None:
    text, blocks = alert_message(CARD, NEW, NOW)
    body = "\n".join(mrkdwn_texts(blocks))
    assert text == "High-intent MQL: Ada Lovelace (VP Engineering at Acme)"
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Ada Lovelace", "emoji": True}}
    for expected in ("*VP Engineering* at *Acme*", f"<{HUBSPOT_URL}|Open in HubSpot>", "250 employees",
                     "Computer software", "*Location*\nGermany", "Submitted form “Demo request” · 2 min ago",
                     "*Score 135* · fit 55 · engagement 80", "*+60* Requested a demo: Requested a demo 2 min ago",
                     "*−10* Free-mail address", "14 × Page view: /pricing · 2 min ago",
                     "Email open: Webinar follow-up · 1 d ago", "Assigned to <@U0REP> · Contact owner in HubSpot",
                     "*Fast lane*", f":stopwatch: Accept within 5 min · due {DUE_ACCEPT}",
                     f"{AT_SENT} · Alert sent to <@U0REP> · Contact owner in HubSpot"):
        assert expected in body
    assert body.index("+60") < body.index("+25") < body.index("+20")    # top reasons first
    assert "Touches" not in body and "Returning" not in body and "Score history" not in body


@pytest.mark.parametrize("status, buttons", [
    ("new", [("accept_lead", "primary"), ("reassign_lead", None), ("snooze_lead", None),
             ("disqualify_lead", "danger")]),
    ("accepted", [("log_touch", None), ("qualify_lead", "primary"), ("reassign_lead", None), ("snooze_lead", None),
                  ("disqualify_lead", "danger")]),
    ("snoozed", [("log_touch", None), ("qualify_lead", "primary"), ("reassign_lead", None), ("snooze_lead", None),
                 ("disqualify_lead", "danger")]),
])
def test_open_cards_carry_the_buttons_for_their_status(status: str, buttons: list) -> None:
    text, blocks = alert_message(CARD, STATES[status], NOW)
    actions = blocks[-1]
    assert (actions["type"], actions["block_id"]) == ("actions", "lead_actions")
    assert [(b["action_id"], b.get("style")) for b in actions["elements"]] == buttons
    assert {b["value"] for b in actions["elements"]} == {"12"}


@pytest.mark.parametrize("state, expected", [
    (QUALIFIED, f":white_check_mark: *Qualified (SQL)* · by <@U0REP> · {AT_DECIDED} · Handed to <@U0AE> · BANT:"
                " Budget confirmed (50–100k) · Decision maker · Need: Leads wait hours for a rep · This quarter"),
    (NURTURE, f":seedling: *Not yet: back to nurture* · by <@U0REP> · {AT_DECIDED} · Revisit Apr 1, 2027"
              " · Reason: Budget opens next fiscal year · BANT: Budget confirmed (50–100k) · Decision maker"
              " · Need: Leads wait hours for a rep · 6+ months"),
    (RECYCLED, f":recycle: *No response: recycled into nurture* · by <@U0REP> · {AT_DECIDED}"
               " · Reason: 7 touches over 10 business days, no answer"),
    (DISQUALIFIED, f":no_entry_sign: *Disqualified* · by <@U0REP> · {AT_DECIDED} · Reason: No budget"),
    ({**DISQUALIFIED, "decision": None}, ":no_entry_sign: *Disqualified*"),
    ({**DISQUALIFIED, "decision": {"by": "<!here>", "reason": "<!channel> & co", "at": "never"}},
     ":no_entry_sign: *Disqualified* · by &lt;!here&gt; · Reason: &lt;!channel&gt; &amp; co"),
    ({**QUALIFIED, "decision": {**QUALIFIED["decision"], "bant": {**BANT, "need": "<@U999> <!channel>"}}},
     f":white_check_mark: *Qualified (SQL)* · by <@U0REP> · {AT_DECIDED} · Handed to <@U0AE> · BANT: Budget confirmed"
     " (50–100k) · Decision maker · Need: &lt;@U999&gt; &lt;!channel&gt; · This quarter"),
    (CLOSED, "Closed: Duplicate of lead 9"),
    ({**CLOSED, "closed_reason": "<!channel> spam"}, "Closed: &lt;!channel&gt; spam"),
    ({**CLOSED, "closed_reason": None}, "Closed"),
    ({**CLOSED, "status": "<weird>", "closed_reason": None}, "Status: &lt;weird&gt;"),
])
def test_decided_cards_show_the_decision_instead_of_buttons(state: dict, expected: str) -> None:
    text, blocks = alert_message(CARD, state, NOW)
    assert blocks[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": expected, "verbatim": True}]}
    assert not any(block["type"] == "actions" for block in blocks)
    assert_valid(text, blocks)


@pytest.mark.parametrize("status, suffix", [
    ("new", ""), ("accepted", " · accepted"), ("snoozed", " · snoozed"), ("qualified", " · Qualified (SQL)"),
    ("nurture", " · Not yet: back to nurture"), ("recycled", " · No response: recycled into nurture"),
    ("disqualified", " · Disqualified"), ("closed", " · closed"),
])
def test_fallback_text_names_the_status(status: str, suffix: str) -> None:
    text, _ = alert_message(CARD, STATES[status], NOW)
    assert text == "High-intent MQL: Ada Lovelace (VP Engineering at Acme)" + suffix


@pytest.mark.parametrize("state, live, expected", [
    (NEW, False, f":stopwatch: Accept within 5 min · due {DUE_ACCEPT}"),
    (NEW, True, ":stopwatch: Accept within 5 min · 2 min 55 s left"),
    ({**NEW, "touches": 1}, True, ":stopwatch: Accept within 5 min · 2 min 55 s left · Touches 1/7"),
    ({**NEW, "sla": {**SLA_ACCEPT, "due_at": "2026-11-23T09:59:10Z", "overdue": True}}, True,
     ":stopwatch: Accept within 5 min · *overdue by 3 min*"),
    ({**NEW, "sla": {**SLA_ACCEPT, "due_at": "2026-11-23T09:59:10Z", "overdue": True}}, False,
     ":stopwatch: Accept within 5 min · *overdue* (was due <!date^1795427950^{date_short_pretty} {time}"
     "|2026-11-23 09:59 UTC>)"),
    ({**NEW, "sla": {**SLA_ACCEPT, "due_at": "2026-11-23T10:00:10Z", "overdue": False}}, True,
     ":stopwatch: Accept within 5 min · *overdue by 2 min*"),          # past due before the sweeper flagged it
    ({**NEW, "sla": {"label": "Accept within 5 min", "due_at": None, "overdue": True}}, True,
     ":stopwatch: Accept within 5 min · *overdue*"),
    ({**NEW, "sla": {"label": "<!here>", "due_at": "soon"}}, True, ":stopwatch: &lt;!here&gt;"),
    ({**NEW, "sla": None}, True, ""),
    (ACCEPTED, False, f"Accepted by <@U0REP> after 2 min 10 s · :stopwatch: First touch within 1 h · due {DUE_TOUCH}"
                      " · Touches 2/7"),
    ({**ACCEPTED, "touch_target": None, "touches": 3}, True,
     "Accepted by <@U0REP> after 2 min 10 s · :stopwatch: First touch within 1 h · 57 min 55 s left · Touches 3"),
    ({**ACCEPTED, "accepted_by": None, "accepted_at": None, "touches": True, "touch_target": "7", "sla": None}, True,
     "Accepted"),
    (SNOOZED, False, f"Accepted by <@U0REP> after 2 min 10 s · :zzz: Snoozed until {AT_NOON} · Touches 2/7"),
    ({**SNOOZED, "accepted_by": None, "snoozed_until": None, "touches": 0, "touch_target": None}, False,
     ":zzz: Snoozed"),
])
def test_status_text(state: dict, live: bool, expected: str) -> None:
    assert status_text(state, CARD, NOW, live=live) == expected


@pytest.mark.parametrize("sla, expected", [
    ({"label": "Accept within 5 min", "due_at": "2026-11-23T10:05:05Z", "overdue": False}, DUE_ACCEPT),
    ("not a mapping", ""),
    ({}, ""),
])
def test_sla_text_edges(sla: Any, expected: str) -> None:
    assert expected in sla_text(sla, NOW, live=False)
    assert bool(expected) == bool(sla_text(sla, NOW, live=False))


@pytest.mark.parametrize("status", [status for status in STATES if status != "new"])
def test_fast_lane_is_only_on_a_card_waiting_for_accept(status: str) -> None:
    text, blocks = alert_message(CARD, STATES[status], NOW)
    assert text.startswith("High-intent MQL: ")
    assert "Fast lane" not in json.dumps(blocks)


def test_returning_lead_shows_its_past_and_what_is_new_since() -> None:
    returning = card(past={"outcome": "disqualified", "reason": "No budget", "at": "2026-10-20T09:00:00Z"},
                     changes_since_last_alert=["Now VP Engineering (was Engineering Manager)", "Visited /pricing 14×"],
                     score_history=[{"at": "2026-10-01T00:00:00Z", "total": 40}, {"at": "2026-11-01T00:00:00Z",
                                    "total": 85.0}, {"at": "2026-11-23T10:00:05Z", "total": 135}])
    text, blocks = alert_message(returning, NEW, NOW)
    assert_valid(text, blocks)
    assert_snapshot("card_returning", {"text": text, "blocks": blocks})
    assert blocks[2] == {"type": "context", "elements": [{
        "type": "mrkdwn", "verbatim": True,
        "text": ":leftwards_arrow_with_hook: *Returning lead*: Disqualified 34 days ago: No budget"}]}
    assert blocks[3]["text"]["text"] == ("*New since then*\n• Now VP Engineering (was Engineering Manager)\n"
                                         "• Visited /pricing 14×")
    assert "*Score 135* · fit 55 · engagement 80\nScore history: 40 → 85 → 135\n" in "\n".join(mrkdwn_texts(blocks))


@pytest.mark.parametrize("past, expected", [
    ({"outcome": "nurture", "reason": "Timing", "at": "2026-11-22T09:00:00Z"},
     "Sent back to nurture 1 day ago: Timing"),
    ({"outcome": "recycled", "reason": None, "at": "2026-11-23T08:00:00Z"}, "Recycled after no response 2 h ago"),
    ({"outcome": "sql", "reason": "", "at": None}, "Qualified (SQL)"),
    ({"outcome": "lost", "reason": "<!channel>", "at": "garbage"}, "Seen before: &lt;!channel&gt;"),
])
def test_past_outcomes(past: dict, expected: str) -> None:
    _, blocks = alert_message(card(past=past), NEW, NOW)
    assert blocks[2]["elements"][0]["text"] == f":leftwards_arrow_with_hook: *Returning lead*: {expected}"


@pytest.mark.parametrize("changes, expected", [
    (["Title changed", "3 new page views"], "*Changed since the last alert*\n• Title changed\n• 3 new page views"),
    ([f"change {i}" for i in range(7)], "*Changed since the last alert*\n• change 0\n• change 1\n• change 2\n"
                                        "• change 3\n• change 4\n…and 2 more"),
    (["<!channel> moved"], "*Changed since the last alert*\n• &lt;!channel&gt; moved"),
])
def test_changes_since_the_last_alert(changes: list, expected: str) -> None:
    _, blocks = alert_message(card(changes_since_last_alert=changes), NEW, NOW)
    assert blocks[2]["text"]["text"] == expected


@pytest.mark.parametrize("history, expected", [
    ([], None),
    ([{"total": 40}], "Score history: 40"),
    ([{"total": t} for t in range(10, 110, 10)], "Score history: … → 30 → 40 → 50 → 60 → 70 → 80 → 90 → 100"),
    ([{"total": 12.25}, "x", {"total": "n/a"}], "Score history: 12.2 → 0"),
])
def test_score_history_line(history: list, expected: str | None) -> None:
    _, blocks = alert_message(card(score_history=history), NEW, NOW)
    score = next(text for text in mrkdwn_texts(blocks) if text.startswith("*Score"))
    lines = score.split("\n")
    assert (lines[1] if lines[1].startswith("Score history") else None) == expected


def test_story_shows_the_newest_steps_in_order_and_escapes_what_is_not_ours() -> None:
    steps = [{"at": f"2026-11-23T10:{i:02d}:00Z", "text": f"Step {i} by <@U0REP>"} for i in range(14)]
    steps.append({"at": "2026-11-23T10:20:00Z", "text": "Note: <!channel> & <https://evil.example|x>"})
    _, blocks = alert_message(CARD, {**ACCEPTED, "history": steps}, NOW)
    story = blocks[-2]["elements"][0]["text"].split("\n")
    assert story[0] == "_5 earlier steps not shown_"
    assert story[1].endswith(" · Step 5 by <@U0REP>") and story[9].endswith(" · Step 13 by <@U0REP>")
    assert story[10].endswith(" · Note: &lt;!channel&gt; &amp; &lt;https://evil.example|x&gt;")
    assert find_pings(blocks) == []


@pytest.mark.parametrize("changes, present, absent", [
    ({"high_intent": False}, "New MQL", "Fast lane"),
    ({"assignee": None}, "Owner Riley Rep is not in Slack: sent to the team channel · Contact owner", "Assigned to"),
    ({"assignee": None, "owner_name": None, "route_why": "No owner; round robin empty"},
     "Not assigned: sent to the team channel · No owner; round robin empty", "Assigned to"),
    ({"hubspot_url": None}, "*VP Engineering* at *Acme*", "Open in HubSpot"),
    ({"title": None, "company": None, "size": None, "industry": None, "country": None},
     "No title or company in HubSpot", "employees"),
    ({"why_now": [], "activities": []}, "*Score 135*", "Why now"),
    ({"size": "51-200"}, "51-200 employees", "250 employees"),
    ({"city": "Berlin", "region": "BE"}, "*Location*\nBerlin, BE, Germany", "*Location*\nGermany"),
])
def test_optional_parts(changes: dict, present: str, absent: str) -> None:
    text, blocks = alert_message(card(**changes), NEW, NOW)
    rendered = text + "\n" + "\n".join(mrkdwn_texts(blocks))
    assert present in rendered
    assert absent not in rendered
    assert_valid(text, blocks)


def test_empty_card_still_renders_valid_blocks() -> None:
    text, blocks = alert_message({}, {}, NOW)
    assert_valid(text, blocks)
    assert blocks[0]["text"]["text"] == "Contact"
    assert [b["action_id"] for b in blocks[-1]["elements"]] == ["accept_lead", "reassign_lead", "snooze_lead",
                                                                 "disqualify_lead"]


def test_odd_values_do_not_break_rendering() -> None:
    odd = card(score="n/a", fit=None, engagement=float("nan"), reasons=[None, "x", {"points": "lots"}],
               why_now="not a list", activities=[{"kind": None, "count": "many", "occurred_at": 12}],
               became_mql_at="yesterday", lead_id=None, past="gone", score_history={"total": 1},
               changes_since_last_alert=[None, 5, {"x": 1}])
    state = {**ACCEPTED, "sla": ["x"], "history": "story", "touches": -4, "snoozed_until": 7, "decision": "sql",
             "accepted_at": "99999999999999999999"}
    for status in STATES:
        text, blocks = alert_message(odd, {**state, "status": status}, NOW)
        assert_valid(text, blocks)
    body = "\n".join(mrkdwn_texts(alert_message(odd, state, NOW)[1]))
    assert "*Score 0* · fit 0 · engagement 0" in body
    assert "Activity · at an unknown time" in body


# --- limits for any data -----------------------------------------------------------------------

LONG = "Ω&<" * 3400           # 10 200 chars, each escaping to several


def maximal_card() -> dict[str, Any]:
    return card(
        name=LONG, title=LONG, company=LONG, size=LONG, industry=LONG, country=LONG, city=LONG, region=LONG,
        summary=LONG * 3, route_why=LONG, owner_name=LONG, hubspot_url="https://app.hubspot.com/" + "a" * 976,
        reasons=[{"rule": LONG, "axis": "fit", "points": i, "evidence": LONG} for i in range(100)],
        why_now=[{"label": LONG, "occurred_at": "2026-11-23T10:00:00Z"} for _ in range(500)],
        activities=[{"kind": LONG, "label": LONG, "occurred_at": "2026-11-23T10:00:00Z", "count": 10**12}
                    for _ in range(500)],
        score=10**15, lead_id="9" * 5000,
        past={"outcome": "disqualified", "reason": LONG, "at": "2026-10-20T09:00:00Z"},
        changes_since_last_alert=[LONG] * 500,
        score_history=[{"at": "2026-11-23T10:00:00Z", "total": -(10**15) - 0.5}] * 1000,
    )


def maximal_state(status: str) -> dict[str, Any]:
    step = {"at": "2026-11-23T10:00:00Z", "text": ("<@U0REP> " + AT_NOON + " " + LONG) * 3}
    decision = {"outcome": "sql", "reason": LONG, "by": "U" + "A" * 300, "at": "2026-11-23T15:00:00Z",
                "ae": "W" + "9" * 300, "revisit_at": "2027-04-01",
                "bant": {"budget_confirmed": "yes", "budget_range": LONG, "authority": "user", "need": LONG * 2,
                         "timeline": "next_quarter", "notes": LONG}}
    return {"status": status, "accepted_by": "U" + "B" * 300, "accepted_at": "2026-11-23T10:02:15Z",
            "closed_reason": "&" * 10_000, "snoozed_until": "2026-11-23T12:00:00Z", "touches": 999_999,
            "touch_target": 999_999, "sla": {"label": LONG, "due_at": "2026-11-23T09:00:00Z", "overdue": True},
            "decision": decision, "history": [step] * 1000}


@pytest.mark.parametrize("status", list(STATES))
def test_maximal_card_stays_within_every_limit(status: str) -> None:
    text, blocks = alert_message(maximal_card(), maximal_state(status), NOW)
    assert_valid(text, blocks)
    assert len(blocks) <= 50
    body = "\n".join(mrkdwn_texts(blocks))
    assert re.findall(r"…and \d+ more", body) == ["…and 495 more", "…and 495 more", "…and 95 more", "…and 495 more"]


def test_maximal_card_snapshot() -> None:
    text, blocks = alert_message(maximal_card(), maximal_state("accepted"), NOW)
    assert_snapshot("card_maximal", {"text": text, "blocks": blocks})


@pytest.mark.parametrize("render", [reminder_message, escalation_message])
def test_maximal_reminder_and_escalation_stay_within_every_limit(render: Any) -> None:
    text, blocks = render(maximal_card(), NOW)
    assert_valid(text, blocks)
    assert_valid(*render({}, NOW))


# --- injection: no CRM value can ping, link or mention ---------------------------------------------

PAYLOADS = [
    INJECTION,
    "<https://evil.example|Open in Salesforce>",
    "<!here> <!everyone> <!subteam^S123> <#C123> <@U123>",
    "@channel @here @everyone",
    "<mailto:bob@example.com|Email Bob> <!date^1392734382^{date}|x>",
    "\u202e<!channel>\u202c & \x00<@U1>",
]
CRM_FIELDS = ["name", "title", "company", "size", "industry", "country", "city", "summary", "route_why",
              "owner_name", "reasons", "why_now", "activities", "assignee", "hubspot_url", "past",
              "changes_since_last_alert", "score_history"]
STATE_FIELDS = ["decision_reason", "bant", "sla_label", "closed_reason", "decision_by"]
ALLOWED_TOKENS = {"<@U0REP>", "<@U0AE>", f"<{HUBSPOT_URL}|Open in HubSpot>"}


def poisoned(field: str, payload: str) -> dict[str, Any]:
    nested = {"reasons": [{"rule": payload, "axis": "fit", "points": 5, "evidence": payload}],
              "why_now": [{"label": payload, "occurred_at": payload}],
              "activities": [{"kind": payload, "label": payload, "occurred_at": payload, "count": 2}],
              "past": {"outcome": payload, "reason": payload, "at": payload},
              "changes_since_last_alert": [payload], "score_history": [{"at": payload, "total": payload}]}
    return card(**{field: nested.get(field, payload)})


def poisoned_state(field: str, payload: str) -> dict[str, Any]:
    decision = dict(QUALIFIED["decision"])
    if field == "decision_reason":
        decision["reason"] = payload
    if field == "decision_by":
        decision.update(by=payload, ae=payload, at=payload, revisit_at=payload)
    if field == "bant":
        decision["bant"] = {key: payload for key in BANT}
    sla = {"label": payload if field == "sla_label" else "Accept", "due_at": payload, "overdue": True}
    return {**QUALIFIED, "decision": decision, "sla": sla, "closed_reason": payload}


def rendered_messages(data: dict[str, Any], state: dict[str, Any] = QUALIFIED) -> list[tuple[str, list[dict]]]:
    return [alert_message(data, NEW, NOW), alert_message(data, {**CLOSED, "closed_reason": data.get("name")}, NOW),
            alert_message(data, state, NOW), alert_message(data, {**state, "status": "new"}, NOW),
            alert_message(data, {**state, "status": "closed"}, NOW),
            reminder_message(data, NOW), escalation_message(data, NOW), ae_handoff_message(data, state, NOW),
            revisit_message(data, {**state, "status": "nurture"}, NOW)]


def assert_inert(messages: list[tuple[str, list[dict]]]) -> None:
    for text, blocks in messages:
        assert_valid(text, blocks)
        assert find_pings({"text": text, "blocks": blocks}) == []
        for mrkdwn in [text, *mrkdwn_texts(blocks)]:
            assert foreign_tokens(mrkdwn, ALLOWED_TOKENS) == []
            assert "\u202e" not in mrkdwn and "\x00" not in mrkdwn


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("field", CRM_FIELDS)
def test_no_crm_value_can_ping_link_or_mention(field: str, payload: str) -> None:
    assert_inert(rendered_messages(poisoned(field, payload)))


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("field", STATE_FIELDS)
def test_no_decision_value_can_ping_link_or_mention(field: str, payload: str) -> None:
    assert_inert(rendered_messages(CARD, poisoned_state(field, payload)))


def test_injected_name_is_literal_in_mrkdwn_and_unchanged_in_plain_text() -> None:
    text, blocks = alert_message(card(name=INJECTION), NEW, NOW)
    assert blocks[0]["text"] == {"type": "plain_text", "text": INJECTION, "emoji": True}
    assert "&lt;!channel&gt; &amp; &lt;@U999&gt;|x" in text
    reminder_text, reminder_blocks = reminder_message(card(name=INJECTION), NOW)
    assert "*&lt;!channel&gt; &amp; &lt;@U999&gt;|x*" in reminder_blocks[0]["text"]["text"]
    assert "&lt;!channel&gt; &amp; &lt;@U999&gt;|x" in reminder_text


# --- reminder and escalation -------------------------------------------------------------------------

def test_reminder_tells_the_sdr_how_long_the_lead_waited_and_offers_accept() -> None:
    text, blocks = reminder_message(CARD, NOW)
    assert text == "Reminder: Ada Lovelace is waiting for you (2 min 5 s)"
    assert blocks[0]["text"]["text"] == (
        ":alarm_clock: *Ada Lovelace* is still waiting for you: not accepted yet, waiting 2 min 5 s.\n"
        f"*VP Engineering* at *Acme*\n<{HUBSPOT_URL}|Open in HubSpot>")
    assert blocks[1]["elements"][0]["text"] == CARD["summary"]
    assert [(b["action_id"], b["value"]) for b in blocks[-1]["elements"]] == [("accept_lead", "12")]
    assert_valid(text, blocks)


def test_escalation_names_the_lead_the_assignee_and_the_wait_without_a_button() -> None:
    text, blocks = escalation_message(card(became_mql_at="2026-11-23T09:50:10Z"), NOW)
    assert text == "Escalation: Ada Lovelace not accepted for 12 min"
    assert blocks[0]["text"]["text"] == (
        ":rotating_light: *Ada Lovelace* has waited 12 min without being accepted.\n"
        "*VP Engineering* at *Acme*\nAssigned to <@U0REP> · Contact owner in HubSpot\n"
        f"<{HUBSPOT_URL}|Open in HubSpot>")
    assert not any(block["type"] == "actions" for block in blocks)
    assert_valid(text, blocks)


@pytest.mark.parametrize("render, expected, expected_text", [
    (reminder_message, "not accepted yet.", "Reminder: Ada Lovelace is waiting for you"),
    (escalation_message, "has not been accepted yet.", "Escalation: Ada Lovelace not accepted"),
])
def test_unknown_mql_time_omits_the_wait(render: Any, expected: str, expected_text: str) -> None:
    text, blocks = render(card(became_mql_at=None), NOW)
    assert expected in blocks[0]["text"]["text"]
    assert text == expected_text


# --- the Account Executive's handoff DM --------------------------------------------------------------

def test_ae_handoff_snapshot_and_content() -> None:
    returning = card(past={"outcome": "nurture", "reason": "Timing", "at": "2026-08-01T00:00:00Z"})
    text, blocks = ae_handoff_message(returning, QUALIFIED, NOW)
    assert_valid(text, blocks)
    assert_snapshot("ae_handoff", {"text": text, "blocks": blocks})
    assert text == "New SQL for you: Ada Lovelace (VP Engineering at Acme)"
    assert blocks[0]["text"]["text"] == "New SQL: Ada Lovelace"
    assert blocks[1]["text"]["text"] == ":handshake: <@U0REP> qualified *Ada Lovelace* and handed the lead to you."
    assert blocks[3]["text"]["text"] == ("*BANT*\n*Budget*: Budget confirmed (50–100k)\n*Authority*: Decision maker\n"
                                         "*Need*: Leads wait hours for a rep\n*Timeline*: This quarter")
    body = "\n".join(mrkdwn_texts(blocks))
    for expected in (f"<{HUBSPOT_URL}|Open in HubSpot>", "*Why now*", "*Score 135*", "*Recent activity*",
                     "Sent back to nurture 114 days ago: Timing", "Accepted by <@U0REP>"):
        assert expected in body
    assert not any(block["type"] == "actions" for block in blocks)


@pytest.mark.parametrize("decision, intro, bant", [
    (None, ":handshake: An SDR qualified *Ada Lovelace* and handed the lead to you.",
     "*BANT*\nNo BANT answers were recorded."),
    ({"by": "U0REP", "bant": {"budget_confirmed": "no", "notes": "Call after 3 pm", "need": ""}},
     ":handshake: <@U0REP> qualified *Ada Lovelace* and handed the lead to you.",
     "*BANT*\n*Budget*: No budget\n*Authority*: Authority unknown\n*Need*: not recorded\n"
     "*Timeline*: Timeline unknown\n*Notes*: Call after 3 pm"),
])
def test_ae_handoff_without_full_answers(decision: Any, intro: str, bant: str) -> None:
    text, blocks = ae_handoff_message(CARD, {**QUALIFIED, "decision": decision}, NOW)
    assert (blocks[1]["text"]["text"], blocks[3]["text"]["text"]) == (intro, bant)
    assert_valid(text, blocks)


def test_maximal_ae_handoff_stays_within_every_limit() -> None:
    text, blocks = ae_handoff_message(maximal_card(), maximal_state("qualified"), NOW)
    assert_valid(text, blocks)
    assert_valid(*ae_handoff_message({}, {}, NOW))


# --- marketing ops' revisit notice ----------------------------------------------------------------------

def test_revisit_notice_snapshot_and_content() -> None:
    text, blocks = revisit_message(card(score_history=[{"total": 135}, {"total": 90}]), NURTURE, NOW)
    assert_valid(text, blocks)
    assert_snapshot("revisit", {"text": text, "blocks": blocks})
    assert text == "Revisit due: Ada Lovelace (VP Engineering at Acme) re-enters scoring"
    assert blocks[0]["text"]["text"] == (":calendar: *Ada Lovelace* reached its revisit date and re-enters scoring now."
                                         f"\n*VP Engineering* at *Acme*\n<{HUBSPOT_URL}|Open in HubSpot>")
    assert blocks[1]["elements"][0]["text"].startswith(":seedling: *Not yet: back to nurture* · by <@U0REP>")
    assert "Reason: Budget opens next fiscal year" in blocks[1]["elements"][0]["text"]
    assert blocks[2]["elements"][0]["text"] == "*Score 135* · fit 55 · engagement 80\nScore history: 135 → 90"


def test_maximal_revisit_notice_stays_within_every_limit() -> None:
    assert_valid(*revisit_message(maximal_card(), maximal_state("nurture"), NOW))
    assert_valid(*revisit_message({}, {}, NOW))
