"""bot.slack_views: modals, their parsers and validators, the App Home and the /handoff answers, as tables.

Submissions are built from the modal itself, the way Slack fills view.state.values, so a parser test fails
when a block_id, an action_id or an option value drifts. Snapshots as in test_slack_blocks.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from slack_sdk.models.views import View

from bot import slack_blocks, slack_views
from bot.slack_blocks import AUTHORITY_WORDS, BUDGET_WORDS, TIMELINE_WORDS
from bot.slack_views import (
    AUTHORITY_CHOICES, BUDGET_CHOICES, TIMELINE_CHOICES, away_text, back_text, bant_errors, bant_modal,
    disqualify_errors, disqualify_modal, help_text, home_view, lead_text, mine_text, parse_bant, parse_disqualify,
    parse_reassign, parse_snooze, parse_touch, reassign_errors, reassign_modal, snooze_errors, snooze_modal,
    review_message, stats_text, team_stats_text, team_unknown_text, touch_errors, touch_modal,
)
from tests.fakes.fake_slack import block_kit_problems, find_pings
from tests.test_slack_blocks import (
    ACCEPTED, ALLOWED_TOKENS, CARD, LONG, NEW, NOW, PAYLOADS, QUALIFIED, SLA_ACCEPT, STATES, assert_snapshot, card,
    foreign_tokens, maximal_card, maximal_state, mrkdwn_texts,
)

TODAY = date(2026, 11, 23)
ALL_BANT = ["budget", "authority", "need", "timeline"]
REASONS = ["No budget", "Wrong industry", "Contact left", "Competitor", "Student or job seeker", "Duplicate", "Other"]
SDRS = [("U0REP", "Riley Rep"), ("U0B", "Bo Rep"), ("U0C", "Cy Rep")]
MANIFEST = Path(__file__).resolve().parent.parent / "slack" / "manifest.yml"
OVERDUE = {**NEW, "sla": {**SLA_ACCEPT, "due_at": "2026-11-23T09:59:10Z", "overdue": True}}
GRACE = card(lead_id=13, name="Grace Hopper", title="CTO", company="Navy", summary="Booked a meeting")


def modals() -> dict[str, dict]:
    return {
        "bant": bant_modal(CARD, {"sql_requires": ALL_BANT}),
        "disqualify": disqualify_modal(CARD, REASONS),
        "reassign": reassign_modal(CARD, SDRS),
        "snooze": snooze_modal(CARD, NOW, timedelta(hours=2)),
        "touch": touch_modal(CARD),
    }


# --- checks for views: the fake checks all but input blocks, so those are checked here ---------------

def view_problems(view: dict) -> list[str]:
    """Every documented limit (specs/slack.md §5) the view breaks, input blocks included; empty when valid."""
    View(**view).to_dict()          # slack_sdk's own validators raise SlackObjectFormationError
    blocks = view["blocks"]
    problems = block_kit_problems(blocks, max_blocks=100)
    ids = [block["block_id"] for block in blocks if "block_id" in block]
    problems += ["duplicate block_id"] if len(ids) != len(set(ids)) else []
    for block in blocks:
        problems += _input_problems(block) if block["type"] == "input" else []
    return problems + (_modal_problems(view) if view["type"] == "modal" else [])


def _modal_problems(view: dict) -> list[str]:
    problems = [f"{key} too long" for key in ("title", "submit", "close")
                if key in view and not 1 <= len(view[key]["text"]) <= 24]
    problems += ["callback_id too long"] if len(view["callback_id"]) > 255 else []
    problems += ["private_metadata too long"] if len(view["private_metadata"]) > 3000 else []
    has_inputs = any(block["type"] == "input" for block in view["blocks"])
    return problems + (["inputs without submit"] if has_inputs and "submit" not in view else [])


def _input_problems(block: dict) -> list[str]:
    element = block["element"]
    problems = [] if element["action_id"] == block["block_id"] else ["action_id differs from block_id"]
    problems += _plain_problems(block["label"], 2000)
    problems += _plain_problems(block["hint"], 2000) if "hint" in block else []
    problems += _plain_problems(element["placeholder"], 150) if "placeholder" in element else []
    if element["type"] == "plain_text_input" and not 1 <= element.get("max_length", 3000) <= 3000:
        problems.append("max_length out of range")
    if "options" in element:
        problems += _options_problems(element["options"], 10 if element["type"] == "radio_buttons" else 100)
    return problems


def _options_problems(options: list[dict], most: int) -> list[str]:
    problems = [] if 1 <= len(options) <= most else [f"{len(options)} options"]
    values = [option["value"] for option in options]
    problems += ["duplicate option values"] if len(values) != len(set(values)) else []
    for option in options:
        problems += _plain_problems(option["text"], 75)
        problems += ["option value length"] if not 1 <= len(option["value"]) <= 150 else []
        problems += _plain_problems(option["description"], 75) if "description" in option else []
    return problems


def _plain_problems(obj: dict, limit: int) -> list[str]:
    ok = obj["type"] == "plain_text" and 1 <= len(obj["text"]) <= limit
    return [] if ok else [f"bad plain_text {obj['text'][:20]!r}"]


def submitted(view: dict, **answers: Any) -> dict:
    """view.state.values as Slack sends it for these answers; a chosen value must be one the view offers."""
    values: dict = {}
    for block in view["blocks"]:
        if block["type"] == "input":
            element = block["element"]
            values[block["block_id"]] = {element["action_id"]: _element_state(element, answers.get(block["block_id"]))}
    return values


def _element_state(element: dict, answer: Any) -> dict:
    kind = element["type"]
    if kind == "plain_text_input":
        return {"type": kind, "value": answer}
    if kind == "datepicker":
        return {"type": kind, "selected_date": answer}
    option = next((option for option in element["options"] if option["value"] == answer), None)
    assert answer is None or option is not None, f"{answer!r} is not offered"
    return {"type": kind, "selected_option": option}


def inputs(view: dict) -> list[str]:
    return [block["block_id"] for block in view["blocks"] if block["type"] == "input"]


def labels(view: dict) -> dict[str, str]:
    return {block["block_id"]: block["label"]["text"] for block in view["blocks"] if block["type"] == "input"}


def offered(view: dict, block_id: str) -> list[tuple[str, str]]:
    block = next(block for block in view["blocks"] if block.get("block_id") == block_id)
    return [(option["value"], option["text"]["text"]) for option in block["element"]["options"]]


def test_messages_are_reachable_from_here_too() -> None:
    assert (slack_views.ae_handoff_message, slack_views.revisit_message, slack_views.bant_summary) == (
        slack_blocks.ae_handoff_message, slack_blocks.revisit_message, slack_blocks.bant_summary)
    assert all(callable(getattr(slack_views, name)) for name in slack_views.__all__)


# --- modals ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, callback_id, block_ids", [
    ("bant", "bant_submit", ["budget_confirmed", "budget_range", "authority", "need", "timeline", "notes", "outcome",
                             "revisit_date"]),
    ("disqualify", "disqualify_submit", ["dq_reason", "dq_other"]),
    ("reassign", "reassign_submit", ["reassign_to", "reassign_reason"]),
    ("snooze", "snooze_submit", ["snooze_until"]),
    ("touch", "touch_submit", ["touch_kind", "touch_note"]),
])
def test_modal_ids_and_snapshots(name: str, callback_id: str, block_ids: list[str]) -> None:
    view = modals()[name]
    assert (view["type"], view["callback_id"], view["private_metadata"]) == ("modal", callback_id, "12")
    assert inputs(view) == block_ids
    assert view_problems(view) == []
    assert view["blocks"][0]["text"]["text"] == "*Ada Lovelace*\n*VP Engineering* at *Acme*"
    assert_snapshot(f"modal_{name}", view)


@pytest.mark.parametrize("rules, required", [
    ({"sql_requires": ALL_BANT}, {"budget_confirmed", "authority", "need", "timeline"}),
    ({"sql_requires": ["budget", "need"]}, {"budget_confirmed", "need"}),
    ({"sql_requires": []}, set()),
    ({}, set()),
])
def test_bant_modal_marks_what_an_sql_requires(rules: dict, required: set[str]) -> None:
    view = bant_modal(CARD, rules)
    marked = {block_id for block_id, label in labels(view).items() if label.endswith(" (required for SQL)")}
    assert marked == required
    optional = {block["block_id"] for block in view["blocks"] if block["type"] == "input" and block["optional"]}
    assert optional == set(inputs(view)) - {"outcome"}        # bant_errors decides per outcome, not Slack


def test_bant_modal_offers_the_contract_values() -> None:
    view = modals()["bant"]
    assert offered(view, "budget_confirmed") == [("yes", "Yes"), ("no", "No"), ("unknown", "Unknown")]
    assert [value for value, _ in offered(view, "authority")] == ["decision_maker", "influencer", "user", "unknown"]
    assert [value for value, _ in offered(view, "timeline")] == ["this_quarter", "next_quarter", "six_months_plus",
                                                                 "unknown"]
    assert offered(view, "outcome") == [("sql", "Qualified: hand to an AE"), ("not_yet", "Not yet: re-nurture"),
                                        ("no_response", "No response: recycle")]
    for choices, words in ((BUDGET_CHOICES, BUDGET_WORDS), (AUTHORITY_CHOICES, AUTHORITY_WORDS),
                           (TIMELINE_CHOICES, TIMELINE_WORDS)):
        assert set(choices) == set(words)           # every value the modal offers has summary words


@pytest.mark.parametrize("reasons, expected", [
    (REASONS, [(reason, reason) for reason in REASONS]),
    (["No budget", " No  budget ", "", None, "Other"], [("No budget", "No budget"), ("Other", "Other")]),
    ([], [("Other", "Other")]),
    (["R" * 200], [("R" * 149 + "…", "R" * 74 + "…")]),
])
def test_disqualify_modal_offers_the_configured_reasons(reasons: list, expected: list) -> None:
    view = disqualify_modal(CARD, reasons)
    assert offered(view, "dq_reason") == expected
    assert view_problems(view) == []


@pytest.mark.parametrize("card_assignee, sdrs, expected", [
    ("U0REP", SDRS, [("next", "Next in the pool"), ("U0B", "Bo Rep"), ("U0C", "Cy Rep")]),
    (None, SDRS, [("next", "Next in the pool"), ("U0REP", "Riley Rep"), ("U0B", "Bo Rep"), ("U0C", "Cy Rep")]),
    (None, [("U0B", ""), ("U0B", "Bo again"), ("", "Nobody"), ("next", "Sneaky")],
     [("next", "Next in the pool"), ("U0B", "Bo again")]),
    ("U0REP", [], [("next", "Next in the pool")]),
    (None, [("U0X", "<!channel> \u202eeve")], [("next", "Next in the pool"), ("U0X", "<!channel> eve")]),
])
def test_reassign_modal_offers_the_pool_and_the_other_reps(card_assignee: Any, sdrs: list, expected: list) -> None:
    view = reassign_modal(card(assignee=card_assignee), sdrs)
    assert offered(view, "reassign_to") == expected
    assert view_problems(view) == []


@pytest.mark.parametrize("limit, values", [
    (timedelta(hours=2), ["15", "30", "60", "120"]),
    (timedelta(minutes=45), ["15", "30", "45"]),
    (timedelta(minutes=10), ["10"]),
    (timedelta(days=7), ["15", "30", "60", "120", "240", "480", "1440", "2880"]),
    (timedelta(hours=1, seconds=30), ["15", "30", "60"]),
])
def test_snooze_modal_offers_presets_within_the_limit(limit: timedelta, values: list[str]) -> None:
    view = snooze_modal(CARD, NOW, limit)
    assert [value for value, _ in offered(view, "snooze_until")] == values
    assert view_problems(view) == []


def test_snooze_modal_labels_and_latest_return() -> None:
    view = modals()["snooze"]
    assert [text for _, text in offered(view, "snooze_until")] == ["15 min", "30 min", "1 h", "2 h"]
    assert view["blocks"][-1]["elements"][0]["text"] == (
        "The SLA clock pauses meanwhile (sla.yaml allows up to 2 h); the longest snooze brings the lead back "
        "<!date^1795435330^{date_short_pretty} {time}|2026-11-23 12:02 UTC>.")


@pytest.mark.parametrize("limit", [timedelta(0), timedelta(seconds=59)])
def test_snooze_modal_when_sla_yaml_allows_no_pause(limit: timedelta) -> None:
    view = snooze_modal(CARD, NOW, limit)
    assert inputs(view) == [] and "submit" not in view
    assert view["blocks"][-1]["text"]["text"] == "Snoozing is off: sla.yaml does not let the SLA clock pause."
    assert view_problems(view) == []


def test_touch_modal_offers_the_cadence_channels() -> None:
    assert offered(modals()["touch"], "touch_kind") == [("call", "Call"), ("email", "Email"), ("linkedin", "LinkedIn"),
                                                         ("other", "Other")]


MODAL_BUILDERS: dict[str, Callable[[dict], dict]] = {
    "bant": lambda data: bant_modal(data, {"sql_requires": ALL_BANT}),
    "disqualify": lambda data: disqualify_modal(data, [f"{i} {LONG}" for i in range(300)]),
    "reassign": lambda data: reassign_modal(data, [(f"U{i:04d}{'X' * 200}", LONG) for i in range(300)]),
    "snooze": lambda data: snooze_modal(data, NOW, timedelta(days=3650)),
    "touch": touch_modal,
}


@pytest.mark.parametrize("name", list(MODAL_BUILDERS))
def test_maximal_modals_stay_within_every_limit(name: str) -> None:
    for data in (maximal_card(), {}, card(name="<!channel> & <@U999>|x", title=PAYLOADS[1])):
        view = MODAL_BUILDERS[name](data)
        assert view_problems(view) == []
        assert find_pings(view) == []
        assert all(foreign_tokens(text, ALLOWED_TOKENS) == [] for text in mrkdwn_texts(view["blocks"]))


# --- parsers ---------------------------------------------------------------------------------------

NO_BANT = dict.fromkeys(["budget_confirmed", "budget_range", "authority", "need", "timeline", "notes", "outcome",
                         "revisit_date"])
FULL = {"budget_confirmed": "yes", "budget_range": "50–100k", "authority": "decision_maker",
        "need": "Leads wait hours\nfor a rep", "timeline": "this_quarter", "notes": "Wants a pilot", "outcome": "sql",
        "revisit_date": None}


@pytest.mark.parametrize("answers, expected", [
    (FULL, FULL),
    ({}, NO_BANT),
    ({"budget_range": "   ", "need": " \n ", "notes": "  ok  ", "outcome": "not_yet", "revisit_date": "2027-04-01"},
     {**NO_BANT, "notes": "ok", "outcome": "not_yet", "revisit_date": "2027-04-01"}),
    ({"budget_confirmed": "unknown", "authority": "unknown", "timeline": "unknown", "outcome": "no_response"},
     {**NO_BANT, "budget_confirmed": "unknown", "authority": "unknown", "timeline": "unknown",
      "outcome": "no_response"}),
])
def test_parse_bant(answers: dict, expected: dict) -> None:
    assert parse_bant(submitted(modals()["bant"], **answers)) == expected


@pytest.mark.parametrize("values", [
    None, "values", [], {"authority": "ceo"}, {"authority": {"authority": None}},
    {"authority": {"authority": {"type": "static_select", "selected_option": {"value": "ceo"}}},
     "outcome": {"outcome": {"type": "radio_buttons", "selected_option": {"value": ["sql"]}}},
     "need": {"need": {"type": "plain_text_input", "value": 42}},
     "revisit_date": {"revisit_date": {"type": "datepicker", "selected_date": 20270401}}},
])
def test_parse_bant_reads_forged_or_odd_payloads_as_missing(values: Any) -> None:
    assert parse_bant(values) == NO_BANT


@pytest.mark.parametrize("answers, expected", [
    ({"dq_reason": "No budget"}, ("No budget", None)),
    ({"dq_reason": "Other", "dq_other": "  Reseller, not a buyer "}, ("Other", "Reseller, not a buyer")),
    ({"dq_other": "text but no reason"}, (None, "text but no reason")),
    ({}, (None, None)),
])
def test_parse_disqualify(answers: dict, expected: tuple) -> None:
    assert parse_disqualify(submitted(modals()["disqualify"], **answers)) == expected


@pytest.mark.parametrize("answers, expected", [
    ({"reassign_to": "next", "reassign_reason": "Out sick"}, ("next", "Out sick")),
    ({"reassign_to": "U0B", "reassign_reason": " Territory: DACH "}, ("U0B", "Territory: DACH")),
    ({"reassign_reason": "   "}, (None, None)),
])
def test_parse_reassign(answers: dict, expected: tuple) -> None:
    assert parse_reassign(submitted(modals()["reassign"], **answers)) == expected


@pytest.mark.parametrize("values, expected", [
    (submitted(snooze_modal(CARD, NOW, timedelta(hours=2)), snooze_until="30"), 30),
    (submitted(snooze_modal(CARD, NOW, timedelta(hours=2)), snooze_until="120"), 120),
    (submitted(snooze_modal(CARD, NOW, timedelta(hours=2))), 0),
    ({"snooze_until": {"snooze_until": {"selected_option": {"value": "-5"}}}}, 0),
    ({"snooze_until": {"snooze_until": {"selected_option": {"value": "tomorrow"}}}}, 0),
    ({"snooze_until": {"snooze_until": {"selected_option": {"value": "9999999"}}}}, 0),
    (None, 0),
])
def test_parse_snooze(values: Any, expected: int) -> None:
    assert parse_snooze(values) == expected


@pytest.mark.parametrize("values, expected", [
    (submitted(touch_modal(CARD), touch_kind="call", touch_note="Left a voicemail"), ("call", "Left a voicemail")),
    (submitted(touch_modal(CARD), touch_kind="linkedin"), ("linkedin", None)),
    (submitted(touch_modal(CARD)), (None, None)),
    ({"touch_kind": {"touch_kind": {"selected_option": {"value": "pigeon"}}}}, (None, None)),
])
def test_parse_touch(values: Any, expected: tuple) -> None:
    assert parse_touch(values) == expected


# --- validators ------------------------------------------------------------------------------------

SQL = {**FULL, "notes": None}
MISSING = {
    "budget_confirmed": "An SQL needs a confirmed budget. Confirm it, or choose Not yet.",
    "authority": "An SQL needs their role in the decision. Pick one, or choose Not yet.",
    "need": "An SQL needs the pain point. Describe it, or choose Not yet.",
    "timeline": "An SQL needs a timeline. Pick one, or choose Not yet.",
}
NOT_YET = {**NO_BANT, "outcome": "not_yet", "revisit_date": "2027-04-01"}


@pytest.mark.parametrize("bant, requires, expected", [
    (SQL, ALL_BANT, {}),
    ({**SQL, "budget_confirmed": None}, ALL_BANT, {"budget_confirmed": MISSING["budget_confirmed"]}),
    ({**SQL, "budget_confirmed": "no"}, ALL_BANT, {"budget_confirmed": MISSING["budget_confirmed"]}),
    ({**SQL, "budget_confirmed": "unknown"}, ALL_BANT, {"budget_confirmed": MISSING["budget_confirmed"]}),
    ({**SQL, "authority": "unknown"}, ALL_BANT, {"authority": MISSING["authority"]}),
    ({**SQL, "authority": "user"}, ALL_BANT, {}),
    ({**SQL, "need": "   "}, ALL_BANT, {"need": MISSING["need"]}),
    ({**SQL, "timeline": "unknown"}, ALL_BANT, {"timeline": MISSING["timeline"]}),
    ({**NO_BANT, "outcome": "sql"}, ALL_BANT, MISSING),
    ({**NO_BANT, "outcome": "sql", "budget_confirmed": "yes", "need": "Pain"}, ["budget", "need"], {}),
    ({**NO_BANT, "outcome": "sql"}, ["money", 5, ["need"]], {}),
    ({**NO_BANT, "outcome": "sql"}, [], {}),
    (NOT_YET, ALL_BANT, {}),
    ({**NOT_YET, "revisit_date": None}, ALL_BANT, {"revisit_date": "Pick when marketing should bring this lead back."}),
    ({**NOT_YET, "revisit_date": "2026-11-22"}, ALL_BANT,
     {"revisit_date": "That date is in the past: pick a later one."}),
    ({**NOT_YET, "revisit_date": "2026-11-23"}, ALL_BANT, {}),
    ({**NOT_YET, "revisit_date": "next spring"}, ALL_BANT, {"revisit_date": "Pick a date from the calendar."}),
    ({**NO_BANT, "outcome": "no_response"}, ALL_BANT, {}),
    ({**NO_BANT, "outcome": "no_response", "revisit_date": "2020-01-01"}, ALL_BANT, {}),
    (NO_BANT, ALL_BANT, {"outcome": "Choose an outcome."}),
    ({**NO_BANT, "outcome": ["sql"]}, ALL_BANT, {"outcome": "Choose an outcome."}),
    ({**NO_BANT, "outcome": "no_response", "need": "n" * 2000}, ALL_BANT, {}),
    ({**NO_BANT, "outcome": "no_response", "need": "n" * 2001}, ALL_BANT,
     {"need": "Keep this to 2000 characters or fewer (it has 2001)."}),
    ({**SQL, "notes": "n" * 3001, "budget_range": "b" * 151}, ALL_BANT,
     {"notes": "Keep this to 3000 characters or fewer (it has 3001).",
      "budget_range": "Keep this to 150 characters or fewer (it has 151)."}),
])
def test_bant_errors(bant: dict, requires: list, expected: dict) -> None:
    assert bant_errors(bant, requires, TODAY) == expected


def test_bant_errors_end_to_end_from_a_submission() -> None:
    values = submitted(modals()["bant"], outcome="sql", budget_confirmed="yes", need="Pain")
    assert bant_errors(parse_bant(values), ALL_BANT, TODAY) == {key: MISSING[key] for key in ("authority", "timeline")}


@pytest.mark.parametrize("reason, other, expected", [
    ("No budget", None, {}),
    ("Duplicate", "of lead 9", {}),
    ("Other", "Reseller", {}),
    ("other", "Reseller", {}),
    ("Other", None, {"dq_other": "Say why: Other needs a few words for marketing."}),
    ("Other", "  ", {"dq_other": "Say why: Other needs a few words for marketing."}),
    (None, "text", {"dq_reason": "Choose a reason."}),
    ("  ", None, {"dq_reason": "Choose a reason."}),
    ("Other", "x" * 501, {"dq_other": "Keep this to 500 characters or fewer (it has 501)."}),
])
def test_disqualify_errors(reason: Any, other: Any, expected: dict) -> None:
    assert disqualify_errors(reason, other) == expected


@pytest.mark.parametrize("to, reason, expected", [
    ("next", "Out sick", {}),
    ("U0B", "Territory", {}),
    (None, "Out sick", {"reassign_to": "Choose who takes the lead."}),
    ("next", None, {"reassign_reason": "Say why, so the next rep knows."}),
    ("next", " \n ", {"reassign_reason": "Say why, so the next rep knows."}),
    (None, None, {"reassign_to": "Choose who takes the lead.", "reassign_reason": "Say why, so the next rep knows."}),
    ("U0B", "x" * 501, {"reassign_reason": "Keep this to 500 characters or fewer (it has 501)."}),
])
def test_reassign_errors(to: Any, reason: Any, expected: dict) -> None:
    assert reassign_errors(to, reason) == expected


@pytest.mark.parametrize("minutes, limit, expected", [
    (30, timedelta(hours=2), {}),
    (120, timedelta(hours=2), {}),
    (121, timedelta(hours=2), {"snooze_until": "Pick a snooze of at most 2 h, the most sla.yaml allows."}),
    (0, timedelta(hours=2), {"snooze_until": "Pick a snooze of at most 2 h, the most sla.yaml allows."}),
    (5, timedelta(0), {"snooze_until": "Snoozing is off: sla.yaml does not let the SLA clock pause."}),
])
def test_snooze_errors(minutes: int, limit: timedelta, expected: dict) -> None:
    assert snooze_errors(minutes, limit) == expected


@pytest.mark.parametrize("kind, note, expected", [
    ("call", None, {}),
    ("other", "Met at a fair", {}),
    (None, None, {"touch_kind": "Choose how you reached out."}),
    ("pigeon", None, {"touch_kind": "Choose how you reached out."}),
    (["call"], None, {"touch_kind": "Choose how you reached out."}),
    ("email", "n" * 3001, {"touch_note": "Keep this to 3000 characters or fewer (it has 3001)."}),
])
def test_touch_errors(kind: Any, note: Any, expected: dict) -> None:
    assert touch_errors(kind, note) == expected


# --- App Home --------------------------------------------------------------------------------------

MY_LEADS = [{"card": CARD, "state": OVERDUE}, {"card": GRACE, "state": ACCEPTED}]
TEAM = [{"user": "U0REP", "open": 2, "overdue": 1, "breaches": [MY_LEADS[0]]},
        {"user": "U0B", "open": 3, "overdue": 0, "breaches": []}]


def home_texts(view: dict) -> list[str]:
    return [block["text"]["text"] if block["type"] in ("header", "section") else block["elements"][0].get("text", "")
            if block["type"] == "context" else block["type"] for block in view["blocks"]]


def test_home_for_a_rep() -> None:
    view = home_view(MY_LEADS, NOW, is_manager=False, team=None)
    assert view_problems(view) == [] and view["type"] == "home"
    assert_snapshot("home_rep", view)
    texts = home_texts(view)
    assert texts[0] == "My leads"
    assert texts[1].split("\n")[:2] == ["*Ada Lovelace* · *VP Engineering* at *Acme*",
                                        "Waiting for Accept · :stopwatch: Accept within 5 min · *overdue by 3 min*"]
    assert texts[3].split("\n")[1] == ("Accepted by <@U0REP> after 2 min 10 s · :stopwatch: First touch within 1 h"
                                       " · 57 min 55 s left · Touches 2/7")
    buttons = [[(b["action_id"], b["value"]) for b in block["elements"]]
               for block in view["blocks"] if block["type"] == "actions"]
    assert buttons == [[(a, "12") for a in ("accept_lead", "reassign_lead", "snooze_lead", "disqualify_lead")],
                       [(a, "13") for a in ("log_touch", "qualify_lead", "reassign_lead", "snooze_lead",
                                            "disqualify_lead")]]
    assert "Team queue" not in texts


def test_home_for_a_manager_adds_the_team_queue_and_breaches() -> None:
    late = {"card": GRACE, "state": {**NEW, "sla": {**SLA_ACCEPT, "due_at": "2026-11-23T09:00:10Z", "overdue": True}}}
    team = [*TEAM, {"user": "U0C", "open": 1, "overdue": 1, "breaches": [late]}]
    view = home_view(MY_LEADS, NOW, is_manager=True, team=team)
    assert view_problems(view) == []
    assert_snapshot("home_manager", view)
    texts = home_texts(view)
    assert texts[-4:] == [
        "Team queue", "_Open leads per rep; overdue in bold_\n• <@U0REP> · 2 open · *1 overdue*\n• <@U0B> · 3 open\n"
                      "• <@U0C> · 1 open · *1 overdue*",
        "Breaches", "_Past their SLA, longest first_\n"
                    "• *Grace Hopper* · <@U0C> · :stopwatch: Accept within 5 min · *overdue by 1 h 2 min*\n"
                    "• *Ada Lovelace* · <@U0REP> · :stopwatch: Accept within 5 min · *overdue by 3 min*"]


@pytest.mark.parametrize("leads, is_manager, team, expected", [
    ([], False, None, ["My leads",
                       "No open leads right now. New MQLs assigned to you show up here, most urgent first."]),
    ([], True, [], ["My leads", "No open leads right now. New MQLs assigned to you show up here, most urgent first.",
                    "divider", "Team queue", "Nobody on the team has open leads.", "Breaches",
                    "No SLA breaches right now. :tada:"]),
    ([], True, None, ["My leads", "No open leads right now. New MQLs assigned to you show up here, most urgent first.",
                      "divider", "Team queue", "Nobody on the team has open leads.", "Breaches",
                      "No SLA breaches right now. :tada:"]),
])
def test_empty_home(leads: list, is_manager: bool, team: Any, expected: list[str]) -> None:
    view = home_view(leads, NOW, is_manager=is_manager, team=team)
    assert home_texts(view) == expected
    assert view_problems(view) == []


def test_home_shows_a_decided_lead_without_buttons() -> None:
    view = home_view([{"card": CARD, "state": QUALIFIED}], NOW, is_manager=False, team=None)
    assert [block["type"] for block in view["blocks"]] == ["header", "section"]
    assert view["blocks"][1]["text"]["text"].split("\n")[1].startswith(":white_check_mark: *Qualified (SQL)*")


def test_maximal_home_stays_within_every_limit() -> None:
    leads = [{"card": maximal_card(), "state": maximal_state(status)} for status in STATES] * 30
    team = [{"user": LONG, "open": 10**9, "overdue": "x", "breaches": leads} for _ in range(300)]
    view = home_view(leads, NOW, is_manager=True, team=team)
    assert view_problems(view) == []
    assert len(view["blocks"]) <= 100
    assert home_texts(view)[-6] == "…and 210 more: `/handoff mine` lists them."
    assert find_pings(view) == []
    assert view_problems(home_view([{"card": {}, "state": {}}, "junk", {"card": "x"}], NOW, is_manager=True,
                                   team=[{"user": None}, "junk"])) == []


def test_long_lists_render_forty_lines_and_count_the_rest() -> None:
    small = [{"card": {"lead_id": i, "contact_id": str(i)}, "state": {"status": "new"}} for i in range(200)]
    assert mine_text(small, NOW).endswith("\n• *Contact 39* · Waiting for Accept\n…and 160 more")
    late = [{"card": {"name": f"L{i}"}, "state": {"sla": {"label": "Accept", "due_at": f"2026-11-23T09:{i:02d}:00Z"}}}
            for i in range(60)]
    view = home_view([], NOW, is_manager=True, team=[{"user": f"U{i:03d}", "open": 1, "breaches": late}
                                                     for i in range(100)])
    queue, breaches = home_texts(view)[-3], home_texts(view)[-1]
    assert queue.endswith("\n• <@U039> · 1 open\n…and 60 more")
    assert breaches.split("\n")[1] == "• *L0* · <@U000> · :stopwatch: Accept · *overdue by 1 h 2 min*"
    assert breaches.endswith("\n…and 5960 more")


# --- /handoff answers ------------------------------------------------------------------------------

def test_mine_text() -> None:
    assert mine_text(MY_LEADS, NOW) == (
        "*Your open leads (2)*\n"
        "• *Ada Lovelace (Acme)* · Waiting for Accept · :stopwatch: Accept within 5 min · *overdue by 3 min*\n"
        "• *Grace Hopper (Navy)* · Accepted by <@U0REP> after 2 min 10 s · :stopwatch: First touch within 1 h"
        " · 57 min 55 s left · Touches 2/7")
    assert mine_text([], NOW) == "You have no open leads. New MQLs assigned to you show up in Handoff's Home tab too."


def test_lead_text() -> None:
    returning = card(past={"outcome": "disqualified", "reason": "No budget", "at": "2026-10-20T09:00:00Z"},
                     score_history=[{"total": 40}, {"total": 135}])
    assert lead_text(returning, ACCEPTED, NOW) == (
        "*Ada Lovelace* · *VP Engineering* at *Acme*\n"
        "<https://app.hubspot.com/contacts/62515/record/0-1/501|Open in HubSpot>\n"
        "*Score 135* · fit 55 · engagement 80\nScore history: 40 → 135\n"
        "Accepted by <@U0REP> after 2 min 10 s · :stopwatch: First touch within 1 h · 57 min 55 s left · Touches 2/7\n"
        "Returning lead: Disqualified 34 days ago: No budget\n"
        "Assigned to <@U0REP> · Contact owner in HubSpot\n" + CARD["summary"])
    assert lead_text(card(assignee=None, route_why=None, hubspot_url=None, summary=None), QUALIFIED, NOW) == (
        "*Ada Lovelace* · *VP Engineering* at *Acme*\n*Score 135* · fit 55 · engagement 80\n"
        ":white_check_mark: *Qualified (SQL)* · by <@U0REP> · <!date^1795446000^{date_short_pretty} {time}"
        "|2026-11-23 15:00 UTC> · Handed to <@U0AE> · BANT: Budget confirmed (50–100k) · Decision maker"
        " · Need: Leads wait hours for a rep · This quarter\nNot assigned")


@pytest.mark.parametrize("until, expected", [
    (datetime(2026, 11, 27, 17, 0, tzinfo=timezone.utc),
     ":palm_tree: You're away until <!date^1795798800^{date_short_pretty} {time}|2026-11-27 17:00 UTC>"
     " (4 d 6 h from now). New leads go to the rest of the pool meanwhile; none pile up for you."
     " `/handoff back` ends it sooner."),
    (None, ":palm_tree: You're away until you type `/handoff back`. New leads go to the rest of the pool meanwhile;"
           " none pile up for you."),
])
def test_away_text(until: datetime | None, expected: str) -> None:
    assert away_text(until, NOW) == expected


def test_back_text() -> None:
    assert back_text() == (":wave: Welcome back: new leads come to you again. "
                           "Leads routed while you were away stay with the reps who took them.")


@pytest.mark.parametrize("stats, expected", [
    ({"accepted": 12, "median_accept_seconds": 185, "touches": 40, "sql": 3, "not_yet": 2, "no_response": 1,
      "disqualified": 4, "breaches": 1},
     "*Your week*\n• Accepted 12 leads, median 3 min 5 s to accept\n• Logged 40 touches\n"
     "• Decided: 3 SQL · 2 not yet · 1 no response · 4 disqualified\n• SLA breaches: 1"),
    ({}, "*Your week*\n• Accepted 0 leads\n• Logged 0 touches\n"
         "• Decided: 0 SQL · 0 not yet · 0 no response · 0 disqualified\n• SLA breaches: 0 :tada:"),
    ({"accepted": "7", "median_accept_seconds": float("nan"), "touches": True, "breaches": -1},
     "*Your week*\n• Accepted 0 leads\n• Logged 0 touches\n"
     "• Decided: 0 SQL · 0 not yet · 0 no response · 0 disqualified\n• SLA breaches: 0 :tada:"),
    ({"accepted": 1, "median_accept_seconds": 42.7}, "*Your week*\n• Accepted 1 leads, median 42 s to accept\n"
     "• Logged 0 touches\n• Decided: 0 SQL · 0 not yet · 0 no response · 0 disqualified\n• SLA breaches: 0 :tada:"),
])
def test_stats_text(stats: dict, expected: str) -> None:
    assert stats_text(stats) == expected


def test_help_names_every_subcommand_the_manifest_advertises() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    hint = manifest["features"]["slash_commands"][0]["usage_hint"]
    for usage in hint.split(" | "):
        assert f"`/handoff {usage}`" in help_text()


def test_maximal_answers_fit_a_section_and_cannot_ping() -> None:
    leads = [{"card": maximal_card(), "state": maximal_state(status)} for status in STATES] * 20
    answers = [mine_text(leads, NOW), *[lead_text(maximal_card(), maximal_state(s), NOW) for s in STATES],
               lead_text({}, {}, NOW), mine_text([{"card": None, "state": "x"}], NOW)]
    allowed = ALLOWED_TOKENS | {f"<{maximal_card()['hubspot_url']}|Open in HubSpot>"}
    for text in answers:
        assert 0 < len(text) <= 3000
        assert find_pings(text) == []
        assert foreign_tokens(text, allowed) == []
    assert re.search(r"\n…and 1[0-9]{2} more$", answers[0])


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_crm_value_in_an_answer_can_ping_link_or_mention(payload: str) -> None:
    poisoned = card(name=payload, title=payload, company=payload, summary=payload, route_why=payload,
                    past={"outcome": "nurture", "reason": payload, "at": payload})
    state = {**QUALIFIED, "decision": {**QUALIFIED["decision"], "reason": payload}}
    for text in (mine_text([{"card": poisoned, "state": NEW}], NOW), lead_text(poisoned, state, NOW)):
        assert find_pings(text) == []
        assert foreign_tokens(text, ALLOWED_TOKENS) == []
    overdue = {"card": poisoned, "state": OVERDUE}
    view = home_view([overdue], NOW, is_manager=True,
                     team=[{"user": payload, "open": 1, "overdue": 1, "breaches": [overdue]}])
    assert find_pings(view) == []
    assert all(foreign_tokens(text, ALLOWED_TOKENS) == [] for text in mrkdwn_texts(view["blocks"]))


# --- /handoff stats with the report's figures, /handoff stats team, the review ---------------------------

SPEED = {"leads": 6, "p50": 300, "p95": 7200, "system_p50": 20, "system_p95": 60, "human_p50": 280,
         "human_p95": 7190, "bands": [{"band": "0-5 min", "leads": 2, "share": 2 / 6},
                                      {"band": "5-15 min", "leads": 4, "share": 4 / 6}]}
SLA_ROW = {"key": "U0REP1", "leads": 3, "met": 1, "compliance": 1 / 3,
           "breaches": {"human": 1, "system": 1, "availability": 0}}


def test_a_reps_week_adds_their_sla_compliance_and_speed_to_lead() -> None:
    text = stats_text({"accepted": 1, "sla": SLA_ROW, "speed_to_lead": SPEED})
    assert text.endswith(
        "• SLA compliance: 1 of 3 leads met every deadline (33%) · missed: 1 by the rep, 1 by Handoff\n"
        "• Speed to lead: p50 5 min, p95 2 h over 6 leads · system (action → alert) p50 20 s, p95 1 min · "
        "rep (alert → first touch) p50 4 min 40 s, p95 1 h 59 min")
    quiet = stats_text({"sla": {"leads": 0}, "speed_to_lead": {"leads": 0}})
    assert quiet.endswith("• SLA compliance: no leads\n• Speed to lead: no lead touched yet")


def a_report(**changes: Any) -> dict:
    report = {
        "period": {"since": "2026-11-02T14:00:00+00:00", "until": "2026-11-16T14:00:00+00:00", "days": 14.0},
        "empty": False,
        "volume": {"mqls": 8, "monthly_target": 400, "target_for_period": 186.7, "share_of_target": 8 / 186.7,
                   "by_week": [{"week": "2026-11-02", "mqls": 4, "sqls": 1, "rate": 0.25}]},
        "conversion": {"overall": {"key": "all", "mqls": 8, "sqls": 3, "rate": 3 / 8},
                       "by_band": [{"key": f"{n} to {n + 4}", "mqls": 1, "sqls": 0, "rate": 0.0}
                                   for n in range(100, 200, 5)],
                       "by_source": [{"key": "<!channel> & co", "mqls": 8, "sqls": 3, "rate": 3 / 8}],
                       "by_rule": [], "by_sdr": []},
        "speed_to_lead": SPEED,
        "sla": {"by_rep": [SLA_ROW | {"key": f"U0REP{n}"} for n in range(40)],
                "by_team": [SLA_ROW | {"key": "US"}, SLA_ROW | {"key": "(unknown)"}]},
        "touches": {"leads": 8, "mean": 17 / 8, "median": 2.0},
        "disqualified": {"total": 2, "by_reason": [{"reason": "No budget", "count": 2}]},
        "recycled": 1, "renurtured": 1, "sql_after_recycle": 1,
    }
    return report | changes


def test_the_review_is_one_message_within_slacks_limits_with_crm_text_escaped() -> None:
    text, blocks = review_message(a_report(), ["Lower 'Guide' from 25 to 5 points <!here>"])
    assert text == "Lead review, Nov 2, 2026 – Nov 16, 2026: 8 MQLs against a target of 187 for the period " \
                   "(400 a month): 4% of target"
    assert block_kit_problems(blocks) == [] and find_pings(blocks) == [] and len(blocks) <= 50
    shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "&lt;!channel&gt; &amp; co 3/8 (38%)" in shown and "…12 more" in shown      # 20 bands: 8 shown
    assert "• <@U0REP0>: 1 of 3 leads met every deadline (33%)" in shown and "<@U0REP16>" not in shown
    assert "• US: 1 of 3 leads" in shown and "<@US>" not in shown          # a team is a name, never a mention
    assert "Lower 'Guide' from 25 to 5 points &lt;!here&gt;" in shown


def test_the_review_says_plainly_when_it_has_no_suggestions() -> None:
    assert "No change to scoring.yaml is suggested by this period's outcomes." in str(review_message(a_report(), [])[1])


def test_an_empty_period_review_says_so_plainly() -> None:
    text, blocks = review_message(a_report(empty=True), [])
    assert text == ("Lead review, Nov 2, 2026 – Nov 16, 2026: no lead became an MQL in this period, "
                    "so there is nothing to review.")
    assert [b["type"] for b in blocks] == ["header", "section"]


def test_a_teams_week() -> None:
    text = team_stats_text("DACH", a_report())
    assert text.startswith("*DACH: the last 7 days*\n• 8 MQLs, 3 SQLs among them (38%)\n• Speed to lead: p50 5 min")
    assert "• Disqualified: 2 leads: No budget (2)" in text and "SLA compliance by rep:\n• <@U0REP0>" in text
    assert len(text) <= 3000 and "more" in text
    assert team_stats_text("DACH", a_report(empty=True)) == (
        "*DACH: the last 7 days*\nNo lead of this team became an MQL in the last 7 days.")
    assert team_unknown_text("<!here>", ["DACH", "SDR pool"]) == "No team is called &lt;!here&gt;. Teams: DACH, SDR pool."
