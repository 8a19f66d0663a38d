"""Web-analytics events (GET /events/v3/events) as the third activity source, through the worker, the real
hubspot-api-client and the fake HubSpot, on SQLite and PostgreSQL."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import web_events
from bot.rules import check_config, load_config
from bot.store import kv
from bot.store.schema import activities
from tests.harness import System, add_people, write_config

EVENTS = "/events/v3/events"
ROUTING = """\
sdr_pool: ["201", "202"]
managers: ["UMANAGER"]
slack_users: {}
channels: {leads: "C0LEADS", managers: "C0MGRS", fallback: "C0FALLBACK", ops: "C0OPS"}
"""


@pytest.fixture
def system(engine, tmp_path, fake_hubspot, fake_slack):
    add_people(fake_hubspot, fake_slack, "201", "202")
    return System(engine, write_config(tmp_path / "config", routing=ROUTING), fake_hubspot, fake_slack)


def add_researcher(system: System, contact_id: str) -> None:
    """A VP at a 250-person software company who downloaded a guide: 90 points, 10 short of an MQL."""
    system.add_warm_contact(contact_id, recent_conversion_event_name="Ebook download",
                            hs_analytics_num_page_views="4")


def pricing_views(system: System, contact_id: str, minutes_ago=(5, 4, 3)) -> list[str]:
    return [system.hubspot.add_web_event(contact_id, "e_visited_page", system.clock.now - timedelta(minutes=m),
                                         hs_url="https://acme.example/pricing", hs_title="Pricing")
            for m in minutes_ago]


def change(system: System, contact_id: str, name: str = "hs_analytics_num_page_views") -> None:
    system.post_webhook([system.event("contact.propertyChange", contact_id, property_name=name,
                                      property_value="x")])
    system.drain()


def kept(system: System, contact_id: str) -> int:
    with system.svc.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(activities)
                            .where(activities.c.contact_id == contact_id)).scalar()


def test_pricing_page_views_from_the_events_api_make_a_contact_near_the_line_an_mql(system):
    add_researcher(system, "931")
    pricing_views(system, "931")
    change(system, "931")
    [lead] = system.leads()
    assert lead.contact_id == "931"
    assert "Visited the pricing page 3 times in a week" in system.scores()[-1].reasons
    [call] = [c for c in system.hubspot.calls if c.path.startswith(EVENTS)]
    assert (call.query["objectId"], call.query["eventType"]) == ("931", "e_visited_page")
    assert call.query["occurredAfter"].startswith(str((system.clock.now - timedelta(days=30)).date()))
    assert kept(system, "931") == 3


def test_a_contact_is_asked_again_only_after_every_and_from_its_newest_event(system):
    add_researcher(system, "932")
    first = system.clock.now
    pricing_views(system, "932", minutes_ago=(5,))
    change(system, "932")
    change(system, "932", "jobtitle")
    assert system.hubspot.count(EVENTS) == 1          # within `every` (30 min): not asked again
    system.clock.advance(minutes=31)
    pricing_views(system, "932", minutes_ago=(2,))
    change(system, "932")
    calls = [c for c in system.hubspot.calls if c.path.startswith(EVENTS)]
    assert len(calls) == 2
    resumed_from = datetime.fromisoformat(calls[1].query["occurredAfter"])
    assert resumed_from == first - timedelta(minutes=5, milliseconds=1)   # the newest kept, a millisecond early
    assert kept(system, "932") == 2                   # the event seen twice is kept once


def test_contacts_far_from_the_line_and_decided_mqls_cost_no_call(system):
    system.add_cold_contact("933")
    system.add_warm_contact("934")
    change(system, "933")
    system.post_webhook([system.demo_request("934")])
    system.drain()
    assert len(system.leads()) == 1
    assert system.hubspot.count(EVENTS) == 0


def test_a_portal_without_the_api_is_asked_once_then_left_alone_for_a_day(system, caplog):
    system.hubspot.refuse_scope("/events/", "behavioral_events.event_definitions.read_write")
    add_researcher(system, "935")
    add_researcher(system, "936")
    with caplog.at_level(logging.WARNING, logger="handoff.web_events"):
        change(system, "935")
        change(system, "936")
    assert system.hubspot.count(EVENTS) == 1
    assert len([r for r in caplog.records if "not available" in r.getMessage()]) == 1
    assert len(system.scores()) == 2 and system.leads() == []     # the batch went on without the events
    system.hubspot.refused_scopes.clear()
    pricing_views(system, "936")
    system.clock.advance(hours=24, minutes=1)
    add_researcher(system, "936")       # the guide download again, fresh on the new clock
    change(system, "936")
    assert system.hubspot.count(EVENTS) == 2
    assert [lead.contact_id for lead in system.leads()] == ["936"]


@pytest.mark.parametrize("status", [429, 503])
def test_a_failing_events_read_never_fails_the_batch(system, status):
    system.hubspot.fail_next(EVENTS, status, retry_after="7" if status == 429 else None)
    add_researcher(system, "937")
    change(system, "937")
    assert len(system.scores()) == 1                # scored without the events
    with system.svc.engine.connect() as conn:
        blocked = kv.blocked_until(conn, "hubspot")
    assert (blocked is not None) == (status == 429)   # a 429 makes every HubSpot call wait
    pricing_views(system, "937")
    system.clock.advance(seconds=8)
    change(system, "937")
    assert [lead.contact_id for lead in system.leads()] == ["937"]   # not marked fetched: asked next time


def test_worth_fetching_is_the_band_below_the_threshold_or_any_open_lead_when_asked(tmp_path):
    rules = load_config(write_config(tmp_path / "config")).scoring
    settings = rules.analytics_events
    assert [web_events.worth_fetching(total, False, rules, settings) for total in (69, 70, 99, 100)] == \
        [False, True, True, False]
    assert not web_events.worth_fetching(120, True, rules, settings)
    assert web_events.worth_fetching(120, True, rules, settings.model_copy(update={"open_leads": True}))



@pytest.mark.parametrize("block, expected", [
    ("  near_threshold: -3\n", "analytics_events.near_threshold: must be at least 0.0 (got -3)"),
    ("  evry: 5m\n", "analytics_events.evry: unknown key; did you mean `every`?"),
    ("  every: 0m\n", "analytics_events.every: must be longer than zero (got '0m')"),
    ("  event_types: {visited_page: page_view}\n", "analytics_events.event_types: 'visited_page' is not a "
                                                   "HubSpot event type"),
    ("  event_types: {pe62515_demo: nonsense}\n", "analytics_events.event_types.pe62515_demo: expected "
                                                  "'form_submission', 'page_view'"),
])
def test_check_config_names_file_line_and_key_of_a_bad_analytics_events_block(tmp_path, block, expected):
    config = write_config(tmp_path / "config")
    scoring = config / "scoring.yaml"
    shipped = scoring.read_text().split("\nanalytics_events:")[0]
    scoring.write_text(shipped + "\nanalytics_events:\n" + block)
    line = len(shipped.splitlines()) + 2   # the block's key, under `analytics_events:`
    [problem] = [found for found in check_config(config) if "scoring.yaml" in str(found)]
    assert f"scoring.yaml:{line}: {expected}" in str(problem)


def test_with_open_leads_on_an_open_leads_card_gets_its_pages(engine, tmp_path, fake_hubspot, fake_slack):
    add_people(fake_hubspot, fake_slack, "201")
    config = write_config(tmp_path / "config", routing=ROUTING.replace('["201", "202"]', '["201"]'))
    scoring = config / "scoring.yaml"
    scoring.write_text(scoring.read_text().replace("  every: 30m", "  open_leads: true\n  every: 30m"))
    system = System(engine, config, fake_hubspot, fake_slack)
    system.new_lead("938")                        # far above the line: no call to become an MQL
    assert system.hubspot.count(EVENTS) == 0
    pricing_views(system, "938")
    change(system, "938")                         # its next change: the open lead is asked
    change(system, "938")                         # within `every`: not again
    assert (system.hubspot.count(EVENTS), kept(system, "938")) == (1, 3)
    assert "Visited the pricing page 3 times in a week" in system.leads()[0].card   # the rep's card says so
