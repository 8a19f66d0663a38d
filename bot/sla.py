"""PURE: a lead's SLA deadlines, when each escalation step is due, the cadence's verdict and why a deadline was missed.

`now` is always a parameter; every moment in and out is an aware datetime, and results are UTC instants.
Three deadlines per lead, all from sla.yaml:
- accept: wall clock (speed to lead counts nights too), the fast lane's window for a high-intent lead;
- first_touch: business time (`1h`) or business days (`1bd`), so it always falls due while the team works;
- cadence: the window of business days in which the rep owes `cadence.touches` attempts before a recycle.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from bot.business_time import (BusinessCalendar, add_business_days, add_business_time, is_open, next_open,
                               to_utc)
from bot.rules.durations import BusinessDays
from bot.rules.sla import EscalationStep, SlaRules
from bot.timefmt import duration_words

ACCEPT, FIRST_TOUCH, CADENCE = "accept", "first_touch", "cadence"
MET, EXHAUSTED = "met", "exhausted"
SYSTEM, AVAILABILITY, HUMAN = "system", "availability", "human"
# Contact properties HubSpot updates when a rep calls, emails or meets the contact: each change is a touch
# (one webhook subscription each), and a lead status of CONNECTED means the cadence reached them.
TOUCH_PROPERTIES = ("num_contacted_notes", "notes_last_contacted", "hs_last_sales_activity_timestamp",
                    "hs_lead_status")
CLOSE_CADENCE = "close_cadence"   # the cadence window ended: judge it with cadence_verdict
# Beyond this, a delay between the prospect's act and our alert is ours to own, not the rep's.
SYSTEM_DELAY_LIMIT = timedelta(seconds=60)
ALERT, REMINDER = "the alert", "the reminder"   # our messages to the rep, as a breach's words name them
_HTTP_STATUS = re.compile(r"HTTP (\d{3})")

# The first-touch deadline is found in business time, so it lands inside open hours; a step at a wall-clock multiple
# of it would land at night or days later (a 1h window opened on Friday at 16:30 spans 65 h of wall time). So both
# rungs come at the deadline itself: the rep hears first, then the managers.
FIRST_TOUCH_LADDER = (EscalationStep("remind_sdr", at_share=1.0), EscalationStep("notify_managers", at_share=1.0))
CADENCE_LADDER = (EscalationStep(CLOSE_CADENCE, at_share=1.0),)


@dataclass(frozen=True)
class Deadline:
    """One SLA clock of a lead, from `started_at` to `due_at`; the sweeper first looks at it at `first_step_at`."""
    kind: str
    started_at: datetime
    due_at: datetime
    first_step_at: datetime


@dataclass(frozen=True)
class DueStep:
    """The rung of a deadline's ladder at an index: what to do and when."""
    action: str
    due_at: datetime


@dataclass(frozen=True)
class CadenceState:
    """What the rep did in the cadence window: contact attempts made, and whether one reached the prospect."""
    touches: int
    connected: bool


# --- deadlines and their ladders -------------------------------------------------------------------

def deadlines_for_new_lead(sla: SlaRules, calendar: BusinessCalendar, became_mql_at: datetime,
                           high_intent: bool) -> list[Deadline]:
    """The accept, first-touch and cadence deadlines of a lead that became an MQL at `became_mql_at`."""
    start = to_utc(became_mql_at)
    accept_due = start + accept_window(sla, high_intent)
    first_touch_due = first_touch_due_at(sla, calendar, start)
    cadence_due = add_business_days(calendar, start, sla.cadence.within.days)
    return [_deadline(sla, ACCEPT, start, accept_due), _deadline(sla, FIRST_TOUCH, start, first_touch_due),
            _deadline(sla, CADENCE, start, cadence_due)]


def accept_window(sla: SlaRules, high_intent: bool) -> timedelta:
    """How long the rep has to press Accept: the fast lane for high intent, never longer than the normal window."""
    return min(sla.fast_lane_accept_within, sla.accept_within) if high_intent else sla.accept_within


def first_touch_due_at(sla: SlaRules, calendar: BusinessCalendar, start: datetime) -> datetime:
    """When the first contact attempt is due: open time added, or whole business days."""
    window = sla.first_touch_within
    if isinstance(window, BusinessDays):
        return add_business_days(calendar, start, window.days)
    return add_business_time(calendar, start, window)


def _deadline(sla: SlaRules, kind: str, start: datetime, due: datetime) -> Deadline:
    # With no rung on the ladder (escalation: []), the sweeper still looks once at the due time to record the miss.
    first = step_due_at(sla, kind, start, due, 0)
    return Deadline(kind, start, due, first if first is not None else due)


def ladder_for(sla: SlaRules, deadline_kind: str, span: timedelta) -> tuple[EscalationStep, ...]:
    """The rungs of a deadline of `span` (due_at - started_at), in the order they come due."""
    ladders = {ACCEPT: sla.escalation, FIRST_TOUCH: FIRST_TOUCH_LADDER, CADENCE: CADENCE_LADDER}
    if deadline_kind not in ladders:
        raise ValueError(f"unknown deadline kind {deadline_kind!r}; expected one of {', '.join(ladders)}")
    # sla.yaml's ladder is sorted for the normal window; the fast lane can reorder shares against fixed offsets.
    return tuple(sorted(ladders[deadline_kind], key=lambda step: step.due_after(span)))


def due_step(sla: SlaRules, deadline_kind: str, started_at: datetime, due_at: datetime,
             step_index: int) -> DueStep | None:
    """Rung `step_index` of the deadline's ladder with its due time; None past the last rung."""
    start, span = to_utc(started_at), to_utc(due_at) - to_utc(started_at)
    steps = ladder_for(sla, deadline_kind, span)
    if not 0 <= step_index < len(steps):
        return None
    step = steps[step_index]
    return DueStep(step.action, start + step.due_after(span))


def step_due_at(sla: SlaRules, deadline_kind: str, started_at: datetime, due_at: datetime,
                step_index: int) -> datetime | None:
    """When rung `step_index` is due (shares measured on the span actually given); None past the last rung."""
    step = due_step(sla, deadline_kind, started_at, due_at, step_index)
    return step.due_at if step is not None else None


# --- the cadence and the daily limit ---------------------------------------------------------------

def cadence_verdict(sla: SlaRules, state: CadenceState) -> str:
    """At the window's end: "met" when a touch connected, else "exhausted" (recycle; see cadence_breached)."""
    return MET if state.connected else EXHAUSTED


def cadence_breached(sla: SlaRules, state: CadenceState) -> bool:
    """Whether the rep owes touches: no connect and fewer attempts than sla.yaml's cadence asks."""
    return not state.connected and state.touches < sla.cadence.touches


def recycle_reason(sla: SlaRules, state: CadenceState) -> str:
    """The reason a lead goes back to nurture, as marketing reads it."""
    reason = f"No response after {state.touches} touch" + ("" if state.touches == 1 else "es")
    if cadence_breached(sla, state):
        reason += f" (the SLA asks for {sla.cadence.touches} in {sla.cadence.within})"
    return reason


def breaches_exceed(sla: SlaRules, breaches_today: int) -> bool:
    """Whether a rep with `breaches_today` misses (this one included) has hit sla.yaml's daily limit."""
    return sla.breaches is not None and breaches_today >= sla.breaches.per_day


# --- why a deadline was missed ---------------------------------------------------------------------

@dataclass(frozen=True)
class EffectTries:
    """How one of our messages to the rep fared before a deadline passed: its failed tries and how late it went."""
    what: str                     # "the alert", "the reminder"
    service: str                  # "Slack"
    failed: int                   # tries that failed or waited out a rate limit
    last_error: str | None        # the last failure as the outbox recorded it
    late_by: timedelta | None     # from when we decided to send it to when it went out; None: not out by the deadline

    def held_up(self) -> bool:
        """Whether the failures cost the rep time: a retry that got through within a minute did not."""
        return self.failed > 0 and (self.late_by is None or self.late_by > SYSTEM_DELAY_LIMIT)


def effect_tries(what: str, service: str, *, state: str, attempts: int, claimed: bool, last_error: str | None,
                 created_at: datetime, done_at: datetime | None, due_at: datetime) -> EffectTries:
    """An outbox row's finished failed tries, and how late it went out as seen at `due_at`.

    The outbox counts a try when a worker claims the row (the poison-pill guard), so `attempts` includes a try still
    running (`claimed`: the row's claim is held) and the one that succeeded: neither is a failure."""
    went_out = state in ("done", "skipped")
    out = went_out and done_at is not None and done_at <= due_at
    failed = attempts - 1 if went_out or claimed else attempts
    return EffectTries(what, service, max(failed, 0), last_error, done_at - created_at if out else None)


def breach_cause(*, alerted_at: datetime | None, became_mql_at: datetime, event_occurred_at: datetime | None,
                 event_received_at: datetime | None, calendar: BusinessCalendar, rep_away: bool,
                 now: datetime, effects: Sequence[EffectTries] = ()) -> tuple[str, str]:
    """("system" | "availability" | "human", the words the escalation shows) for a deadline that passed at `now`.

    `now` is when the deadline passed (its due_at: a sweep that runs late must not change the cause), `calendar`
    the rep's. Our own delays come first, so a rep is never blamed for them; then the rep's availability; else
    no action. `effects`: the tries of the messages that should have reached the rep before the deadline.
    """
    system = _system_delay(alerted_at, became_mql_at, event_occurred_at, event_received_at, effects)
    if system:
        return SYSTEM, system
    if not is_open(calendar, now):
        opens = next_open(calendar, now).astimezone(calendar.timezone)
        return AVAILABILITY, f"Outside business hours (the team opens {opens:%a %H:%M %Z})"
    if rep_away:
        return AVAILABILITY, "The rep was away"
    return HUMAN, "No action by the rep"


def _system_delay(alerted_at: datetime | None, became_mql_at: datetime, event_occurred_at: datetime | None,
                  event_received_at: datetime | None, effects: Sequence[EffectTries]) -> str | None:
    """The words for every delay on our side (HubSpot's webhook, Slack's failures, our alert), or None."""
    held_up = [tries for tries in effects if tries.held_up()]
    found = [_webhook_delay(event_occurred_at, event_received_at), *map(_tries_words, held_up)]
    if not any(tries.what == ALERT for tries in held_up):   # else the failures already say how late it went
        found.append(_alert_delay(alerted_at, became_mql_at))
    return "; ".join(words for words in found if words) or None


def _webhook_delay(occurred_at: datetime | None, received_at: datetime | None) -> str | None:
    if occurred_at is None or received_at is None or received_at - occurred_at <= SYSTEM_DELAY_LIMIT:
        return None
    return f"Webhook delivery took {duration_words(received_at - occurred_at)}"


def _alert_delay(alerted_at: datetime | None, became_mql_at: datetime) -> str | None:
    if alerted_at is None:
        return "Our alert never went out"
    if alerted_at - became_mql_at > SYSTEM_DELAY_LIMIT:
        return f"Our alert went out {duration_words(alerted_at - became_mql_at)} after the MQL"
    return None


def _tries_words(tries: EffectTries) -> str:
    """ "Slack failed twice (last: HTTP 503); the alert went out 4 min late"."""
    failed = f"{tries.service} failed {_times(tries.failed)} (last: {error_words(tries.last_error)})"
    if tries.late_by is None:
        return f"{failed}; {tries.what} had not gone out when the deadline passed"
    return f"{failed}; {tries.what} went out {duration_words(tries.late_by)} late"


def error_words(error: str | None) -> str:
    """What a recorded failure was, in words safe to show anyone: an HTTP status, a rate limit, or no answer."""
    status = _HTTP_STATUS.search(error or "")
    if status:
        return f"HTTP {status[1]}"
    return "rate limited" if "rate limit" in (error or "").lower() else "no answer"


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")
