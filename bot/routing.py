"""PURE: who gets a lead (the HubSpot owner, else the SDR pool in turn) and who may act on it."""
from __future__ import annotations

from typing import Callable

from bot.models import Contact, Route
from bot.rules.routing import RoutingRules

POOL_COUNTER = "sdr_pool"   # the name of the shared round-robin counter in the store


def route_lead(contact: Contact, routing: RoutingRules, take_turn: Callable[[str, int], int]) -> Route:
    """The contact's HubSpot owner, else the next SDR in the pool; `take_turn(name, size)` returns the slot."""
    owner = contact.get("hubspot_owner_id")
    if owner:
        return Route(owner, "Contact owner in HubSpot")
    pool = routing.sdr_pool
    if not pool:
        return Route(None, "No owner and the SDR pool is empty")
    slot = take_turn(POOL_COUNTER, len(pool)) % len(pool)
    return Route(pool[slot], f"Round robin (SDR pool, {slot + 1} of {len(pool)})")


def explicit_slack_user(owner_id: str | None, routing: RoutingRules) -> str | None:
    """The Slack user routing.yaml names for this HubSpot owner (it wins over the email lookup)."""
    return routing.slack_users.get(owner_id) if owner_id else None


def may_act_on_lead(user_id: str, assignee: str | None, routing: RoutingRules) -> bool:
    """Whether this Slack user may press the lead's buttons: its assignee, or a manager."""
    return (assignee is not None and user_id == assignee) or user_id in routing.managers
