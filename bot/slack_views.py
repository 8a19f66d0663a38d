"""PURE: the SDR loop's Slack views as plain dicts: the modals and the parsers and validators of their
submissions, the App Home, and the answers of the `/handoff` command.

Ids are a contract with the listeners: each modal's callback_id, and each input's block_id (== action_id),
are what `view.state.values` is keyed by (block_id → action_id → {type, value | selected_option |
selected_date}, specs/slack.md §2.6). Validators return {block_id: message} for Bolt's
`ack(response_action="errors", errors=…)`; an empty dict means the submission is good. CRM text is
escaped and clipped as in bot.slack_blocks; option and label texts are plain_text, which Slack never parses.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping, Sequence

from bot.slack_blocks import (
    HEADER_LIMIT, LINE_LIMIT, OPEN_STATUSES, SECTION_LIMIT, as_count, as_mapping, day_words, esc,
    ae_handoff_message, as_records, bant_summary, bullet_list, clean, contact_name, context_block, decision_text,
    esc_clip,
    header_block, hubspot_link, join_lines, lead_actions, mention, past_text, read_time, score_line, section_block,
    revisit_message, sla_text, slack_date, status_of, status_text, truncate, who_line,
)
from bot.timefmt import duration_words

__all__ = [
    "bant_modal", "disqualify_modal", "reassign_modal", "snooze_modal", "touch_modal",
    "parse_bant", "bant_errors", "bant_summary", "parse_disqualify", "disqualify_errors",
    "parse_reassign", "reassign_errors", "parse_snooze", "snooze_errors", "parse_touch", "touch_errors",
    "home_view", "mine_text", "lead_text", "away_text", "back_text", "stats_text", "help_text",
    "team_stats_text", "team_unknown_text", "stats_pending_text", "stats_failed_text", "review_message",
    "ae_handoff_message", "revisit_message",      # messages, built in bot.slack_blocks
]

TITLE_LIMIT = 24             # modal title, submit and close (specs/slack.md §5)
LABEL_LIMIT = 2000
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
OPTIONS_LIMIT = 100
METADATA_LIMIT = 3000
HOME_LEADS = 30              # 2 blocks each: with the header and the manager's part, well inside 100 blocks
LIST_LINES = 40              # lines rendered for one list (a section holds ~3000 chars); the rest are counted
REASON_LIMIT = 500           # a disqualify or reassign reason: a sentence, not an essay
NOTE_LIMIT = 3000            # Slack's own ceiling for a plain_text_input
TEXT_LIMITS = {"budget_range": 150, "need": 2000, "notes": NOTE_LIMIT}
NEXT_IN_POOL = "next"
OTHER = "Other"
SNOOZE_PRESETS = (15, 30, 60, 120, 240, 480, 1440, 2880)     # minutes
REVIEW_GROUPS = 8            # bands, sources, rules, teams shown per line of the review; the charts and `report` have all
TEAM_DQ_REASONS = 3
NO_FIGURE = "–"              # a figure with nothing to compute it from (no leads): never a division by zero
CAUSE_WORDS = {"human": "by the rep", "system": "by Handoff", "availability": "rep away or off hours"}

BUDGET_CHOICES = {"yes": "Yes", "no": "No", "unknown": "Unknown"}
AUTHORITY_CHOICES = {"decision_maker": "Decision maker", "influencer": "Influencer", "user": "User",
                     "unknown": "Unknown"}
TIMELINE_CHOICES = {"this_quarter": "This quarter", "next_quarter": "Next quarter", "six_months_plus": "6+ months",
                    "unknown": "Unknown"}
OUTCOMES = {   # value -> (text, description): the seeds' decision loop, no grey areas
    "sql": ("Qualified: hand to an AE", "BANT met: an Account Executive takes over"),
    "not_yet": ("Not yet: re-nurture", "Interest but no timeline: nurture until the revisit date"),
    "no_response": ("No response: recycle", "No answer after the cadence: back into a nurture track"),
}
TOUCH_KINDS = {"call": "Call", "email": "Email", "linkedin": "LinkedIn", "other": "Other"}
SQL_ITEMS = {   # a config sql_requires item -> (block_id, the inline error when an SQL lacks it)
    "budget": ("budget_confirmed", "An SQL needs a confirmed budget. Confirm it, or choose Not yet."),
    "authority": ("authority", "An SQL needs their role in the decision. Pick one, or choose Not yet."),
    "need": ("need", "An SQL needs the pain point. Describe it, or choose Not yet."),
    "timeline": ("timeline", "An SQL needs a timeline. Pick one, or choose Not yet."),
}


# --- modals -----------------------------------------------------------------------------------

def bant_modal(card: Mapping[str, Any], rules: Mapping[str, Any]) -> dict:
    """The Qualify modal: BANT answers, notes and the outcome; items in rules["sql_requires"] are labelled as
    required for SQL (every input but the outcome is optional in Slack: bant_errors decides per outcome)."""
    required = {item for item in as_mapping(rules).get("sql_requires") or [] if isinstance(item, str)}

    def label(text: str, item: str) -> str:
        return f"{text} (required for SQL)" if item in required else text

    blocks = [
        _input("budget_confirmed", label("Budget confirmed?", "budget"), _radio(_options(BUDGET_CHOICES))),
        _input("budget_range", "Budget range", _text_input(TEXT_LIMITS["budget_range"], placeholder="e.g. 50–100k")),
        _input("authority", label("Authority", "authority"), _select(_options(AUTHORITY_CHOICES), "Their role")),
        _input("need", label("Need: the pain point", "need"),
               _text_input(TEXT_LIMITS["need"], multiline=True, placeholder="In their words: what hurts, and why now")),
        _input("timeline", label("Timeline", "timeline"), _select(_options(TIMELINE_CHOICES), "When they would buy")),
        _input("notes", "Notes", _text_input(NOTE_LIMIT, multiline=True)),
        _input("outcome", "Outcome", _radio([_option(value, text, about) for value, (text, about) in OUTCOMES.items()]),
               optional=False),
        _input("revisit_date", "Revisit on (for Not yet)", {"type": "datepicker", "placeholder": _plain("Pick a date")},
               hint="When marketing brings the lead back into scoring."),
    ]
    return _modal(card, "bant_submit", "Qualify lead", "Save decision", blocks)


def disqualify_modal(card: Mapping[str, Any], reasons: Sequence[str]) -> dict:
    """The Disqualify modal: a reason from routing.yaml's list (required), with text required for Other."""
    options = [_option(reason, reason) for reason in _distinct(reasons)[:OPTIONS_LIMIT]] or [_option(OTHER, OTHER)]
    blocks = [
        _input("dq_reason", "Reason", _select(options, "Why this lead is not a fit"), optional=False),
        _input("dq_other", "Details (required for Other)", _text_input(REASON_LIMIT, multiline=True)),
        context_block("Marketing reads these reasons to fix the scoring: pick the closest one."),
    ]
    return _modal(card, "disqualify_submit", "Disqualify lead", "Disqualify", blocks)


def reassign_modal(card: Mapping[str, Any], sdrs: Sequence[tuple[str, str]]) -> dict:
    """The Reassign modal: a chosen SDR (slack user id, name) or the next in the pool, and a required reason."""
    current = card.get("assignee")
    people = {clean(uid): name for uid, name in sdrs if clean(uid) not in ("", clean(current), NEXT_IN_POOL)}
    options = [_option(NEXT_IN_POOL, "Next in the pool"), *[_option(uid, name) for uid, name in people.items()]]
    blocks = [
        _input("reassign_to", "Reassign to", _select(options[:OPTIONS_LIMIT], "Choose a rep"), optional=False),
        _input("reassign_reason", "Reason", _text_input(REASON_LIMIT, placeholder="So the next rep knows why"),
               optional=False),
    ]
    if current:
        blocks.append(context_block(f"Now assigned to {mention(current)}."))
    return _modal(card, "reassign_submit", "Reassign lead", "Reassign", blocks)


def snooze_modal(card: Mapping[str, Any], now: datetime, max_snooze: timedelta) -> dict:
    """The Snooze modal: presets (values in minutes, as strings) within the longest pause sla.yaml allows."""
    minutes = snooze_choices(max_snooze)
    if not minutes:
        blocks = [section_block("Snoozing is off: sla.yaml does not let the SLA clock pause.")]
        return _modal(card, "snooze_submit", "Snooze lead", None, blocks)     # nothing to submit
    options = [_option(str(m), duration_words(timedelta(minutes=m))) for m in minutes]
    latest = slack_date(now + timedelta(minutes=minutes[-1]))
    blocks = [
        _input("snooze_until", "Snooze for", _select(options, "How long"), optional=False),
        context_block(f"The SLA clock pauses meanwhile (sla.yaml allows up to {duration_words(max_snooze)}); "
                      f"the longest snooze brings the lead back {latest}."),
    ]
    return _modal(card, "snooze_submit", "Snooze lead", "Snooze", blocks)


def touch_modal(card: Mapping[str, Any]) -> dict:
    """The Log touch modal: how the rep reached out (it counts towards the cadence) and an optional note."""
    blocks = [
        _input("touch_kind", "How you reached out", _select(_options(TOUCH_KINDS), "Call, email…"), optional=False),
        _input("touch_note", "Note", _text_input(NOTE_LIMIT, multiline=True, placeholder="What happened")),
    ]
    return _modal(card, "touch_submit", "Log a touch", "Log touch", blocks)


def snooze_choices(max_snooze: timedelta) -> list[int]:
    """The snooze lengths in minutes to offer: the presets within the limit, and the limit itself."""
    limit = int(max_snooze.total_seconds() // 60)
    chosen = {m for m in SNOOZE_PRESETS if m <= limit}
    if 1 <= limit <= SNOOZE_PRESETS[-1]:
        chosen.add(limit)
    return sorted(chosen)


# --- submissions: parse, then validate --------------------------------------------------------

def parse_bant(values: Any) -> dict[str, str | None]:
    """The BANT modal's answers; a missing, blank or unknown choice is None; revisit_date stays "YYYY-MM-DD"."""
    return {
        "budget_confirmed": _choice(values, "budget_confirmed", BUDGET_CHOICES),
        "budget_range": _typed(values, "budget_range"),
        "authority": _choice(values, "authority", AUTHORITY_CHOICES),
        "need": _typed(values, "need"),
        "timeline": _choice(values, "timeline", TIMELINE_CHOICES),
        "notes": _typed(values, "notes"),
        "outcome": _choice(values, "outcome", OUTCOMES),
        "revisit_date": _picked_date(values, "revisit_date"),
    }


def bant_errors(bant: Mapping[str, Any], sql_requires: Iterable[str], today: date) -> dict[str, str]:
    """Inline errors by block_id: an SQL missing a required item (or with it unknown), Not yet without a
    revisit date or with a past one, a text over its limit."""
    outcome = bant.get("outcome")
    errors = {} if isinstance(outcome, str) and outcome in OUTCOMES else {"outcome": "Choose an outcome."}
    if outcome == "sql":
        required = [item for item in sql_requires if isinstance(item, str) and item in SQL_ITEMS]
        errors |= dict(SQL_ITEMS[item] for item in required if not _answered(bant, item))
    if outcome == "not_yet":
        errors |= _revisit_errors(bant.get("revisit_date"), today)
    for block_id, limit in TEXT_LIMITS.items():
        errors |= _length_errors(block_id, bant.get(block_id), limit)
    return errors


def parse_disqualify(values: Any) -> tuple[str | None, str | None]:
    """(reason, other text) from the Disqualify modal; None for what is missing or blank."""
    return _choice(values, "dq_reason"), _typed(values, "dq_other")


def disqualify_errors(reason: str | None, other: str | None) -> dict[str, str]:
    """A reason is required, and for Other so is the text saying why."""
    if not clean(reason):
        return {"dq_reason": "Choose a reason."}
    if clean(reason).casefold() == OTHER.casefold() and not clean(other):
        return {"dq_other": "Say why: Other needs a few words for marketing."}
    return _length_errors("dq_other", other, REASON_LIMIT)


def parse_reassign(values: Any) -> tuple[str | None, str | None]:
    """(slack user id or "next", reason) from the Reassign modal; None for what is missing or blank."""
    return _choice(values, "reassign_to"), _typed(values, "reassign_reason")


def reassign_errors(to: str | None, reason: str | None) -> dict[str, str]:
    """Someone to hand the lead to, and a reason (Slack accepts a reason of spaces; we do not)."""
    errors = {} if clean(to) else {"reassign_to": "Choose who takes the lead."}
    if not clean(reason):
        return errors | {"reassign_reason": "Say why, so the next rep knows."}
    return errors | _length_errors("reassign_reason", reason, REASON_LIMIT)


def parse_snooze(values: Any) -> int:
    """The chosen snooze in minutes; 0 when missing or malformed (snooze_errors rejects it)."""
    value = _choice(values, "snooze_until") or ""
    return int(value) if value.isdigit() and len(value) <= 6 else 0


def snooze_errors(minutes: int, max_snooze: timedelta) -> dict[str, str]:
    """A snooze of at least a minute and no longer than sla.yaml allows."""
    if 1 <= minutes and timedelta(minutes=minutes) <= max_snooze:
        return {}
    if max_snooze < timedelta(minutes=1):
        return {"snooze_until": "Snoozing is off: sla.yaml does not let the SLA clock pause."}
    return {"snooze_until": f"Pick a snooze of at most {duration_words(max_snooze)}, the most sla.yaml allows."}


def parse_touch(values: Any) -> tuple[str | None, str | None]:
    """(kind: call | email | linkedin | other, note) from the Log touch modal; None for what is missing."""
    return _choice(values, "touch_kind", TOUCH_KINDS), _typed(values, "touch_note")


def touch_errors(kind: str | None, note: str | None) -> dict[str, str]:
    """A known kind of touch, and a note within its limit."""
    errors = {} if isinstance(kind, str) and kind in TOUCH_KINDS else {"touch_kind": "Choose how you reached out."}
    return errors | _length_errors("touch_note", note, NOTE_LIMIT)


# --- App Home ---------------------------------------------------------------------------------

def home_view(leads: Sequence[Mapping[str, Any]], now: datetime, *, is_manager: bool,
              team: Sequence[Mapping[str, Any]] | None) -> dict:
    """The Home tab: "My leads" (in the order given, most urgent first) with their buttons; for a manager also
    the team's queue and its SLA breaches. Each lead is {"card", "state"}; each team row is
    {"user": "U…", "open": int, "overdue": int, "breaches": [{"card", "state"}, …]}."""
    blocks = [header_block("My leads"), *_my_leads(as_records(list(leads)), now)]
    if is_manager:
        rows = as_records(list(team or []))
        blocks += [{"type": "divider"}, header_block("Team queue"), section_block(_team_queue(rows)),
                   header_block("Breaches"), section_block(_breaches(rows, now))]
    return {"type": "home", "blocks": blocks}


def _my_leads(leads: list[Mapping[str, Any]], now: datetime) -> list[dict]:
    if not leads:
        return [context_block("No open leads right now. New MQLs assigned to you show up here, most urgent first.")]
    blocks: list[dict] = []
    for index, lead in enumerate(leads[:HOME_LEADS]):
        card, state = as_mapping(lead.get("card")), as_mapping(lead.get("state"))
        # block_ids must be unique within a view; the listeners match on action_id and read the value.
        actions = lead_actions(card, state, block_id=f"lead_actions_{index}")
        blocks += [section_block(_home_lead_text(card, state, now)), *([actions] if actions else [])]
    hidden = len(leads) - HOME_LEADS
    return blocks + ([context_block(f"…and {hidden} more: `/handoff mine` lists them.")] if hidden > 0 else [])


def _home_lead_text(card: Mapping[str, Any], state: Mapping[str, Any], now: datetime) -> str:
    name = esc_clip(contact_name(card), LINE_LIMIT)
    return _fit_lines([f"*{name}* · {who_line(card)}", _where_it_stands(card, state, now),
                       esc_clip(card.get("summary"), LINE_LIMIT), hubspot_link(card)], SECTION_LIMIT)


def _where_it_stands(card: Mapping[str, Any], state: Mapping[str, Any], now: datetime) -> str:
    """"Accepted by … · :stopwatch: … 3 min left · Touches 2/7" while open; the decision once decided."""
    status = status_of(state)
    if status not in OPEN_STATUSES:
        return decision_text(state)
    parts = ["Waiting for Accept" if status == "new" else "", status_text(state, card, now, live=True)]
    return " · ".join(part for part in parts if part)


def _team_queue(rows: list[Mapping[str, Any]]) -> str:
    if not rows:
        return "Nobody on the team has open leads."
    lines = [f"{mention(row.get('user'))} · {as_count(row.get('open'))} open"
             + (f" · *{as_count(row.get('overdue'))} overdue*" if as_count(row.get("overdue")) else "")
             for row in rows[:LIST_LINES]]
    return bullet_list("_Open leads per rep; overdue in bold_", lines, len(rows))


def _breaches(rows: list[Mapping[str, Any]], now: datetime) -> str:
    """Every overdue lead of the team, the longest overdue first."""
    breaches = [(row.get("user"), lead) for row in rows for lead in as_records(row.get("breaches"))]
    if not breaches:
        return "No SLA breaches right now. :tada:"
    breaches.sort(key=lambda item: _due(item[1]) or now)
    lines = [_breach_line(user, lead, now) for user, lead in breaches[:LIST_LINES]]
    return bullet_list("_Past their SLA, longest first_", lines, len(breaches))


def _breach_line(user: Any, lead: Mapping[str, Any], now: datetime) -> str:
    card, state = as_mapping(lead.get("card")), as_mapping(lead.get("state"))
    clock = sla_text(state.get("sla"), now, live=True) or "*overdue*"
    return f"*{esc_clip(contact_name(card), LINE_LIMIT)}* · {mention(user)} · {clock}"


def _due(lead: Mapping[str, Any]) -> datetime | None:
    return read_time(as_mapping(as_mapping(lead.get("state")).get("sla")).get("due_at"))


# --- /handoff answers (mrkdwn, each within a section's 3000 characters) ------------------------------

def mine_text(leads: Sequence[Mapping[str, Any]], now: datetime) -> str:
    """`/handoff mine`: the rep's open leads in the order given (most urgent first) with their SLA time left."""
    records = as_records(list(leads))
    if not records:
        return "You have no open leads. New MQLs assigned to you show up in Handoff's Home tab too."
    lines = [_mine_line(as_mapping(lead.get("card")), as_mapping(lead.get("state")), now)
             for lead in records[:LIST_LINES]]
    return bullet_list(f"*Your open leads ({len(records)})*", lines, len(records))


def _mine_line(card: Mapping[str, Any], state: Mapping[str, Any], now: datetime) -> str:
    company = esc_clip(card.get("company"), 80)
    name = esc_clip(contact_name(card), 80) + (f" ({company})" if company else "")
    return f"*{name}* · {_where_it_stands(card, state, now)}"


def lead_text(card: Mapping[str, Any], state: Mapping[str, Any], now: datetime) -> str:
    """`/handoff lead …`: one lead at a glance: who, score, where it stands, its past and who has it."""
    past = past_text(card, now)
    lines = [f"*{esc_clip(contact_name(card), LINE_LIMIT)}* · {who_line(card)}", hubspot_link(card),
             score_line(card), _where_it_stands(card, state, now),
             f"Returning lead: {past}" if past else "", _assigned_line(card),
             esc_clip(card.get("summary"), LINE_LIMIT)]
    return _fit_lines(lines, SECTION_LIMIT)


def away_text(until: datetime | None, now: datetime) -> str:
    """`/handoff away …`: what being away means, until when."""
    if until is None:
        return (":palm_tree: You're away until you type `/handoff back`. "
                "New leads go to the rest of the pool meanwhile; none pile up for you.")
    return (f":palm_tree: You're away until {slack_date(until)} ({duration_words(until - now)} from now). "
            "New leads go to the rest of the pool meanwhile; none pile up for you. `/handoff back` ends it sooner.")


def back_text() -> str:
    """`/handoff back`."""
    return (":wave: Welcome back: new leads come to you again. "
            "Leads routed while you were away stay with the reps who took them.")


def stats_text(stats: Mapping[str, Any]) -> str:
    """`/handoff stats`: the rep's week: accepts (and the median time to accept), touches, decisions, breaches,
    and, for the leads that became MQLs that week, their SLA compliance and speed to lead (bot.report's figures)."""
    numbers = {key: as_count(as_mapping(stats).get(key)) for key in
               ("accepted", "touches", "sql", "not_yet", "no_response", "disqualified", "breaches")}
    median = as_mapping(stats).get("median_accept_seconds")
    speed = f", median {_seconds_words(median)} to accept" if _seconds_words(median) != NO_FIGURE else ""
    sla, to_lead = as_mapping(stats).get("sla"), as_mapping(stats).get("speed_to_lead")
    return join_lines([
        "*Your week*", f"• Accepted {numbers['accepted']} leads{speed}", f"• Logged {numbers['touches']} touches",
        f"• Decided: {numbers['sql']} SQL · {numbers['not_yet']} not yet · {numbers['no_response']} no response"
        f" · {numbers['disqualified']} disqualified",
        f"• SLA breaches: {numbers['breaches']}" + (" :tada:" if not numbers["breaches"] else ""),
        f"• SLA compliance: {compliance_words(sla)}" if isinstance(sla, Mapping) else "",
        f"• Speed to lead: {speed_words(to_lead)}" if isinstance(to_lead, Mapping) else "",
    ])


def team_stats_text(team: str, report: Mapping[str, Any]) -> str:
    """`/handoff stats team [NAME]`: a team's last 7 days from bot.report: volume, conversion, speed, each rep's SLA."""
    title = f"*{esc_clip(team, HEADER_LIMIT)}: the last 7 days*"
    if report.get("empty"):
        return join_lines([title, "No lead of this team became an MQL in the last 7 days."])
    overall = report["conversion"]["overall"]
    reps = [f"{mention(row['key'])}: {compliance_words(row)}" for row in report["sla"]["by_rep"]]
    lines = [title, f"• {_many(overall['mqls'], 'MQL')}, {_many(overall['sqls'], 'SQL')} among them "
                    f"({percent_words(overall['rate'])})",
             f"• Speed to lead: {speed_words(report['speed_to_lead'])}",
             f"• Disqualified: {dq_words(report['disqualified'], TEAM_DQ_REASONS)}"]
    return _fit_lines([*lines, bullet_list("SLA compliance by rep:", reps, len(reps), SECTION_LIMIT - 600)],
                      SECTION_LIMIT)


def stats_pending_text() -> str:
    """`/handoff stats …` answered at once: the figures follow in a moment (they are counted after the ack)."""
    return ":hourglass_flowing_sand: Working on your stats…"


def stats_failed_text() -> str:
    """`/handoff stats …` when the figures could not be counted: said, so the rep is not left waiting."""
    return "Handoff could not put your stats together just now. Please try `/handoff stats` again in a minute."


def team_unknown_text(name: str, teams: Sequence[str]) -> str:
    """`/handoff stats team NAME` for a team routing.yaml does not have."""
    return (f"No team is called {esc_clip(name, LINE_LIMIT)}. Teams: "
            + ", ".join(esc_clip(team, LINE_LIMIT) for team in teams) + ".")


# --- the review in Slack --------------------------------------------------------------------------

def review_message(report: Mapping[str, Any], suggestions: Sequence[str]) -> tuple[str, list[dict]]:
    """The leadership review of a report (bot.report.build) and bot.tune's suggestions for marketing, in words:
    fallback text and Block Kit, within Slack's limits."""
    period = report["period"]
    head = f"Lead review, {_day_of(period['since'])} – {_day_of(period['until'])}"
    if report.get("empty"):
        text = f"{head}: no lead became an MQL in this period, so there is nothing to review."
        return text, [header_block(head), section_block(esc(text))]
    sections = [_volume_section(report), _conversion_section(report), _speed_section(report),
                _sla_section(report), _dq_section(report), _effort_section(report),
                _suggestions_section(suggestions)]
    blocks = [header_block(head), *(section_block(_fit_lines(lines, SECTION_LIMIT)) for lines in sections),
              context_block("The charts follow in this thread. `python -m bot report` prints every figure.")]
    return f"{head}: {_volume_line(report['volume'])}", blocks


def _volume_section(report: Mapping[str, Any]) -> list[str]:
    volume = report["volume"]
    weeks = [f"• Week of {_week_of(week['week'])}: {_many(week['mqls'], 'MQL')}, {_many(week['sqls'], 'SQL')} "
             f"({percent_words(week['rate'])})" for week in volume["by_week"]]
    return ["*MQL volume*", _volume_line(volume), *weeks]


def _volume_line(volume: Mapping[str, Any]) -> str:
    if not volume.get("monthly_target"):
        return f"{volume['mqls']} MQLs (no monthly target set in reports.yaml)"
    return (f"{volume['mqls']} MQLs against a target of {volume['target_for_period']:.0f} for the period "
            f"({volume['monthly_target']} a month): {percent_words(volume['share_of_target'])} of target")


def _conversion_section(report: Mapping[str, Any]) -> list[str]:
    conversion = report["conversion"]
    overall = conversion["overall"]
    return ["*MQL → SQL conversion*",
            f"Overall: {overall['sqls']} of {overall['mqls']} MQLs became SQL ({percent_words(overall['rate'])})",
            _rates_line("By score band", conversion["by_band"]), _rates_line("By source", conversion["by_source"]),
            _rates_line("By rule that fired", conversion["by_rule"])]


def _rates_line(title: str, rows: Sequence[Mapping[str, Any]]) -> str:
    shown = [f"{esc_clip(row['key'], 60)} {row['sqls']}/{row['mqls']} ({percent_words(row['rate'])})"
             for row in rows[:REVIEW_GROUPS]]
    more = f" · …{len(rows) - REVIEW_GROUPS} more" if len(rows) > REVIEW_GROUPS else ""
    return truncate(f"{title}: " + " · ".join(shown) + more, LINE_LIMIT * 3) if rows else ""


def _speed_section(report: Mapping[str, Any]) -> list[str]:
    speed = report["speed_to_lead"]
    bands = " · ".join(f"{band['band']}: {band['leads']} ({percent_words(band['share'])})" for band in speed["bands"])
    return ["*Speed to lead* (prospect's action → first touch)", speed_words(speed),
            f"Bands: {bands}" if speed["leads"] else ""]


def _sla_section(report: Mapping[str, Any]) -> list[str]:
    # Reps are Slack ids (shown as mentions); teams are names, which may look like an id ("US"): never mentioned.
    by_rep = [f"• {mention(row['key'])}: {compliance_words(row)}" for row in report["sla"]["by_rep"]]
    by_team = [f"• {esc_clip(row['key'], LINE_LIMIT)}: {compliance_words(row)}" for row in report["sla"]["by_team"]]
    return ["*SLA compliance* (leads that met every deadline)", "By team:", *by_team[:REVIEW_GROUPS],
            "By rep:", *by_rep[:REVIEW_GROUPS * 2]]


def _dq_section(report: Mapping[str, Any]) -> list[str]:
    return ["*Disqualified*", dq_words(report["disqualified"], REVIEW_GROUPS)]


def _effort_section(report: Mapping[str, Any]) -> list[str]:
    touches = report["touches"]
    mean = f"{touches['mean']:.1f}" if isinstance(touches.get("mean"), (int, float)) else NO_FIGURE
    return ["*Effort and recycling*", f"Touches per lead: mean {mean}, median {touches.get('median') or NO_FIGURE}",
            f"Recycled (no response): {report['recycled']} · re-nurtured (not yet): {report['renurtured']} · "
            f"SQL after an earlier recycle: {report['sql_after_recycle']}"]


def _suggestions_section(suggestions: Sequence[str]) -> list[str]:
    if not suggestions:
        return ["*What marketing could change*", "No change to scoring.yaml is suggested by this period's outcomes."]
    return ["*What marketing could change* (suggestions only: nothing is applied on its own)",
            *(f"• {esc_clip(words, LINE_LIMIT * 2)}" for words in suggestions)]


# --- figures in words, shared by the review and /handoff stats -------------------------------------

def speed_words(speed: Mapping[str, Any]) -> str:
    """Speed to lead p50/p95, and the split at the alert: the system's delay and the rep's."""
    if not speed.get("leads"):
        return "no lead touched yet"
    return (f"p50 {_seconds_words(speed.get('p50'))}, p95 {_seconds_words(speed.get('p95'))} over "
            f"{_many(speed['leads'], 'lead')} · system (action → alert) p50 {_seconds_words(speed.get('system_p50'))}, "
            f"p95 {_seconds_words(speed.get('system_p95'))} · rep (alert → first touch) p50 "
            f"{_seconds_words(speed.get('human_p50'))}, p95 {_seconds_words(speed.get('human_p95'))}")


def compliance_words(row: Mapping[str, Any]) -> str:
    """"9 of 10 leads met every deadline (90%) · missed: 1 rep" (or "no leads")."""
    if not row.get("leads"):
        return "no leads"
    missed = [f"{count} {CAUSE_WORDS.get(cause, cause)}" for cause, count in (row.get("breaches") or {}).items() if count]
    return (f"{row['met']} of {_many(row['leads'], 'lead')} met every deadline ({percent_words(row.get('compliance'))})"
            + (f" · missed: {', '.join(missed)}" if missed else ""))


def dq_words(disqualified: Mapping[str, Any], most: int) -> str:
    """The total and the most frequent reasons."""
    if not disqualified.get("total"):
        return "none"
    reasons = ", ".join(f"{esc_clip(item['reason'], 80)} ({item['count']})" for item in disqualified["by_reason"][:most])
    return f"{_many(disqualified['total'], 'lead')}: {reasons}"


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def percent_words(share: Any) -> str:
    return f"{share:.0%}" if isinstance(share, (int, float)) and not isinstance(share, bool) else NO_FIGURE


def _seconds_words(seconds: Any) -> str:
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 <= seconds < 10**8:
        return duration_words(timedelta(seconds=seconds))
    return NO_FIGURE


def _day_of(iso: str) -> str:
    return day_words(datetime.fromisoformat(iso).date())


def _week_of(iso_day: str) -> str:
    return day_words(date.fromisoformat(iso_day))


def help_text() -> str:
    """`/handoff` with no (or an unknown) subcommand."""
    return join_lines([
        "*/handoff* commands:",
        "• `/handoff mine`: your open leads, most urgent first",
        "• `/handoff lead <email or id>`: one lead: who, score, where it stands",
        "• `/handoff away <until>`: no new leads for you until then",
        "• `/handoff back`: new leads come to you again",
        "• `/handoff stats`: your week: accepts, touches, decisions, SLA compliance, speed to lead",
        "• `/handoff stats team [name]`: a team's week (yours without a name)",
    ])


def _assigned_line(card: Mapping[str, Any]) -> str:
    why = esc_clip(card.get("route_why"), LINE_LIMIT)
    who = f"Assigned to {mention(card.get('assignee'))}" if card.get("assignee") else "Not assigned"
    return f"{who} · {why}" if why else who


def _fit_lines(lines: list[str], limit: int) -> str:
    """The non-empty lines, from the first, that fit in `limit` characters together (each is already clipped)."""
    kept: list[str] = []
    for line in filter(None, lines):
        if len(join_lines([*kept, line])) > limit:
            break
        kept.append(line)
    return join_lines(kept)


# --- view building blocks ---------------------------------------------------------------------

def _plain(text: str, limit: int = OPTION_TEXT_LIMIT) -> dict:
    # plain_text is never parsed by Slack, so CRM text goes in cleaned but unescaped (specs/slack.md §8).
    return {"type": "plain_text", "text": truncate(clean(text), limit) or "?", "emoji": True}


def _option(value: str, text: str, description: str | None = None) -> dict:
    option = {"text": _plain(text or value), "value": truncate(clean(value), OPTION_VALUE_LIMIT)}
    return {**option, "description": _plain(description)} if description else option


def _options(choices: Mapping[str, str]) -> list[dict]:
    return [_option(value, text) for value, text in choices.items()]


def _radio(options: list[dict]) -> dict:
    return {"type": "radio_buttons", "options": options}


def _select(options: list[dict], placeholder: str) -> dict:
    return {"type": "static_select", "placeholder": _plain(placeholder), "options": options}


def _text_input(max_length: int, *, multiline: bool = False, placeholder: str | None = None) -> dict:
    element: dict = {"type": "plain_text_input", "multiline": multiline, "max_length": max_length}
    return {**element, "placeholder": _plain(placeholder, 150)} if placeholder else element


def _input(block_id: str, label: str, element: dict, *, optional: bool = True, hint: str | None = None) -> dict:
    """An input block whose block_id is also its element's action_id (the key pair in view.state.values)."""
    block = {"type": "input", "block_id": block_id, "optional": optional, "label": _plain(label, LABEL_LIMIT),
             "element": {**element, "action_id": block_id}}
    return {**block, "hint": _plain(hint, LABEL_LIMIT)} if hint else block


def _modal(card: Mapping[str, Any], callback_id: str, title: str, submit: str | None, blocks: list[dict]) -> dict:
    """A modal about one lead: its id rides in private_metadata, its name and role head the form."""
    name = esc_clip(contact_name(card), LINE_LIMIT)
    view = {"type": "modal", "callback_id": callback_id,
            "private_metadata": truncate(clean(card.get("lead_id")), METADATA_LIMIT),
            "title": _plain(title, TITLE_LIMIT), "close": _plain("Cancel", TITLE_LIMIT),
            "blocks": [section_block(f"*{name}*\n{who_line(card)}"), *blocks]}
    return {**view, "submit": _plain(submit, TITLE_LIMIT)} if submit else view


# --- reading view.state.values (the payload is Slack's, but a forged one must not raise) ------------

def _action(values: Any, block_id: str) -> Mapping[str, Any]:
    return as_mapping(as_mapping(as_mapping(values).get(block_id)).get(block_id))


def _choice(values: Any, block_id: str, allowed: Mapping[str, str] | None = None) -> str | None:
    """The selected option's value, if any (and, given `allowed`, only one of its keys)."""
    value = as_mapping(_action(values, block_id).get("selected_option")).get("value")
    if not isinstance(value, str) or not value.strip():
        return None
    return value if allowed is None or value in allowed else None


def _typed(values: Any, block_id: str) -> str | None:
    """The text typed, stripped; None when blank."""
    value = _action(values, block_id).get("value")
    return value.strip() or None if isinstance(value, str) else None


def _picked_date(values: Any, block_id: str) -> str | None:
    value = _action(values, block_id).get("selected_date")
    return value if isinstance(value, str) and value else None


def _answered(bant: Mapping[str, Any], item: str) -> bool:
    """Whether a BANT item counts for an SQL: budget confirmed, a known authority and timeline, a need written."""
    if item == "budget":
        return bant.get("budget_confirmed") == "yes"
    if item == "need":
        return bool(clean(bant.get("need")))
    return bant.get(item) not in (None, "", "unknown")


def _revisit_errors(value: Any, today: date) -> dict[str, str]:
    if not value:
        return {"revisit_date": "Pick when marketing should bring this lead back."}
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return {"revisit_date": "Pick a date from the calendar."}
    return {"revisit_date": "That date is in the past: pick a later one."} if day < today else {}


def _length_errors(block_id: str, text: Any, limit: int) -> dict[str, str]:
    if isinstance(text, str) and len(text) > limit:
        return {block_id: f"Keep this to {limit} characters or fewer (it has {len(text)})."}
    return {}


def _distinct(reasons: Iterable[Any]) -> list[str]:
    """The reasons cleaned, blanks and repeats dropped: Slack rejects two options with one value."""
    seen: dict[str, None] = {}
    for reason in reasons:
        text = truncate(clean(reason), OPTION_VALUE_LIMIT)
        if text:
            seen.setdefault(text, None)
    return list(seen)
