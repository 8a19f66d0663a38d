"""routing.yaml: the SDR pool, the managers, owner-to-Slack overrides and the alert channels."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Mapping

from pydantic import BeforeValidator, Field

from bot.rules.validation import Strict

_OWNER_ID = re.compile(r"\d+")
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL = re.compile(r"#[a-z0-9][a-z0-9_\-]{0,79}|[CG][A-Z0-9]{2,}")


def _owner_id(value: Any) -> str:
    # Unquoted in YAML, 101 arrives as a number; HubSpot's owner ids are digit strings.
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _OWNER_ID.fullmatch(text):
        raise ValueError(f"expected a HubSpot owner id, digits like \"41629779\" (got {value!r})")
    return text


def _slack_user(value: Any) -> str:
    if not isinstance(value, str) or not _SLACK_USER.fullmatch(value):
        raise ValueError(f"expected a Slack user id like U0123ABCD, not a name or email (got {value!r})")
    return value


def _channel(value: Any) -> str:
    if not isinstance(value, str) or not _CHANNEL.fullmatch(value):
        raise ValueError(f"expected a channel like \"#leads\" (lowercase, no spaces, in quotes) "
                         f"or a channel id like C0123ABCD (got {value!r})")
    return value


BANT = ("budget", "authority", "need", "timeline")
# The seeds' reasons (Sin 4: "No Budget", "Wrong Industry", "Contact Left") and the usual others.
DEFAULT_DQ_REASONS = ("No budget", "Wrong industry", "Contact left", "Competitor", "Student or job seeker",
                      "Duplicate", "Other")
OwnerId = Annotated[str, BeforeValidator(_owner_id)]
SlackUser = Annotated[str, BeforeValidator(_slack_user)]
Channel = Annotated[str, BeforeValidator(_channel)]


@dataclass(frozen=True)
class RoutingRules:
    """Who gets a lead: owner ids are HubSpot owner ids, users are Slack user ids."""
    sdr_pool: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()
    slack_users: Mapping[str, str] = field(default_factory=dict)
    leads_channel: str = "#leads"
    manager_channel: str = "#sales-managers"
    fallback_channel: str = "#leads-unassigned"
    ops_channel: str = "#sales-managers"      # marketing ops: revisit dates, config problems
    ae_pool: tuple[str, ...] = ()
    disqualify_reasons: tuple[str, ...] = DEFAULT_DQ_REASONS
    sql_requires: tuple[str, ...] = BANT


class ChannelsDoc(Strict):
    leads: Channel
    managers: Channel
    fallback: Channel
    ops: Channel | None = None       # default: the managers channel


class QualificationDoc(Strict):
    sql_requires: tuple[Literal[BANT], ...] = BANT


class RoutingDoc(Strict):
    """routing.yaml as written."""
    sdr_pool: tuple[OwnerId, ...] = ()
    managers: tuple[SlackUser, ...] = ()
    slack_users: dict[OwnerId, SlackUser] = {}
    channels: ChannelsDoc
    ae_pool: tuple[OwnerId, ...] = ()
    disqualify_reasons: tuple[Annotated[str, Field(min_length=1, max_length=75)], ...] = DEFAULT_DQ_REASONS
    qualification: QualificationDoc = QualificationDoc()

    def to_rules(self) -> RoutingRules:
        reasons = self.disqualify_reasons if "Other" in self.disqualify_reasons else self.disqualify_reasons + ("Other",)
        return RoutingRules(sdr_pool=self.sdr_pool, managers=self.managers, slack_users=dict(self.slack_users),
                            leads_channel=self.channels.leads, manager_channel=self.channels.managers,
                            fallback_channel=self.channels.fallback,
                            ops_channel=self.channels.ops or self.channels.managers, ae_pool=self.ae_pool,
                            disqualify_reasons=reasons, sql_requires=self.qualification.sql_requires)


ROUTING_MODELS = (RoutingDoc, ChannelsDoc, QualificationDoc)


def routing_warnings(doc: RoutingDoc) -> list[tuple[tuple, str]]:
    """Settings that load but leave someone without leads or help."""
    findings = []
    if not doc.sdr_pool:
        findings.append((("sdr_pool",), "the pool is empty: leads without a HubSpot owner go unassigned"))
    if not doc.managers:
        findings.append((("managers",), "no managers: only the assigned rep can act on a lead"))
    if not doc.ae_pool:
        findings.append((("ae_pool",), "no AE pool: an SQL goes to its company's owner, or to no AE at all"))
    return findings
