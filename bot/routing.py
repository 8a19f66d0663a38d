"""PURE: who gets a lead and why, and who may act on it.

The contact's HubSpot owner; else its company's owner (account stickiness); else the next eligible rep of the
territory's pool, or of the whole SDR pool, in weighted round robin. Eligible means not away, within working hours
and under the daily cap. A skipped turn is lost, not owed: a rep back from away gets new leads in turn, no backlog.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Mapping, Sequence

from bot.business_time import BusinessCalendar, is_open
from bot.models import Contact, Route, parse_range
from bot.rules.conditions import EMPLOYEES
from bot.rules.routing import Rep, RoutingRules, Territory
from bot.scoring import read_property

POOL_COUNTER = "sdr_pool"   # the name of the shared round-robin counter in the store
SDR_POOL = "SDR pool"               # the team of a rep in no territory
TERRITORY_COUNTER = "territory:"   # + the territory's name: each territory takes turns on its own
AWAY, OFF_HOURS, AT_CAP = "away", "outside working hours", "at their daily cap"

TakeTurn = Callable[[str, int], int]   # (counter name, cycle length) -> the next slot of a shared counter


@dataclass(frozen=True)
class RouteState:
    """What the store knows when a lead is routed: owners whose rep is away, and leads each owner got today."""
    away: frozenset[str] = frozenset()
    assigned_today: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Pool:
    """The reps a lead may go to: a territory's pool or the whole SDR pool, with its counter and its words."""
    label: str          # "Territory DACH" or "SDR pool": the why of a route
    name: str           # "DACH pool" or "SDR pool": the why of no route
    counter: str
    reps: tuple[Rep, ...]


def route_lead(contact: Contact, routing: RoutingRules, take_turn: TakeTurn, now: datetime | None = None,
               state: RouteState | None = None) -> Route:
    """The contact's owner, its company's owner, else the next eligible rep in turn; Route(None, why) if nobody.

    `take_turn(name, size)` is the store's shared counter. Without `now`, working hours are not checked.
    """
    return owner_route(contact, routing) or pool_route(contact, routing, take_turn, now, state or RouteState())


def owner_route(contact: Contact, routing: RoutingRules) -> Route | None:
    """The contact's own HubSpot owner, else (with account stickiness) its company's owner; None when neither."""
    if owner := contact.get("hubspot_owner_id"):
        return Route(owner, "Contact owner in HubSpot")
    company_owner = contact.get("company.hubspot_owner_id") if routing.account_stickiness else None
    if company_owner:
        company = contact.get("company.name")
        return Route(company_owner, f"Owner of the company {company}" if company else "Owner of the contact's company")
    return None


def pool_route(contact: Contact, routing: RoutingRules, take_turn: TakeTurn, now: datetime | None,
               state: RouteState) -> Route:
    """The next eligible rep of the contact's territory's pool (else the whole pool), skipping the others' turns."""
    pool = pool_for(contact, routing)
    if not pool.reps:
        return Route(None, "No owner and the SDR pool is empty")
    missing = {rep.owner: reason for rep in pool.reps if (reason := unavailable(rep, now, state))}
    if len(missing) == len(pool.reps):
        return Route(None, f"Everyone in the {pool.name} is {_listed(missing.values(), ' or ')}")
    rep = next_eligible(pool, weighted_cycle(pool.reps), take_turn, missing)
    return Route(rep.owner, turn_words(pool, rep, missing))


def next_eligible(pool: _Pool, cycle: tuple[Rep, ...], take_turn: TakeTurn, missing: Mapping[str, str]) -> Rep:
    """Take turns until an eligible rep's comes up, at most one cycle's worth: a skipped turn is gone."""
    slot = 0
    for _ in cycle:
        slot = take_turn(pool.counter, len(cycle)) % len(cycle)
        if cycle[slot].owner not in missing:
            return cycle[slot]
    # Only other processes taking turns on this counter between ours bring us here: the next eligible after ours.
    return next(rep for rep in cycle[slot:] + cycle[:slot] if rep.owner not in missing)


def pool_for(contact: Contact, routing: RoutingRules) -> _Pool:
    """The first territory the contact matches, else the whole SDR pool, with each rep's settings."""
    territory = next((territory for territory in routing.territories if in_territory(contact, territory)), None)
    owners = territory.pool if territory else routing.sdr_pool
    reps = tuple(routing.reps.get(owner) or Rep(owner) for owner in owners)
    if territory:
        return _Pool(f"Territory {territory.name}", f"{territory.name} pool", TERRITORY_COUNTER + territory.name, reps)
    return _Pool(SDR_POOL, SDR_POOL, POOL_COUNTER, reps)


def team_of(routing: RoutingRules, owner_id: str | None) -> str:
    """A rep's team: the first territory whose pool lists them, else the SDR pool (reports and calendars group by it)."""
    return next((territory.name for territory in routing.territories if owner_id in territory.pool), SDR_POOL)


def in_territory(contact: Contact, territory: Territory) -> bool:
    """Whether the contact passes every test of the territory (text in any case; an unknown headcount fails)."""
    texts = all(_one_of(_place(contact, key), values) for key, values in territory.texts.items())
    return texts and _headcount_within(parse_range(read_property(contact, EMPLOYEES)), territory)


def _place(contact: Contact, key: str) -> str | None:
    """The contact's own value (typed into a form), else its company's."""
    return contact.get(key) or contact.get(f"company.{key}")


def _one_of(value: str | None, accepted: Sequence[str]) -> bool:
    return value is not None and value.strip().casefold() in {text.casefold() for text in accepted}


def _headcount_within(headcount: tuple[float, float] | None, territory: Territory) -> bool:
    """A range like "501-1000" passes a bound only when all of it does, as in scoring's gte and lt."""
    if territory.employees_at_least is None and territory.employees_below is None:
        return True
    if headcount is None:
        return False
    low, high = headcount
    return (territory.employees_at_least is None or low >= territory.employees_at_least) and \
        (territory.employees_below is None or high < territory.employees_below)


def unavailable(rep: Rep, now: datetime | None, state: RouteState) -> str | None:
    """Why the rep cannot take a lead now (away, outside working hours, at their daily cap), or None."""
    if rep.owner in state.away:
        return AWAY
    if rep.hours is not None and now is not None and not is_open(BusinessCalendar(rep.timezone, rep.hours), now):
        return OFF_HOURS
    if rep.daily_cap is not None and state.assigned_today.get(rep.owner, 0) >= rep.daily_cap:
        return AT_CAP
    return None


def weighted_cycle(reps: Sequence[Rep]) -> tuple[Rep, ...]:
    """One turn per rep per round, for as many rounds as the rep's weight: A(2), B, C is A B C A."""
    rounds = max(rep.weight for rep in reps)
    return tuple(rep for turn in range(rounds) for rep in reps if rep.weight > turn)


def turn_words(pool: _Pool, rep: Rep, missing: Mapping[str, str]) -> str:
    """ "Territory DACH, round robin 2 of 3 (weight 2); skipped 1 rep: away"."""
    owners = [member.owner for member in pool.reps]
    words = f"{pool.label}, round robin {owners.index(rep.owner) + 1} of {len(owners)}"
    words += f" (weight {rep.weight})" if rep.weight > 1 else ""
    if missing:
        count = len(missing)
        words += f"; skipped {count} rep{'' if count == 1 else 's'}: {_listed(missing.values(), ', ')}"
    return words


def _listed(reasons: Iterable[str], last: str) -> str:
    """The distinct reasons in a fixed order: "away, outside working hours or at their daily cap"."""
    found = [reason for reason in (AWAY, OFF_HOURS, AT_CAP) if reason in set(reasons)]
    return ", ".join(found[:-1]) + last + found[-1] if len(found) > 1 else found[0]


def explicit_slack_user(owner_id: str | None, routing: RoutingRules) -> str | None:
    """The Slack user routing.yaml names for this HubSpot owner (it wins over the email lookup)."""
    return routing.slack_users.get(owner_id) if owner_id else None


def may_act_on_lead(user_id: str, assignee: str | None, routing: RoutingRules) -> bool:
    """Whether this Slack user may press the lead's buttons: its assignee, or a manager."""
    return (assignee is not None and user_id == assignee) or user_id in routing.managers
