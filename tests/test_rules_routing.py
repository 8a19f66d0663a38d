"""routing.yaml's routing keys: the pool with weights, daily caps and working hours, territories, account stickiness.

A pool written as a plain list of owner ids still loads as before; each bad value is one problem naming the file,
its line and key.
"""
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.rules import check_config, load_config
from bot.rules.routing import Rep, Territory
from tests.config_text import with_changes
from tests.harness import write_config

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "config"

ROUTING = """\
sdr_pool:
  - {owner: "101", weight: 2, daily_cap: 20, timezone: Europe/Berlin, hours: {mon-fri: "08:00-16:00"}}
  - {owner: "102"}
  - "103"
  - 104
territories:
  - {name: DACH, when: {country: [Germany, Austria, Switzerland]}, pool: ["101"]}
  - {name: US West, when: {country: [United States], state: [CA, WA, "OR"]}, pool: ["102", "104"]}
  - {name: Enterprise, when: {employees_at_least: 1000}, pool: ["103"]}
  - {name: SMB, when: {industry: COMPUTER_SOFTWARE, employees_below: 50}, pool: ["104"]}
account_stickiness: false
managers: ["U0MANAGER1"]
channels:
  leads: "#leads"
  managers: "#sales-managers"
  fallback: "#leads-unassigned"
ae_pool: ["201"]
"""
WEEKDAYS = {day: (time(8), time(16)) for day in range(5)}


def changed(*changes: str) -> str:
    return with_changes(ROUTING, *changes)


def test_every_new_key_loads_as_written(tmp_path):
    routing = load_config(write_config(tmp_path, ROUTING)).routing
    assert routing.sdr_pool == ("101", "102", "103", "104")
    assert routing.reps == {"101": Rep("101", 2, 20, ZoneInfo("Europe/Berlin"), WEEKDAYS),
                            "102": Rep("102"), "103": Rep("103"), "104": Rep("104")}
    assert routing.territories == (
        Territory("DACH", ("101",), {"country": ("Germany", "Austria", "Switzerland")}),
        Territory("US West", ("102", "104"), {"country": ("United States",), "state": ("CA", "WA", "OR")}),
        Territory("Enterprise", ("103",), employees_at_least=1000),
        Territory("SMB", ("104",), {"industry": ("COMPUTER_SOFTWARE",)}, employees_below=50))
    assert routing.account_stickiness is False


def test_a_plain_pool_loads_as_before_with_stickiness_on(tmp_path):
    text = 'sdr_pool: ["101", "102"]\n' + ROUTING[ROUTING.index("managers:"):]
    routing = load_config(write_config(tmp_path, text)).routing
    assert routing.sdr_pool == ("101", "102") and routing.reps == {"101": Rep("101"), "102": Rep("102")}
    assert routing.territories == () and routing.account_stickiness is True


@pytest.mark.parametrize("change, rep", [
    ('weight: 2, daily_cap: 20, timezone: Europe/Berlin, hours: {mon-fri: "08:00-16:00"}=>hours: always, '
     'timezone: UTC', Rep("101", timezone=ZoneInfo("UTC"), hours="always")),
    ('weight: 2, daily_cap: 20, timezone: Europe/Berlin, hours: {mon-fri: "08:00-16:00"}=>timezone: UTC',
     Rep("101", timezone=ZoneInfo("UTC"))),
    ('weight: 2, daily_cap: 20, timezone: Europe/Berlin, hours: {mon-fri: "08:00-16:00"}=>daily_cap: null',
     Rep("101")),
])
def test_rep_settings_may_be_left_out(tmp_path, change, rep):
    assert load_config(write_config(tmp_path, changed(change))).routing.reps["101"] == rep


ERRORS = [
    # (change, line, key, words)
    ("weight: 2=>weight: 0", 2, "sdr_pool[0].weight", "must be at least 1 (got 0)"),
    ("weight: 2=>weight: 1.5", 2, "sdr_pool[0].weight", "expected a whole number (got 1.5)"),
    ("weight: 2=>weight: yes", 2, "sdr_pool[0].weight", "expected a whole number (got true)"),
    ("daily_cap: 20=>daily_cap: 0", 2, "sdr_pool[0].daily_cap", "must be at least 1 (got 0)"),
    ("daily_cap: 20=>daily_cap: -5", 2, "sdr_pool[0].daily_cap", "must be at least 1 (got -5)"),
    ("daily_cap: 20=>daily_cap: twenty", 2, "sdr_pool[0].daily_cap", "expected a whole number (got 'twenty')"),
    ("timezone: Europe/Berlin=>timezone: Berlin", 2, "sdr_pool[0].timezone", "unknown time zone 'Berlin'"),
    ('"08:00-16:00"=>"16:00-08:00"', 2, "sdr_pool[0].hours", 'expected opening hours like "09:00-17:00"'),
    ("mon-fri=>weekdays", 2, "sdr_pool[0].hours", "'weekdays' is not a day or a day range like mon-fri"),
    ("timezone: Europe/Berlin, =>", 2, "sdr_pool[0].hours", "working hours need the rep's timezone"),
    ('{owner: "102"}=>{owner: "Jane"}', 3, "sdr_pool[1].owner", "expected a HubSpot owner id"),
    ('{owner: "102"}=>{weight: 2}', 3, "sdr_pool[1].owner", "this key is required"),
    ('{owner: "102"}=>{owner: "102", wieght: 2}', 3, "sdr_pool[1].wieght", "did you mean `weight`?"),
    ('  - "103"=>  - "jane@example.com"', 4, "sdr_pool[2]", "expected a HubSpot owner id"),
    ('  - 104=>  - 104\n  - "101"', 6, "sdr_pool[4]", "owner 101 is listed twice; to give a rep more turns, list them "
     "once with a weight"),
    ('pool: ["103"]=>pool: ["103", "999"]', 9, "territories[2].pool[1]", "owner 999 is not in sdr_pool"),
    ('pool: ["103"]=>pool: ["103", "103"]', 9, "territories[2].pool[1]", "owner 103 is listed twice; their weight"),
    ('pool: ["103"]=>pool: []', 9, "territories[2].pool", "nobody to take these leads"),
    ('pool: ["103"]=>pool: ["Jane"]', 9, "territories[2].pool[0]", "expected a HubSpot owner id"),
    ("name: Enterprise=>name: dach", 9, "territories[2].name", "the territory name 'dach' is used twice"),
    ("name: Enterprise, =>", 9, "territories[2].name", "this key is required"),
    ("{employees_at_least: 1000}=>{}", 9, "territories[2].when", "say which leads belong here: one of country"),
    ("{employees_at_least: 1000}=>{employees_at_least: 0}", 9, "territories[2].when.employees_at_least",
     "must be at least 1 (got 0)"),
    ("{employees_at_least: 1000}=>{employees_at_least: 1000, employees_below: 500}", 9,
     "territories[2].when.employees_below", "must be more than employees_at_least (1000): no company is both"),
    ("{employees_at_least: 1000}=>{segment: enterprise}", 9, "territories[2].when.segment", "unknown key"),
    ('[CA, WA, "OR"]=>[CA, WA, NO]', 8, "territories[1].when.state[2]",
     'got false: put the value in quotes, like "NO" or "ON"'),
    ('[CA, WA, "OR"]=>[]', 8, "territories[1].when.state", "an empty list matches no lead"),
    ("industry: COMPUTER_SOFTWARE=>industry: [COMPUTER_SOFTWARE, {a: b}]", 10, "territories[3].when.industry[1]",
     "expected text, like Germany or CA (got {'a': 'b'})"),
    ("account_stickiness: false=>account_stickiness: sometimes", 11, "account_stickiness", "expected true or false"),
    ("territories:=>territory:", 6, "territory", "did you mean `territories`?"),
    ("name: Enterprise=>name: " + "E" * 51, 9, "territories[2].name", "at most 50"),
]


@pytest.mark.parametrize("change, line, key, words", ERRORS)
def test_each_bad_value_is_one_problem_naming_file_line_and_key(tmp_path, change, line, key, words):
    problems = check_config(write_config(tmp_path, changed(change)))
    assert [(p.file, p.line, p.key, p.severity) for p in problems] == [
        (str(tmp_path / "routing.yaml"), line, key, "error")], "\n".join(map(str, problems))
    assert words in problems[0].message


def test_every_contradiction_is_reported_at_once(tmp_path):
    text = changed('{owner: "102"}=>{owner: "101"}', 'pool: ["103"]=>pool: ["103", "999"]',
                   "name: Enterprise=>name: DACH")
    problems = check_config(write_config(tmp_path, text))
    assert [(p.line, p.key) for p in problems] == [
        (3, "sdr_pool[1]"), (8, "territories[1].pool[0]"), (9, "territories[2].name"), (9, "territories[2].pool[1]")]


def test_a_timezone_without_hours_is_a_warning(tmp_path):
    text = changed('weight: 2, daily_cap: 20, timezone: Europe/Berlin, hours: {mon-fri: "08:00-16:00"}=>'
                   'timezone: Europe/Berlin')
    problems = check_config(write_config(tmp_path, text))
    assert [(p.line, p.key, p.severity) for p in problems] == [(2, "sdr_pool[0].timezone", "warning")]
    assert "a timezone without hours changes nothing" in problems[0].message


def test_the_documented_example_loads(tmp_path):
    docs = (REPO / "docs" / "config.md").read_text()
    section = docs[docs.index("## routing.yaml"):]
    example = section[section.index("```yaml\n") + len("```yaml\n"):section.index("```\n", 8)]
    routing = load_config(write_config(tmp_path, example + 'ae_pool: ["201"]\n')).routing
    assert [territory.name for territory in routing.territories] == ["DACH", "US West", "Enterprise"]
    assert routing.reps["102"] == Rep("102", weight=2, daily_cap=25)


def test_the_shipped_routing_loads_its_pool_settings():
    routing = load_config(SHIPPED).routing
    assert routing.sdr_pool == ("101", "102", "103") and routing.account_stickiness is True
    assert routing.reps["102"] == Rep("102", weight=2, daily_cap=25)
    assert [(territory.name, territory.pool) for territory in routing.territories] == [
        ("DACH", ("103",)), ("Enterprise", ("102",))]
