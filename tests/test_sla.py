"""bot.sla: deadlines per lead (fast lane, business time over weekends, holidays and DST, 1bd, cadence windows),
the ladders' due times, the cadence verdict, the daily breach limit and each cause of a breach. Fixed times only."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.business_time import BusinessCalendar
from bot.rules.sla import SlaDoc
from bot.sla import (CadenceState, Deadline, DueStep, EffectTries, accept_window, breach_cause, breaches_exceed,
                     cadence_breached, cadence_verdict, deadlines_for_new_lead, due_step, effect_tries, error_words,
                     recycle_reason, step_due_at)

NY, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
SECOND, MINUTE, HOUR = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)
LADDER = [{"at": "50%", "do": "remind_sdr"}, {"at": "100%", "do": "notify_managers"}, {"at": "150%", "do": "reassign"}]


def sla(**keys):
    """sla.yaml's rules as the service reads them: New York office hours, US holidays, a 1h accept window."""
    written = {"timezone": "America/New_York", "business_hours": {"mon-fri": "09:00-17:00"}, "holidays": "US",
               "accept_within": "1h", "fast_lane_accept_within": "5m", "first_touch_within": "1h",
               "escalation": LADDER}
    return SlaDoc.model_validate(written | keys).to_rules()


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY)


SLA = sla()
ONE_DAY = sla(first_touch_within="1bd")
OFFICE = BusinessCalendar.from_sla(SLA)
BERLIN_REP = BusinessCalendar.from_sla(SLA, timezone=BERLIN)   # the company's hours, read in a rep's time zone
TUESDAY = ny("2026-03-10 10:00")


# --- deadlines for a new lead ----------------------------------------------------------------------

DEADLINE_CASES = [
    # (rules, became MQL, high intent, accept due, first accept step, first touch due, cadence due)
    (SLA, TUESDAY, False, ny("2026-03-10 11:00"), ny("2026-03-10 10:30"), ny("2026-03-10 11:00"),
     ny("2026-03-24 10:00")),
    (SLA, TUESDAY, True, ny("2026-03-10 10:05"), ny("2026-03-10 10:02:30"), ny("2026-03-10 11:00"),
     ny("2026-03-24 10:00")),                                                        # the fast lane: accept only
    # Friday 16:30 before the spring DST change: accept on the wall clock, first touch at Monday 09:30 EDT.
    (SLA, ny("2026-03-06 16:30"), False, ny("2026-03-06 17:30"), ny("2026-03-06 17:00"), ny("2026-03-09 09:30"),
     ny("2026-03-20 16:30")),
    (SLA, ny("2026-03-06 16:30"), True, ny("2026-03-06 16:35"), ny("2026-03-06 16:32:30"), ny("2026-03-09 09:30"),
     ny("2026-03-20 16:30")),
    # Saturday: first touch an hour after Monday's opening; the cadence's ten days end at a close.
    (SLA, ny("2026-03-07 12:00"), False, ny("2026-03-07 13:00"), ny("2026-03-07 12:30"), ny("2026-03-09 10:00"),
     ny("2026-03-20 17:00")),
    # Thursday before July 4th on a Saturday: Friday the 3rd is the observed holiday.
    (SLA, ny("2026-07-02 16:30"), False, ny("2026-07-02 17:30"), ny("2026-07-02 17:00"), ny("2026-07-06 09:30"),
     ny("2026-07-17 16:30")),
    # Friday before the autumn DST change, with Veterans Day (Wed 11 Nov) inside the cadence window.
    (SLA, ny("2026-10-30 16:00"), False, ny("2026-10-30 17:00"), ny("2026-10-30 16:30"), ny("2026-10-30 17:00"),
     ny("2026-11-16 16:00")),
    # 1bd: the same local time on the next open day; from a closed moment, the close of the next open day.
    (ONE_DAY, TUESDAY, False, ny("2026-03-10 11:00"), ny("2026-03-10 10:30"), ny("2026-03-11 10:00"),
     ny("2026-03-24 10:00")),
    (ONE_DAY, ny("2026-03-06 10:00"), False, ny("2026-03-06 11:00"), ny("2026-03-06 10:30"), ny("2026-03-09 10:00"),
     ny("2026-03-20 10:00")),
    (ONE_DAY, ny("2026-07-02 10:00"), False, ny("2026-07-02 11:00"), ny("2026-07-02 10:30"), ny("2026-07-06 10:00"),
     ny("2026-07-17 10:00")),
    (ONE_DAY, ny("2026-03-07 12:00"), False, ny("2026-03-07 13:00"), ny("2026-03-07 12:30"), ny("2026-03-09 17:00"),
     ny("2026-03-20 17:00")),
    # A shorter cadence, and an accept window shorter than the fast lane (which then never lengthens it).
    (sla(cadence={"touches": 3, "within": "2bd"}), TUESDAY, False, ny("2026-03-10 11:00"), ny("2026-03-10 10:30"),
     ny("2026-03-10 11:00"), ny("2026-03-12 10:00")),
    (sla(accept_within="2m"), TUESDAY, True, ny("2026-03-10 10:02"), ny("2026-03-10 10:01"), ny("2026-03-10 11:00"),
     ny("2026-03-24 10:00")),
]


@pytest.mark.parametrize("rules, became_mql, high_intent, accept_due, first_step, touch_due, cadence_due",
                         DEADLINE_CASES)
def test_deadlines_for_a_new_lead(rules, became_mql, high_intent, accept_due, first_step, touch_due, cadence_due):
    deadlines = deadlines_for_new_lead(rules, OFFICE, became_mql, high_intent)
    assert deadlines == [Deadline("accept", became_mql, accept_due, first_step),
                         Deadline("first_touch", became_mql, touch_due, touch_due),
                         Deadline("cadence", became_mql, cadence_due, cadence_due)]
    moments = [moment for deadline in deadlines for moment in vars(deadline).values() if isinstance(moment, datetime)]
    assert {moment.tzinfo for moment in moments} == {UTC}


def test_a_rep_elsewhere_gets_business_time_in_their_own_zone():
    # 16:30 in New York is 22:30 in Berlin: after the Berlin rep's close, so the hour starts at their 09:00.
    [_, first_touch, _] = deadlines_for_new_lead(SLA, BERLIN_REP, ny("2026-03-10 16:30"), False)
    assert first_touch.due_at == datetime(2026, 3, 11, 10, tzinfo=BERLIN)


def test_with_no_ladder_the_sweeper_still_looks_at_the_accept_deadline_once():
    [accept, *_] = deadlines_for_new_lead(sla(escalation=[]), OFFICE, TUESDAY, False)
    assert accept.first_step_at == accept.due_at == ny("2026-03-10 11:00")


@pytest.mark.parametrize("rules, high_intent, window", [
    (SLA, False, HOUR), (SLA, True, 5 * MINUTE),
    (sla(accept_within="2m"), True, 2 * MINUTE), (sla(accept_within="2m"), False, 2 * MINUTE),
])
def test_accept_window(rules, high_intent, window):
    assert accept_window(rules, high_intent) == window


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="aware datetime"):
        deadlines_for_new_lead(SLA, OFFICE, datetime(2026, 3, 10, 10), False)


# --- the ladders -----------------------------------------------------------------------------------

MIXED = sla(escalation=[{"at": "10m", "do": "notify_managers"}, {"at": "50%", "do": "remind_sdr"}])
STEP_CASES = [
    # (rules, kind, started, due, index, expected step)
    (SLA, "accept", TUESDAY, TUESDAY + HOUR, 0, DueStep("remind_sdr", TUESDAY + 30 * MINUTE)),
    (SLA, "accept", TUESDAY, TUESDAY + HOUR, 1, DueStep("notify_managers", TUESDAY + HOUR)),
    (SLA, "accept", TUESDAY, TUESDAY + HOUR, 2, DueStep("reassign", TUESDAY + 90 * MINUTE)),
    (SLA, "accept", TUESDAY, TUESDAY + HOUR, 3, None),
    (SLA, "accept", TUESDAY, TUESDAY + HOUR, -1, None),
    # The fast lane: shares of the 5 minutes actually given.
    (SLA, "accept", TUESDAY, TUESDAY + 5 * MINUTE, 0, DueStep("remind_sdr", TUESDAY + 150 * SECOND)),
    (SLA, "accept", TUESDAY, TUESDAY + 5 * MINUTE, 2, DueStep("reassign", TUESDAY + 450 * SECOND)),
    # An offset and a share swap places when the window shrinks: steps come in the order they fall due.
    (MIXED, "accept", TUESDAY, TUESDAY + HOUR, 0, DueStep("notify_managers", TUESDAY + 10 * MINUTE)),
    (MIXED, "accept", TUESDAY, TUESDAY + HOUR, 1, DueStep("remind_sdr", TUESDAY + 30 * MINUTE)),
    (MIXED, "accept", TUESDAY, TUESDAY + 5 * MINUTE, 0, DueStep("remind_sdr", TUESDAY + 150 * SECOND)),
    (MIXED, "accept", TUESDAY, TUESDAY + 5 * MINUTE, 1, DueStep("notify_managers", TUESDAY + 10 * MINUTE)),
    (sla(escalation=[]), "accept", TUESDAY, TUESDAY + HOUR, 0, None),
    # Across the spring DST change 01:30 EST to 03:30 EDT is one hour: its half ends at 03:00 EDT, not at 02:30.
    (SLA, "accept", ny("2026-03-08 01:30"), ny("2026-03-08 03:30"), 0, DueStep("remind_sdr", ny("2026-03-08 03:00"))),
    # First touch: at the deadline (inside open hours), the rep first, then the managers; however long the span.
    (SLA, "first_touch", ny("2026-03-06 16:30"), ny("2026-03-09 09:30"), 0,
     DueStep("remind_sdr", ny("2026-03-09 09:30"))),
    (SLA, "first_touch", ny("2026-03-06 16:30"), ny("2026-03-09 09:30"), 1,
     DueStep("notify_managers", ny("2026-03-09 09:30"))),
    (SLA, "first_touch", ny("2026-03-06 16:30"), ny("2026-03-09 09:30"), 2, None),
    (SLA, "cadence", TUESDAY, ny("2026-03-24 10:00"), 0, DueStep("close_cadence", ny("2026-03-24 10:00"))),
    (SLA, "cadence", TUESDAY, ny("2026-03-24 10:00"), 1, None),
]


@pytest.mark.parametrize("rules, kind, started, due, index, expected", STEP_CASES)
def test_each_step_and_when_it_is_due(rules, kind, started, due, index, expected):
    assert due_step(rules, kind, started, due, index) == expected
    assert step_due_at(rules, kind, started, due, index) == (expected.due_at if expected else None)


def test_an_unknown_deadline_kind_is_refused():
    with pytest.raises(ValueError, match="unknown deadline kind 'snooze'"):
        step_due_at(SLA, "snooze", TUESDAY, TUESDAY + HOUR, 0)


# --- the cadence and the daily limit ---------------------------------------------------------------

@pytest.mark.parametrize("touches, connected, verdict, breached, reason", [
    (7, False, "exhausted", False, "No response after 7 touches"),
    (9, False, "exhausted", False, "No response after 9 touches"),
    (6, False, "exhausted", True, "No response after 6 touches (the SLA asks for 7 in 10 business days)"),
    (1, False, "exhausted", True, "No response after 1 touch (the SLA asks for 7 in 10 business days)"),
    (0, False, "exhausted", True, "No response after 0 touches (the SLA asks for 7 in 10 business days)"),
    (2, True, "met", False, None),
    (7, True, "met", False, None),
])
def test_cadence_verdict(touches, connected, verdict, breached, reason):
    state = CadenceState(touches=touches, connected=connected)
    assert cadence_verdict(SLA, state) == verdict
    assert cadence_breached(SLA, state) is breached
    if reason is not None:
        assert recycle_reason(SLA, state) == reason


@pytest.mark.parametrize("rules, breaches_today, exceeded", [
    (SLA, 0, False), (SLA, 2, False), (SLA, 3, True), (SLA, 4, True),
    (sla(breaches={"per_day": 1}), 1, True),
    (sla(breaches=None), 100, False),
])
def test_breaches_exceed(rules, breaches_today, exceeded):
    assert breaches_exceed(rules, breaches_today) is exceeded


# --- why a deadline was missed ---------------------------------------------------------------------

ON_TIME = {"alerted_at": TUESDAY + 5 * SECOND, "became_mql_at": TUESDAY, "event_occurred_at": TUESDAY - 10 * SECOND,
           "event_received_at": TUESDAY - 5 * SECOND, "calendar": OFFICE, "rep_away": False, "effects": (),
           "now": TUESDAY + HOUR}
SLACK_503 = "Slack chat.postMessage failed (HTTP 503): unexpected_response"
CARD_4_MIN_LATE = EffectTries("the alert", "Slack", 2, SLACK_503, 4 * MINUTE)
CAUSE_CASES = [
    # (changes to an on-time lead whose deadline passed Tuesday at 11:00, cause, words)
    ({}, "human", "No action by the rep"),
    ({"event_occurred_at": None, "event_received_at": None}, "human", "No action by the rep"),
    ({"event_received_at": TUESDAY - 10 * SECOND + MINUTE}, "human", "No action by the rep"),   # 60 s: not late
    ({"event_received_at": TUESDAY - 9 * SECOND + MINUTE}, "system", "Webhook delivery took 1 min 1 s"),
    ({"event_received_at": TUESDAY - 10 * SECOND + 4 * MINUTE}, "system", "Webhook delivery took 4 min"),
    ({"alerted_at": TUESDAY + 3 * MINUTE}, "system", "Our alert went out 3 min after the MQL"),
    ({"alerted_at": None}, "system", "Our alert never went out"),
    # Slack's failures: named, with how late the message went out (the alert's own lateness is then said once).
    ({"alerted_at": TUESDAY + 4 * MINUTE, "effects": (CARD_4_MIN_LATE,)}, "system",
     "Slack failed twice (last: HTTP 503); the alert went out 4 min late"),
    ({"alerted_at": None, "effects": (EffectTries("the alert", "Slack", 3, "slack rate limited", None),)}, "system",
     "Slack failed 3 times (last: rate limited); the alert had not gone out when the deadline passed"),
    ({"effects": (EffectTries("the reminder", "Slack", 1, "Slack chat.postMessage: URLError: timed out",
                              2 * MINUTE),)}, "system",
     "Slack failed once (last: no answer); the reminder went out 2 min late"),
    ({"event_received_at": TUESDAY + 4 * MINUTE, "alerted_at": TUESDAY + 4 * MINUTE, "effects": (CARD_4_MIN_LATE,)},
     "system", "Webhook delivery took 4 min 10 s; Slack failed twice (last: HTTP 503); the alert went out 4 min late"),
    # A failure retried within a minute cost the rep nothing: not ours to own.
    ({"effects": (EffectTries("the alert", "Slack", 1, SLACK_503, 3 * SECOND),)}, "human", "No action by the rep"),
    ({"effects": (EffectTries("the alert", "Slack", 0, None, None),)}, "human", "No action by the rep"),
    # Our delay is never the rep's, even when the deadline also passed at night.
    ({"event_received_at": TUESDAY + 4 * MINUTE, "now": ny("2026-03-10 20:00")}, "system",
     "Webhook delivery took 4 min 10 s"),
    ({"now": ny("2026-03-10 20:00")}, "availability", "Outside business hours (the team opens Wed 09:00 EDT)"),
    ({"now": ny("2026-03-10 17:00")}, "availability", "Outside business hours (the team opens Wed 09:00 EDT)"),
    ({"now": ny("2026-03-10 16:59:59")}, "human", "No action by the rep"),
    ({"now": ny("2026-03-10 08:59")}, "availability", "Outside business hours (the team opens Tue 09:00 EDT)"),
    # The spring change happens on Sunday 8 March: the weekend before reads in EST, Monday opens in EDT.
    ({"now": ny("2026-03-07 11:00")}, "availability", "Outside business hours (the team opens Mon 09:00 EDT)"),
    ({"now": ny("2026-10-31 11:00")}, "availability", "Outside business hours (the team opens Mon 09:00 EST)"),
    ({"now": ny("2026-07-03 11:00")}, "availability", "Outside business hours (the team opens Mon 09:00 EDT)"),
    ({"rep_away": True}, "availability", "The rep was away"),
    ({"rep_away": True, "alerted_at": TUESDAY + 2 * MINUTE}, "system", "Our alert went out 2 min after the MQL"),
    # 12:30 in New York is 17:30 in Berlin: the New York office is open, the Berlin rep is not.
    ({"now": ny("2026-03-10 12:30")}, "human", "No action by the rep"),
    ({"now": ny("2026-03-10 12:30"), "calendar": BERLIN_REP}, "availability",
     "Outside business hours (the team opens Wed 09:00 CET)"),
]


@pytest.mark.parametrize("changes, cause, words", CAUSE_CASES)
def test_breach_cause(changes, cause, words):
    assert breach_cause(**(ON_TIME | changes)) == (cause, words)


DUE = TUESDAY + HOUR
TRIES_CASES = [
    # (state, attempts, claimed, created, done, expected failed tries, expected lateness)
    ("done", 1, False, TUESDAY, TUESDAY + SECOND, 0, SECOND),                  # out at the first try
    ("done", 3, False, TUESDAY, TUESDAY + 4 * MINUTE, 2, 4 * MINUTE),          # two failures, then out
    ("skipped", 2, False, TUESDAY, TUESDAY + MINUTE, 1, MINUTE),
    ("pending", 2, False, TUESDAY, None, 2, None),                             # waiting to retry at the deadline
    ("failed", 12, False, TUESDAY, TUESDAY + 30 * MINUTE, 12, None),           # gave up: never out
    ("done", 3, False, TUESDAY, DUE + MINUTE, 2, None),                        # out, but after the deadline
    ("pending", 0, False, TUESDAY, None, 0, None),
    # A claimed row's last try is still running (attempts are counted at claim time): it has failed nothing yet.
    ("pending", 1, True, TUESDAY, None, 0, None),                              # the first try, in flight
    ("pending", 3, True, TUESDAY, None, 2, None),                              # two failures, the third in flight
]


@pytest.mark.parametrize("state, attempts, claimed, created, done, failed, late_by", TRIES_CASES)
def test_effect_tries_at_the_deadline(state, attempts, claimed, created, done, failed, late_by):
    tries = effect_tries("the alert", "Slack", state=state, attempts=attempts, claimed=claimed,
                         last_error=SLACK_503, created_at=created, done_at=done, due_at=DUE)
    assert (tries.failed, tries.late_by) == (failed, late_by)


def test_a_first_try_still_in_flight_is_no_failure_in_the_breach_words():
    in_flight = effect_tries("the alert", "Slack", state="pending", attempts=1, claimed=True, last_error=None,
                             created_at=TUESDAY, done_at=None, due_at=DUE)
    assert breach_cause(**(ON_TIME | {"alerted_at": None, "effects": (in_flight,)})) == (
        "system", "Our alert never went out")


@pytest.mark.parametrize("error, words", [
    (SLACK_503, "HTTP 503"),
    ("Slack chat.postMessage failed (HTTP 429): ratelimited", "HTTP 429"),
    ("slack rate limited", "rate limited"),
    ("Slack chat.postMessage: RemoteDisconnected: Remote end closed connection without response", "no answer"),
    (None, "no answer"),
])
def test_error_words_name_the_status_and_nothing_else(error, words):
    assert error_words(error) == words
