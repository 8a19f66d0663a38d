"""PURE: the business calendar a rep's deadlines run on: their own, else their team's, else the company's.

Each fact (time zone, hours, holidays, closed dates) comes from the most specific place that gives it:
1. sla.yaml `calendars.reps[owner id]`;
2. the rep's `timezone` and `hours` in routing.yaml, when both are given (their working hours: written once, used
   by routing and by the SLA);
3. sla.yaml `calendars.teams[team]`, the team being the rep's first territory (bot.routing.team_of);
4. sla.yaml's top level: `timezone`, `business_hours`, `holidays`, `closed`.
"""
from __future__ import annotations

from bot.business_time import BusinessCalendar
from bot.routing import team_of
from bot.rules.routing import RoutingRules
from bot.rules.sla import CalendarRules, SlaRules

FACTS = ("timezone", "business_hours", "holidays", "closed")


def calendar_of(sla: SlaRules, routing: RoutingRules, owner_id: str | None) -> BusinessCalendar:
    """The calendar of the rep with this HubSpot owner id; the company's for nobody (an unassigned lead)."""
    levels = calendar_levels(sla, routing, owner_id)
    timezone, hours, holidays, closed = (next(getattr(level, fact) for level in levels
                                              if getattr(level, fact) is not None) for fact in FACTS)
    return BusinessCalendar.closing_on(timezone, hours, holidays, closed)


def calendar_levels(sla: SlaRules, routing: RoutingRules, owner_id: str | None) -> list[CalendarRules]:
    """The places a rep's calendar facts may come from, most specific first; the company's last gives them all."""
    company = CalendarRules(sla.timezone, sla.business_hours, sla.holidays, sla.closed)
    if owner_id is None:
        return [company]
    rep = routing.reps.get(owner_id)
    # A routing.yaml time zone without hours changes nothing there (check-config warns), nor here.
    working_hours = CalendarRules(rep.timezone, rep.hours) if rep and rep.hours is not None else CalendarRules()
    return [sla.calendars.reps.get(owner_id, CalendarRules()), working_hours,
            sla.calendars.teams.get(team_of(routing, owner_id), CalendarRules()), company]
