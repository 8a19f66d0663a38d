"""bot.backtest on the sample export: figures checked exactly against an independent count; bad input; PNG."""
import csv
import io
import re
import shutil
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.activities import LAST_VISIT, TRAIL_PROPERTIES, activities_from_contact
from bot.backtest import (TRAIL_SOURCES, Backtest, Band, Changes, Inputs, Progress, Tally, combine_activities,
                          contact_activities, histogram_png, main, outcome_converted, render_report,
                          run_backtest, score_bands, threshold_sweep)
from bot.csv_export import ActivityFeed, ContactExport, Skipped
from bot.models import Activity, Contact, Reason, Score
from bot.scoring import Verdict, mql_rule, score_contact
from bot.rules import ScoringRules, load_config

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)     # the moment the sample export was taken
NOW_ARG = "2026-11-23T15:00Z"
HEADER = "Record ID,Job Title,Recent Conversion,Recent Conversion Date\n"     # for small exports written here
UTC = timezone.utc

# A small MQL definition the oracle below can recount without the scorer.
TEST_SCORING = r"""
mql_threshold: 50
active_within: 30d
fit:
  - label: Senior title
    points: 30
    when: {property: jobtitle, matches: '(?i)\b(vp|director|chief|head)\b'}
  - label: Student
    points: -40
    when: {property: jobtitle, matches: '(?i)student'}
engagement:
  - label: Demo request
    points: 40
    when: {activity: form_submission, form: "*demo*", within: 30d}
  - label: Pricing page
    points: 20
    when: {activity: page_view, url: "/pricing", within: 30d}
gates:
  - label: Has a job title
    when: {property: jobtitle, exists: true}
"""
POINTS = {"Senior title": 30, "Student": -40, "Demo request": 40, "Pricing page": 20}
# The same, changed: a lower threshold, a milder student penalty, no pricing rule.
CHANGED_SCORING = TEST_SCORING.replace("mql_threshold: 50", "mql_threshold: 40") \
    .replace("points: -40", "points: -10") \
    .replace('  - label: Pricing page\n    points: 20\n    when: {activity: page_view, url: "/pricing", within: 30d}\n',
             "")
CHANGED_POINTS = {"Senior title": 30, "Student": -10, "Demo request": 40}


def config_dir(path: Path, scoring: str) -> Path:
    path.mkdir()
    (path / "scoring.yaml").write_text(scoring)
    for name in ("routing.yaml", "sla.yaml"):
        shutil.copy(REPO / "config" / name, path / name)
    return path


@pytest.fixture(scope="module")
def test_config(tmp_path_factory) -> Path:
    return config_dir(tmp_path_factory.mktemp("configs") / "test_config", TEST_SCORING)


@pytest.fixture(scope="module")
def changed_config(tmp_path_factory) -> Path:
    return config_dir(tmp_path_factory.mktemp("configs") / "changed_config", CHANGED_SCORING)


@pytest.fixture
def small_export(tmp_path) -> Path:
    export = tmp_path / "contacts.csv"
    export.write_text(HEADER + "1,VP Sales,Demo request,2026-11-20 14:03\n2,Student,Ebook: Guide,2026-11-01 09:00\n")
    return export


# --- the oracle: the sample files recounted with csv.DictReader and plain Python ---------------

@dataclass(frozen=True)
class Expected:
    contact_id: str
    fired: frozenset
    eligible: bool             # has a job title and engaged in the last 30 days
    outcome: str

    def total(self, points: dict) -> int:
        return sum(points.get(rule, 0) for rule in self.fired)

    def is_mql(self, points: dict, threshold: int) -> bool:
        return self.eligible and self.total(points) >= threshold


def _export_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def _record_trail(row: dict) -> list[tuple[str, str, str]]:
    """What the contact record says was done: (kind, export date, label)."""
    views = int(row["Number of Pageviews"] or 0)
    return [("form_submission", row["Recent Conversion Date"], row["Recent Conversion"]),
            ("form_submission", row["First Conversion Date"], row["First Conversion"]),
            ("page_view", row["Time of Last Session"] if views >= 1 else "", ""),
            ("email_open", row["Last marketing email open date"], ""),
            ("email_click", row["Last marketing email click date"], ""),
            ("meeting_booked", row["Date of last meeting booked in meetings tool"], "")]


def expected_contacts() -> list[Expected]:
    from_file = {}
    with open(SAMPLES / "activities.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            when = datetime.strptime(row["occurred_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            from_file.setdefault(row["contact_id"], []).append((row["kind"], when, row["label"]))
    with open(SAMPLES / "contacts.csv", newline="") as handle:
        return [_expected(row, from_file.get(row["Record ID"], [])) for row in csv.DictReader(handle)]


def _expected(row: dict, activities: list) -> Expected:
    kinds = {kind for kind, _, _ in activities}
    activities = activities + [(kind, _export_time(when), label) for kind, when, label in _record_trail(row)
                               if when and kind not in kinds]
    recent = [(kind, label.casefold()) for kind, when, label in activities if when >= NOW - timedelta(days=30)]
    title = row["Job Title"]
    fired = {rule for rule, holds in (
        ("Senior title", re.search(r"(?i)\b(vp|director|chief|head)\b", title)),
        ("Student", re.search("(?i)student", title)),
        ("Demo request", any(kind == "form_submission" and "demo" in label for kind, label in recent)),
        ("Pricing page", any(kind == "page_view" and label == "/pricing" for kind, label in recent))) if holds}
    return Expected(row["Record ID"], frozenset(fired), bool(title) and bool(recent), row["Sales Outcome"])


@pytest.fixture(scope="module")
def oracle() -> list[Expected]:
    return expected_contacts()


def converted(expected: list[Expected]) -> tuple[int, int]:
    """(known outcomes, converted) among these contacts."""
    known = [e for e in expected if e.outcome]
    return len(known), sum(e.outcome in ("SQL", "Customer") for e in known)


def sample_inputs(config: Path, other: Path | None = None, contacts: Path = SAMPLES / "contacts.csv") -> Inputs:
    return Inputs(contacts, load_config(config).scoring, NOW, config_name=str(config),
                  activities=SAMPLES / "activities.csv", outcome="Sales Outcome",
                  other=load_config(other).scoring if other else None, other_name=str(other or ""))


@pytest.fixture(scope="module")
def sample_run(test_config):
    return run_backtest(sample_inputs(test_config))


@pytest.fixture(scope="module")
def compare_run(test_config, changed_config):
    return run_backtest(sample_inputs(test_config, changed_config))


# --- the sample data, checked exactly ------------------------------------------------------------

def test_the_sample_export_is_large_realistic_and_small_on_disk():
    with open(SAMPLES / "contacts.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 5000
    assert Counter(row["Sales Outcome"] for row in rows).keys() == {"", "SQL", "Customer", "Disqualified"}
    assert any(row["Recent Conversion"].startswith("Ebook: ") for row in rows)
    assert {"Demo request", "Pricing inquiry"} <= {row["Recent Conversion"] for row in rows}
    assert sum(path.stat().st_size for path in SAMPLES.glob("*.csv")) < 4_000_000


def test_every_sample_row_is_read_and_every_activity_matched(sample_run):
    with open(SAMPLES / "activities.csv") as handle:
        activity_rows = sum(1 for _ in handle) - 1
    assert (sample_run.rows, sample_run.tally.scored, sample_run.skips.count) == (5000, 5000, 0)
    assert (sample_run.feed.rows, sample_run.feed.matched, sample_run.feed.unmatched) == (activity_rows,) * 2 + (0,)
    assert sample_run.feed.held == "streamed (both files sorted by contact id)"


def test_mqls_and_reasons_match_an_independent_count(sample_run, oracle):
    tally = sample_run.tally
    mqls = [e for e in oracle if e.is_mql(POINTS, 50)]
    assert tally.mqls == len(mqls) > 50
    assert dict(tally.fired_count) == dict(Counter(rule for e in oracle for rule in e.fired))
    assert dict(tally.mql_reasons) == dict(Counter(rule for e in mqls for rule in e.fired))
    assert tally.held_back == sum(1 for e in oracle if e.total(POINTS) >= 50 and not e.eligible)
    assert dict(tally.by_point) == dict(Counter(e.total(POINTS) for e in oracle))


def test_outcomes_match_an_independent_count(sample_run, oracle):
    tally = sample_run.tally
    mqls = [e for e in oracle if e.is_mql(POINTS, 50)]
    others = [e for e in oracle if not e.is_mql(POINTS, 50)]
    assert (tally.overall.known, tally.overall.converted) == converted(oracle)
    assert (tally.mql_rate.known, tally.mql_rate.converted) == converted(mqls)
    assert (tally.other_rate.known, tally.other_rate.converted) == converted(others)
    assert dict(tally.outcome_values) == dict(Counter(e.outcome for e in oracle if e.outcome))


def test_rule_lift_matches_an_independent_count(sample_run, oracle):
    for rule in POINTS:
        rate = sample_run.tally.fired[rule]
        assert (rate.known, rate.converted) == converted([e for e in oracle if rule in e.fired])
    report = render_report(sample_run)
    known, won = converted(oracle)
    demo_known, demo_won = converted([e for e in oracle if "Demo request" in e.fired])
    lift = f"{(demo_won / demo_known) / (won / known):.2f}×"
    assert re.search(rf"\n  Demo request +{demo_known:,} +{demo_known:,} +[\d.]+% +{re.escape(lift)}", report)


@pytest.mark.parametrize("threshold", [10, 30, 50, 70, 90])
def test_the_threshold_sweep_matches_an_independent_count(sample_run, oracle, threshold):
    passing = [e for e in oracle if e.is_mql(POINTS, threshold)]
    known, won = converted(passing)
    rate = f"{100 * won / known:.1f}%" if known else "–"
    line = f"  {threshold:>9}  {len(passing):>8,}  {100 * len(passing) / 5000:5.1f}%  {known:>7,}  {rate:>7}"
    assert line in render_report(sample_run)


BAND_ROW = re.compile(r"^  +(-?\d+(?: to -?\d+)?)  +([\d,]+)  +([\d,]+)  +([\d,]+)  ", re.M)


def test_conversion_by_band_adds_up_to_the_whole(sample_run):
    section = render_report(sample_run).split("Conversion by score band\n")[1].split("\n\n")[0]
    rows = [[int(n.replace(",", "")) for n in row[1:]] for row in BAND_ROW.findall(section)]
    tally = sample_run.tally
    assert [sum(column) for column in zip(*rows)] == [tally.scored, tally.overall.known, tally.overall.converted]


def test_the_shipped_config_on_the_sample_data():
    result = run_backtest(sample_inputs(REPO / "config"))
    tally = result.tally
    assert 0 < tally.mqls < tally.scored
    # The sample data's outcomes follow fit and intent: MQLs should convert clearly better than the rest.
    assert tally.mql_rate.share() > tally.other_rate.share() + 0.2
    sweep_line = next(line for line in render_report(result).splitlines() if line.endswith("◀ current"))
    assert int(sweep_line.split()[1].replace(",", "")) == tally.mqls


def test_an_unsorted_contacts_file_gives_the_same_figures_from_memory(tmp_path, sample_run, test_config):
    lines = (SAMPLES / "contacts.csv").read_text().splitlines(keepends=True)
    reversed_file = tmp_path / "reversed.csv"
    reversed_file.write_text(lines[0] + "".join(reversed(lines[1:])))
    result = run_backtest(sample_inputs(test_config, contacts=reversed_file))
    assert result.feed.held == "held in memory (the contacts file is not sorted by contact id)"
    assert (result.tally.mqls, dict(result.tally.fired_count), result.feed.matched) == \
        (sample_run.tally.mqls, dict(sample_run.tally.fired_count), sample_run.feed.matched)


# --- the fast path gives the figures of the plain one --------------------------------------------

TALLY_FIELDS = ("scored", "mqls", "high_intent", "held_back", "by_point", "eligible", "by_grade", "grade_mqls",
                "mql_reasons", "gates_holding_back", "fired_count", "outcome_values", "last_engaged")
RATE_FIELDS = ("point_rates", "eligible_rates", "grade_rates", "fired")


def plain_backtest(inputs: Inputs) -> tuple[Tally, Tally, Changes]:
    """The backtest the plain way: every contact's trail read, a Score made with its Reasons, then counted."""
    export, feed = ContactExport(inputs.contacts, inputs.outcome), ActivityFeed(inputs.activities)
    tally, other, changes = Tally(inputs.rules), Tally(inputs.other), Changes()
    for item in export:
        if isinstance(item, Skipped):
            continue
        activities = combine_activities(activities_from_contact(item.contact), feed.for_contact(item.contact.id))
        first, second = (score_contact(item.contact, activities, rules, inputs.now, explain=False)
                         for rules in (inputs.rules, inputs.other))
        converted = outcome_converted(item.outcome)
        tally.add(first, item.outcome, converted)
        other.add(second, item.outcome, converted)
        changes.add(Verdict.of(first), Verdict.of(second), converted)
    export.close()
    feed.close()
    return tally, other, changes


def test_the_fast_backtest_counts_exactly_what_the_plain_one_does(test_config):
    inputs = sample_inputs(REPO / "config", test_config)
    result, (tally, other, changes) = run_backtest(inputs), plain_backtest(inputs)
    for fast, plain in ((result.tally, tally), (result.other, other)):
        assert fast.scored == 5000
        assert [getattr(fast, name) for name in TALLY_FIELDS] == [getattr(plain, name) for name in TALLY_FIELDS]
        for name in RATE_FIELDS:
            assert {key: (rate.known, rate.converted) for key, rate in getattr(fast, name).items()} == \
                {key: (rate.known, rate.converted) for key, rate in getattr(plain, name).items()}
    assert vars(result.changes).keys() == vars(changes).keys()
    for name in ("newly", "dropped", "up", "down", "gained", "lost", "freed", "blocked"):
        assert getattr(result.changes, name) == getattr(changes, name)
    assert render_report(result) == render_report(replace_tallies(result, tally, other, changes))


def replace_tallies(result: Backtest, tally: Tally, other: Tally, changes: Changes) -> Backtest:
    return Backtest(result.inputs, tally, other, changes, result.skips, result.rows, result.feed,
                    result.ignored_columns, result.missing_properties, result.notes, result.has_trail)


def test_the_trail_sources_name_every_trail_property():
    # Each trail property either makes an activity of its kind or only names or dates one (the forms'
    # names, the last visit): a new trail property must be placed here, or the backtest would miss it.
    named = {"recent_conversion_event_name", "first_conversion_event_name", *LAST_VISIT}
    assert set().union(*TRAIL_SOURCES.values()) | named == set(TRAIL_PROPERTIES)


T2 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
TRAIL_VALUES = {"recent_conversion_date": "2026-11-20T10:00:00Z", "recent_conversion_event_name": "Demo request",
                "first_conversion_date": "2026-10-01T10:00:00Z", "first_conversion_event_name": "Ebook",
                "hs_analytics_num_page_views": "12", "hs_analytics_last_visit_timestamp": "2026-11-21T10:00:00Z",
                "hs_analytics_last_timestamp": "2026-11-22T10:00:00Z", "hs_email_last_open_date": "2026-11-19",
                "hs_email_last_click_date": "2026-11-18", "engagements_last_meeting_booked": "2026-11-17"}
FILE_KINDS = [[], ["chat"], ["page_view"], ["form_submission", "email_open"],
              ["form_submission", "page_view", "email_open", "email_click", "meeting_booked"]]


@pytest.mark.parametrize("kinds", FILE_KINDS)
def test_the_trail_is_read_only_when_it_can_add_something_and_the_activities_are_the_same(kinds):
    from_file = [Activity(kind, T2, "x") for kind in kinds]
    records = [{}, TRAIL_VALUES] + [{name: value} for name, value in TRAIL_VALUES.items()] + \
        [{"hs_analytics_num_page_views": "3", "hs_analytics_last_timestamp": "2026-11-22T10:00:00Z"}]
    for properties in records:
        person = Contact("7", properties)
        assert contact_activities(person, list(from_file)) == \
            combine_activities(activities_from_contact(person), list(from_file))


def test_the_trail_gives_the_same_activities_for_every_sample_contact():
    export, feed = ContactExport(SAMPLES / "contacts.csv"), ActivityFeed(SAMPLES / "activities.csv")
    for item in export:
        from_file = feed.for_contact(item.contact.id)     # columns, as the backtest reads them
        combined = list(combine_activities(activities_from_contact(item.contact), list(from_file)))
        assert list(contact_activities(item.contact, from_file)) == combined
        assert list(contact_activities(item.contact, list(from_file))) == combined
    export.close()
    feed.close()


# --- --compare ----------------------------------------------------------------------------------

def test_compare_counts_what_the_changed_config_changes(compare_run, oracle):
    changes = compare_run.changes
    before = {e.contact_id for e in oracle if e.is_mql(POINTS, 50)}
    after = {e.contact_id for e in oracle if e.is_mql(CHANGED_POINTS, 40)}
    deltas = [e.total(CHANGED_POINTS) - e.total(POINTS) for e in oracle]
    assert (changes.newly, changes.dropped) == (len(after - before), len(before - after))
    assert (changes.up, changes.down) == (sum(d > 0 for d in deltas), sum(d < 0 for d in deltas))
    assert dict(changes.lost) == {"Pricing page": sum("Pricing page" in e.fired for e in oracle)}
    assert compare_run.other.mqls == len(after)
    newly = [e for e in oracle if e.contact_id in after - before]
    assert (changes.newly_rate.known, changes.newly_rate.converted) == converted(newly)


def test_compare_report_shows_the_biggest_moves_by_contact_id_only(compare_run, oracle):
    report = render_report(compare_run)
    changes = compare_run.changes
    assert f"newly MQL {changes.newly:,} · no longer MQL {changes.dropped:,}" in report
    assert re.search(r"no longer fires for [\d,]+: Pricing page", report)
    heading = re.escape("  newly MQL (largest score changes first; contact id: points before → after)")
    shown = re.findall(rf"\n{heading}\n((?:    .*\n)+)", report)
    moves = re.findall(r"    (\d+): (-?\d+) → (-?\d+)", shown[0])
    assert len(moves) == 8 and all(int(after) - int(before) >= 0 for _, before, after in moves)
    newly = {e.contact_id for e in oracle if e.is_mql(CHANGED_POINTS, 40) and not e.is_mql(POINTS, 50)}
    assert {contact_id for contact_id, _, _ in moves} <= newly
    with open(SAMPLES / "contacts.csv", newline="") as handle:
        first = next(csv.DictReader(handle))
    assert first["Email"] not in report and first["Last Name"] not in report


# --- the command, and bad input ------------------------------------------------------------------

def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--now", NOW_ARG])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_report_has_every_section(sample_run):
    report = render_report(sample_run)
    for heading in ("MQLs: ", "Top reasons among MQLs", "Score distribution", "Outcomes (Sales Outcome)",
                    "counted as converted: SQL", "counted as not converted: Disqualified",
                    "Conversion by score band", "Rule lift", "Threshold sweep", "◀ current", "◀ threshold 50"):
        assert heading in report
    assert "Note: 1 column(s) not used" in report and "Disqualification Reason" in report


def test_the_command_with_every_option(tmp_path, capsys, test_config, changed_config):
    export, activities, plot = tmp_path / "contacts.csv", tmp_path / "activities.csv", tmp_path / "scores.png"
    export.write_text(HEADER.replace("\n", ",Sales Outcome\n") +
                      "1,VP Sales,Demo request,2026-11-20 14:03,SQL\n"
                      "2,Student,Ebook: Guide,2026-11-01 09:00,Disqualified\n3,Director,,,\n")
    activities.write_text("contact_id,kind,occurred_at,label,count\n3,page_view,2026-11-22T10:00:00Z,/pricing,1\n")
    code, out, err = run_main(capsys, str(export), "--activities", str(activities), "--outcome", "Sales Outcome",
                              "--config", str(test_config), "--compare", str(changed_config), "--plot", str(plot),
                              "--timezone", "UTC")
    assert (code, err) == (0, "")
    assert "3 rows read · 3 contacts scored · 0 rows skipped" in out
    assert "1 rows, streamed (both files sorted by contact id): 1 matched a contact, 0 matched none" in out
    assert "MQLs: 2 of 3 (66.7%)" in out
    assert "Outcomes (Sales Outcome): 2 known, 1 converted (50.0%) · 1 blank (not counted)" in out
    assert "MQLs 2 → 1 (-1) · newly MQL 0 · no longer MQL 1" in out
    assert "    3: 50 → 30  (− Pricing page)" in out
    assert out.endswith(f"Histogram written to {plot}\n") and read_png(plot.read_bytes())


def backtest_of(tmp_path: Path, capsys, config: Path, rows: str, *options: str) -> tuple[int, str]:
    """Write an export of these rows and back-test it: (exit code, report)."""
    export = tmp_path / "contacts.csv"
    export.write_text(rows)
    code, out, _ = run_main(capsys, str(export), "--config", str(config), *options)
    return code, out


def test_bad_rows_are_skipped_counted_and_named_and_the_rest_scored(tmp_path, capsys, test_config):
    code, out = backtest_of(tmp_path, capsys, test_config, HEADER + "1,VP Sales,Demo request,2026-11-20 14:03\n"
                            "2,CEO,Demo request,20/11/2026\n3,CTO,Demo request,2026-11-21T09:00:00Z,oops\n"
                            "4,Head of Data,Demo request,2026-11-22 10:00\n")
    assert code == 0
    assert "4 rows read · 2 contacts scored · 2 rows skipped" in out
    assert "row 3, column 'Recent Conversion Date': cannot read '20/11/2026' as a date" in out
    assert "row 4: 5 fields where the header has 4" in out
    assert "MQLs: 2 of 2 (100.0%)" in out


def test_a_semicolon_export_is_read_and_said_so(tmp_path, capsys, test_config):
    code, out = backtest_of(tmp_path, capsys, test_config, HEADER.replace(",", ";") +
                            "1;VP Sales;Demo request;2026-11-20 14:03\n2;Analyst;Ebook;2026-11-20 14:03\n")
    assert code == 0
    assert "Note: contacts.csv looks like ';'-separated: read it that way" in out
    assert "MQLs: 1 of 2" in out


REFUSED = [
    (["{missing}"], "no such file"),
    (["{export}", "--outcome", "Outcome"], "missing required column(s): 'Outcome' (named by --outcome)"),
    (["{headerless}"], "missing required column(s): Record ID"),
    (["{export}", "--activities", "{missing}"], "cannot read the file"),
    (["{export}", "--timezone", "Mars/Olympus"], "--timezone 'Mars/Olympus': not a time zone name"),
    (["{export}", "--delimiter", "::"], "--delimiter '::': expected one character"),
    (["{export}", "--config", "{bad_config}"], "scoring.yaml:1: mql_threshold"),
]


@pytest.mark.parametrize("argv, message", REFUSED)
def test_what_cannot_run_exits_2_saying_why(tmp_path, capsys, test_config, argv, message):
    paths = {"missing": tmp_path / "missing.csv", "export": tmp_path / "contacts.csv",
             "headerless": tmp_path / "names.csv", "bad_config": config_dir(tmp_path / "bad", "mql_threshold: x\n")}
    paths["export"].write_text("Record ID,Job Title\n1,VP\n")
    paths["headerless"].write_text("Email,Job Title\na@b.c,VP\n")
    args = [arg.format(**paths) for arg in argv]
    code, out, err = run_main(capsys, *args, *([] if "--config" in args else ["--config", str(test_config)]))
    assert (code, out) == (2, "")
    assert err.startswith("backtest: ") and message in err


def test_a_bad_now_is_refused(capsys, test_config):
    code = main([str(SAMPLES / "contacts.csv"), "--config", str(test_config), "--now", "soon"])
    assert code == 2 and "--now 'soon': expected a date like 2026-11-23T15:00Z" in capsys.readouterr().err


def test_an_old_export_scored_as_of_today_says_how_to_score_it_as_of_its_date(tmp_path, capsys, test_config):
    _, out = backtest_of(tmp_path, capsys, test_config, HEADER + "1,VP,Demo request,2024-01-05 10:00\n")
    assert "nobody engaged in the 30 days before 2026-11-23 15:00 UTC" in out
    assert "pass --now 2024-01-05T10:00Z" in out


def test_dates_without_a_zone_are_read_in_the_given_one(tmp_path, capsys, test_config):
    # 30 days before NOW is 2026-10-24 15:00 UTC. Noon in New York that day (EDT, UTC-4) is 16:00 UTC: inside.
    rows = HEADER + "1,VP,Demo request,2026-10-24 12:00\n"
    _, in_utc = backtest_of(tmp_path, capsys, test_config, rows)
    _, in_new_york = backtest_of(tmp_path, capsys, test_config, rows, "--timezone", "America/New_York")
    assert "MQLs: 0 of 1" in in_utc and "MQLs: 1 of 1" in in_new_york


# --- pure pieces ----------------------------------------------------------------------------------

OUTCOMES = [("SQL", True), ("sql", True), ("Sales Qualified Lead", True), ("salesqualifiedlead", True),
            ("Customer", True), ("Opportunity", True), ("Closed Won", True), ("closed-won", True),
            ("SQL: accepted by AE", True), ("true", True), ("Disqualified", False),
            ("Disqualified: no budget", False), ("Unqualified", False), ("Lead", False),
            ("Marketing Qualified Lead", False), ("no", False), ("", None), ("   ", None), (None, None)]


@pytest.mark.parametrize("value, expected", OUTCOMES)
def test_which_outcomes_count_as_converted(value, expected):
    assert outcome_converted(value) is expected


T = datetime(2026, 11, 20, tzinfo=UTC)
RECORD = [Activity("page_view", T, count=40), Activity("email_open", T), Activity("form_submission", T, "Demo")]
FILE = [Activity("page_view", T, "/pricing", 2), Activity("chat", T, "Website chat")]


@pytest.mark.parametrize("record, from_file, expected", [
    (RECORD, [], RECORD),
    ([], FILE, FILE),
    (RECORD, FILE, FILE + RECORD[1:]),      # the file's page views replace the record's count
])
def test_the_file_replaces_the_record_trail_for_the_kinds_it_lists(record, from_file, expected):
    assert combine_activities(record, from_file) == expected


BANDS = [
    ({0: 1}, [Band(0, 1, 1)]),
    ({0: 2, 3: 1}, [Band(0, 1, 2), Band(1, 1, 0), Band(2, 1, 0), Band(3, 1, 1)]),
    ({-45: 1, 120: 2, 131: 3}, [Band(start, 20, {-60: 1, 120: 5}.get(start, 0)) for start in range(-60, 140, 20)]),
    ({5: 1, 800: 1}, [Band(start, 100, 1 if start in (0, 800) else 0) for start in range(0, 900, 100)]),
    ({}, []),
]


@pytest.mark.parametrize("points, expected", BANDS)
def test_score_bands_have_round_widths_and_keep_empty_bands(points, expected):
    assert score_bands(Counter(points)) == expected


# --- the PNG ------------------------------------------------------------------------------------

def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, RGB rows) of an 8-bit RGB PNG, checking the signature, every CRC and the filters."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body, crc = data[at + 8:at + 8 + length], struct.unpack(">I", data[at + 8 + length:at + 12 + length])[0]
        assert zlib.crc32(kind + body) == crc
        chunks.append((kind, body))
        at += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color) == (8, 2)
    raw = zlib.decompress(chunks[1][1])
    assert len(raw) == height * (1 + 3 * width)
    rows = [raw[y * (1 + 3 * width):(y + 1) * (1 + 3 * width)] for y in range(height)]
    assert all(row[0] == 0 for row in rows)
    return width, height, [row[1:] for row in rows]


def pixel(rows: list[bytes], x: int, y: int) -> tuple[int, int, int]:
    return tuple(rows[y][3 * x:3 * x + 3])


def test_the_histogram_png_is_valid_with_bars_in_proportion():
    bands = [Band(0, 50, 100), Band(50, 50, 50), Band(100, 50, 25), Band(150, 50, 0)]
    width, height, rows = read_png(histogram_png(bands, threshold=100, size=(420, 260)))
    assert (width, height) == (420, 260)
    heights = []
    for index in range(4):
        x = 56 + index * 87 + 40          # the middle of each bar's slot
        column = [pixel(rows, x, y) for y in range(height)]
        heights.append(sum(color in ((120, 144, 186), (230, 120, 40)) for color in column))
    plot = 260 - 24 - 36
    assert heights == [plot, plot // 2, plot // 4, 0]
    assert pixel(rows, 56 + 2 * 87 + 40, 259 - 36 - 1) == (230, 120, 40)     # at the threshold: orange
    assert pixel(rows, 56 + 40, 259 - 36 - 1) == (120, 144, 186)


def test_plot_writes_a_png_of_the_distribution(tmp_path, capsys, test_config, small_export):
    target = tmp_path / "scores.png"
    code, out, _ = run_main(capsys, str(small_export), "--config", str(test_config), "--plot", str(target))
    assert code == 0 and f"Histogram written to {target}" in out
    assert read_png(target.read_bytes())[:2] == (720, 360)


def test_an_empty_distribution_still_draws_a_valid_png():
    assert read_png(histogram_png([], threshold=100))[:2] == (720, 360)


# --- progress -------------------------------------------------------------------------------------

class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_at_most_five_times_a_second_and_erased():
    clock = iter([0.0, 0.1, 0.25]).__next__
    terminal = Terminal()
    progress = Progress(terminal, total_bytes=1000, clock=clock)
    progress.update(1, 0)
    progress.update(1025, 400)       # 0.1 s later: not redrawn
    progress.update(2049, 500)
    progress.close()
    assert terminal.getvalue() == ("\r[" + "." * 30 + "]   0% 1 rows"
                                   "\r[" + "#" * 15 + "." * 15 + "]  50% 2,049 rows" "\r\x1b[K")


def test_no_progress_is_drawn_when_stderr_is_not_a_terminal(capsys, test_config, small_export):
    code, _, err = run_main(capsys, str(small_export), "--config", str(test_config))
    assert (code, err) == (0, "")


def score(contact_id: str, total: float, is_mql: bool, gates_failed: tuple = (), grade: str = "",
          reasons: tuple = ()) -> Score:
    return Score(contact_id, total, 0.0, total, is_mql, False, reasons, gates_failed, NOW, "", NOW, grade=grade)


def test_a_tally_counts_every_score_it_is_given():
    tally = Tally(load_config(REPO / "config").scoring)
    demo = (Reason("Requested a demo", "engagement", 60, "x"),)
    tally.add(score("1", 130.0, True, reasons=demo, grade="A1"), "SQL", True)
    tally.add(score("2", 120.4, False, ("More than 50 employees",), "B1"), None, None)
    tally.add(score("3", 99.9, False, grade="A1"), "Disqualified", False)
    assert (tally.scored, tally.mqls, tally.held_back) == (3, 1, 1)
    assert tally.by_point == Counter({130: 1, 120: 1, 99: 1})
    assert tally.eligible == Counter({(130, False): 1, (99, False): 1})
    assert tally.gates_holding_back == Counter({"More than 50 employees": 1})
    assert (tally.by_grade, tally.grade_mqls) == (Counter({"A1": 2, "B1": 1}), Counter({"A1": 1}))
    assert (tally.mql_rate.known, tally.mql_rate.converted, tally.other_rate.known) == (1, 1, 1)
    assert tally.mql_reasons == Counter({"Requested a demo": 1}) and tally.last_engaged == NOW


RULE_CASES = [
    # (mql_rule, total, grade, passes)
    ("threshold", 100, "C3", True), ("threshold", 99.9, "A1", False),
    ("grades", 10, "A1", True), ("grades", 500, "B2", False),
    ("both", 100, "A1", True), ("both", 100, "B2", False), ("both", 90, "A1", False),
    ("either", 90, "A1", True), ("either", 100, "C3", True), ("either", 90, "C3", False),
]
GRADED = {"mql_threshold": 100, "mql_grades": ["A1", "B1"],
          "grades": {"fit": {"A": 50, "B": 20}, "engagement": {1: 45, 2: 20}}}


@pytest.mark.parametrize("rule, total, grade, passes", RULE_CASES)
def test_the_mql_rule_before_gates(rule, total, grade, passes):
    rules = ScoringRules.model_validate({**GRADED, "mql_rule": rule})
    assert mql_rule(rules)(total, grade) is passes


@pytest.mark.parametrize("rule, expected", [
    # contacts passing the gates: 30 (B1, an MQL cell), 45 (C2), 65 (A1, an MQL cell), 110 (C1)
    ("threshold", {30: 4, 40: 3, 50: 2, 70: 1, 100: 1, 110: 1}),
    ("both", {30: 2, 40: 1, 50: 1, 70: 0, 100: 0, 110: 0}),
    ("either", {30: 4, 40: 4, 50: 3, 70: 3, 100: 3, 110: 3}),
])
def test_the_sweep_follows_the_mql_rule(rule, expected):
    tally = Tally(ScoringRules.model_validate({**GRADED, "mql_rule": rule}))
    for contact_id, total, grade in (("1", 30, "B1"), ("2", 45, "C2"), ("3", 65, "A1"), ("4", 110, "C1"),
                                     ("5", 70, "A1")):
        tally.add(score(contact_id, total, False, ("gate",) if contact_id == "5" else (), grade), None, None)
    sweep = {threshold: volume for threshold, volume, _ in threshold_sweep(tally)}
    assert list(sweep) == list(range(30, 120, 10))
    assert {threshold: sweep[threshold] for threshold in expected} == expected


def test_no_sweep_when_grade_cells_alone_decide(tmp_path):
    tally = Tally(ScoringRules.model_validate({**GRADED, "mql_rule": "grades"}))
    tally.add(score("1", 30, True, grade="A1"), "SQL", True)
    result = Backtest(Inputs(tmp_path / "c.csv", tally.rules, NOW, outcome="Outcome"), tally)
    assert "Threshold sweep: none, the MQL rule is grade cells only (mql_rule: grades)" in render_report(result)
