"""The report on a small ledger whose every figure was worked out by hand (the table below), on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot import report
from bot.__main__ import main
from bot.ledger import ledger_rows
from bot.rules import load_config
from bot.store.db import make_engine, migrate
from tests.ledger_data import LeadSpec, insert

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
SINCE = datetime(2026, 11, 2, tzinfo=timezone.utc)      # a Monday
UNTIL = datetime(2026, 11, 16, tzinfo=timezone.utc)     # two weeks later
WEEK1, WEEK2 = SINCE + timedelta(hours=15), SINCE + timedelta(days=7, hours=15)

# lead  contact sdr  owner(team)    source   score rules          system human  decision (reason)      touches breaches
#  1    c1      U1   101 SDR pool   ORGANIC  150   Demo, Pricing  20     100    sql                     3       -
#  2    c2      U1   101 SDR pool   PAID     110   Guide          30     570    disqualified No budget  2       accept: human
#  3    c3      U2   103 DACH       PAID     105   Guide          60     1740   disqualified Student    1       accept: system
#  4    c4      U2   103 DACH       ORGANIC  130   Demo           10     7190   sql                     4       first_touch: human,
#                                                                                                               accept: availability
#  5    c5      U1   101 SDR pool   PAID     100   Guide          15     -      no_response (recycled)  0       -
#  6    c6      U2   103 DACH       ORGANIC  140   Pricing        5      55     not_yet (re-nurtured)   2       -
#  7    c7      U1   101 SDR pool   ORGANIC  125   Demo           -      -      open                    0       -
#  8    c5      U1   101 SDR pool   PAID     115   Pricing        20     280    sql (after lead 5)      5       -
# Leads 1-4 act in the week of Nov 2, leads 5-8 in the week of Nov 9. Leads before and after the period are ignored.
LEDGER = [
    LeadSpec("c1", WEEK1, "U1", "101", "ORGANIC_SEARCH", None, 150, ("Demo", "Pricing"), 20, 100, 3, "sql"),
    LeadSpec("c2", WEEK1 + timedelta(hours=1), "U1", "101", "PAID_SEARCH", "Q4 ebook", 110, ("Guide",), 30, 570, 2,
             "disqualified", "No budget", (("accept", "human"),)),
    LeadSpec("c3", WEEK1 + timedelta(hours=2), "U2", "103", "PAID_SEARCH", "Q4 ebook", 105, ("Guide",), 60, 1740, 1,
             "disqualified", "Student or job seeker", (("accept", "system"),)),
    LeadSpec("c4", WEEK1 + timedelta(hours=3), "U2", "103", "ORGANIC_SEARCH", None, 130, ("Demo",), 10, 7190, 4, "sql",
             None, (("first_touch", "human"), ("accept", "availability")), extra_steps=3),
    LeadSpec("c5", WEEK2, "U1", "101", "PAID_SEARCH", "Brand", 100, ("Guide",), 15, None, 0, "no_response",
             "No response after 7 touches"),
    LeadSpec("c6", WEEK2 + timedelta(hours=1), "U2", "103", "ORGANIC_SEARCH", None, 140, ("Pricing",), 5, 55, 2,
             "not_yet", "Budget next quarter"),
    LeadSpec("c7", WEEK2 + timedelta(hours=2), "U1", "101", "ORGANIC_SEARCH", None, 125, ("Demo",), None, None, 0),
    LeadSpec("c5", WEEK2 + timedelta(days=2), "U1", "101", "PAID_SEARCH", "Brand", 115, ("Pricing",), 20, 280, 5, "sql"),
]
BEFORE = LeadSpec("c9", SINCE - timedelta(hours=1), decision="sql")
AFTER = LeadSpec("c9", UNTIL + timedelta(minutes=1), decision="sql")


@pytest.fixture
def config(tmp_path):
    (tmp_path / "config").mkdir()
    for source in CONFIG_DIR.glob("*.yaml"):
        (tmp_path / "config" / source.name).write_text(source.read_text())
    return load_config(tmp_path / "config")


@pytest.fixture
def built(engine, config):
    with engine.begin() as conn:
        insert(conn, [BEFORE, *LEDGER, AFTER])
    with engine.connect() as conn:
        return report.build(conn, config, SINCE, UNTIL)


def test_volume_against_the_monthly_target(built):
    volume = built["volume"]
    # 400 a month, 14 of November's 30 days: 186.7 expected; 8 MQLs is 4.3% of that.
    assert (volume["mqls"], volume["monthly_target"], volume["target_for_period"]) == (8, 400, 186.7)
    assert volume["share_of_target"] == pytest.approx(8 / (400 * 14 / 30))
    assert volume["by_week"] == [{"week": "2026-11-02", "mqls": 4, "sqls": 2, "rate": 0.5},
                                 {"week": "2026-11-09", "mqls": 4, "sqls": 1, "rate": 0.25}]


def test_conversion_overall_and_by_source_rule_and_sdr(built):
    conversion = built["conversion"]
    assert conversion["overall"] == {"key": "all", "mqls": 8, "sqls": 3, "decided": 7, "rate": 3 / 8}
    assert [(row["key"], row["mqls"], row["sqls"]) for row in conversion["by_source"]] == [
        ("ORGANIC_SEARCH", 4, 2), ("PAID_SEARCH", 4, 1)]
    assert [(row["key"], row["mqls"], row["sqls"], row["rate"]) for row in conversion["by_rule"]] == [
        ("Demo", 3, 2, 2 / 3), ("Guide", 3, 0, 0.0), ("Pricing", 3, 2, 2 / 3)]
    assert [(row["key"], row["mqls"], row["sqls"]) for row in conversion["by_sdr"]] == [("U1", 5, 2), ("U2", 3, 1)]


def test_conversion_by_score_band(built):
    # Scores 100..150 cut in bands of 5 (as the backtest cuts them): only the bands with leads are listed.
    bands = {row["key"]: (row["mqls"], row["sqls"]) for row in built["conversion"]["by_band"]}
    assert bands == {"100 to 104": (1, 0), "105 to 109": (1, 0), "110 to 114": (1, 0), "115 to 119": (1, 1),
                     "125 to 129": (1, 0), "130 to 134": (1, 1), "140 to 144": (1, 0), "150 to 154": (1, 1)}


def test_speed_to_lead_percentiles_bands_and_the_split(built):
    speed = built["speed_to_lead"]
    # Touched leads 1,2,3,4,6,8: action -> first touch 120, 600, 1800, 7200, 60, 300 s. Nearest rank of 6 values:
    # p50 is the 3rd smallest (300), p95 the 6th (7200). System 20,30,60,10,5,20; human 100,570,1740,7190,55,280.
    assert (speed["leads"], speed["p50"], speed["p95"]) == (6, 300, 7200)
    assert (speed["system_p50"], speed["system_p95"], speed["human_p50"], speed["human_p95"]) == (20, 60, 280, 7190)
    assert [(band["band"], band["leads"]) for band in speed["bands"]] == [
        ("0-5 min", 2), ("5-15 min", 2), ("15-60 min", 1), ("60+ min", 1)]   # exactly 5 min (lead 8) is 5-15
    assert speed["bands"][0]["share"] == pytest.approx(2 / 6)


def test_sla_compliance_by_rep_and_team_with_causes(built):
    sla = built["sla"]
    assert sla["by_rep"] == [
        {"key": "U1", "leads": 5, "met": 4, "compliance": 0.8, "breaches": {"human": 1, "system": 0, "availability": 0}},
        {"key": "U2", "leads": 3, "met": 1, "compliance": 1 / 3,
         "breaches": {"human": 1, "system": 1, "availability": 1}}]
    # config/routing.yaml: owner 103 is the DACH territory's pool; 101 is in no territory.
    assert [(row["key"], row["leads"], row["met"]) for row in sla["by_team"]] == [("SDR pool", 5, 4), ("DACH", 3, 1)]


def test_touches_disqualifications_and_recycling(built):
    assert built["touches"] == {"leads": 8, "mean": 17 / 8, "median": 2.0}
    dq = built["disqualified"]
    assert dq["total"] == 2
    assert dq["by_reason"] == [{"reason": "No budget", "count": 1}, {"reason": "Student or job seeker", "count": 1}]
    assert dq["by_campaign"] == [{"campaign": "Q4 ebook", "reason": "No budget", "count": 1},
                                 {"campaign": "Q4 ebook", "reason": "Student or job seeker", "count": 1}]
    assert {(row["source"], row["reason"]) for row in dq["by_source"]} == {
        ("PAID_SEARCH", "No budget"), ("PAID_SEARCH", "Student or job seeker")}
    assert (built["recycled"], built["renurtured"], built["sql_after_recycle"]) == (1, 1, 1)


def test_one_rep_and_one_team(engine, config):
    with engine.begin() as conn:
        insert(conn, LEDGER)
    with engine.connect() as conn:
        mine = report.build(conn, config, SINCE, UNTIL, sdr="U2")
        dach = report.build(conn, config, SINCE, UNTIL, team="DACH")
    assert mine["conversion"]["overall"]["mqls"] == dach["conversion"]["overall"]["mqls"] == 3
    assert mine["sla"]["by_rep"] == dach["sla"]["by_rep"]
    assert [row["key"] for row in mine["sla"]["by_rep"]] == ["U2"]


def test_a_period_with_no_leads_says_so_and_divides_by_nothing(engine, config):
    with engine.connect() as conn:
        empty = report.build(conn, config, SINCE, UNTIL)
    assert empty["empty"] is True
    assert empty["conversion"]["overall"]["rate"] is None
    assert empty["volume"]["share_of_target"] == 0.0
    assert (empty["speed_to_lead"]["p50"], empty["touches"]["mean"], empty["touches"]["median"]) == (None, None, None)
    assert all(band["share"] is None for band in empty["speed_to_lead"]["bands"])
    text = report.render_text(empty)
    assert "No lead became an MQL in this period" in text


def test_no_target_means_no_share(engine, config):
    from dataclasses import replace
    untargeted = replace(config, reports=replace(config.reports, monthly_mql_target=None))
    with engine.connect() as conn:
        volume = report.build(conn, untargeted, SINCE, UNTIL)["volume"]
    assert (volume["target_for_period"], volume["share_of_target"]) == (None, None)


def test_the_target_is_prorated_over_the_months_a_period_spans():
    since, until = datetime(2026, 1, 25, tzinfo=timezone.utc), datetime(2026, 2, 8, tzinfo=timezone.utc)
    # 7 of January's 31 days and 7 of February's 28.
    assert report.target_for_period(310, since, until) == pytest.approx(310 * 7 / 31 + 310 * 7 / 28)


def test_the_ledger_export_and_the_report_read_the_same_journeys(engine, config):
    with engine.begin() as conn:
        insert(conn, LEDGER)
    with engine.connect() as conn:
        rows = list(ledger_rows(conn, SINCE, UNTIL))
    assert [row["lead_id"] for row in rows] == list(range(1, 9))
    assert rows[3]["breach_causes"] == "first_touch: human; accept: availability"
    assert (rows[1]["campaign"], rows[1]["owner_id"], rows[0]["rules_fired"]) == ("Q4 ebook", "101", "Demo; Pricing")
    assert rows[6]["alerted_at"] is None and rows[6]["decision"] is None


def test_the_text_table(built):
    text = report.render_text(built)
    assert "MQLs: 8" in text and "Target for the period: 187 (400 a month) -> 4.3% of target" in text
    assert "MQL -> SQL conversion: 3 of 8 = 37.5% (7 decided)" in text
    assert "system   p50      20s  p95     1.0m" in text
    assert "recycled (no response): 1" in text and "SQL after an earlier recycle: 1" in text


def test_report_command_as_table_json_and_csv(tmp_path, monkeypatch, capsys, database_url):
    engine = make_engine(database_url)
    migrate(engine)
    with engine.begin() as conn:
        insert(conn, LEDGER)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("BOT_CONFIG_DIR", str(CONFIG_DIR))
    args = ["report", "--since", "2026-11-02", "--until", "2026-11-16"]
    assert main(args) == 0
    assert "MQL -> SQL conversion: 3 of 8 = 37.5%" in capsys.readouterr().out
    assert main(args + ["--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["recycled"] == 1
    assert main(args + ["--format", "csv", "--team", "DACH"]) == 0
    figures = {row["figure"]: row["value"] for row in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert figures["conversion.overall.mqls"] == "3"
    assert figures["sla.by_team[DACH].compliance"] == str(1 / 3)
    assert main(["report", "--since", "2026-11-16", "--until", "2026-11-02"]) == 2
    assert "must be before" in capsys.readouterr().err


# --- reports.yaml --------------------------------------------------------------------------------------

def review_schedule(text: str, tmp_path):
    directory = tmp_path / "cfg"
    directory.mkdir()
    for source in CONFIG_DIR.glob("*.yaml"):
        (directory / source.name).write_text(source.read_text())
    (directory / "reports.yaml").write_text(text)
    return directory


@pytest.mark.parametrize("now, due", [
    ("2026-11-23T13:59:00+00:00", "2026-11-09T14:00:00+00:00"),   # just before a review: the one before
    ("2026-11-23T14:00:00+00:00", "2026-11-23T14:00:00+00:00"),   # 09:00 in New York, standard time
    ("2026-12-06T23:00:00+00:00", "2026-11-23T14:00:00+00:00"),
    ("2026-03-16T13:00:00+00:00", "2026-03-16T13:00:00+00:00"),   # after the DST change: 09:00 EDT
    ("2026-03-10T12:00:00+00:00", "2026-03-02T14:00:00+00:00"),   # before it: 09:00 EST
    ("2026-01-05T13:00:00+00:00", None),                          # before the first review
])
def test_review_moments_every_two_weeks_in_the_sla_time_zone(tmp_path, now, due):
    config = load_config(review_schedule("review: {every: 2w, day: monday, at: \"09:00\"}\n", tmp_path))
    found = config.reports.review.latest_due(datetime.fromisoformat(now))
    assert (found.isoformat() if found else None) == due


def test_a_review_covers_the_span_before_it_and_may_start_on_a_chosen_day(tmp_path):
    config = load_config(review_schedule("review: {every: 1w, day: friday, at: \"16:30\", starting: 2026-12-04}\n",
                                         tmp_path))
    review = config.reports.review
    assert review.latest_due(datetime(2026, 12, 4, 21, 29, tzinfo=timezone.utc)) is None
    moment = review.latest_due(datetime(2026, 12, 20, tzinfo=timezone.utc))
    assert moment == datetime(2026, 12, 18, 21, 30, tzinfo=timezone.utc)
    assert review.period_before(moment) == (moment - timedelta(days=7), moment)


def test_reports_yaml_is_optional(tmp_path):
    directory = review_schedule("", tmp_path)
    (directory / "reports.yaml").unlink()
    config = load_config(directory)
    assert (config.reports.monthly_mql_target, config.reports.channel, config.reports.review.every_days) == (
        None, None, 14)


def test_check_config_names_each_mistake_in_reports_yaml(tmp_path):
    from bot.rules import check_config
    directory = review_schedule('monthly_mql_target: 0\nchannel: "Sales Leadership"\n'
                                'review:\n  every: fortnight\n  day: mon\n  at: "9am"\n  starting: 2026-12-01\n'
                                '  when: weekly\n', tmp_path)
    problems = [str(problem).split("reports.yaml:")[1] for problem in check_config(directory)
                if "reports.yaml" in problem.file]
    assert problems == [
        "1: monthly_mql_target: must be more than 0 (got 0)",
        "2: channel: expected a channel like \"#leads\" (lowercase, no spaces, in quotes) or a channel id like "
        "C0123ABCD (got 'Sales Leadership')",
        "4: review.every: write how often as weeks or days, like 2w or 14d (got 'fortnight')",
        "6: review.at: expected a time of day like \"09:00\" (in quotes) (got '9am')",
        "7: review.starting: 2026-12-01 is a tuesday but the review is on monday: pick a monday",
        "8: review.when: unknown key; did you mean `then`?",
    ]


def test_a_bare_on_key_is_explained(tmp_path):
    from bot.rules import check_config
    problems = check_config(review_schedule("review:\n  on: monday\n", tmp_path))
    assert any("YAML reads a bare on, off, yes or no as true/false" in problem.message for problem in problems)


def test_a_reader_that_stops_early_leaves_the_connection_usable(engine):
    from itertools import islice

    from sqlalchemy import text

    from bot import ledger
    with engine.begin() as conn:
        insert(conn, LEDGER * 1)
    with engine.connect() as conn:
        first = list(islice(ledger.journeys(conn, SINCE, UNTIL), 2))
        assert [journey.lead_id for journey in first] == [1, 2]
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


def test_an_error_while_reading_ahead_reaches_the_reader():
    from bot.ledger import _read_ahead

    def batches():
        yield [1, 2]
        raise ConnectionError("the database went away")

    read = _read_ahead(batches())
    assert next(read) == [1, 2]
    with pytest.raises(ConnectionError, match="went away"):
        next(read)


def test_review_periods_meet_end_to_start_across_dst(tmp_path):
    config = load_config(review_schedule("review: {every: 2w, day: monday, at: \"09:00\"}\n", tmp_path))
    review = config.reports.review
    for spring_or_fall in ("2026-03-16T13:00:00+00:00", "2026-11-09T14:00:00+00:00"):
        moment = datetime.fromisoformat(spring_or_fall)
        since, until = review.period_before(moment)
        earlier = review.latest_due(since)
        assert earlier == since and review.period_before(earlier)[1] == since   # no hour twice, none left out


def test_weeks_are_the_periods_own_weeks(engine, config):
    since = datetime(2026, 11, 9, 14, tzinfo=timezone.utc)               # Monday 09:00 in New York
    specs = [LeadSpec(f"w{hour}", since + timedelta(hours=hour)) for hour in range(0, 14 * 24, 24)]
    specs.append(LeadSpec("monday-early", since + timedelta(days=7, hours=-1)))   # Monday 13:00 UTC: still week one
    with engine.begin() as conn:
        insert(conn, specs)
    with engine.connect() as conn:
        weeks = report.build(conn, config, since, since + timedelta(days=14))["volume"]["by_week"]
    assert [(week["week"], week["mqls"]) for week in weeks] == [("2026-11-09", 8), ("2026-11-16", 7)]


def test_a_long_read_does_not_hold_sqlites_write_lock(sqlite_engine):
    from sqlalchemy import select

    from bot.store.db import reading
    from bot.store.schema import leads
    with reading(sqlite_engine) as reader:
        reader.execute(select(leads.c.id)).all()          # a read transaction is open, as during a report
        assert reader.in_transaction()
        with sqlite_engine.begin() as writer:             # BEGIN IMMEDIATE: would wait (then fail) behind a writer
            insert(writer, [LEDGER[0]])
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(leads.c.id)).scalar_one() == 1
