"""routing.yaml: the SDR pool (weights, daily caps, working hours), territories, account stickiness, the managers,
owner-to-Slack overrides and the alert channels."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Mapping
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, PlainValidator, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.rules.sla import BusinessHours, Count, _business_hours, _timezone
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


def _rep_entry(value: Any) -> Any:
    """A pool entry: its settings ({owner: "101", weight: 2}), or a bare owner id, which is a rep with none."""
    return value if isinstance(value, dict) else {"owner": _owner_id(value)}


def _one_or_many(value: Any) -> Any:
    """`country: Germany` is `country: [Germany]`."""
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        # YAML 1.1 reads a bare NO (Norway), ON (Ontario) or YES as a boolean.
        raise ValueError(f"got {str(value).lower()}: put the value in quotes, like \"NO\" or \"ON\"")
    if not isinstance(value, (str, int)) or not str(value).strip():
        raise ValueError(f"expected text, like Germany or CA (got {value!r})")
    return str(value).strip()


BANT = ("budget", "authority", "need", "timeline")
# The seeds' reasons (Sin 4: "No Budget", "Wrong Industry", "Contact Left") and the usual others.
DEFAULT_DQ_REASONS = ("No budget", "Wrong industry", "Contact left", "Competitor", "Student or job seeker",
                      "Duplicate", "Other")
OwnerId = Annotated[str, BeforeValidator(_owner_id)]
SlackUser = Annotated[str, BeforeValidator(_slack_user)]
Channel = Annotated[str, BeforeValidator(_channel)]
Texts = Annotated[tuple[Annotated[str, BeforeValidator(_text)], ...], BeforeValidator(_one_or_many)]
Found = tuple[tuple, str, Any]   # a contradiction: where it is written, the words, the value written
TEXT_TESTS = ("country", "state", "industry")   # territory tests on the contact's property, else its company's


@dataclass(frozen=True)
class Rep:
    """An SDR's turns: `weight` turns per cycle, at most `daily_cap` leads a day, only within `hours` in `timezone`."""
    owner: str
    weight: int = 1
    daily_cap: int | None = None                 # None: no cap
    timezone: ZoneInfo | None = None
    hours: BusinessHours | None = None           # None: any time

    def __post_init__(self) -> None:
        if self.hours is not None and self.timezone is None:
            raise ValueError(f"rep {self.owner}: working hours need a time zone")


@dataclass(frozen=True)
class Territory:
    """Leads matching every test go to `pool` in turn; `texts` is property -> accepted values (any case)."""
    name: str
    pool: tuple[str, ...]
    texts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    employees_at_least: int | None = None
    employees_below: int | None = None


@dataclass(frozen=True)
class RoutingRules:
    """Who gets a lead: owner ids are HubSpot owner ids, users are Slack user ids."""
    sdr_pool: tuple[str, ...] = ()
    reps: Mapping[str, Rep] = field(default_factory=dict)    # owner id -> settings; a rep not here has none
    territories: tuple[Territory, ...] = ()                   # first match wins
    account_stickiness: bool = True
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


class RepDoc(Strict):
    owner: OwnerId
    weight: Count = 1
    daily_cap: Count | None = None
    timezone: Annotated[ZoneInfo, PlainValidator(_timezone)] | None = None
    hours: Annotated[Any, PlainValidator(_business_hours)] | None = None

    @model_validator(mode="after")
    def _hours_need_a_timezone(self) -> RepDoc:
        if self.hours is not None and self.timezone is None:
            _refuse("RepDoc", [(("hours",), "working hours need the rep's timezone, like timezone: Europe/Berlin",
                                self.owner)])
        return self

    def to_rep(self) -> Rep:
        return Rep(self.owner, self.weight, self.daily_cap, self.timezone, self.hours)


class WhenDoc(Strict):
    country: Texts | None = None
    state: Texts | None = None
    industry: Texts | None = None
    employees_at_least: Count | None = None
    employees_below: Count | None = None

    @model_validator(mode="after")
    def _needs_a_test_that_can_hold(self) -> WhenDoc:
        _refuse("WhenDoc", self._contradictions())
        return self

    def _contradictions(self) -> list[Found]:
        if all(getattr(self, key) is None for key in type(self).model_fields):
            return [((), f"say which leads belong here: one of {', '.join(type(self).model_fields)}", None)]
        found = [((key,), "an empty list matches no lead: list values, or remove the key", None)
                 for key in TEXT_TESTS if getattr(self, key) == ()]
        if None not in (self.employees_below, self.employees_at_least) and \
                self.employees_below <= self.employees_at_least:
            found.append((("employees_below",), f"must be more than employees_at_least "
                          f"({self.employees_at_least}): no company is both", self.employees_below))
        return found


class TerritoryDoc(Strict):
    # The store's round-robin counter for a territory is "territory:" + its name, in a 64-character key.
    name: Annotated[str, Field(min_length=1, max_length=50)]
    when: WhenDoc
    pool: tuple[OwnerId, ...]

    @model_validator(mode="after")
    def _needs_someone(self) -> TerritoryDoc:
        if not self.pool:
            _refuse("TerritoryDoc", [(("pool",), "nobody to take these leads: list owner ids from sdr_pool", None)])
        return self

    def to_territory(self) -> Territory:
        texts = {key: getattr(self.when, key) for key in TEXT_TESTS if getattr(self.when, key)}
        return Territory(self.name, self.pool, texts, self.when.employees_at_least, self.when.employees_below)


class RoutingDoc(Strict):
    """routing.yaml as written."""
    sdr_pool: tuple[Annotated[RepDoc, BeforeValidator(_rep_entry)], ...] = ()
    territories: tuple[TerritoryDoc, ...] = ()
    account_stickiness: bool = True
    managers: tuple[SlackUser, ...] = ()
    slack_users: dict[OwnerId, SlackUser] = {}
    channels: ChannelsDoc
    ae_pool: tuple[OwnerId, ...] = ()
    disqualify_reasons: tuple[Annotated[str, Field(min_length=1, max_length=75)], ...] = DEFAULT_DQ_REASONS
    qualification: QualificationDoc = QualificationDoc()

    @model_validator(mode="after")
    def _refuse_contradictions(self) -> RoutingDoc:
        _refuse("RoutingDoc", _pool_twins(self) + _territory_errors(self))
        return self

    def to_rules(self) -> RoutingRules:
        reasons = self.disqualify_reasons if "Other" in self.disqualify_reasons else self.disqualify_reasons + ("Other",)
        return RoutingRules(sdr_pool=tuple(rep.owner for rep in self.sdr_pool),
                            reps={rep.owner: rep.to_rep() for rep in self.sdr_pool},
                            territories=tuple(territory.to_territory() for territory in self.territories),
                            account_stickiness=self.account_stickiness,
                            managers=self.managers, slack_users=dict(self.slack_users),
                            leads_channel=self.channels.leads, manager_channel=self.channels.managers,
                            fallback_channel=self.channels.fallback,
                            ops_channel=self.channels.ops or self.channels.managers, ae_pool=self.ae_pool,
                            disqualify_reasons=reasons, sql_requires=self.qualification.sql_requires)


def _pool_twins(doc: RoutingDoc) -> list[Found]:
    """Each rep listed again after their first entry."""
    owners = [rep.owner for rep in doc.sdr_pool]
    return [(("sdr_pool", index), f"owner {owner} is listed twice; to give a rep more turns, list them once "
             "with a weight", owner) for index, owner in enumerate(owners) if owner in owners[:index]]


def _territory_errors(doc: RoutingDoc) -> list[Found]:
    """Each territory named twice, and each pool member listed twice or missing from sdr_pool."""
    errors, names, pool = [], set(), {rep.owner for rep in doc.sdr_pool}
    for index, territory in enumerate(doc.territories):
        if territory.name.casefold() in names:
            errors.append((("territories", index, "name"), f"the territory name {territory.name!r} is used "
                           "twice; each territory takes turns on its own, by its name", territory.name))
        names.add(territory.name.casefold())
        errors += [(("territories", index, "pool", slot), _stranger_words(owner, territory.pool[:slot]), owner)
                   for slot, owner in enumerate(territory.pool) if owner not in pool or owner in territory.pool[:slot]]
    return errors


def _stranger_words(owner: str, before: tuple[str, ...]) -> str:
    if owner in before:
        return f"owner {owner} is listed twice; their weight in sdr_pool sets their turns"
    return f"owner {owner} is not in sdr_pool: add them there (with their weight, cap and hours) or remove them here"


def _refuse(title: str, found: list[Found]) -> None:
    """Raise every contradiction at once, each at its key's own location (pydantic prefixes the outer keys)."""
    if found:
        raise ValidationError.from_exception_data(title, [
            InitErrorDetails(type=PydanticCustomError("value_error", "{error}", {"error": words}), loc=where,
                             input=value) for where, words, value in found])


ROUTING_MODELS = (RoutingDoc, ChannelsDoc, QualificationDoc, RepDoc, TerritoryDoc, WhenDoc)


def routing_warnings(doc: RoutingDoc) -> list[tuple[tuple, str]]:
    """Settings that load but leave someone without leads or help."""
    findings = []
    if not doc.sdr_pool:
        findings.append((("sdr_pool",), "the pool is empty: leads without a HubSpot owner go unassigned"))
    if not doc.managers:
        findings.append((("managers",), "no managers: only the assigned rep can act on a lead"))
    if not doc.ae_pool:
        findings.append((("ae_pool",), "no AE pool: an SQL goes to its company's owner, or to no AE at all"))
    findings += [(("sdr_pool", index, "timezone"), "a timezone without hours changes nothing: add the rep's "
                  "hours, or they take leads at any time") for index, rep in enumerate(doc.sdr_pool)
                 if rep.timezone is not None and rep.hours is None]
    return findings
