"""bot.routing: the HubSpot owner first, else the SDR pool in turn; who may act on a lead."""
import pytest

from bot.models import Contact, Route
from bot.routing import explicit_slack_user, may_act_on_lead, route_lead
from bot.rules import RoutingRules

ROUTING = RoutingRules(sdr_pool=("101", "102", "103"), managers=("U0MANAGER1",), slack_users={"101": "U0AAAA1"})


class Turns:
    """The store's shared counter as route_lead sees it: records each call, answers the given slots."""

    def __init__(self, *slots: int):
        self.slots, self.calls = list(slots), []

    def __call__(self, name: str, size: int) -> int:
        self.calls.append((name, size))
        return self.slots.pop(0)


@pytest.mark.parametrize("owner, pool, slot, route", [
    ("777", ("101", "102", "103"), None, Route("777", "Contact owner in HubSpot")),
    ("777", (), None, Route("777", "Contact owner in HubSpot")),
    (None, ("101", "102", "103"), 0, Route("101", "Round robin (SDR pool, 1 of 3)")),
    (None, ("101", "102", "103"), 1, Route("102", "Round robin (SDR pool, 2 of 3)")),
    (None, ("101", "102", "103"), 2, Route("103", "Round robin (SDR pool, 3 of 3)")),
    ("", ("101", "102", "103"), 4, Route("102", "Round robin (SDR pool, 2 of 3)")),   # a counter past the end wraps
    (None, ("101",), 0, Route("101", "Round robin (SDR pool, 1 of 1)")),
    (None, (), None, Route(None, "No owner and the SDR pool is empty")),
])
def test_route_lead(owner, pool, slot, route):
    turns = Turns(*([] if slot is None else [slot]))
    properties = {} if owner is None else {"hubspot_owner_id": owner}
    assert route_lead(Contact("501", properties), RoutingRules(sdr_pool=pool), turns) == route
    assert turns.calls == ([] if slot is None else [("sdr_pool", len(pool))])


def test_round_robin_takes_one_turn_per_lead():
    turns = Turns(0, 1, 2, 0)
    owners = [route_lead(Contact(str(n)), ROUTING, turns).owner_id for n in range(4)]
    assert owners == ["101", "102", "103", "101"] and len(turns.calls) == 4


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
