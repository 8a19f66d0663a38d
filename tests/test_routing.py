"""bot.routing: the contact's owner, its company's owner, else the territory's (or whole) pool in weighted round robin
over the reps eligible now (not away, within working hours, under their daily cap); who may act on a lead."""
from collections import Counter
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.models import Company, Contact, Route
from bot.routing import RouteState, explicit_slack_user, may_act_on_lead, route_lead, weighted_cycle
from bot.rules import RoutingRules
from bot.rules.routing import Rep, Territory

NOW = datetime(2025, 6, 11, 12, 0, tzinfo=UTC)   # a Wednesday: 14:00 in Berlin, 08:00 in New York, 05:00 in LA
ROUTING = RoutingRules(sdr_pool=("101", "102", "103"), managers=("U0MANAGER1",), slack_users={"101": "U0AAAA1"})
WEEKDAYS = {day: (time(9), time(17)) for day in range(5)}
BERLIN, LOS_ANGELES = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Los_Angeles")


class Turns:
    """The store's shared counter as route_lead sees it: records each call, answers the given slots."""

    def __init__(self, *slots: int):
        self.slots, self.calls = list(slots), []

    def __call__(self, name: str, size: int) -> int:
        self.calls.append((name, size))
        return self.slots.pop(0)


class SharedCounter:
    """Named counters that count up from 0 and answer modulo the size, as the store's take_turn does."""

    def __init__(self):
        self.values, self.calls = Counter(), []

    def __call__(self, name: str, size: int) -> int:
        self.calls.append((name, size))
        self.values[name] += 1
        return (self.values[name] - 1) % size


def pool(*reps: Rep, **settings) -> RoutingRules:
    return RoutingRules(sdr_pool=tuple(rep.owner for rep in reps), reps={rep.owner: rep for rep in reps}, **settings)


def lead(properties: dict | None = None, company: dict | None = None) -> Contact:
    return Contact("501", properties or {}, Company("9", company) if company is not None else None)


def route_many(routing: RoutingRules, count: int, counter=None, state: RouteState | None = None,
               now: datetime = NOW) -> list[str | None]:
    counter = counter or SharedCounter()
    return [route_lead(lead(), routing, counter, now, state).owner_id for _ in range(count)]


# --- the HubSpot owner, then the company's owner -----------------------------------------------

@pytest.mark.parametrize("owner, pool_, slot, route", [
    ("777", ("101", "102", "103"), None, Route("777", "Contact owner in HubSpot")),
    ("777", (), None, Route("777", "Contact owner in HubSpot")),
    (None, ("101", "102", "103"), 0, Route("101", "SDR pool, round robin 1 of 3")),
    (None, ("101", "102", "103"), 1, Route("102", "SDR pool, round robin 2 of 3")),
    (None, ("101", "102", "103"), 2, Route("103", "SDR pool, round robin 3 of 3")),
    ("", ("101", "102", "103"), 4, Route("102", "SDR pool, round robin 2 of 3")),   # a counter past the end wraps
    (None, ("101",), 0, Route("101", "SDR pool, round robin 1 of 1")),
    (None, (), None, Route(None, "No owner and the SDR pool is empty")),
])
def test_route_lead_as_old_callers_call_it(owner, pool_, slot, route):
    turns = Turns(*([] if slot is None else [slot]))
    properties = {} if owner is None else {"hubspot_owner_id": owner}
    assert route_lead(Contact("501", properties), RoutingRules(sdr_pool=pool_), turns) == route
    assert turns.calls == ([] if slot is None else [("sdr_pool", len(pool_))])


@pytest.mark.parametrize("contact, stickiness, route", [
    (lead({"hubspot_owner_id": "777"}, {"hubspot_owner_id": "888", "name": "Acme"}), True,
     Route("777", "Contact owner in HubSpot")),
    (lead({}, {"hubspot_owner_id": "888", "name": "Acme"}), True, Route("888", "Owner of the company Acme")),
    (lead({}, {"hubspot_owner_id": "888"}), True, Route("888", "Owner of the contact's company")),
    (lead({"hubspot_owner_id": ""}, {"hubspot_owner_id": "888", "name": "Acme"}), True,
     Route("888", "Owner of the company Acme")),
    (lead({}, {"hubspot_owner_id": "888", "name": "Acme"}), False, Route("101", "SDR pool, round robin 1 of 3")),
    (lead({}, {"hubspot_owner_id": "", "name": "Acme"}), True, Route("101", "SDR pool, round robin 1 of 3")),
    (lead({}, None), True, Route("101", "SDR pool, round robin 1 of 3")),
])
def test_account_stickiness_sends_the_lead_to_its_company_owner(contact, stickiness, route):
    routing = RoutingRules(sdr_pool=("101", "102", "103"), account_stickiness=stickiness)
    counter = SharedCounter()
    assert route_lead(contact, routing, counter, NOW) == route
    assert len(counter.calls) == (1 if route.why.startswith("SDR pool") else 0)


@pytest.mark.parametrize("state", [RouteState(away=frozenset({"777"})), RouteState(assigned_today={"777": 99})])
def test_an_owner_gets_their_lead_even_when_away_or_busy(state):
    routing = pool(Rep("777", daily_cap=1))
    assert route_lead(lead({"hubspot_owner_id": "777"}), routing, SharedCounter(), NOW, state).owner_id == "777"


# --- weighted round robin --------------------------------------------------------------------------

@pytest.mark.parametrize("weights, cycle", [
    ({"101": 1}, ["101"]),
    ({"101": 1, "102": 1, "103": 1}, ["101", "102", "103"]),
    ({"101": 2, "102": 1, "103": 1}, ["101", "102", "103", "101"]),
    ({"101": 1, "102": 3}, ["101", "102", "102", "102"]),
    ({"101": 3, "102": 2, "103": 1}, ["101", "102", "103", "101", "102", "101"]),
])
def test_weighted_cycle_interleaves_a_rep_once_per_round(weights, cycle):
    reps = [Rep(owner, weight) for owner, weight in weights.items()]
    assert [rep.owner for rep in weighted_cycle(reps)] == cycle


def test_weights_give_an_exact_share_over_many_turns():
    routing = pool(Rep("101", weight=2), Rep("102"), Rep("103", weight=3))
    owners = route_many(routing, 600)
    assert Counter(owners) == {"101": 200, "102": 100, "103": 300}
    assert owners[:6] == ["101", "102", "103", "101", "103", "103"]


@pytest.mark.parametrize("slot, route", [
    (0, Route("101", "SDR pool, round robin 1 of 2 (weight 2)")),
    (1, Route("102", "SDR pool, round robin 2 of 2")),
    (2, Route("101", "SDR pool, round robin 1 of 2 (weight 2)")),
])
def test_the_why_names_the_rule_and_the_weight(slot, route):
    turns = Turns(slot)
    assert route_lead(lead(), pool(Rep("101", weight=2), Rep("102")), turns, NOW) == route
    assert turns.calls == [("sdr_pool", 3)]


# --- who is eligible now --------------------------------------------------------------------------

@pytest.mark.parametrize("away, assigned, owners", [
    (set(), {}, ["101", "102", "103", "101", "102", "103"]),
    ({"102"}, {}, ["101", "103", "101", "103", "101", "103"]),
    ({"101", "103"}, {}, ["102"] * 6),
    (set(), {"101": 5}, ["102", "103", "102", "103", "102", "103"]),        # 101 is at their cap of 5
    (set(), {"101": 4}, ["101", "102", "103", "102", "103", "102"]),        # 101 reaches the cap on the first lead
    ({"103"}, {"101": 4, "102": 9}, ["101", "102", None, None, None, None]),
])
def test_away_and_capped_reps_are_skipped(away, assigned, owners):
    routing = pool(Rep("101", daily_cap=5), Rep("102", daily_cap=10), Rep("103"))
    got, today = [], Counter(assigned)
    counter = SharedCounter()
    for _ in owners:
        route = route_lead(lead(), routing, counter, NOW, RouteState(frozenset(away), today))
        today[route.owner_id] += route.owner_id is not None
        got.append(route.owner_id)
    assert got == owners


@pytest.mark.parametrize("away, assigned, why", [
    ({"101", "102"}, {}, "Everyone in the SDR pool is away"),
    (set(), {"101": 1, "102": 2}, "Everyone in the SDR pool is at their daily cap"),
    ({"101"}, {"102": 2}, "Everyone in the SDR pool is away or at their daily cap"),
])
def test_nobody_eligible_names_the_reason_and_takes_no_turn(away, assigned, why):
    counter = SharedCounter()
    routing = pool(Rep("101", daily_cap=1), Rep("102", daily_cap=2))
    assert route_lead(lead(), routing, counter, NOW, RouteState(frozenset(away), assigned)) == Route(None, why)
    assert counter.calls == []


@pytest.mark.parametrize("away, assigned, route", [
    ({"102"}, {}, Route("103", "SDR pool, round robin 3 of 3; skipped 1 rep: away")),
    ({"102"}, {"101": 1}, Route("103", "SDR pool, round robin 3 of 3; skipped 2 reps: away, at their daily cap")),
])
def test_the_why_says_who_was_skipped(away, assigned, route):
    routing = pool(Rep("101", daily_cap=1), Rep("102"), Rep("103"))
    turns = Turns(1, 2)
    assert route_lead(lead(), routing, turns, NOW, RouteState(frozenset(away), assigned)) == route
    assert turns.calls == [("sdr_pool", 3)] * 2


def test_a_skipped_turn_is_gone():
    """Two leads while 102 is away: 101 then 103, not 101 twice (the skip moves the counter past 102's turn)."""
    routing = pool(Rep("101"), Rep("102"), Rep("103"))
    counter = SharedCounter()
    assert route_many(routing, 2, counter, RouteState(frozenset({"102"}))) == ["101", "103"]
    assert counter.values == {"sdr_pool": 3}


def test_no_backlog_dump_on_a_reps_return():
    """While 101 was away the others took its turns; back, 101 gets one lead in three, as before, however few today."""
    routing = pool(Rep("101"), Rep("102"), Rep("103"))
    counter, today = SharedCounter(), Counter()
    away = RouteState(frozenset({"101"}), today)
    during = route_many(routing, 7, counter, away)
    today.update(during)
    after = route_many(routing, 9, counter, RouteState(frozenset(), today))
    assert during == ["102", "103"] * 3 + ["102"]
    assert after == ["103", "101", "102"] * 3 and Counter(after) == {"101": 3, "102": 3, "103": 3}


def test_other_processes_taking_the_turns_between_ours_still_give_an_eligible_rep():
    """Each of our turns lands on the away rep (others took the rest): the next eligible rep after our last turn."""
    turns = Turns(0, 0, 0)
    routing = pool(Rep("101"), Rep("102"), Rep("103"))
    assert route_lead(lead(), routing, turns, NOW, RouteState(frozenset({"101"}))).owner_id == "102"
    assert len(turns.calls) == 3


# --- working hours in the rep's time zone ----------------------------------------------------------

HOURS = pool(Rep("101", timezone=BERLIN, hours={day: (time(8), time(16)) for day in range(5)}),
             Rep("102", timezone=LOS_ANGELES, hours=WEEKDAYS), Rep("103", timezone=BERLIN, hours="always"))


@pytest.mark.parametrize("moment, eligible", [
    (datetime(2025, 6, 11, 6, 0, tzinfo=UTC), {"101", "103"}),          # 08:00 in Berlin: open; 23:00 in LA
    (datetime(2025, 6, 11, 5, 59, tzinfo=UTC), {"103"}),                # 07:59 in Berlin
    (datetime(2025, 6, 11, 14, 0, tzinfo=UTC), {"103"}),                # 16:00 in Berlin: closed; 07:00 in LA
    (datetime(2025, 6, 11, 16, 0, tzinfo=UTC), {"102", "103"}),         # 09:00 in LA
    (datetime(2025, 6, 11, 23, 30, tzinfo=UTC), {"102", "103"}),        # Wednesday 16:30 in LA, Thursday in UTC
    (datetime(2025, 6, 12, 0, 0, tzinfo=UTC), {"103"}),                 # 17:00 in LA: closed
    (datetime(2025, 6, 13, 23, 30, tzinfo=UTC), {"102", "103"}),        # Friday in LA, Saturday in Berlin
    (datetime(2025, 6, 14, 12, 0, tzinfo=UTC), {"103"}),                # Saturday everywhere
    (datetime(2025, 6, 11, 15, 0, tzinfo=ZoneInfo("Asia/Tokyo")), {"101", "103"}),   # 08:00 in Berlin
    (datetime(2025, 3, 17, 7, 0, tzinfo=UTC), {"101", "103"}),          # 08:00 in Berlin in winter time
    (datetime(2025, 3, 28, 6, 0, tzinfo=UTC), {"103"}),                 # 07:00 in Berlin, the Friday before DST
    (datetime(2025, 3, 31, 6, 0, tzinfo=UTC), {"101", "103"}),          # 08:00 in Berlin, the Monday after
    (None, {"101", "102", "103"}),                                      # no clock given: hours are not checked
])
def test_working_hours_are_read_in_each_reps_time_zone(moment, eligible):
    assert set(route_many(HOURS, 6, now=moment)) == eligible


@pytest.mark.parametrize("moment, state, why", [
    (datetime(2025, 6, 14, 12, 0, tzinfo=UTC), RouteState(), "Everyone in the SDR pool is outside working hours"),
    (NOW, RouteState(frozenset({"101", "103"})), "Everyone in the SDR pool is away or outside working hours"),
    (datetime(2025, 6, 11, 16, 0, tzinfo=UTC), RouteState(frozenset({"103"}), {"102": 3}),
     "Everyone in the SDR pool is away, outside working hours or at their daily cap"),
])
def test_nobody_within_working_hours(moment, state, why):
    routing = pool(HOURS.reps["101"], Rep("102", daily_cap=3, timezone=LOS_ANGELES, hours=WEEKDAYS),
                   Rep("103", timezone=BERLIN, hours=WEEKDAYS))
    assert route_lead(lead(), routing, SharedCounter(), moment, state) == Route(None, why)


# --- territories ---------------------------------------------------------------------------------

TERRITORIES = pool(
    Rep("101"), Rep("102"), Rep("103"), Rep("104", weight=2), Rep("105"),
    territories=(Territory("DACH", ("101", "104"), {"country": ("Germany", "Austria", "Switzerland")}),
                 Territory("US West", ("102",), {"country": ("United States",), "state": ("CA", "WA", "OR")}),
                 Territory("Enterprise", ("103",), employees_at_least=1000),
                 Territory("SMB software", ("105",), {"industry": ("COMPUTER_SOFTWARE",)}, employees_below=50)))


@pytest.mark.parametrize("properties, company, counter", [
    ({"country": "Germany"}, None, "territory:DACH"),
    ({"country": " germany "}, None, "territory:DACH"),                 # any case, spaces trimmed
    ({}, {"country": "Austria"}, "territory:DACH"),                      # the company's, when the contact has none
    ({"country": "France"}, {"country": "Austria"}, "sdr_pool"),         # the contact's own value wins
    ({"country": "Germany", "numemployees": "1000+"}, None, "territory:DACH"),   # first match wins
    ({"country": "United States", "state": "CA"}, None, "territory:US West"),
    ({"country": "United States", "state": "NY"}, None, "sdr_pool"),     # every test must hold
    ({"state": "CA"}, None, "sdr_pool"),
    ({"numemployees": "1000+"}, None, "territory:Enterprise"),
    ({"numemployees": "1,001-5,000"}, None, "territory:Enterprise"),
    ({"numemployees": "501-1000"}, None, "sdr_pool"),                    # only part of the range is 1000 or more
    ({}, {"numberofemployees": "1000"}, "territory:Enterprise"),
    ({"numemployees": "lots"}, None, "sdr_pool"),                        # an unknown headcount passes no bound
    ({"industry": "COMPUTER_SOFTWARE", "numemployees": "11-49"}, None, "territory:SMB software"),
    ({}, {"industry": "computer_software", "numberofemployees": "12"}, "territory:SMB software"),
    ({"industry": "COMPUTER_SOFTWARE", "numemployees": "11-50"}, None, "sdr_pool"),
    ({"industry": "COMPUTER_SOFTWARE"}, None, "sdr_pool"),
    ({}, None, "sdr_pool"),
])
def test_the_first_matching_territory_takes_turns_on_its_own_counter(properties, company, counter):
    turns = SharedCounter()
    route_lead(lead(properties, company), TERRITORIES, turns, NOW)
    assert [name for name, _ in turns.calls] == [counter]


@pytest.mark.parametrize("properties, slot, route", [
    ({"country": "Germany"}, 0, Route("101", "Territory DACH, round robin 1 of 2")),
    ({"country": "Germany"}, 1, Route("104", "Territory DACH, round robin 2 of 2 (weight 2)")),
    ({"country": "United States", "state": "WA"}, 0, Route("102", "Territory US West, round robin 1 of 1")),
    ({"country": "Italy"}, 3, Route("104", "SDR pool, round robin 4 of 5 (weight 2)")),
])
def test_a_territory_route_says_which_territory(properties, slot, route):
    assert route_lead(lead(properties), TERRITORIES, Turns(slot), NOW) == route


def test_a_territory_pool_keeps_each_reps_weight():
    routing = pool(Rep("101", weight=3), Rep("102"), territories=(Territory("DACH", ("101", "102"),
                                                                            {"country": ("Germany",)}),))
    counter = SharedCounter()
    owners = [route_lead(lead({"country": "Germany"}), routing, counter, NOW).owner_id for _ in range(8)]
    assert Counter(owners) == {"101": 6, "102": 2}


@pytest.mark.parametrize("state, why", [
    (RouteState(frozenset({"101", "104"})), "Everyone in the DACH pool is away"),
    (RouteState(frozenset({"101"}), {"104": 3}), "Everyone in the DACH pool is away or at their daily cap"),
])
def test_a_territory_with_nobody_eligible_does_not_fall_back_to_the_whole_pool(state, why):
    routing = pool(Rep("101"), Rep("104", daily_cap=3), Rep("105"),
                   territories=(Territory("DACH", ("101", "104"), {"country": ("Germany",)}),))
    counter = SharedCounter()
    assert route_lead(lead({"country": "Germany"}), routing, counter, NOW, state) == Route(None, why)
    assert counter.calls == []


def test_a_rep_with_hours_needs_a_time_zone():
    with pytest.raises(ValueError, match="rep 101: working hours need a time zone"):
        Rep("101", hours=WEEKDAYS)


# --- Slack users and who may act -----------------------------------------------------------------

@pytest.mark.parametrize("owner, slack_user", [("101", "U0AAAA1"), ("102", None), (None, None), ("", None)])
def test_explicit_slack_user(owner, slack_user):
    assert explicit_slack_user(owner, ROUTING) == slack_user


@pytest.mark.parametrize("user, assignee, allowed", [
    ("U0AAAA1", "U0AAAA1", True),
    ("U0BBBB2", "U0AAAA1", False),
    ("U0MANAGER1", "U0AAAA1", True),
    ("U0MANAGER1", None, True),
    ("U0AAAA1", None, False),
])
def test_may_act_on_lead(user, assignee, allowed):
    assert may_act_on_lead(user, assignee, ROUTING) is allowed
