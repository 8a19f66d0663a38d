"""Read-only answers for Slack: the form a button opens, /handoff's replies, the App Home. Reads the
database only (no HubSpot or Slack call), so an answer given in the acknowledgement fits in Slack's 3
seconds; `/handoff stats` reads a period of the ledger, so it acknowledges first and answers afterwards."""
from __future__ import annotations

import re
import statistics
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.engine import Row

from bot import actions, report, slack_views
from bot.routing import SDR_POOL, team_of
from bot.rules import Config, RoutingRules
from bot.services import Services
from bot.store import deadlines, journey, kv, leads
from bot.store.db import reading
from bot.store.schema import lead_events
from bot.store.schema import leads as leads_table

DURATION = re.compile(r"(\d+)\s*(m|min|h|d)\b", re.IGNORECASE)
WEEK = timedelta(days=7)


# --- the form behind a button -------------------------------------------------------------------

def form_for(svc: Services, action_id: str, lead_id: int, user_id: str,
             now: datetime) -> tuple[dict | None, actions.Outcome | None]:
    """The modal a card button opens, or why it does not open (not yours, already decided)."""
    with reading(svc.engine) as conn:
        lead, refused = actions.guard(conn, svc, lead_id, user_id)
        if refused:
            return None, refused
        card = leads.card_of(lead)
        if action_id == "reassign_lead":
            return slack_views.reassign_modal(card, _sdr_choices(conn, svc, lead)), None
    routing, sla = svc.config.routing, svc.config.sla
    views = {"snooze_lead": lambda: slack_views.snooze_modal(card, now, sla.max_snooze),
             "log_touch": lambda: slack_views.touch_modal(card),
             "qualify_lead": lambda: slack_views.bant_modal(card, {"sql_requires": list(routing.sql_requires)}),
             "disqualify_lead": lambda: slack_views.disqualify_modal(card, list(routing.disqualify_reasons))}
    return views[action_id](), None


def _sdr_choices(conn: Connection, svc: Services, lead: Row) -> list[tuple[str, str]]:
    """Reps a lead can be handed to: the pool's owners that have a Slack user, less its current rep."""
    choices = []
    known = kv.known_slack_users(conn, svc.config.routing.slack_users)
    for owner_id in svc.config.routing.sdr_pool:
        user = known.get(owner_id)
        name = kv.cached_owner_name(conn, owner_id) or f"Owner {owner_id}"
        if user and user != lead.assignee:
            choices.append((user, name))
    return choices


# --- /handoff -----------------------------------------------------------------------------------

def answer_command(svc: Services, user_id: str, text: str, now: datetime) -> str:
    """`/handoff mine | lead <email or id> | away <until> | back | stats [team [NAME]]` (anything else: help)."""
    word, _, rest = text.strip().partition(" ")
    handler = COMMANDS.get(word.lower())
    return handler(svc, user_id, rest.strip(), now) if handler else slack_views.help_text()


def _mine(svc: Services, user_id: str, _rest: str, now: datetime) -> str:
    with reading(svc.engine) as conn:
        return slack_views.mine_text(_lead_views(conn, leads.open_leads(conn, assignee=user_id), now), now)


def _lead(svc: Services, user_id: str, rest: str, now: datetime) -> str:
    with reading(svc.engine) as conn:
        lead = _find_lead(conn, rest)
        if lead is None:
            return f"No lead found for {rest!r}. Give a HubSpot contact id or an email."
        view = _lead_views(conn, [lead], now)[0]
        return slack_views.lead_text(view["card"], view["state"], now)


def _find_lead(conn: Connection, needle: str) -> Row | None:
    """The newest lead of a contact, by HubSpot id or by the email on its card."""
    query = select(leads_table).order_by(leads_table.c.id.desc())
    if needle.isdigit():
        return conn.execute(query.where(leads_table.c.contact_id == needle).limit(1)).first()
    email = needle.lower().strip("<>").removeprefix("mailto:").split("|")[0]
    candidates = conn.execute(query.where(leads_table.c.card.contains(email)).limit(20))
    return next((lead for lead in candidates if (leads.card_of(lead).get("email") or "").lower() == email), None)


def _away(svc: Services, user_id: str, rest: str, now: datetime) -> str:
    until = parse_until(rest, now)
    if until is None:
        return "Say how long: `/handoff away 2h`, `/handoff away 3d` or `/handoff away 2026-12-01`."
    with svc.engine.begin() as conn:
        kv.set_away(conn, user_id, until, now)
    return slack_views.away_text(until, now)


def _back(svc: Services, user_id: str, _rest: str, now: datetime) -> str:
    with svc.engine.begin() as conn:
        kv.set_away(conn, user_id, None, now)
    return slack_views.back_text()


def parse_until(text: str, now: datetime) -> datetime | None:
    """"2h", "3d", "90m" from now, or an ISO date (the rep is back that day, 00:00 UTC)."""
    match = DURATION.fullmatch(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()[0]
        return now + timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    try:
        day = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    day = day if day.tzinfo else day.replace(tzinfo=now.tzinfo)
    return day if day > now else None


def _stats(svc: Services, user_id: str, rest: str, now: datetime) -> str:
    """`/handoff stats` (the rep's week) or `/handoff stats team [NAME]` (a team's: the caller's without a name)."""
    word, _, name = rest.partition(" ")
    if word.lower() == "team":
        return _team_stats(svc, user_id, name.strip(), now)
    with reading(svc.engine) as conn:
        return slack_views.stats_text(week_stats(conn, svc.config, user_id, now))


def week_stats(conn: Connection, config: Config, user_id: str, now: datetime) -> dict[str, Any]:
    """A rep's last 7 days: accepts and how fast, touches, decisions by outcome, SLA breaches; and for the leads
    that became MQLs in those days, the report's SLA compliance and speed to lead (one piece of code for both)."""
    rows = list(conn.execute(select(lead_events, leads_table.c.assignee).join(
        leads_table, leads_table.c.id == lead_events.c.lead_id).where(
        lead_events.c.at >= now - WEEK)))
    mine = [r for r in rows if r.actor == user_id or (r.kind == "escalated" and r.assignee == user_id)]
    accepts = [journey.detail_of(r).get("seconds_to_accept") for r in mine if r.kind == "accepted"]
    decided = [journey.detail_of(r).get("outcome") for r in mine if r.kind == "decided"]
    figures = report.build(conn, config, now - WEEK, now, sdr=user_id)
    return {"accepted": len(accepts),
            "median_accept_seconds": statistics.median(a for a in accepts if a is not None) if accepts else None,
            "touches": sum(1 for r in mine if r.kind == "touch"),
            **{outcome: decided.count(outcome) for outcome in ("sql", "not_yet", "no_response", "disqualified")},
            "breaches": sum(1 for r in mine if r.kind == "escalated"),
            "sla": next((row for row in figures["sla"]["by_rep"] if row["key"] == user_id), {"leads": 0}),
            "speed_to_lead": figures["speed_to_lead"]}


def _team_stats(svc: Services, user_id: str, name: str, now: datetime) -> str:
    routing = svc.config.routing
    teams = [territory.name for territory in routing.territories] + [SDR_POOL]
    with reading(svc.engine) as conn:
        team = _team_named(teams, name) if name else team_of(routing, _owner_of(conn, routing, user_id))
        if team is None:
            return slack_views.team_unknown_text(name, teams)
        return slack_views.team_stats_text(team, report.build(conn, svc.config, now - WEEK, now, team=team))


def _team_named(teams: list[str], name: str) -> str | None:
    """The team called `name`, in any case (people type "emea" for "EMEA")."""
    return next((team for team in teams if team.casefold() == name.casefold()), None)


def _owner_of(conn: Connection, routing: RoutingRules, user_id: str) -> str | None:
    """The HubSpot owner a Slack user is (routing.yaml's mapping, else what the email lookups found)."""
    known = kv.known_slack_users(conn, routing.slack_users)
    return next((owner for owner, user in known.items() if user == user_id), None)


COMMANDS = {"mine": _mine, "lead": _lead, "away": _away, "back": _back, "stats": _stats}


# --- App Home -----------------------------------------------------------------------------------

def home_for(svc: Services, user_id: str, now: datetime) -> dict:
    """My leads, most urgent first; managers also see the team's queue."""
    is_manager = user_id in svc.config.routing.managers
    with reading(svc.engine) as conn:
        mine = _lead_views(conn, leads.open_leads(conn, assignee=user_id), now)
        team = _team(conn, now) if is_manager else None
    return slack_views.home_view(mine, now, is_manager=is_manager, team=team)


def _team(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Per rep: open leads, how many are overdue, and those overdue leads (the breaches)."""
    by_rep: dict[str, dict[str, Any]] = {}
    for view in _lead_views(conn, leads.open_leads(conn), now):
        rep = view["card"].get("assignee") or "unassigned"
        entry = by_rep.setdefault(rep, {"user": rep, "open": 0, "overdue": 0, "breaches": []})
        entry["open"] += 1
        if (view["state"].get("sla") or {}).get("overdue"):
            entry["overdue"] += 1
            entry["breaches"].append(view)
    return sorted(by_rep.values(), key=lambda e: (-e["overdue"], -e["open"]))


def _lead_views(conn: Connection, rows: list[Row], now: datetime) -> list[dict[str, Any]]:
    """Cards and states of many leads with two queries in all, not two per lead."""
    ids = [lead.id for lead in rows]
    slas, stories = deadlines.slas_of(conn, ids, now), journey.stories(conn, ids)
    views = [{"card": leads.card_of(lead),
              "state": leads.lead_state(lead) | {"sla": slas[lead.id], "history": stories[lead.id]}}
             for lead in rows]
    return sorted(views, key=lambda v: (v["state"].get("sla") or {}).get("due_at") or "9999")
