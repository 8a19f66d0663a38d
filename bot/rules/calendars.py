"""sla.yaml's `calendars` checked against routing.yaml: each team is a territory, each rep is in the SDR pool,
and a rep's time zone and hours are written in one place."""
from __future__ import annotations

from pathlib import Path

from bot.rules.problems import Problem
from bot.rules.routing import RoutingRules
from bot.rules.sla import SlaRules
from bot.rules.yamlfile import format_path, line_of, read_yaml

# A rep's calendar fact in sla.yaml -> the same fact in their routing.yaml entry.
ROUTING_TWINS = {"timezone": "timezone", "business_hours": "hours"}


def calendar_problems(sla_path: Path, sla: SlaRules | None, routing: RoutingRules | None) -> list[Problem]:
    """Warnings, at their lines in sla.yaml, for calendars naming a team or rep routing.yaml does not know."""
    if sla is None or routing is None or not (sla.calendars.teams or sla.calendars.reps):
        return []
    source, _ = read_yaml(sla_path)
    found = calendar_strangers(sla, routing) + calendar_twins(sla, routing)
    return [Problem(str(sla_path), line_of(source.root if source else None, path), format_path(path), words,
                    "warning") for path, words in found]


def calendar_strangers(sla: SlaRules, routing: RoutingRules) -> list[tuple[tuple, str]]:
    """Each team that is no territory and each rep not in sdr_pool: their calendar would never be used."""
    territories = [territory.name for territory in routing.territories]
    teams = [(("calendars", "teams", name), f"routing.yaml has no territory named {name!r} (it has: "
              f"{', '.join(territories) or 'none'}); a team's calendar applies to the reps of that territory's pool")
             for name in sla.calendars.teams if name not in territories]
    reps = [(("calendars", "reps", owner), f"owner {owner} is not in routing.yaml's sdr_pool; reps are named by "
             "their HubSpot owner id, like \"103\"") for owner in sla.calendars.reps if owner not in routing.sdr_pool]
    return teams + reps


def calendar_twins(sla: SlaRules, routing: RoutingRules) -> list[tuple[tuple, str]]:
    """A rep's time zone or hours written both here and in routing.yaml: one fact, two places to forget."""
    return [(("calendars", "reps", owner, fact), f"routing.yaml already gives rep {owner} their {twin}; this one "
             f"wins for SLA deadlines while routing uses the other: keep one, in routing.yaml")
            for owner, calendar in sla.calendars.reps.items() if _has_working_hours(routing, owner)
            for fact, twin in ROUTING_TWINS.items() if getattr(calendar, fact) is not None]


def _has_working_hours(routing: RoutingRules, owner: str) -> bool:
    """Whether routing.yaml gives the rep working hours (and so their time zone): the SLA then uses both."""
    return owner in routing.reps and routing.reps[owner].hours is not None
