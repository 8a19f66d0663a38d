"""check_config / load_config: every problem named by file, line, key path and plain words."""
from pathlib import Path

import pytest

from bot.rules import CONFIG_FILES, ConfigError, check_config, load_config

SHIPPED = Path(__file__).resolve().parent.parent / "config"
BROKEN = Path(__file__).resolve().parent / "fixtures" / "config" / "broken"

SCORING = """\
mql_threshold: 100
active_within: 30d
fit:
  - label: Decision-maker title
    points: 30
    when: {property: jobtitle, matches: '(?i)\\bvp\\b'}
engagement:
  - label: Requested a demo
    points: 80
    high_intent: true
    when: {activity: form_submission, form: "*demo*", within: 30d}
gates:
  - label: More than 50 employees
    when: {property: employees, gt: 50}
"""
ROUTING = """\
sdr_pool: ["101", "102"]
managers: ["U0MANAGER1"]
slack_users: {"101": "U0AAAA1"}
channels:
  leads: "#leads"
  managers: "#sales-managers"
  fallback: "#leads-unassigned"
ae_pool: ["201"]
"""
SLA = """\
timezone: America/New_York
business_hours:
  mon-fri: "09:00-17:00"
holidays: US
accept_within: 5m
first_touch_within: 1h
escalation:
  - {at: 100%, do: remind_sdr}
  - {at: 200%, do: notify_managers}
"""
BASE = {"scoring.yaml": SCORING, "routing.yaml": ROUTING, "sla.yaml": SLA}


def write_config(directory: Path, **replacements: str) -> Path:
    """The three base files, with (old, new) text replacements given per file as 'old=>new'."""
    for name in CONFIG_FILES:
        text = BASE[name]
        for change in filter(None, replacements.get(name.split(".")[0], "").split("||")):
            old, new = change.split("=>")
            assert old in text, old
            text = text.replace(old, new)
        (directory / name).write_text(text)
    return directory


def test_the_base_files_are_clean(tmp_path):
    assert check_config(write_config(tmp_path)) == []


ERRORS = [
    # (file, change, line, key, words)
    ("routing", 'ae_pool: ["201"]=>ae_pool: ["Avery"]', 8, "ae_pool[0]", "expected a HubSpot owner id"),
    ("routing", 'ae_pool: ["201"]=>qualification: {sql_requires: [budget, money]}', 8,
     "qualification.sql_requires[1]", "budget"),
    ("routing", 'ae_pool: ["201"]=>disqualify_reasons: ["No budget", ""]', 8, "disqualify_reasons[1]", "at least 1"),
    ("routing", 'ae_pool: ["201"]=>qualification: {needs: [budget]}', 8, "qualification.needs", "unknown key"),
    ("sla", "accept_within: 5m=>max_snooze: -2h", 5, "max_snooze", ""),
    ("sla", "accept_within: 5m=>accept_within: 5 minutes", 5, "accept_within",
     "expected a duration like 30s, 5m, 1h, 2d (got '5 minutes')"),
    ("sla", "accept_within: 5m=>accept_within: 0s", 5, "accept_within", "must be longer than zero"),
    ("sla", "accept_within: 5m=>accept_within: 1bd", 5, "accept_within", "business days (bd) only apply"),
    ("sla", "timezone: America/New_York=>timezone: America/Gotham", 1, "timezone", "unknown time zone 'America/Gotham'"),
    ("sla", "holidays: US=>holidays: XX", 4, "holidays", "'XX' is not a country the holidays package knows"),
    ("sla", "holidays: US=>holidays: US-ZZ", 4, "holidays", "US has no region 'ZZ'"),
    ("sla", "holidays: US=>holidays: NO", 4, "holidays", "put a country code in quotes"),
    ("sla", "holidays: US=>holidays: [2025-12-26, soon]", 4, "holidays", "'soon' is not a date like 2025-12-26"),
    ("sla", '"09:00-17:00"=>"17:00-09:00"', 2, "business_hours", "start before end"),
    ("sla", '"09:00-17:00"=>"9am-5pm"', 2, "business_hours", "expected opening hours like \"09:00-17:00\""),
    ("sla", '"09:00-17:00"=>"09:00-25:00"', 2, "business_hours", "start before end within one day"),
    ("sla", 'mon-fri: "09:00-17:00"=>mon-fri: "09:00-17:00"\n  fri: "10:00-12:00"', 2, "business_hours",
     "fri overlaps mon-fri: Friday is given hours twice"),
    ("sla", 'mon-fri=>fri-mon', 2, "business_hours", "'fri-mon' is not a day or a day range running forward"),
    ("sla", 'mon-fri=>weekdays', 2, "business_hours", "'weekdays' is not a day or a day range like mon-fri"),
    ("sla", "{at: 200%, do: notify_managers}=>{at: 200%, do: call_ceo}", 9, "escalation[1].do",
     "expected 'remind_sdr', 'notify_managers' or 'reassign' (got 'call_ceo')"),
    ("sla", "{at: 200%, do: notify_managers}=>{at: soon, do: notify_managers}", 9, "escalation[1].at",
     "expected a share of accept_within like 100% or a duration like 10m (got 'soon')"),
    ("sla", "{at: 100%, do: remind_sdr}=>{at: 0%, do: remind_sdr}", 8, "escalation[0].at", "must be more than 0%"),
    ("sla", "{at: 100%, do: remind_sdr}=>{do: remind_sdr}", 8, "escalation[0].at", "this key is required"),
    ("sla", "first_touch_within: 1h\n=>", 1, "first_touch_within", "this key is required"),
    ("sla", "accept_within=>accept_witin", 5, "accept_witin", "unknown key; did you mean `accept_within`?"),
    ("routing", 'sdr_pool: ["101", "102"]=>sdr_pool: ["101", "jane@example.com"]', 1, "sdr_pool[1]",
     "expected a HubSpot owner id"),
    ("routing", 'managers: ["U0MANAGER1"]=>managers: ["@jane"]', 2, "managers[0]", "expected a Slack user id"),
    ("routing", '{"101": "U0AAAA1"}=>{"owner": "U0AAAA1"}', 3, "slack_users.owner", "expected a HubSpot owner id"),
    ("routing", '{"101": "U0AAAA1"}=>{"101": "jane"}', 3, "slack_users.101", "expected a Slack user id"),
    ("routing", 'leads: "#leads"=>leads: "Leads Team"', 5, "channels.leads", "expected a channel like \"#leads\""),
    ("routing", '  fallback: "#leads-unassigned"\n=>', 4, "channels.fallback", "this key is required"),
    ("scoring", "mql_threshold: 100=>mql_threshold: lots", 1, "mql_threshold", "expected a number (got 'lots')"),
    ("scoring", "mql_threshold: 100=>mql_threshold: 0", 1, "mql_threshold", "must be more than 0"),
    ("scoring", "mql_threshold: 100=>mql_treshold: 100", 1, "mql_treshold", "did you mean `mql_threshold`?"),
    ("scoring", "points: 30=>points: thirty", 5, "fit[0].points", "expected a number (got 'thirty')"),
    ("scoring", "    points: 30\n=>", 4, "fit[0].points", "this key is required"),
    ("scoring", "\\bvp\\b'=>(vp'", 6, "fit[0].when.matches", "not a valid regular expression: missing )"),
    ("scoring", "matches: =>matchs: ", 6, "fit[0].when.matchs", "did you mean `matches`?"),
    ("scoring", "{property: jobtitle, matches: '(?i)\\bvp\\b'}=>{property: Job Title, equals: VP}", 6,
     "fit[0].when.property", "use HubSpot's internal property name"),
    ("scoring", "{property: jobtitle, matches: '(?i)\\bvp\\b'}=>{property: jobtitle}", 6, "fit[0].when",
     "say what to check about jobtitle"),
    ("scoring", "{property: jobtitle, matches: '(?i)\\bvp\\b'}=>{title: vp}", 6, "fit[0].when",
     "a condition needs `property`, `activity`, `all` or `any`"),
    ("scoring", "{property: jobtitle, matches: '(?i)\\bvp\\b'}=>{activity: page_view}", 6, "fit[0].when",
     "fit is about who they are"),
    ("scoring", "activity: form_submission=>activity: webinar", 11, "engagement[0].when.activity",
     "expected 'form_submission', 'page_view', 'email_open', 'email_click', 'meeting_booked' or 'chat' "
     "(got 'webinar')"),
    ("scoring", "activity: form_submission=>activity: page_view", 11, "engagement[0].when",
     "`form` only applies to form_submission, not to page_view"),
    ("scoring", "within: 30d}=>within: a month}", 11, "engagement[0].when.within", "expected a duration like"),
    ("scoring", "high_intent: true=>high_intent: maybe", 10, "engagement[0].high_intent",
     "expected true or false (got 'maybe')"),
    ("scoring", "{property: employees, gt: 50}=>{all: [{property: employees, gt: fifty}]}", 14,
     "gates[0].when.all[0].gt", "expected a number (got 'fifty')"),
    ("scoring", "{property: employees, gt: 50}=>{any: []}", 14, "gates[0].when.any", "needs at least 1 item"),
    ("scoring", "  - label: Requested a demo=>  - label: ' '", 8, "engagement[0].label", "a label is required"),
    ("scoring", "    points: 80\n=>    points: 80\n    points: 90\n", 10, "engagement[0].points",
     "this key is written twice"),
]


@pytest.mark.parametrize("file, change, line, key, words", ERRORS)
def test_each_error_names_file_line_key_and_what_is_wrong(tmp_path, file, change, line, key, words):
    problems = check_config(write_config(tmp_path, **{file: change}))
    expected_prefix = f"{tmp_path / (file + '.yaml')}:{line}: {key}: "
    assert [str(p) for p in problems if words in p.message and str(p).startswith(expected_prefix)], \
        "\n".join(map(str, problems))
    assert all(p.severity == "error" for p in problems)


def test_load_config_raises_listing_every_error_across_files(tmp_path):
    directory = write_config(tmp_path, sla="accept_within: 5m=>accept_within: soon||timezone: America/New_York=>"
                                           "timezone: Nowhere", routing='leads: "#leads"=>leads: leads',
                             scoring="points: 30=>points: x")
    with pytest.raises(ConfigError) as raised:
        load_config(directory)
    keys = sorted(problem.key for problem in raised.value.problems)
    assert keys == ["accept_within", "channels.leads", "fit[0].points", "timezone"]
    assert len(str(raised.value).splitlines()) == 4


@pytest.mark.parametrize("text, line, words", [
    ("mql_threshold: [100\n", 2, "this is not valid YAML"),
    ("a: 1\n  b: 2\n", 2, "this is not valid YAML"),
    ("mql_threshold: !!python/object/apply:os.system ['touch /tmp/pwned']\n", 1,
     "only plain YAML is allowed here: tags like !!python/... are refused"),
    ("", None, "the file is empty"),
    ("- just\n- a list\n", 1, "the file is not a list of key: value lines"),
])
def test_unreadable_yaml_is_an_error_naming_the_file(tmp_path, text, line, words):
    write_config(tmp_path)
    (tmp_path / "scoring.yaml").write_text(text)
    problems = check_config(tmp_path)
    assert [(p.file, p.line) for p in problems] == [(str(tmp_path / "scoring.yaml"), line)]
    assert words in problems[0].message


def test_python_tags_are_never_run(tmp_path):
    marker = tmp_path / "pwned"
    write_config(tmp_path)
    (tmp_path / "sla.yaml").write_text(f"timezone: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError):
        load_config(tmp_path)
    assert not marker.exists()


def test_missing_and_unreadable_files(tmp_path):
    write_config(tmp_path)
    (tmp_path / "routing.yaml").unlink()
    (tmp_path / "sla.yaml").write_bytes(b"timezone: \xff\xfe\n")
    problems = check_config(tmp_path)
    assert [(Path(p.file).name, p.line, p.message.split(" (")[0]) for p in problems] == [
        ("routing.yaml", None, "file not found"), ("sla.yaml", None, "cannot read the file")]


def test_a_missing_directory_names_every_file(tmp_path):
    problems = check_config(tmp_path / "nowhere")
    assert [Path(p.file).name for p in problems] == list(CONFIG_FILES)


def test_file_names_are_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    write_config(tmp_path / "config", sla="accept_within: 5m=>accept_within: x")
    assert [str(p).split(": ")[0] for p in check_config("config")] == ["config/sla.yaml:5"]


WARNINGS = [
    ("scoring", "{property: jobtitle, matches: '(?i)\\bvp\\b'}=>{property: employees, gt: 100, lt: 50}", 6,
     "fit[0].when", "this rule can never fire: employees: no value is both above 100 and below 50"),
    ("scoring", "{property: jobtitle, matches: '(?i)\\bvp\\b'}=>{property: employees, gt: 50, lte: 50}", 6,
     "fit[0].when", "this rule can never fire"),
    ("scoring", "{property: jobtitle, matches: '(?i)\\bvp\\b'}=>{property: industry, one_of: []}", 6,
     "fit[0].when", "this rule can never fire: industry: one_of is an empty list"),
    ("scoring", "{property: jobtitle, matches: '(?i)\\bvp\\b'}=>{property: industry, exists: false, equals: x}", 6,
     "fit[0].when", "exists: false cannot be combined with another test"),
    ("scoring", "{property: jobtitle, matches: '(?i)\\bvp\\b'}=>"
                "{all: [{property: jobtitle, exists: true}, {property: industry, one_of: []}]}", 6,
     "fit[0].when", "this rule can never fire: industry: one_of is an empty list"),
    ("scoring", "{property: employees, gt: 50}=>{property: employees, gte: 500, lte: 100}", 14, "gates[0].when",
     "nobody can pass this gate, so nobody becomes an MQL"),
    ("scoring", "mql_threshold: 100=>mql_threshold: 200", 1, "mql_threshold",
     "nobody can reach 200 points: all rules together give at most 110"),
    ("scoring", "  - label: Requested a demo=>  - label: Decision-maker title", 8, "engagement[0].label",
     "the label 'Decision-maker title' is used twice"),
    ("routing", 'sdr_pool: ["101", "102"]=>sdr_pool: []', 1, "sdr_pool", "leads without a HubSpot owner go unassigned"),
    ("routing", 'managers: ["U0MANAGER1"]=>managers: []', 2, "managers", "only the assigned rep can act"),
]


@pytest.mark.parametrize("file, change, line, key, words", WARNINGS)
def test_warnings_are_reported_but_do_not_stop_loading(tmp_path, file, change, line, key, words):
    directory = write_config(tmp_path, **{file: change})
    problems = check_config(directory)
    assert [(p.severity, p.line, p.key) for p in problems] == [("warning", line, key)]
    assert words in problems[0].message
    assert load_config(directory).warnings == tuple(problems)


def test_rules_that_can_fire_give_no_warning(tmp_path):
    directory = write_config(tmp_path, scoring="{property: employees, gt: 50}=>"
                                               "{any: [{property: employees, one_of: []}, {property: employees, gte: 50, lte: 50}]}")
    assert check_config(directory) == []


def test_broken_fixture_lists_every_problem_once():
    lines = [str(problem).replace(str(BROKEN) + "/", "") for problem in check_config(BROKEN)]
    assert lines == (BROKEN / "expected.txt").read_text().splitlines()


ODD_VALUES = ["null", "[]", "{}", "[1, [2]]", "{a: {b: c}}", "true", "-1", "'" + "a" * 1000 + "'", "0", "'\\0'"]
ODD_PLACES = [("sla", "America/New_York"), ("sla", '"09:00-17:00"'), ("sla", "holidays: US"), ("sla", "5m"),
              ("sla", "100%"), ("sla", "remind_sdr"), ("routing", '["101", "102"]'), ("routing", '"U0AAAA1"'),
              ("routing", '"#leads"'), ("scoring", "mql_threshold: 100"), ("scoring", "jobtitle"),
              ("scoring", "'(?i)\\bvp\\b'"), ("scoring", "form_submission"), ("scoring", '"*demo*"'),
              ("scoring", "gt: 50"), ("scoring", "30d}")]


@pytest.mark.parametrize("file, place", ODD_PLACES)
@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_values_anywhere_are_reported_never_raised(tmp_path, file, place, value):
    key = place.split(": ")[0] + ": " if ": " in place else ""
    suffix = "}" if place.endswith("}") else ""
    directory = write_config(tmp_path, **{file: f"{place}=>{key}{value}{suffix}"})
    problems = check_config(directory)
    assert all(p.file.endswith(file + ".yaml") and p.key is not None for p in problems)
    if any(p.severity == "error" for p in problems):
        with pytest.raises(ConfigError):
            load_config(directory)
    else:
        load_config(directory)
