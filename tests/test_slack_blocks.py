"""bot.slack_blocks: the alert card and its escaping, as tables with a fixed NOW.

Snapshots live in tests/snapshots/*.json; after an intended change, regenerate them with
UPDATE_SNAPSHOTS=1 and review the diff.
"""
from __future__ import annotations

import copy
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from slack_sdk.models.blocks import Block

from bot.slack_blocks import (
    alert_message, clean, esc, esc_clip, escalation_message, link, mention, not_assignee_text,
    reminder_message, truncate,
)
from tests.fakes.fake_slack import block_kit_problems, find_pings

NOW = datetime(2026, 11, 23, 10, 2, 10, tzinfo=timezone.utc)
SNAPSHOTS = Path(__file__).parent / "snapshots"
HUBSPOT_URL = "https://app.hubspot.com/contacts/62515/record/0-1/501"
NEW = {"status": "new", "accepted_by": None, "accepted_at": None, "closed_reason": None}
ACCEPTED = {"status": "accepted", "accepted_by": "U0REP", "accepted_at": "2026-11-23T10:02:15Z", "closed_reason": None}
CLOSED = {"status": "closed", "accepted_by": None, "accepted_at": None, "closed_reason": "Duplicate of lead 9"}
INJECTION = "<!channel> & <@U999>|x"

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


@pytest.mark.parametrize("raw, limit, expected", [
    ("a & b", 20, "a &amp; b"),
    ("&&&&", 12, "&amp;&amp;…"),       # never cuts "&amp;" in half
    ("<<<<", 8, "&lt;…"),
    ("abcdef", 4, "abc…"),
])
def test_esc_clip(raw: str, limit: int, expected: str) -> None:
    assert esc_clip(raw, limit) == expected
    assert len(esc_clip(raw, limit)) <= limit


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


# --- the alert card ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, state", [("alert_new", NEW), ("alert_accepted", ACCEPTED), ("alert_closed", CLOSED)])
def test_alert_snapshots(name: str, state: dict) -> None:
    text, blocks = alert_message(CARD, state, NOW)
    assert_valid(text, blocks)
    assert_snapshot(name, {"text": text, "blocks": blocks})


def test_new_alert_shows_who_why_score_trail_and_accept() -> None:
    text, blocks = alert_message(CARD, NEW, NOW)
    body = "\n".join(mrkdwn_texts(blocks))
    assert text == "High-intent MQL: Ada Lovelace (VP Engineering at Acme)"
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Ada Lovelace", "emoji": True}}
    for expected in ("*VP Engineering* at *Acme*", f"<{HUBSPOT_URL}|Open in HubSpot>", "250 employees",
                     "Computer software", "Germany", "Submitted form “Demo request” · 2 min ago",
                     "*Score 135* · fit 55 · engagement 80", "*+60* Requested a demo: Requested a demo 2 min ago",
                     "*−10* Free-mail address", "14 × Page view: /pricing · 2 min ago",
                     "Email open: Webinar follow-up · 1 d ago", "Assigned to <@U0REP> · Contact owner in HubSpot",
                     "*Fast lane*"):
        assert expected in body
    assert body.index("+60") < body.index("+25") < body.index("+20")    # top reasons first
    button = blocks[-1]["elements"][0]
    assert (button["action_id"], button["value"], button["style"]) == ("accept_lead", "12", "primary")


@pytest.mark.parametrize("state, expected", [
    (ACCEPTED, "Accepted by <@U0REP> after 2 min 10 s"),
    ({**ACCEPTED, "accepted_at": "2026-11-23T11:00:05Z"}, "Accepted by <@U0REP> after 1 h"),
    ({**ACCEPTED, "accepted_at": None}, "Accepted by <@U0REP>"),
    ({**ACCEPTED, "accepted_by": None}, "Accepted after 2 min 10 s"),
    (CLOSED, "Closed: Duplicate of lead 9"),
    ({**CLOSED, "closed_reason": "<!channel> spam"}, "Closed: &lt;!channel&gt; spam"),
    ({**CLOSED, "closed_reason": None}, "Closed"),
])
def test_accepted_and_closed_cards_replace_the_button(state: dict, expected: str) -> None:
    text, blocks = alert_message(CARD, state, NOW)
    assert blocks[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": expected, "verbatim": True}]}
    assert not any(block["type"] == "actions" for block in blocks)
    assert text.endswith(f" · {state['status']}")


@pytest.mark.parametrize("changes, present, absent", [
    ({"high_intent": False}, "New MQL", "Fast lane"),
    ({"assignee": None}, "Owner Riley Rep is not in Slack: sent to the team channel · Contact owner", "<@"),
    ({"assignee": None, "owner_name": None, "route_why": "No owner; round robin empty"},
     "Not assigned: sent to the team channel · No owner; round robin empty", "<@"),
    ({"hubspot_url": None}, "*VP Engineering* at *Acme*", "Open in HubSpot"),
    ({"title": None, "company": None, "size": None, "industry": None, "country": None},
     "No title or company in HubSpot", "employees"),
    ({"why_now": [], "activities": []}, "*Score 135*", "Why now"),
    ({"size": "51-200"}, "51-200 employees", "250 employees"),
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
    assert blocks[-1]["type"] == "actions"


def test_odd_values_do_not_break_rendering() -> None:
    odd = card(score="n/a", fit=None, engagement=float("nan"), reasons=[None, "x", {"points": "lots"}],
               why_now="not a list", activities=[{"kind": None, "count": "many", "occurred_at": 12}],
               became_mql_at="yesterday", lead_id=None)
    text, blocks = alert_message(odd, ACCEPTED, NOW)
    assert_valid(text, blocks)
    assert "*Score 0* · fit 0 · engagement 0" in "\n".join(mrkdwn_texts(blocks))
    assert "Activity · at an unknown time" in "\n".join(mrkdwn_texts(blocks))


# --- limits for any data -----------------------------------------------------------------------

def maximal_card() -> dict[str, Any]:
    long = "Ω&<" * 3400           # 10 200 chars, each escaping to several
    return card(
        name=long, title=long, company=long, size=long, industry=long, country=long, summary=long * 3,
        route_why=long, owner_name=long, hubspot_url="https://app.hubspot.com/" + "a" * 976,
        reasons=[{"rule": long, "axis": "fit", "points": i, "evidence": long} for i in range(100)],
        why_now=[{"label": long, "occurred_at": "2026-11-23T10:00:00Z"} for _ in range(500)],
        activities=[{"kind": long, "label": long, "occurred_at": "2026-11-23T10:00:00Z", "count": 10**12}
                    for _ in range(500)],
        score=10**15, lead_id="9" * 5000,
    )


@pytest.mark.parametrize("state", [NEW, ACCEPTED, {**CLOSED, "closed_reason": "&" * 10_000}])
def test_maximal_alert_stays_within_every_limit(state: dict) -> None:
    text, blocks = alert_message(maximal_card(), state, NOW)
    assert_valid(text, blocks)
    assert len(blocks) <= 50
    body = "\n".join(mrkdwn_texts(blocks))
    assert re.findall(r"…and \d+ more", body) == ["…and 495 more", "…and 95 more", "…and 495 more"]


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
CRM_FIELDS = ["name", "title", "company", "size", "industry", "country", "summary", "route_why", "owner_name",
              "reasons", "why_now", "activities", "assignee", "hubspot_url"]


def poisoned(field: str, payload: str) -> dict[str, Any]:
    nested = {"reasons": [{"rule": payload, "axis": "fit", "points": 5, "evidence": payload}],
              "why_now": [{"label": payload, "occurred_at": payload}],
              "activities": [{"kind": payload, "label": payload, "occurred_at": payload, "count": 2}]}
    return card(**{field: nested.get(field, payload)})


def rendered_messages(data: dict[str, Any]) -> list[tuple[str, list[dict]]]:
    return [alert_message(data, NEW, NOW), alert_message(data, {**CLOSED, "closed_reason": data.get("name")}, NOW),
            reminder_message(data, NOW), escalation_message(data, NOW)]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("field", CRM_FIELDS)
def test_no_crm_value_can_ping_link_or_mention(field: str, payload: str) -> None:
    for text, blocks in rendered_messages(poisoned(field, payload)):
        assert_valid(text, blocks)
        assert find_pings({"text": text, "blocks": blocks}) == []
        for mrkdwn in [text, *mrkdwn_texts(blocks)]:
            assert set(slack_tokens(mrkdwn)) <= {"<@U0REP>", f"<{HUBSPOT_URL}|Open in HubSpot>"}
            assert "\u202e" not in mrkdwn and "\x00" not in mrkdwn


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
    assert blocks[-1]["elements"][0]["action_id"] == "accept_lead"
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
