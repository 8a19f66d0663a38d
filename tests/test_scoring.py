"""bot.scoring: every condition kind, ranges, missing values, gates, recency, high intent, the seeds' examples."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from bot.activities import activities_from_contact, hubspot_time
from bot.backtest import combine_activities
from bot.csv_export import ActivityFeed, ContactExport, Skipped
from bot.models import Activity, Company, Contact, Reason, parse_range
from bot.rules import ScoringRules, load_config
from bot.rules.compiled import Seen, read_property
from bot.rules.conditions import (ActivityCondition, AllCondition, Condition, PropertyCondition, kinds_needed,
                                  reads_values_only)
from bot.scoring import (Verdict, company_properties_to_read, contact_properties_to_read, holds, score_contact,
                         verdict_for, watched_properties)

NOW = datetime(2025, 3, 4, 15, 0, tzinfo=timezone.utc)
SHIPPED = load_config(Path(__file__).resolve().parent.parent / "config").scoring
CONDITION = TypeAdapter(Condition)


def minutes_ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def contact(company: dict | None = None, **properties: str) -> Contact:
    return Contact("501", properties, Company("9001", company) if company is not None else None)


def rules(**overrides) -> ScoringRules:
    return ScoringRules.model_validate({"mql_threshold": 100, **overrides})


PROPERTY_CASES = [
    # (condition, contact properties, company properties, holds)
    ({"property": "jobtitle", "equals": "CEO"}, {"jobtitle": "ceo"}, None, True),
    ({"property": "jobtitle", "equals": "CEO"}, {"jobtitle": "CEO of things"}, None, False),
    ({"property": "hs_lead_status", "equals": "NEW"}, {}, None, False),
    ({"property": "numemployees", "equals": 50}, {"numemployees": "50.0"}, None, True),
    ({"property": "hs_email_optout", "equals": True}, {"hs_email_optout": "true"}, None, True),
    ({"property": "country", "one_of": ["US", "Canada"]}, {"country": "canada"}, None, True),
    ({"property": "country", "one_of": ["US", "Canada"]}, {"country": "France"}, None, False),
    ({"property": "country", "one_of": []}, {"country": "France"}, None, False),
    ({"property": "email", "contains": "@Gmail."}, {"email": "jo@gmail.com"}, None, True),
    ({"property": "email", "contains": "@gmail."}, {"email": "jo@acme.com"}, None, False),
    ({"property": "jobtitle", "matches": r"(?i)\bvp\b"}, {"jobtitle": "VP Engineering"}, None, True),
    ({"property": "jobtitle", "matches": r"(?i)\bvp\b"}, {"jobtitle": "MVP Award winner"}, None, False),
    ({"property": "jobtitle", "matches": "vp"}, {"jobtitle": "VP"}, None, False),   # case counts in a regex
    ({"property": "jobtitle", "matches": "x"}, {}, None, False),
    ({"property": "jobtitle", "matches": "x"}, {"jobtitle": ""}, None, False),      # empty = missing
    # ranges: gt/gte hold when the whole range is above, lt/lte when the whole range is below
    ({"property": "employees", "gt": 50}, {"numemployees": "51-200"}, None, True),
    ({"property": "employees", "gt": 50}, {"numemployees": "50-100"}, None, False),
    ({"property": "employees", "gt": 50}, {"numemployees": "1000+"}, None, True),
    ({"property": "employees", "gt": 50}, {"numemployees": "1,001-5,000"}, None, True),
    ({"property": "employees", "gte": 51}, {"numemployees": "51-200"}, None, True),
    ({"property": "employees", "lt": 200}, {"numemployees": "51-200"}, None, False),
    ({"property": "employees", "lte": 200}, {"numemployees": "51-200"}, None, True),
    ({"property": "employees", "lt": 5000}, {"numemployees": "1000+"}, None, False),
    ({"property": "employees", "gt": 50, "lte": 200}, {"numemployees": "51-200"}, None, True),
    ({"property": "employees", "gt": 50}, {"numemployees": "lots"}, None, False),
    ({"property": "employees", "gt": 50}, {}, None, False),
    # employees: the contact's range first, else the company's count
    ({"property": "employees", "gt": 50}, {}, {"numberofemployees": "250"}, True),
    ({"property": "employees", "gt": 50}, {"numemployees": "11-50"}, {"numberofemployees": "250"}, False),
    ({"property": "company.numberofemployees", "gte": 250}, {}, {"numberofemployees": "250"}, True),
    ({"property": "company.industry", "equals": "COMPUTER_SOFTWARE"}, {"industry": "COMPUTER_SOFTWARE"}, {}, False),
    ({"property": "company.industry", "equals": "COMPUTER_SOFTWARE"}, {}, {"industry": "COMPUTER_SOFTWARE"}, True),
    ({"property": "company.industry", "exists": True}, {}, None, False),
    # exists
    ({"property": "phone", "exists": True}, {"phone": "+1 555"}, None, True),
    ({"property": "phone", "exists": True}, {}, None, False),
    ({"property": "phone", "exists": False}, {}, None, True),
    ({"property": "phone", "exists": False}, {"phone": "+1 555"}, None, False),
    ({"property": "phone", "exists": True, "contains": "555"}, {"phone": "+1 555"}, None, True),
    # within: a datetime property (ISO or epoch ms) inside the window
    ({"property": "createdate", "within": "7d"}, {"createdate": "2025-03-01T10:00:00Z"}, None, True),
    ({"property": "createdate", "within": "7d"}, {"createdate": "2025-02-01T10:00:00Z"}, None, False),
    ({"property": "createdate", "within": "1h"}, {"createdate": str(int(minutes_ago(30).timestamp() * 1000))},
     None, True),
    ({"property": "createdate", "within": "7d"}, {"createdate": "not a date"}, None, False),
    ({"property": "createdate", "within": "7d"}, {"createdate": "99999999999999999999"}, None, False),
]


@pytest.mark.parametrize("condition, properties, company, expected", PROPERTY_CASES)
def test_property_conditions(condition, properties, company, expected):
    found = holds(CONDITION.validate_python(condition), contact(company, **properties), [], NOW)
    assert (found is not None) is expected


FORM = Activity("form_submission", minutes_ago(2), "Demo request")
GUIDE = Activity("form_submission", days_ago(10), "Ultimate Guide to Pain Point X")
PRICING = [Activity("page_view", days_ago(d), "https://acme.test/pricing") for d in (1, 2, 3)]
VIEWS = Activity("page_view", minutes_ago(2), count=14)

ACTIVITY_CASES = [
    ({"activity": "form_submission"}, [FORM], True),
    ({"activity": "form_submission"}, [VIEWS], False),
    ({"activity": "form_submission", "form": "*demo*"}, [FORM], True),
    ({"activity": "form_submission", "form": "*DEMO*"}, [FORM], True),
    ({"activity": "form_submission", "form": "demo"}, [FORM], False),
    ({"activity": "form_submission", "form": "*guide*"}, [FORM, GUIDE], True),
    ({"activity": "form_submission", "form": "*guide*", "within": "7d"}, [FORM, GUIDE], False),
    ({"activity": "form_submission", "at_least": 2}, [FORM, GUIDE], True),
    ({"activity": "form_submission", "at_least": 2, "within": "1d"}, [FORM, GUIDE], False),
    ({"activity": "page_view", "at_least": 10}, [VIEWS], True),             # count sums the aggregate
    ({"activity": "page_view", "at_least": 15}, [VIEWS], False),
    ({"activity": "page_view", "url": "*pricing*", "at_least": 3, "within": "7d"}, PRICING, True),
    ({"activity": "page_view", "url": "*pricing*", "at_least": 3, "within": "2d12h"}, PRICING, False),
    ({"activity": "page_view", "url": "*pricing*"}, [VIEWS], False),          # an unlabelled count has no URL
    ({"activity": "email_click", "campaign": "*webinar*"}, [Activity("email_click", days_ago(1), "March webinar")],
     True),
    ({"activity": "email_open", "within": "30d"}, [Activity("email_open", days_ago(31))], False),
    ({"activity": "meeting_booked"}, [Activity("meeting_booked", days_ago(1))], True),
    ({"activity": "chat", "within": "1h"}, [Activity("chat", minutes_ago(5))], True),
    ({"activity": "chat"}, [], False),
]


@pytest.mark.parametrize("condition, activities, expected", ACTIVITY_CASES)
def test_activity_conditions(condition, activities, expected):
    assert (holds(CONDITION.validate_python(condition), contact(), activities, NOW) is not None) is expected


VP = {"property": "jobtitle", "matches": "(?i)vp"}
DEMO = {"activity": "form_submission", "form": "*demo*"}
NOTHING = {"property": "jobtitle", "equals": "nobody"}


@pytest.mark.parametrize("condition, expected", [
    ({"all": [VP, DEMO]}, True),
    ({"all": [VP, NOTHING]}, False),
    ({"any": [NOTHING, DEMO]}, True),
    ({"any": [NOTHING, NOTHING]}, False),
    ({"all": [{"any": [NOTHING, VP]}, {"all": [DEMO]}]}, True),
])
def test_all_and_any(condition, expected):
    found = holds(CONDITION.validate_python(condition), contact(jobtitle="VP Sales"), [FORM], NOW)
    assert (found is not None) is expected


EVIDENCE_CASES = [
    # (rule, contact properties, company properties, activities, evidence)
    ({"label": "Requested a demo", "when": DEMO}, {}, None, [FORM], "Requested a demo 2 min ago"),
    ({"label": "Active on the website", "when": {"activity": "page_view", "at_least": 10}}, {}, None, [VIEWS],
     "14 page views, last 2 min ago"),
    ({"label": "Two forms", "when": {"activity": "form_submission", "at_least": 2}}, {}, None, [FORM, GUIDE],
     "2 form submissions, last 2 min ago"),
    ({"label": "Met us", "when": {"activity": "meeting_booked", "at_least": 1}}, {}, None,
     [Activity("meeting_booked", days_ago(3))], "1 meeting booked, last 3 d ago"),
    ({"label": "Decision-maker title", "when": VP}, {"jobtitle": "VP Engineering"}, None, [],
     "VP Engineering — decision-maker title"),
    ({"label": "More than 50 employees", "when": {"property": "employees", "gt": 50}}, {}, {"numberofemployees": "250"},
     [], "250 employees"),
    ({"label": "More than 50 employees", "when": {"property": "employees", "gt": 50}}, {"numemployees": "51-200"},
     None, [], "51-200 employees"),
    ({"label": "Target industry", "when": {"property": "company.industry", "exists": True}}, {},
     {"industry": "COMPUTER_SOFTWARE"}, [], "Software — target industry"),
    ({"label": "Target industry", "when": {"property": "company.industry", "exists": True}}, {},
     {"industry": "AIRLINES_AVIATION"}, [], "Airlines aviation — target industry"),
    ({"label": "No phone", "when": {"property": "phone", "exists": False}}, {}, None, [], "No phone"),
    ({"label": "VP who asked for a demo", "when": {"all": [VP, DEMO]}}, {"jobtitle": "VP Sales"}, None, [FORM],
     "VP who asked for a demo 2 min ago, VP Sales"),
]


@pytest.mark.parametrize("rule, properties, company, activities, evidence", EVIDENCE_CASES)
def test_evidence_in_rep_words(rule, properties, company, activities, evidence):
    scored = score_contact(contact(company, **properties), activities,
                           rules(engagement=[{"points": 10, **rule}]), NOW)
    assert [reason.evidence for reason in scored.reasons] == [evidence]


# --- the seeds' examples, scored with the shipped config --------------------------------------------

def test_vp_at_a_software_company_who_requested_a_demo_is_an_mql_with_the_reason():
    vp = contact({"numberofemployees": "250", "industry": "COMPUTER_SOFTWARE"}, jobtitle="VP Engineering")
    score = score_contact(vp, [VIEWS, FORM], SHIPPED, NOW)
    assert score.is_mql and score.high_intent and score.gates_failed == ()
    assert score.summary == \
        "Requested a demo 2 min ago · 14 page views, last 2 min ago · VP at a 250-person software company"
    assert (score.fit, score.engagement, score.total) == (65, 80, 145)
    assert score.reasons == (
        Reason("Decision-maker title", "fit", 30, "VP Engineering — decision-maker title"),
        Reason("More than 50 employees", "fit", 20, "250 employees"),
        Reason("Target industry", "fit", 15, "Software — target industry"),
        Reason("Requested a demo", "engagement", 60, "Requested a demo 2 min ago"),
        Reason("Active on the website", "engagement", 20, "14 page views, last 2 min ago"))
    assert score.last_engaged_at == minutes_ago(2) and score.computed_at == NOW and score.contact_id == "501"


def test_a_student_with_three_page_views_is_not_an_mql():
    student = contact(jobtitle="Student", industry="Education")
    score = score_contact(student, [Activity("page_view", days_ago(1), count=3)], SHIPPED, NOW)
    assert not score.is_mql and score.total == -50
    assert score.gates_failed == ("Decision-maker title (VP, Director, Head, C-level)", "More than 50 employees")
    assert score.summary == "Student at an education company"


def test_a_vp_at_a_20_person_company_with_a_huge_score_is_not_an_mql():
    vp = contact({"numberofemployees": "20", "industry": "COMPUTER_SOFTWARE"}, jobtitle="VP Marketing")
    everything = [FORM, VIEWS, Activity("meeting_booked", minutes_ago(30)), Activity("chat", minutes_ago(40)),
                  Activity("form_submission", days_ago(1), "Contact sales"), Activity("email_click", days_ago(2))]
    score = score_contact(vp, everything, SHIPPED, NOW)
    assert score.total >= 2 * SHIPPED.mql_threshold
    assert not score.is_mql and score.gates_failed == ("More than 50 employees",)
    assert score.summary.endswith(" · VP at a 20-person software company")


def test_an_engaged_director_whose_last_activity_was_45_days_ago_is_not_an_mql():
    director = contact({"numberofemployees": "800", "industry": "INTERNET"}, jobtitle="Director of IT")
    old = [Activity("form_submission", days_ago(45), "Demo request"), Activity("page_view", days_ago(45), count=40)]
    score = score_contact(director, old, SHIPPED, NOW)
    assert not score.is_mql
    assert score.gates_failed == ("No engagement in the last 30 days",)
    assert score.engagement == 0 and score.last_engaged_at == days_ago(45)
    assert score.summary == "Director at an 800-person internet company"


# --- threshold, gates, recency, high intent -------------------------------------------------------

THIRTY_FIT = [{"label": "Has a title", "points": 30, "when": {"property": "jobtitle", "exists": True}}]
SEVENTY_ENGAGEMENT = [{"label": "Any form", "points": 70, "when": {"activity": "form_submission"}}]


@pytest.mark.parametrize("threshold, activities, mql", [
    (100, [FORM], True),            # 30 + 70 = 100: at the threshold counts
    (101, [FORM], False),
    (30, [], False),                # enough fit points, but never engaged
    (30, [Activity("page_view", days_ago(29))], True),
    (30, [Activity("page_view", days_ago(31))], False),
])
def test_threshold_and_recency(threshold, activities, mql):
    scored = score_contact(contact(jobtitle="CEO"), activities,
                           rules(mql_threshold=threshold, fit=THIRTY_FIT, engagement=SEVENTY_ENGAGEMENT), NOW)
    assert scored.is_mql is mql
    assert ("No engagement in the last 30 days" in scored.gates_failed) is (not activities or
                                                                            activities[0].occurred_at < days_ago(30))


def test_recency_window_is_configurable_and_named():
    scored = score_contact(contact(), [Activity("chat", days_ago(3))], rules(mql_threshold=1, active_within="2d"), NOW)
    assert scored.gates_failed == ("No engagement in the last 2 days",)


def test_every_gate_must_hold_whatever_the_score():
    gates = [{"label": "Has a phone", "when": {"property": "phone", "exists": True}},
             {"label": "In the US", "when": {"property": "country", "equals": "US"}}]
    scoring = rules(mql_threshold=10, fit=THIRTY_FIT, engagement=SEVENTY_ENGAGEMENT, gates=gates)
    failing = score_contact(contact(jobtitle="CEO", country="US"), [FORM], scoring, NOW)
    passing = score_contact(contact(jobtitle="CEO", country="US", phone="1"), [FORM], scoring, NOW)
    assert (failing.is_mql, failing.gates_failed) == (False, ("Has a phone",))
    assert (passing.is_mql, passing.gates_failed) == (True, ())


@pytest.mark.parametrize("activities, high_intent", [([FORM], True), ([GUIDE], False), ([], False)])
def test_high_intent_when_a_fast_lane_rule_fires(activities, high_intent):
    engagement = [{"label": "Demo", "points": 10, "high_intent": True, "when": DEMO},
                  {"label": "Form", "points": 10, "when": {"activity": "form_submission"}}]
    assert score_contact(contact(), activities, rules(engagement=engagement), NOW).high_intent is high_intent


def test_negative_points_lower_the_total_and_are_explained():
    fit = [{"label": "Student", "points": -50, "when": {"property": "jobtitle", "matches": "(?i)student"}}]
    scored = score_contact(contact(jobtitle="PhD Student"), [], rules(fit=fit), NOW)
    assert (scored.total, scored.reasons) == (-50, (Reason("Student", "fit", -50, "PhD Student — student"),))


# --- the summary -----------------------------------------------------------------------------------

@pytest.mark.parametrize("properties, company, phrase", [
    ({"jobtitle": "VP Engineering"}, {"numberofemployees": "250", "industry": "COMPUTER_SOFTWARE"},
     "VP at a 250-person software company"),
    ({"jobtitle": "Chief Revenue Officer"}, {"numberofemployees": "1200"}, "C-level at a 1,200-person company"),
    ({"jobtitle": "CTO & co-founder", "numemployees": "51-200"}, None, "CTO at a 51-200 person company"),
    ({"jobtitle": "Head of Growth", "numemployees": "1000+", "industry": "SaaS"}, None,
     "Head of Growth at a 1,000+ person SaaS company"),
    ({"jobtitle": "Senior Director, Marketing"}, {"numberofemployees": "11"}, "Director at an 11-person company"),
    ({"jobtitle": "Vice President of Sales", "industry": "Financial Services"}, None,
     "VP at a financial services company"),
    ({"jobtitle": "Marketing Manager"}, {"industry": "INFORMATION_TECHNOLOGY_AND_SERVICES"},
     "Marketing Manager at an IT services company"),
    ({"jobtitle": "SVP Sales"}, None, "SVP"),
    ({}, {"numberofemployees": "80"}, "At an 80-person company"),
    ({}, {"numberofemployees": "18000"}, "At an 18,000-person company"),
    ({}, None, ""),
])
def test_fit_phrase_omits_what_is_unknown(properties, company, phrase):
    assert score_contact(contact(company, **properties), [], rules(), NOW).summary == phrase


def test_summary_leads_with_the_two_strongest_engagements():
    engagement = [{"label": "Opened an email", "points": 5, "when": {"activity": "email_open"}},
                  {"label": "Chatted", "points": 20, "when": {"activity": "chat"}},
                  {"label": "Requested a demo", "points": 60, "when": DEMO},
                  {"label": "Unsubscribed", "points": -10, "when": {"activity": "email_click"}}]
    activities = [FORM, Activity("chat", minutes_ago(90)), Activity("email_open", days_ago(2)),
                  Activity("email_click", days_ago(2))]
    scored = score_contact(contact(jobtitle="Director"), activities, rules(engagement=engagement), NOW)
    assert scored.summary == "Requested a demo 2 min ago · Chatted 1 h ago · Director"


# --- what the worker reads and watches -----------------------------------------------------------------

def test_properties_to_read_cover_rules_trail_and_card():
    read = contact_properties_to_read(SHIPPED)
    assert read == sorted(set(read))
    for name in ("firstname", "lastname", "email", "jobtitle", "company", "country", "state", "numemployees",
                 "industry", "hubspot_owner_id", "lifecyclestage", "hs_lead_status", "recent_conversion_date",
                 "recent_conversion_event_name", "first_conversion_date", "hs_analytics_num_page_views",
                 "hs_analytics_last_visit_timestamp", "hs_analytics_last_timestamp", "hs_email_last_open_date",
                 "hs_email_last_click_date", "engagements_last_meeting_booked"):
        assert name in read
    assert not any(name.startswith("company.") or name == "employees" for name in read)
    assert company_properties_to_read(SHIPPED) == [
        "country", "domain", "hubspot_owner_id", "industry", "name", "numberofemployees"]


def test_rule_properties_are_read_and_watched():
    custom = rules(fit=[{"label": "Rich", "points": 5, "when": {"all": [
        {"property": "company.annualrevenue", "gt": 1e6}, {"property": "hs_persona", "equals": "persona_1"},
        {"property": "num_unique_conversion_events", "gt": 2}]}}])
    assert "annualrevenue" in company_properties_to_read(custom)
    assert {"hs_persona", "num_unique_conversion_events"} <= set(contact_properties_to_read(custom))
    watched = watched_properties(custom)
    assert "hs_persona" in watched and "num_unique_conversion_events" not in watched   # HubSpot refuses it
    assert not any(name.startswith("company.") for name in watched)


def test_watched_properties_for_the_shipped_rules():
    assert watched_properties(SHIPPED) == [
        "engagements_last_meeting_booked", "hs_analytics_num_page_views", "hs_email_last_click_date",
        "hs_email_last_open_date", "industry", "jobtitle", "numemployees", "recent_conversion_date"]


# --- caps and negative points ------------------------------------------------------------------------

WEB = [{"label": "Pricing page", "points": 25, "group": "web", "when": {"activity": "page_view", "url": "*pricing*"}},
       {"label": "Busy on the site", "points": 20, "group": "web", "when": {"activity": "page_view", "at_least": 10}},
       {"label": "Chatted", "points": 30, "when": {"activity": "chat"}}]
TITLE_FIT = [{"label": "Has a title", "points": 30, "when": {"property": "jobtitle", "exists": True}},
             {"label": "Big company", "points": 40, "group": "size", "when": {"property": "employees", "gt": 50}},
             {"label": "Student", "points": -50, "when": {"property": "jobtitle", "matches": "(?i)student"}},
             {"label": "Competitor", "points": -100, "when": {"property": "email", "contains": "@rival.test"}}]
BUSY = [PRICING[0], VIEWS, Activity("chat", minutes_ago(5))]


@pytest.mark.parametrize("overrides, properties, activities, fit, engagement, caps", [
    # no cap: every rule counts
    ({}, {"jobtitle": "CEO"}, BUSY, 30, 75, []),
    # a group cap trims that group only, and says so as a negative reason
    ({"caps": {"web": 30}}, {"jobtitle": "CEO"}, BUSY, 30, 60,
     [("web cap", "engagement", -15, "web rules gave 45 points, capped at 30")]),
    ({"caps": {"web": 50}}, {"jobtitle": "CEO"}, BUSY, 30, 75, []),                       # under the cap
    ({"caps": {"web": 30}}, {"jobtitle": "CEO"}, [VIEWS], 30, 20, []),
    # axis caps, written either way
    ({"engagement_cap": 50}, {"jobtitle": "CEO"}, BUSY, 30, 50,
     [("engagement cap", "engagement", -25, "engagement rules gave 75 points, capped at 50")]),
    ({"caps": {"engagement": 50}}, {"jobtitle": "CEO"}, BUSY, 30, 50,
     [("engagement cap", "engagement", -25, "engagement rules gave 75 points, capped at 50")]),
    ({"fit_cap": 50}, {"jobtitle": "CEO", "numemployees": "51-200"}, [], 50, 0,
     [("fit cap", "fit", -20, "fit rules gave 70 points, capped at 50")]),
    ({"caps": {"fit": 50}}, {"jobtitle": "CEO"}, [], 30, 0, []),
    # a group cap first, then the axis cap on what is left
    ({"caps": {"web": 30, "engagement": 40}}, {"jobtitle": "CEO"}, BUSY, 30, 40,
     [("web cap", "engagement", -15, "web rules gave 45 points, capped at 30"),
      ("engagement cap", "engagement", -20, "engagement rules gave 60 points, capped at 40")]),
    ({"caps": {"size": 25}}, {"numemployees": "51-200"}, [], 25, 0,
     [("size cap", "fit", -15, "size rules gave 40 points, capped at 25")]),
    # negative points: a student and a competitor's domain pull the score down; caps never raise it
    ({}, {"jobtitle": "Student"}, [], -20, 0, []),
    ({"fit_cap": 20}, {"jobtitle": "PhD student", "email": "jo@rival.test"}, BUSY, -120, 75, []),
    ({"fit_cap": 20}, {"jobtitle": "CEO", "email": "ceo@rival.test", "numemployees": "1000+"}, [], -30, 0, []),
])
def test_caps_trim_groups_then_axes_and_negative_points_subtract(overrides, properties, activities, fit,
                                                                  engagement, caps):
    scored = score_contact(contact(**properties), activities,
                           rules(fit=TITLE_FIT, engagement=WEB, **overrides), NOW)
    assert (scored.fit, scored.engagement, scored.total) == (fit, engagement, fit + engagement)
    assert [(r.rule, r.axis, r.points, r.evidence) for r in scored.reasons if r.rule.endswith(" cap")] == caps
    assert sum(reason.points for reason in scored.reasons) == scored.total   # the reasons explain the total


# --- decay ---------------------------------------------------------------------------------------------

DEMO_60 = {"label": "Requested a demo", "points": 60, "when": DEMO}


@pytest.mark.parametrize("file_decay, rule_decay, age_days, points, base_points", [
    (None, None, 14, 60, None),                                           # no decay written: points stay
    ({"half_life": "14d"}, None, 0, 60, None),
    ({"half_life": "14d"}, None, 14, 30, 60),
    ({"half_life": "14d"}, None, 28, 15, 60),
    ({"half_life": "14d"}, None, 7, 42.4, 60),                            # 60 × 2^-½, one decimal
    ({"half_life": "14d"}, None, -1, 60, None),                          # dated after now (clock skew): fresh
    ({"linear": "10%", "per": "7d"}, None, 7, 54, 60),
    ({"linear": "10%", "per": "7d"}, None, 3.5, 57, 60),                 # linear is continuous, not stepwise
    ({"linear": "10%", "per": "7d"}, None, 70, 0, 60),
    ({"linear": "50%", "per": "7d"}, None, 21, 0, 60),                   # never below zero
    # a rule's own decay wins over the file's, either kind, or none at all
    ({"half_life": "14d"}, {"half_life": "7d"}, 7, 30, 60),
    ({"half_life": "14d"}, {"linear": "25%", "per": "1d"}, 2, 30, 60),
    ({"linear": "10%", "per": "7d"}, {"half_life": "1d"}, 2, 15, 60),
    ({"half_life": "14d"}, "none", 14, 60, None),
    ({"half_life": "14d"}, False, 14, 60, None),                         # YAML's `off` reads as false
    (None, {"half_life": "14d"}, 14, 30, 60),
])
def test_engagement_points_decay_with_the_activity_age(file_decay, rule_decay, age_days, points, base_points):
    rule = DEMO_60 | ({"decay": rule_decay} if rule_decay is not None else {})
    scoring = rules(engagement=[rule], **({"decay": file_decay} if file_decay else {}))
    scored = score_contact(contact(), [Activity("form_submission", days_ago(age_days), "Demo request")], scoring, NOW)
    assert [(r.points, r.base_points) for r in scored.reasons] == [(points, base_points)]
    assert scored.engagement == scored.total == points


def test_decay_ages_a_frequency_rule_by_its_newest_activity_and_leaves_fit_alone():
    scoring = rules(decay={"half_life": "2d"}, fit=THIRTY_FIT, engagement=[
        {"label": "Pricing 3 times", "points": 40, "when": {"activity": "page_view", "url": "*pricing*", "at_least": 3}},
        {"label": "Known phone", "points": 10, "when": {"property": "phone", "exists": True}}])   # no age: no decay
    scored = score_contact(contact(jobtitle="CEO", phone="1"), PRICING, scoring, NOW)   # newest view: 1 day ago
    assert [(r.rule, r.points, r.base_points) for r in scored.reasons] == [
        ("Has a title", 30, None), ("Pricing 3 times", 28.3, 40), ("Known phone", 10, None)]
    assert (scored.fit, scored.engagement, scored.total) == (30, 38.3, 68.3)


def test_decayed_points_decide_the_mql_and_lead_the_summary_by_what_they_are_worth_now():
    engagement = [DEMO_60, {"label": "Chatted", "points": 40, "when": {"activity": "chat"}}]
    scoring = rules(decay={"half_life": "7d"}, fit=THIRTY_FIT, engagement=engagement)
    old_demo = [Activity("form_submission", days_ago(14), "Demo request"), Activity("chat", minutes_ago(5))]
    scored = score_contact(contact(jobtitle="CEO"), old_demo, scoring, NOW)
    assert (scored.total, scored.is_mql) == (85, False)                   # 30 + 15 + 40
    assert scored.summary == "Chatted 5 min ago · Requested a demo 14 d ago · CEO"


# --- grades and the MQL rule -----------------------------------------------------------------------------

BANDS = {"fit": {"A": 50, "B": 20}, "engagement": {1: 45, 2: 20}}
FIT_OF = {"A": {"jobtitle": "VP", "numemployees": "51-200"}, "B": {"jobtitle": "VP"}, "C": {}}
ENGAGEMENT_OF = {"1": [FORM], "2": [Activity("chat", minutes_ago(5))], "3": []}
GRADED = {"fit": [{"label": "Title", "points": 30, "when": VP},
                  {"label": "Size", "points": 40, "when": {"property": "employees", "gt": 50}}],
          "engagement": [{"label": "Demo", "points": 60, "when": DEMO},
                         {"label": "Chat", "points": 25, "when": {"activity": "chat"}}]}


@pytest.mark.parametrize("fit, engagement, grade", [
    (70, 60, "A1"), (50, 45, "A1"), (49.9, 44.9, "B2"), (20, 20, "B2"), (19.9, 19.9, "C3"), (-50, 0, "C3"),
    (100, 0, "A3"), (0, 100, "C1"),
])
def test_grade_bands_are_at_or_above(fit, engagement, grade):
    assert rules(grades=BANDS).grades.grade(fit, engagement) == grade


@pytest.mark.parametrize("fit_grade, engagement_grade", [(f, e) for f in "ABC" for e in "123"])
def test_every_grade_cell_is_reached_by_a_contact(fit_grade, engagement_grade):
    scored = score_contact(contact(**FIT_OF[fit_grade]), ENGAGEMENT_OF[engagement_grade],
                           rules(grades=BANDS, **GRADED), NOW)
    assert scored.grade == fit_grade + engagement_grade


def test_no_grades_written_means_no_grade():
    assert score_contact(contact(jobtitle="VP"), [FORM], rules(**GRADED), NOW).grade == ""


@pytest.mark.parametrize("mql_rule, cell, mql", [
    # cells: A1 = 130 points, A2 = 95, B1 = 90, C1 = 60, A3 = 70
    ("threshold", "A1", True), ("threshold", "A2", False), ("threshold", "B1", False),
    ("grades", "A1", True), ("grades", "A2", True), ("grades", "B1", False), ("grades", "A3", False),
    ("both", "A1", True), ("both", "A2", False), ("both", "B1", False),
    ("either", "A1", True), ("either", "A2", True), ("either", "B1", False), ("either", "C1", False),
])
def test_the_mql_rule_is_the_threshold_the_grade_cells_or_both(mql_rule, cell, mql):
    grades = {"mql_rule": mql_rule, "mql_grades": ["A1", "a2"]} if mql_rule != "threshold" else {}
    scoring = rules(grades=BANDS, **GRADED, **grades)
    scored = score_contact(contact(**FIT_OF[cell[0]]), ENGAGEMENT_OF[cell[1]], scoring, NOW)
    assert (scored.grade, scored.is_mql) == (cell, mql)


@pytest.mark.parametrize("mql_rule", ["threshold", "grades", "both", "either"])
def test_gates_and_recency_apply_whatever_the_mql_rule(mql_rule):
    grades = {"mql_rule": mql_rule, "mql_grades": ["A1"]} if mql_rule != "threshold" else {}
    gate = [{"label": "In the US", "when": {"property": "country", "equals": "US"}}]
    scoring = rules(grades=BANDS, gates=gate, **GRADED, **grades)
    a1 = dict(FIT_OF["A"])
    assert score_contact(contact(country="US", **a1), [FORM], scoring, NOW).is_mql
    assert not score_contact(contact(country="FR", **a1), [FORM], scoring, NOW).is_mql
    stale = score_contact(contact(country="US", **a1), [Activity("form_submission", days_ago(40), "Demo")],
                          rules(grades=BANDS, gates=gate, **GRADED, **grades, active_within="30d"), NOW)
    assert not stale.is_mql and stale.gates_failed == ("No engagement in the last 30 days",)


# --- hysteresis -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("exit_threshold, was_mql, total, mql", [
    (None, False, 100, True), (None, False, 99, False),
    (None, True, 100, True), (None, True, 99, False),          # no exit threshold: it is mql_threshold
    (80, False, 99, False),                                     # entering still needs mql_threshold
    (80, False, 100, True),
    (80, True, 99, True), (80, True, 80, True),                 # a standing MQL stays down to the exit line
    (80, True, 79, False),
])
def test_hysteresis_an_mql_stays_one_until_below_the_exit_threshold(exit_threshold, was_mql, total, mql):
    engagement = [{"label": "Chatted", "points": total, "when": {"activity": "chat"}}]
    extra = {"mql_exit_threshold": exit_threshold} if exit_threshold else {}
    scored = score_contact(contact(), [Activity("chat", minutes_ago(5))], rules(engagement=engagement, **extra),
                           NOW, was_mql=was_mql)
    assert scored.is_mql is mql


@pytest.mark.parametrize("properties, last_chat_days, gates_failed", [
    ({"country": "FR"}, 1, ("In the US",)),
    ({"country": "US"}, 45, ("No engagement in the last 30 days",)),
])
def test_a_standing_mql_still_needs_the_gates_and_recency(properties, last_chat_days, gates_failed):
    gate = [{"label": "In the US", "when": {"property": "country", "equals": "US"}}]
    scoring = rules(mql_exit_threshold=50, gates=gate,
                    engagement=[{"label": "Chatted", "points": 150, "when": {"activity": "chat"}}])
    scored = score_contact(contact(**properties), [Activity("chat", days_ago(last_chat_days))], scoring, NOW,
                           was_mql=True)
    assert (scored.is_mql, scored.gates_failed) == (False, gates_failed)


@pytest.mark.parametrize("exit_threshold, entries, last_mql", [
    (None, [0, 2, 4], False),     # every climb back over 100 would be a new MQL: a second and third alert
    (90, [0], False),             # one MQL, which ends when the score falls below 90
    (70, [0], True),
])
def test_a_score_hovering_at_the_line_enters_once(exit_threshold, entries, last_mql):
    totals = [100, 99, 101, 98, 100, 85]
    extra = {"mql_exit_threshold": exit_threshold} if exit_threshold else {}
    was_mql, became = False, []
    for step, total in enumerate(totals):
        scoring = rules(engagement=[{"label": "Chatted", "points": total, "when": {"activity": "chat"}}], **extra)
        scored = score_contact(contact(), [Activity("chat", minutes_ago(5))], scoring, NOW, was_mql=was_mql)
        became += [step] if scored.is_mql and not was_mql else []
        was_mql = scored.is_mql
    assert (became, was_mql) == (entries, last_mql)


# --- evidence for frequency rules on pages -------------------------------------------------------------

THURSDAY = datetime(2025, 3, 6, 18, 0, tzinfo=timezone.utc)


def view(when: str, url: str = "https://acme.test/pricing", count: int = 1) -> Activity:
    return Activity("page_view", datetime.fromisoformat(when), url, count=count)


PRICING_3 = {"activity": "page_view", "url": "*pricing*", "at_least": 3}


@pytest.mark.parametrize("condition, views, evidence", [
    (PRICING_3, [view("2025-03-03T09:00+00:00"), view("2025-03-04T10:00+00:00"), view("2025-03-06T11:00+00:00")],
     "viewed /pricing 3× — Mon, Tue, Thu"),
    # UTC days: 23:30 UTC on Monday is Tuesday in Paris, and still Monday here
    (PRICING_3, [view("2025-03-03T23:30+00:00"), view("2025-03-04T00:30+02:00"), view("2025-03-06T09:00+00:00")],
     "viewed /pricing 3× — Mon, Thu"),
    (PRICING_3, [view("2025-03-05T09:00+00:00", "https://acme.test/pricing?plan=team#faq", count=3)],
     "viewed /pricing 3× — Wed"),
    (PRICING_3, [view("2025-03-04T09:00+00:00", "https://acme.test/pricing/teams"),
                 view("2025-03-05T09:00+00:00"), view("2025-03-06T09:00+00:00")],
     "viewed /pricing, /pricing/teams 3× — Tue, Wed, Thu"),
    ({"activity": "page_view", "at_least": 3},
     [view("2025-03-04T09:00+00:00", "/docs"), view("2025-03-05T09:00+00:00", "/pricing"),
      view("2025-03-06T09:00+00:00", "/blog"), view("2025-03-06T10:00+00:00", "/pricing")],
     "viewed /pricing, /blog +1 more 4× — Tue, Wed, Thu"),
    # a week old or more: the date says which Monday
    (PRICING_3, [view("2025-02-24T09:00+00:00"), view("2025-03-03T09:00+00:00"), view("2025-03-06T09:00+00:00")],
     "viewed /pricing 3× — Mon 24 Feb, Mon 3 Mar, Thu 6 Mar"),
    ({"activity": "page_view", "url": "*pricing*", "at_least": 6},
     [view(f"2025-02-{day}T09:00+00:00") for day in range(20, 27)],
     "viewed /pricing 7× — …, Sat 22 Feb, Sun 23 Feb, Mon 24 Feb, Tue 25 Feb, Wed 26 Feb"),
    # HubSpot's page-view count carries no URL: it stays a count
    ({"activity": "page_view", "at_least": 10}, [Activity("page_view", THURSDAY - timedelta(minutes=2), count=14)],
     "14 page views, last 2 min ago"),
    # no at_least: when, not how often
    ({"activity": "page_view", "url": "*pricing*"}, [view("2025-03-06T17:00+00:00")], "Viewed pricing 1 h ago"),
])
def test_frequency_evidence_names_the_page_the_count_and_the_days(condition, views, evidence):
    scoring = rules(engagement=[{"label": "Viewed pricing", "points": 25, "when": condition}])
    assert [r.evidence for r in score_contact(contact(), views, scoring, THURSDAY).reasons] == [evidence]


# --- the shipped config: decay, grades and the fast lane ------------------------------------------------

def test_the_shipped_vp_example_is_an_a1_lead():
    vp = contact({"numberofemployees": "250", "industry": "COMPUTER_SOFTWARE"}, jobtitle="VP Engineering")
    assert score_contact(vp, [VIEWS, FORM], SHIPPED, NOW).grade == "A1"


@pytest.mark.parametrize("age_days, engagement, mql", [
    # 65 fit points + 60 × 2^(-age/30): the demo alone carries the lead for 23 days
    (0, 60, True), (10, 47.6, True), (20, 37.8, True), (23, 35.3, True), (24, 34.5, False), (29, 30.7, False),
    (31, 0, False),    # the rule's own 30-day window
])
def test_the_shipped_half_life_fades_a_lone_demo_request(age_days, engagement, mql):
    vp = contact({"numberofemployees": "250", "industry": "COMPUTER_SOFTWARE"}, jobtitle="VP Engineering")
    scored = score_contact(vp, [Activity("form_submission", days_ago(age_days), "Demo request")], SHIPPED, NOW)
    assert (scored.fit, scored.engagement, scored.is_mql) == (65, engagement, mql)


@pytest.mark.parametrize("activity, high_intent", [
    (Activity("form_submission", minutes_ago(1), "Demo request"), True),
    (Activity("form_submission", minutes_ago(1), "Contact Sales"), True),
    (Activity("form_submission", minutes_ago(1), "Get a quote"), True),
    (Activity("meeting_booked", minutes_ago(1)), True),
    (Activity("form_submission", minutes_ago(1), "Ultimate guide"), False),
    (Activity("chat", minutes_ago(1)), False),
    (Activity("form_submission", days_ago(31), "Demo request"), False),   # outside the rule's window
])
def test_the_shipped_fast_lane(activity, high_intent):
    assert score_contact(contact(jobtitle="Analyst"), [activity], SHIPPED, NOW).high_intent is high_intent


# --- the compiled conditions against a plain reading of the rules, on the 5,000-contact sample ----------

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)     # the moment the sample export was taken
# Every property test and activity option, beyond what the shipped rules use.
EVERY_KIND_OF_TEST = [
    {"property": "numemployees", "equals": "51-200"}, {"property": "employees", "equals": 250},
    {"property": "jobtitle", "one_of": ["CEO", "vp sales", "Student"]}, {"property": "jobtitle", "contains": "ENG"},
    {"property": "employees", "gte": 201}, {"property": "employees", "lt": 51}, {"property": "employees", "lte": 50},
    {"property": "company.industry", "exists": True}, {"property": "industry", "exists": False},
    {"property": "recent_conversion_date", "within": "14d"}, {"property": "jobtitle", "exists": True, "matches": "r"},
    {"activity": "email_click", "campaign": "*webinar*"}, {"activity": "email_open", "at_least": 2},
    {"activity": "page_view", "url": "*/blog/*", "at_least": 2, "within": "60d"},
    {"all": [{"activity": "form_submission"}, {"property": "jobtitle", "matches": "(?i)director"}]},
    {"any": [{"activity": "chat"}, {"activity": "meeting_booked", "within": "90d"}]},
]


def plain_holds(condition, contact: Contact, activities, now: datetime):
    """The oracle: each condition read as docs/scoring.md words it, every activity looked at every time."""
    if isinstance(condition, PropertyCondition):
        value = read_property(contact, condition.name)
        return (Seen(condition.name, value),) if plain_property_holds(condition, value, now) else None
    if isinstance(condition, ActivityCondition):
        return plain_activity_holds(condition, activities, now)
    results = [plain_holds(child, contact, activities, now) for child in condition.conditions]
    if isinstance(condition, AllCondition):
        return None if None in results else tuple(seen for result in results for seen in result)
    return next((result for result in results if result is not None), None)


def plain_property_holds(condition: PropertyCondition, value: str | None, now: datetime) -> bool:
    if condition.exists is not None and (value is not None) != condition.exists:
        return False
    if value is None:
        return condition.exists is False
    return all(plain_test(key, value, expected, now) for key, expected in condition.tests().items() if key != "exists")


def plain_test(key: str, value: str, expected, now: datetime) -> bool:
    bounds = parse_range(value)
    if key == "within":
        moment = hubspot_time(value)
        return moment is not None and moment >= now - expected
    if key in ("gt", "gte", "lt", "lte"):
        side = bounds[0] if key.startswith("g") else bounds[1] if bounds else None
        return bounds is not None and {"gt": side > expected, "gte": side >= expected, "lt": side < expected,
                                       "lte": side <= expected}[key]
    return {"equals": lambda: plain_same(value, expected), "one_of": lambda: any(plain_same(value, x) for x in expected),
            "contains": lambda: expected.casefold() in value.casefold(),
            "matches": lambda: expected.search(value) is not None}[key]()


def plain_same(value: str, expected: str) -> bool:
    numbers = parse_range(value), parse_range(expected)
    if None not in numbers and numbers[0][0] == numbers[0][1]:
        return numbers[0] == numbers[1]
    return value.strip().casefold() == expected.strip().casefold()


def plain_activity_holds(condition: ActivityCondition, activities, now: datetime):
    matched = [activity for activity in activities if activity.kind == condition.kind
               and (condition.glob is None or fnmatchcase(activity.label.casefold(), condition.glob.casefold()))
               and (condition.within is None or activity.occurred_at >= now - condition.within)]
    total = sum(activity.count for activity in matched)
    if not matched or total < (condition.at_least or 1):
        return None
    return (Seen(condition.kind, count=total, last=max(activity.occurred_at for activity in matched),
                 counted=condition.at_least is not None, matched=tuple(matched)),)


@pytest.fixture(scope="module")
def sample():
    """(contact, activities) for every contact of samples/, as the backtest combines them."""
    export, feed = ContactExport(SAMPLES / "contacts.csv"), ActivityFeed(SAMPLES / "activities.csv")
    pairs = [(item.contact, combine_activities(activities_from_contact(item.contact),
                                               feed.for_contact(item.contact.id)))
             for item in export if not isinstance(item, Skipped)]
    export.close()
    feed.close()
    return pairs


def test_compiled_conditions_give_the_plain_evidence_for_every_sample_contact(sample):
    conditions = [rule.when for rule in (*SHIPPED.fit, *SHIPPED.engagement, *SHIPPED.gates)]
    conditions += [CONDITION.validate_python(condition) for condition in EVERY_KIND_OF_TEST]
    assert len(sample) == 5000
    for now in (SAMPLE_NOW, SAMPLE_NOW - timedelta(days=20)):
        for person, activities in sample:
            for condition in conditions:
                assert holds(condition, person, activities, now) == plain_holds(condition, person, activities, now)


def test_every_rule_fires_on_some_sample_contact_and_the_scores_are_the_plain_ones(sample):
    plain = [(rule, rule.label) for rule in (*SHIPPED.fit, *SHIPPED.engagement)]
    fired = {label: 0 for _, label in plain}
    for person, activities in sample:
        score = score_contact(person, activities, SHIPPED, SAMPLE_NOW)
        expected = [label for rule, label in plain if plain_holds(rule.when, person, activities, SAMPLE_NOW)]
        assert [reason.rule for reason in score.reasons if not reason.rule.endswith(" cap")] == expected
        failed = [gate.label for gate in SHIPPED.gates if plain_holds(gate.when, person, activities, SAMPLE_NOW) is None]
        assert list(score.gates_failed[:len(failed)]) == failed
        for label in expected:
            fired[label] += 1
    assert all(fired.values()), fired


def test_without_explaining_only_the_words_for_a_rep_are_left_out(sample):
    for person, activities in sample[:1000]:
        explained = score_contact(person, activities, SHIPPED, SAMPLE_NOW)
        counted = score_contact(person, activities, SHIPPED, SAMPLE_NOW, explain=False)
        assert counted == replace(explained, summary="",
                                  reasons=tuple(replace(reason, evidence="") for reason in explained.reasons))


def test_each_config_is_scored_with_its_own_rules_when_several_are_in_use():
    lead = contact(jobtitle="VP Sales")
    configs = [rules(fit=[{"label": f"Title {n}", "points": n, "when": {"property": "jobtitle", "exists": True}}])
               for n in range(1, 20)]
    for _ in range(2):
        assert [score_contact(lead, [], config, NOW).fit for config in configs] == list(range(1, 20))


# --- the backtest's verdict: the same decisions as score_contact, without its Reasons and words ----------

def test_the_verdict_is_the_score_without_its_words_for_every_sample_contact(sample):
    for now in (SAMPLE_NOW, SAMPLE_NOW - timedelta(days=20)):
        for person, activities in sample:
            assert verdict_for(person, activities, SHIPPED, now) == \
                Verdict.of(score_contact(person, activities, SHIPPED, now, explain=False))


# Configs that take every branch of the scorer: caps per group and axis, linear decay, a rule without decay,
# a dated property (never remembered by value), conditions mixing properties and activities, grades, gates.
EDGE_CONFIGS = [
    {"mql_threshold": 40, "caps": {"fit": 35, "web": 30}, "engagement_cap": 50, "decay": {"linear": "10%", "per": "7d"},
     "fit": [{"label": "Senior", "points": 30, "when": {"property": "jobtitle", "matches": "(?i)vp|director|ceo"}},
             {"label": "Big", "points": 20, "when": {"property": "employees", "gt": 50}},
             {"label": "No phone", "points": -5, "when": {"property": "phone", "exists": False}},
             {"label": "Converted lately", "points": 10, "when": {"property": "recent_conversion_date", "within": "7d"}}],
     "engagement": [{"label": "Pricing", "points": 25, "group": "web",
                     "when": {"activity": "page_view", "url": "*pricing*", "at_least": 2, "within": "14d"}},
                    {"label": "Busy", "points": 20, "group": "web", "decay": "none",
                     "when": {"activity": "page_view", "at_least": 3}},
                    {"label": "Demo by a senior", "points": 40, "high_intent": True,
                     "when": {"all": [{"activity": "form_submission", "form": "*demo*"},
                                      {"property": "jobtitle", "exists": True}]}},
                    {"label": "Anything", "points": 5,
                     "when": {"any": [{"activity": "chat"}, {"property": "hs_lead_status", "equals": "OPEN"}]}}],
     "gates": [{"label": "Has a title", "when": {"property": "jobtitle", "exists": True}},
               {"label": "Did something", "when": {"any": [{"activity": "email_open"}, {"activity": "page_view"}]}}]},
    {"mql_threshold": 30, "mql_exit_threshold": 20, "mql_rule": "either", "mql_grades": ["A1", "B1"],
     "grades": {"fit": {"A": 40, "B": 20}, "engagement": {1: 30, 2: 10}}, "decay": {"half_life": "3d"},
     "fit": [{"label": "Title", "points": 40, "when": {"property": "jobtitle", "exists": True}}],
     "engagement": [{"label": "Form", "points": 30, "when": {"activity": "form_submission", "within": "30d"}},
                    {"label": "Click", "points": 10, "when": {"activity": "email_click"}}]},
    # Activities only, decided by the leaves: one leaf asked for two counts, nested any/all, a leaf without a
    # window, campaign patterns, gates made of activities, and a value-only engagement rule among them.
    {"mql_threshold": 50, "decay": {"half_life": "10d"},
     "engagement": [{"label": "Some views", "points": 5, "when": {"activity": "page_view", "at_least": 2, "within": "14d"}},
                    {"label": "Many views", "points": 15, "when": {"activity": "page_view", "at_least": 6, "within": "14d"}},
                    {"label": "Open", "points": 3, "when": {"property": "hs_lead_status", "equals": "OPEN"}},
                    {"label": "Pricing and a form", "points": 30, "high_intent": True,
                     "when": {"all": [{"activity": "page_view", "url": "*pricing*"},
                                      {"any": [{"activity": "form_submission", "form": "*demo*", "within": "7d"},
                                               {"activity": "chat"}]}]}},
                    {"label": "Spring campaign", "points": 10,
                     "when": {"activity": "email_click", "campaign": "*spring*"}},
                    {"label": "Ever a form", "points": 8, "decay": "none", "when": {"activity": "form_submission"}}],
     "gates": [{"label": "Viewed twice", "when": {"activity": "page_view", "at_least": 2}},
               {"label": "Has a title", "when": {"property": "jobtitle", "exists": True}}]},
]
EDGE_CONTACTS = [
    (contact(), []),
    (contact(jobtitle="VP Sales", numemployees="51-200", recent_conversion_date=days_ago(2).isoformat()),
     [Activity("page_view", days_ago(1), "https://x.io/pricing", 2), Activity("page_view", days_ago(10), "/blog", 5),
      Activity("form_submission", days_ago(3), "Demo request"), Activity("chat", days_ago(40))]),
    (contact({"numberofemployees": "300"}, jobtitle="CEO", phone="1", hs_lead_status="OPEN"),
     [Activity("email_open", days_ago(100)), Activity("email_click", days_ago(5))]),
    (contact(jobtitle="Director"), [Activity("form_submission", minutes_ago(5), "Demo")]),
    (contact(jobtitle="CTO", hs_lead_status="OPEN"),
     [Activity("page_view", days_ago(2), "/pricing", 4), Activity("page_view", days_ago(20), "/pricing", 9),
      Activity("page_view", days_ago(1), "/docs", 3), Activity("chat", days_ago(3)),
      Activity("email_click", days_ago(4), "Spring launch"), Activity("form_submission", days_ago(8), "Demo")]),
    (contact(), [Activity("page_view", days_ago(40), "/pricing", 2), Activity("email_click", days_ago(1), "Autumn")]),
]


@pytest.mark.parametrize("config", EDGE_CONFIGS, ids=["caps-linear-mixed", "grades-either", "activities-only"])
@pytest.mark.parametrize("was_mql", [False, True])
def test_the_verdict_agrees_with_the_score_on_edge_cases(config, was_mql):
    scoring = rules(**config)
    for person, activities in EDGE_CONTACTS + EDGE_CONTACTS[::-1]:   # again, the values now remembered
        score = score_contact(person, activities, scoring, NOW, explain=False, was_mql=was_mql)
        expected = Verdict.of(score)
        if not was_mql:
            assert verdict_for(person, activities, scoring, NOW) == expected
        assert [reason.rule for reason in score.reasons if not reason.rule.endswith(" cap")] == \
            [rule.label for rule in (*scoring.fit, *scoring.engagement)
             if plain_holds(rule.when, person, activities, NOW) is not None]


def test_the_edge_cases_reach_the_caps_and_the_fast_lane():
    scoring = rules(**EDGE_CONFIGS[0])
    score = score_contact(*EDGE_CONTACTS[1], scoring, NOW)
    assert {"fit cap", "web cap"} <= {reason.rule for reason in score.reasons} and score.high_intent


VALUE_ONLY_CASES = [
    ({"property": "jobtitle", "matches": "x"}, True),
    ({"property": "createdate", "within": "7d"}, False),          # depends on the moment of scoring
    ({"activity": "chat"}, False),
    ({"all": [{"property": "jobtitle", "exists": True}, {"property": "employees", "gt": 5}]}, True),
    ({"any": [{"property": "jobtitle", "exists": True}, {"activity": "chat"}]}, False),
]


@pytest.mark.parametrize("condition, expected", VALUE_ONLY_CASES)
def test_which_conditions_depend_on_property_values_alone(condition, expected):
    assert reads_values_only(CONDITION.validate_python(condition)) is expected


KINDS_CASES = [
    ({"activity": "chat"}, {"chat"}),
    ({"any": [{"activity": "chat"}, {"activity": "page_view", "url": "*x*"}]}, {"chat", "page_view"}),
    ({"any": [{"activity": "chat"}, {"property": "jobtitle", "exists": True}]}, None),
    ({"all": [{"property": "jobtitle", "exists": True}, {"activity": "email_open"}]}, {"email_open"}),
    ({"property": "jobtitle", "exists": False}, None),
]


@pytest.mark.parametrize("condition, expected", KINDS_CASES)
def test_the_activity_kinds_a_condition_cannot_hold_without(condition, expected):
    found = kinds_needed(CONDITION.validate_python(condition))
    assert (None if found is None else set(found)) == expected


def test_remembered_values_never_leak_from_one_contact_to_another():
    titles = ["VP Sales", "Student", "VP Sales", "", "Director", "Student"] * 3
    for title in titles:
        person = contact(jobtitle=title) if title else contact()
        assert verdict_for(person, [], SHIPPED, NOW).rules_fired == \
            tuple(rule.label for rule in SHIPPED.fit if plain_holds(rule.when, person, [], NOW) is not None)


def test_times_without_a_zone_are_scored_as_before_when_every_time_lacks_one():
    # The scorer takes aware UTC times everywhere; a caller passing naive ones throughout still gets a score.
    naive_now = datetime(2026, 11, 23, 15, 0)
    scoring = rules(engagement=[{"label": "Chatted", "points": 10, "when": {"activity": "chat"}},
                                {"label": "Recent chat", "points": 5, "when": {"activity": "chat", "within": "7d"}}])
    score = score_contact(contact(), [Activity("chat", naive_now - timedelta(days=10))], scoring, naive_now)
    assert [reason.rule for reason in score.reasons] == ["Chatted"]


# verdict_for remembers what a combination of values, shape of activities and recency decides, all but the points
# of the rules that decay: the same combination at other ages must give its own total, grade and MQL decision.
# A decaying rule between rules that keep their points whole, fit rules, grades and a gate; no caps.
DECAYING = rules(**{
    "mql_threshold": 80, "decay": {"half_life": "10d"},
    "grades": {"fit": {"A": 40, "B": 20}, "engagement": {1: 45, 2: 20}},
    "fit": [{"label": "Senior", "points": 30, "when": {"property": "jobtitle", "matches": "(?i)vp|director"}},
            {"label": "Student", "points": -50, "when": {"property": "jobtitle", "matches": "(?i)student"}},
            {"label": "Big", "points": 10, "when": {"property": "employees", "gt": 50}}],
    "engagement": [{"label": "Chatted", "points": 10, "decay": "none", "when": {"activity": "chat"}},
                   {"label": "Demo", "points": 40,
                    "when": {"activity": "form_submission", "form": "*demo*", "within": "60d"}},
                   {"label": "Any form", "points": 5, "decay": "none", "when": {"activity": "form_submission"}},
                   {"label": "Clicked", "points": 10, "when": {"activity": "email_click"}}],
    "gates": [{"label": "In the US", "when": {"property": "country", "equals": "US"}}]})
VP_IN_US = contact(jobtitle="VP Sales", numemployees="51-200", country="US")
VP_ABROAD = contact(jobtitle="VP Sales", numemployees="51-200", country="France")


def demo_chat_click(demo_days: float, chat_days: float, click_days: float | None) -> list[Activity]:
    clicked = [] if click_days is None else [Activity("email_click", days_ago(click_days), "Spring launch")]
    return [Activity("chat", days_ago(chat_days)), Activity("form_submission", days_ago(demo_days), "Demo request"),
            *clicked]


DECAYING_CASES = [
    # person, days since (demo, chat, click), total, grade, MQL, gates failed: fit 40 + chat 10 + form 5 + decayed
    (VP_IN_US, (0, 1, None), 95, "A1", True, ()),
    (VP_IN_US, (4.15, 1, None), 85, "A1", True, ()),          # engagement exactly 45 once rounded: grade 1
    (VP_IN_US, (4.2, 1, None), 84.9, "A2", True, ()),
    (VP_IN_US, (6.78, 1, None), 80, "A2", True, ()),          # exactly the threshold once rounded
    (VP_IN_US, (6.9, 1, None), 79.8, "A2", False, ()),
    (VP_IN_US, (30, 1, None), 60, "A2", False, ()),            # engagement exactly 20: grade 2
    (VP_IN_US, (31, 1, None), 59.7, "A3", False, ()),
    (VP_IN_US, (20, 1, 3), 73.1, "A2", False, ()),             # two rules decay, each by its own activity
    (VP_IN_US, (2, 1, 3), 97.9, "A1", True, ()),
    (VP_IN_US, (20, 1, 30), 66.2, "A2", False, ()),
    (VP_IN_US, (35, 35, None), 58.5, "A3", False, ("No engagement in the last 30 days",)),
    (VP_ABROAD, (0, 1, None), 95, "A1", False, ("In the US",)),
]


@pytest.mark.parametrize("person, days, total, grade, mql, gates_failed", DECAYING_CASES)
def test_a_remembered_combination_still_ages_the_points_that_decay(person, days, total, grade, mql, gates_failed):
    older = [replace(activity, occurred_at=activity.occurred_at - timedelta(hours=12))
             for activity in demo_chat_click(*days)]
    first = verdict_for(person, older, DECAYING, NOW)     # the same combination, half a day older: remembered
    activities = demo_chat_click(*days)
    verdict = verdict_for(person, activities, DECAYING, NOW)
    assert verdict == Verdict.of(score_contact(person, activities, DECAYING, NOW, explain=False))
    assert (verdict.total, verdict.grade, verdict.is_mql, verdict.gates_failed) == (total, grade, mql, gates_failed)
    assert verdict.total != first.total and first.rules_fired == verdict.rules_fired
