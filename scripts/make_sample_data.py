"""Write a synthetic HubSpot contacts export and its activity file, the same every run (fixed seed).

    python scripts/make_sample_data.py                       # samples/contacts.csv + samples/activities.csv
    python scripts/make_sample_data.py --contacts 200000 --out /tmp/big --unsorted-activities

Contacts carry HubSpot's export labels and date format; their trail properties (recent conversion,
page views, last email dates, last meeting) agree with the activity file. Each contact has a hidden
fit (title seniority, company size, industry) and intent (cold, curious, researching, buying); who
Sales worked, and whether they became an SQL or were disqualified (and why), follows from both.
Rows are written as they are made, so memory stays flat for any size.
"""
from __future__ import annotations

import argparse
import csv
import math
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 20261123
AS_OF = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)   # the moment the export was taken
CONTACTS = 5000
FIRST_ID = 10_000_001

CONTACT_HEADER = [
    "Record ID", "First Name", "Last Name", "Email", "Job Title", "Company Name", "Associated Company",
    "Number of Employees", "Industry", "Country/Region", "Lifecycle Stage", "Lead Status", "Create Date",
    "Original Source", "Recent Conversion", "Recent Conversion Date", "First Conversion", "First Conversion Date",
    "Number of Form Submissions", "Number of Pageviews", "Number of Sessions", "Time of Last Session",
    "Last marketing email open date", "Last marketing email click date",
    "Date of last meeting booked in meetings tool", "Sales Outcome", "Disqualification Reason",
]
ACTIVITY_HEADER = ["contact_id", "kind", "occurred_at", "label", "count"]

FIRST_NAMES = ("Aisha Alex Ana Andre Ben Carla Chen Chloe Daniel Diego Elena Emma Farah Felix Grace Hana Ines Ivan "
               "James Jana Jonas Julia Kai Kenji Laura Leila Liam Lucas Maya Mei Mohamed Nadia Noah Nora Olga Omar "
               "Pablo Priya Rafael Rosa Sam Sara Sofia Tariq Tom Uma Victor Wen Yara Zoe").split()
LAST_NAMES = ("Adams Ahmed Alvarez Bauer Becker Chen Costa Dubois Evans Fischer Garcia Gupta Haddad Hansen Ito "
              "Jensen Kim Kowalski Larsen Lee Lopez Martin Meyer Moreau Murphy Nakamura Nguyen Novak Okafor "
              "Olsen Patel Perez Petrov Reyes Rossi Santos Schmidt Silva Singh Smith Tanaka Taylor Walker Wang "
              "Weber Williams Wright Yilmaz Zhang").split()
COMPANY_WORDS = ("Acorn Apex Aster Atlas Beacon Birch Bluefin Bright Cedar Clear Cobalt Copper Crest Delta Ember "
                 "Evergreen Falcon Fern Granite Harbor Helix Horizon Iron Juniper Keystone Lumen Maple Meridian "
                 "Nimbus North Oak Orbit Peak Pine Quartz Rapid River Sage Signal Silver Spruce Summit Tidal "
                 "True Vertex Willow Zenith").split()
COMPANY_NOUNS = ("Analytics Bank Cloud Dynamics Foods Freight Health Insights Labs Learning Logistics Media "
                 "Networks Partners Retail Robotics Security Software Solutions Systems Works").split()
COMPANY_SUFFIXES = ("", "", "", " Inc", " Ltd", " GmbH", " Group", " Co")
# (option value as exported, weight, headcount score for the hidden fit)
SIZES = (("1-5", 10, 0.0), ("5-25", 18, 0.1), ("25-50", 14, 0.3), ("50-100", 14, 0.5), ("100-500", 20, 0.9),
         ("500-1000", 10, 1.0), ("1000+", 14, 0.9))
# (industry as typed into a form, weight, fit)
INDUSTRIES = (("Software", 18, 1.0), ("SaaS", 8, 1.0), ("Internet", 5, 0.8), ("Information Technology", 8, 0.8),
              ("Fintech", 5, 0.9), ("Marketing & Advertising", 6, 0.7), ("Financial Services", 6, 0.6),
              ("Healthcare", 8, 0.3), ("Retail", 8, 0.3), ("Manufacturing", 8, 0.2), ("Education", 6, 0.1),
              ("Non-profit", 4, 0.0), ("Construction", 4, 0.1), ("Logistics", 6, 0.3))
# (titles, weight, seniority fit)
TITLES = (
    (("CEO", "CTO", "CFO", "CMO", "COO", "Chief Revenue Officer", "Founder & CEO"), 5, 0.9),
    (("VP Sales", "VP Marketing", "VP Engineering", "Vice President of Operations", "SVP Revenue",
      "VP Customer Success"), 8, 1.0),
    (("Director of Marketing", "Sales Director", "Director, Demand Generation", "IT Director",
      "Director of Revenue Operations"), 12, 0.9),
    (("Head of Growth", "Head of Sales", "Head of Marketing Operations", "Head of Data"), 5, 0.8),
    (("Marketing Manager", "Sales Manager", "Product Manager", "Marketing Operations Manager", "IT Manager"),
     25, 0.4),
    (("Marketing Specialist", "Account Executive", "Software Engineer", "Data Analyst", "Content Writer",
      "Sales Development Rep", "Consultant", "Designer"), 30, 0.15),
    (("Student", "Marketing Intern", "MBA Student", "Graduate Trainee"), 5, 0.0),
    (("",), 10, 0.2),
)
COUNTRIES = (("United States", 55), ("United Kingdom", 10), ("Canada", 7), ("Germany", 7), ("France", 4),
             ("Australia", 4), ("Netherlands", 3), ("India", 5), ("Brazil", 3), ("Spain", 2))
SOURCES = (("Organic Search", 35), ("Direct Traffic", 20), ("Paid Search", 12), ("Social Media", 10),
           ("Referrals", 8), ("Email Marketing", 10), ("Offline Sources", 5))
# Intent: (name, weight, days since last activity (low, high), sessions (low, high), pricing-page share)
INTENTS = (("cold", 45, (25, 400), (0, 2), 0.02), ("curious", 30, (0, 90), (1, 3), 0.05),
           ("researching", 17, (0, 40), (2, 6), 0.2), ("buying", 8, (0, 14), (3, 8), 0.4))
INTENT_SCORE = {"cold": 0.0, "curious": 0.3, "researching": 0.6, "buying": 1.0}
CONTENT_FORMS = ("Ebook: The State of Lead Scoring 2026", "Ebook: Speed to Lead Playbook", "Guide: MQL vs SQL",
                 "Report: B2B Conversion Benchmarks", "Whitepaper: Sales and Marketing SLAs",
                 "Webinar: Scores Reps Trust")
LIGHT_FORMS = ("Newsletter signup", "Blog subscription", "Contact us")
SALES_FORMS = ("Demo request", "Contact sales", "Pricing inquiry", "Request a quote")
PAGES = ("/", "/blog/lead-scoring-101", "/blog/mql-vs-sql", "/blog/speed-to-lead", "/product", "/product/routing",
         "/customers", "/integrations/hubspot", "/docs/getting-started", "/about", "/careers")
CAMPAIGNS = ("November newsletter", "October newsletter", "Webinar invite: Scores Reps Trust",
             "Product update: Routing", "Case study: Northwind Freight")
DISQUALIFIED = ("No budget", "Bad timing", "Using a competitor", "No response")


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    size: str
    size_fit: float
    industry: str
    industry_fit: float


@dataclass
class Trail:
    """What one contact did: the activity rows, and the summary HubSpot keeps on the record."""
    rows: list
    forms: list                      # (when, form name), oldest first
    views: int = 0
    sessions: int = 0
    last_session: datetime | None = None
    last_open: datetime | None = None
    last_click: datetime | None = None
    meeting: datetime | None = None


def pick(rng: random.Random, weighted):
    """One item of (value, weight, …) tuples, by weight."""
    return rng.choices(weighted, weights=[item[1] for item in weighted])[0]


def hidden_fit(title_fit: float, company: Company) -> float:
    """0..1: how close to the ideal customer (a senior buyer at a mid-size software company)."""
    return 0.45 * title_fit + 0.3 * company.size_fit + 0.25 * company.industry_fit


def pick_intent(rng: random.Random, fit: float) -> tuple:
    """Buyers come more often from companies that fit: the product solves their problem."""
    lean = {"cold": 1.3 - fit, "curious": 1.0, "researching": 0.6 + fit, "buying": 0.4 + 1.4 * fit}
    return rng.choices(INTENTS, weights=[intent[1] * lean[intent[0]] for intent in INTENTS])[0]


def make_companies(rng: random.Random, count: int) -> list[Company]:
    companies = []
    for index in range(count):
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_NOUNS)}{rng.choice(COMPANY_SUFFIXES)}"
        size, industry = pick(rng, SIZES), pick(rng, INDUSTRIES)
        domain = re.sub(r"[^a-z]", "", name.lower().replace(" inc", "").replace(" gmbh", "")) + \
            rng.choice((".com", ".com", ".io", ".co")) if index % 7 else f"{name.split()[0].lower()}{index}.com"
        companies.append(Company(name, domain, size[0], size[2], industry[0], industry[2]))
    return companies


def export_time(moment: datetime | None) -> str:
    """HubSpot's export writes datetimes as "2026-11-20 14:03"."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def moment_before(rng: random.Random, days: float) -> datetime:
    """A working-hours moment `days` (fractional) before the export."""
    day = AS_OF - timedelta(days=days)
    return day.replace(hour=rng.randint(8, 19), minute=rng.randint(0, 59), second=0) \
        if days >= 1 else AS_OF - timedelta(minutes=rng.randint(5, 600))


def make_trail(rng: random.Random, contact_id: str, intent: tuple, fit: float) -> Trail:
    name, _, recency, sessions, pricing_share = intent
    last_days = rng.uniform(*recency)
    trail = Trail(rows=[], forms=[])
    _add_sessions(rng, trail, contact_id, rng.randint(*sessions), last_days, pricing_share)
    _add_forms(rng, trail, contact_id, name, last_days, fit)
    _add_emails(rng, trail, contact_id, name, last_days)
    if name in ("researching", "buying") and rng.random() < 0.08:
        _add(trail, contact_id, "chat", moment_before(rng, last_days + rng.uniform(0, 5)), "Website chat")
    trail.rows.sort(key=lambda row: row[2])
    return trail


def _add(trail: Trail, contact_id: str, kind: str, moment: datetime, label: str, count: int = 1) -> None:
    trail.rows.append((contact_id, kind, iso(moment), label, count))


def _add_sessions(rng: random.Random, trail: Trail, contact_id: str, sessions: int, last_days: float,
                  pricing_share: float) -> None:
    for index in range(sessions):
        moment = moment_before(rng, last_days if index == 0 else last_days + rng.uniform(0, 28))
        pages = {("/pricing" if rng.random() < pricing_share else rng.choice(PAGES)) for _ in range(rng.randint(1, 3))}
        for page in sorted(pages):
            count = rng.choice((1, 1, 1, 2, 3))
            _add(trail, contact_id, "page_view", moment, page, count)
            trail.views += count
        trail.sessions += 1
        trail.last_session = max(filter(None, (trail.last_session, moment)))


def _add_forms(rng: random.Random, trail: Trail, contact_id: str, intent: str, last_days: float, fit: float) -> None:
    forms = []
    if rng.random() < {"cold": 0.35, "curious": 0.6, "researching": 0.9, "buying": 1.0}[intent]:
        forms.append((last_days + rng.uniform(20, 200), rng.choice(LIGHT_FORMS)))
    if intent in ("curious", "researching", "buying") and rng.random() < 0.7:
        forms.append((last_days + rng.uniform(0, 25), rng.choice(CONTENT_FORMS)))
    if intent == "buying" or (intent == "researching" and rng.random() < 0.15 + 0.2 * fit):
        forms.append((last_days, rng.choice(SALES_FORMS)))
        if rng.random() < 0.35:
            trail.meeting = moment_before(rng, max(0.0, last_days - rng.uniform(0, 3)))
            _add(trail, contact_id, "meeting_booked", trail.meeting, "Intro call")
    for days, form in sorted(forms, reverse=True):
        moment = moment_before(rng, days)
        trail.forms.append((moment, form))
        _add(trail, contact_id, "form_submission", moment, form)


def _add_emails(rng: random.Random, trail: Trail, contact_id: str, intent: str, last_days: float) -> None:
    opens = rng.randint(0, {"cold": 1, "curious": 2, "researching": 3, "buying": 3}[intent])
    for _ in range(opens):
        campaign, moment = rng.choice(CAMPAIGNS), moment_before(rng, last_days + rng.uniform(0, 45))
        _add(trail, contact_id, "email_open", moment, campaign)
        trail.last_open = max(filter(None, (trail.last_open, moment)))
        if rng.random() < 0.3:
            clicked = moment + timedelta(minutes=rng.randint(1, 90))
            _add(trail, contact_id, "email_click", clicked, campaign)
            trail.last_click = max(filter(None, (trail.last_click, clicked)))


def decide_outcome(rng: random.Random, title_fit: float, company: Company, intent: str, title: str,
                   trail: Trail) -> tuple[str, str]:
    """(Sales Outcome, Disqualification Reason): blank for contacts Sales never worked."""
    asked = any(form in SALES_FORMS for _, form in trail.forms) or trail.meeting is not None
    if not asked and rng.random() > {"cold": 0.03, "curious": 0.12, "researching": 0.35, "buying": 0.6}[intent]:
        return "", ""
    odds = -4.0 + 5.0 * hidden_fit(title_fit, company) + 2.4 * INTENT_SCORE[intent] + rng.gauss(0, 0.7)
    if rng.random() < 1 / (1 + math.exp(-odds)):
        return ("Customer" if rng.random() < 0.25 else "SQL"), ""
    return "Disqualified", _disqualified_because(rng, title_fit, company, title)


def _disqualified_because(rng: random.Random, title_fit: float, company: Company, title: str) -> str:
    if re.search(r"student|intern|trainee", title, re.I):
        return "Student or job seeker"
    if company.size_fit <= 0.1 and rng.random() < 0.8:
        return "Company too small"
    if title_fit < 0.5 and rng.random() < 0.6:
        return "Not a decision-maker"
    if company.industry_fit < 0.4 and rng.random() < 0.5:
        return "Not our industry"
    return rng.choice(DISQUALIFIED)


def stages(outcome: str, trail: Trail) -> tuple[str, str]:
    """(Lifecycle Stage, Lead Status) as the export writes them: option labels."""
    if outcome == "Customer":
        return "Customer", ""
    if outcome == "SQL":
        return "Sales Qualified Lead", "Connected"
    if outcome == "Disqualified":
        return "Lead", "Unqualified"
    if not trail.forms:
        return "Subscriber" if trail.last_open else "Lead", ""
    return "Lead", "New"


def contact_row(rng: random.Random, contact_id: str, company: Company, trail: Trail, title: tuple,
                intent: str) -> list[str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    outcome, reason = decide_outcome(rng, title[1], company, intent, title[0], trail)
    lifecycle, status = stages(outcome, trail)
    first_form, recent_form = (trail.forms[0], trail.forms[-1]) if trail.forms else ((None, ""), (None, ""))
    moments = [m for m in (trail.last_session, trail.last_open, first_form[0]) if m]
    created = min(moments, default=AS_OF - timedelta(days=500)) - timedelta(days=rng.randint(0, 30))
    known = rng.random() < 0.8   # a fifth of contacts never filled in company size or industry
    return [contact_id, first, last, f"{first}.{last}@{company.domain}".lower(), title[0], company.name,
            company.name, company.size if known else "", company.industry if known else "",
            pick(rng, COUNTRIES)[0], lifecycle, status, export_time(created), pick(rng, SOURCES)[0],
            recent_form[1], export_time(recent_form[0]), first_form[1], export_time(first_form[0]),
            str(len(trail.forms)), str(trail.views), str(trail.sessions), export_time(trail.last_session),
            export_time(trail.last_open), export_time(trail.last_click), export_time(trail.meeting), outcome, reason]


def write_sample(directory: Path, contacts: int = CONTACTS, seed: int = SEED, unsorted: bool = False) -> None:
    """Write contacts.csv and activities.csv into `directory`, one contact at a time."""
    rng = random.Random(seed)
    companies = make_companies(rng, max(50, contacts // 5))
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "contacts.csv", "w", newline="", encoding="utf-8") as contacts_file, \
            open(directory / "activities.csv", "w", newline="", encoding="utf-8") as activities_file:
        people, events = csv.writer(contacts_file), csv.writer(activities_file)
        people.writerow(CONTACT_HEADER)
        events.writerow(ACTIVITY_HEADER)
        held = []
        for contact_id in contact_ids(rng, contacts):
            company, title = rng.choice(companies), pick(rng, TITLES)
            chosen = (rng.choice(title[0]), title[2])
            fit = hidden_fit(chosen[1], company)
            intent = pick_intent(rng, fit)
            trail = make_trail(rng, contact_id, intent, fit)
            people.writerow(contact_row(rng, contact_id, company, trail, chosen, intent[0]))
            held = _write_activities(events, trail.rows, held, unsorted)
        events.writerows(held)


def _write_activities(events, rows: list, held: list, unsorted: bool) -> list:
    """Sorted: write now. Unsorted: write each pair of contacts' rows in the wrong order."""
    if not unsorted:
        events.writerows(rows)
        return []
    if held:
        events.writerows(rows)
        events.writerows(held)
        return []
    return rows


def contact_ids(rng: random.Random, count: int):
    """Ascending record ids with gaps, as a portal's ids are."""
    current = FIRST_ID
    for _ in range(count):
        yield str(current)
        current += rng.randint(1, 40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=CONTACTS)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "samples"))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--unsorted-activities", action="store_true",
                        help="write the activity file out of contact-id order (to measure the in-memory path)")
    args = parser.parse_args()
    write_sample(Path(args.out), args.contacts, args.seed, args.unsorted_activities)


if __name__ == "__main__":
    main()
