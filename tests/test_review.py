"""The leadership review in Slack, end to end: the real slack_sdk client against the fake Slack, the outbox and a
real database (SQLite and PostgreSQL): text then charts in its thread, once per review moment whatever happens."""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from bot import outbox
from bot.review import queue_due_review, review_key
from bot.scheduler import start_scheduler
from bot.services import Services
from bot.store.schema import effects
from tests.harness import System, wait_for, write_config
from tests.ledger_data import insert
from tests.test_backtest import read_png
from tests.test_report import LEDGER

# Reviews every two weeks from Monday Nov 2 2026, 09:00 New York (14:00 UTC): the one of Nov 16 covers
# Nov 2 14:00 -> Nov 16 14:00 UTC, which holds every lead of tests/test_report.py's hand-checked ledger.
REPORTS_YAML = """\
monthly_mql_target: 40
channel: "C0REVIEW"
review:
  every: 2w
  day: monday
  at: "09:00"
  starting: 2026-11-02
"""
REVIEW_AT = datetime(2026, 11, 16, 14, 0, tzinfo=timezone.utc)
CHART_STEPS = ("files.getUploadURLExternal", "upload", "files.completeUploadExternal")


@pytest.fixture
def system(engine, tmp_path, fake_hubspot, fake_slack) -> System:
    config_dir = write_config(tmp_path / "config")
    (config_dir / "reports.yaml").write_text(REPORTS_YAML)
    system = System(engine, config_dir, fake_hubspot, fake_slack, start=REVIEW_AT - timedelta(days=1))
    assert queue_due_review(system.svc) is False       # Handoff runs from before the review: it watches for it
    system.clock.now = REVIEW_AT + timedelta(minutes=1)
    return system


def with_ledger(system: System) -> System:
    with system.svc.engine.begin() as conn:
        insert(conn, LEDGER)
    return system


def run_outbox(system: System, rounds: int = 20) -> None:
    """Perform every due effect, moving the clock past any retry's wait."""
    for _ in range(rounds):
        while outbox.run_one_batch(system.svc):
            pass
        pending = [row for row in system.effects("pending")]
        if not pending:
            return
        system.clock.now = max(system.clock.now, max(row.run_at for row in pending)) + timedelta(seconds=1)
    raise AssertionError("the outbox never ran out of work")


def review_posts(system: System) -> list[dict]:
    return [m for m in system.slack.messages.get("C0REVIEW", []) if not m.get("files")]


def calls(system: System, method: str) -> list:
    return [call for call in system.slack.calls if call.method == method]


def test_the_review_posts_its_text_then_four_charts_in_its_thread(system):
    with_ledger(system)
    assert queue_due_review(system.svc) is True
    run_outbox(system)
    (text,) = review_posts(system)
    assert text["text"].startswith("Lead review, Nov 2, 2026 – Nov 16, 2026: 8 MQLs against a target of")
    shown = json.dumps(text["blocks"])
    for words in ("MQL volume", "3 of 8 MQLs became SQL (38%)", "p50 5 min, p95 2 h", "No budget (1)",
                  "Recycled (no response): 1", "What marketing could change",
                  "Only 7 decided leads in the period: not enough data to suggest changes"):   # bot.tune's words
        assert words in shown, words
    assert len(text["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in text["blocks"] if b["type"] == "section")
    assert len(calls(system, "chat.postMessage")) == 1
    for step in CHART_STEPS:
        assert len(calls(system, step)) == 4, step
    completions = calls(system, "files.completeUploadExternal")
    assert {(c.params["channel_id"], c.params["thread_ts"]) for c in completions} == {("C0REVIEW", text["ts"])}
    assert sorted(f["name"] for f in system.slack.files) == [
        f"handoff-review-2026-11-16-{name}.png" for name in ("dq-reasons", "mql-sql-conversion", "mql-volume",
                                                              "speed-to-lead")]
    assert all(read_png(f["content"])[:2] == (1000, 500) and f["alt_txt"] for f in system.slack.files)


def test_the_same_moment_is_queued_once_and_the_next_one_in_its_time(system):
    with_ledger(system)
    assert queue_due_review(system.svc) is True
    system.clock.advance(days=3)                           # still the Nov 16 review: nothing new
    assert queue_due_review(system.svc) is False
    run_outbox(system)
    system.clock.now = REVIEW_AT + timedelta(days=14) - timedelta(seconds=1)
    assert queue_due_review(system.svc) is False
    system.clock.now = REVIEW_AT + timedelta(days=14)      # Nov 30 09:00 New York: the next review
    assert queue_due_review(system.svc) is True
    keys = [row.key for row in system.effects() if row.kind == "slack_review"]
    assert keys == [review_key(REVIEW_AT), review_key(REVIEW_AT + timedelta(days=14))]


def test_two_workers_at_once_post_the_review_once(system, engine):
    with_ledger(system)
    other = Services.build(system.settings, engine)
    other.clock = system.clock
    start = threading.Barrier(2)

    def worker(svc: Services) -> None:
        start.wait()
        queue_due_review(svc)
        for _ in range(10):
            outbox.run_one_batch(svc)

    threads = [threading.Thread(target=worker, args=(svc,)) for svc in (system.svc, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    run_outbox(system)
    assert len(review_posts(system)) == 1 and len(calls(system, "chat.postMessage")) == 1
    assert len(system.slack.files) == 4
    assert len([row for row in system.effects() if row.kind == "slack_review"]) == 1


def test_a_failed_chart_upload_still_posts_the_text_and_is_retried_alone(system, caplog):
    with_ledger(system)
    system.slack.fail_next("upload", status=500)
    queue_due_review(system.svc)
    with caplog.at_level(logging.WARNING, logger="handoff.outbox"):
        while outbox.run_one_batch(system.svc):
            pass
    assert len(review_posts(system)) == 1 and len(system.slack.files) == 3
    assert any("chart" in r.getMessage() and "retried later" in r.getMessage() for r in caplog.records)
    run_outbox(system)                                     # the retry: the fourth chart, and no second text
    assert len(system.slack.files) == 4 and len(calls(system, "chat.postMessage")) == 1


def test_a_chart_slack_refuses_for_good_fails_alone_and_says_why(system, caplog):
    with_ledger(system)
    system.slack.fail_next("files.completeUploadExternal", error="not_in_channel")
    queue_due_review(system.svc)
    with caplog.at_level(logging.ERROR, logger="handoff.outbox"):
        run_outbox(system)
    failed = system.effects("failed")
    assert len(failed) == 1 and failed[0].kind == "slack_review_chart" and "not_in_channel" in failed[0].last_error
    assert any("failed for good" in r.getMessage() for r in caplog.records)
    assert len(review_posts(system)) == 1 and len(system.slack.files) == 3


def test_a_worker_killed_after_an_upload_does_not_share_the_chart_twice(system):
    with_ledger(system)
    queue_due_review(system.svc)
    run_outbox(system)
    # As if the worker died after Slack shared the file but before the effect was marked done: the lease runs
    # out and another worker claims it again (its second attempt), which finds the file by its name.
    chart = next(row for row in system.effects() if row.kind == "slack_review_chart")
    with system.svc.engine.begin() as conn:
        conn.execute(update(effects).where(effects.c.id == chart.id).values(state="pending", done_at=None,
                                                                             run_at=system.clock.now))
    run_outbox(system)
    assert len(system.slack.files) == 4 and len(calls(system, "files.getUploadURLExternal")) == 4
    assert len(calls(system, "conversations.replies")) == 1          # it looked in the thread first


def test_a_period_without_leads_says_so_plainly_with_no_charts(system):
    queue_due_review(system.svc)
    run_outbox(system)
    (text,) = review_posts(system)
    assert text["text"] == ("Lead review, Nov 2, 2026 – Nov 16, 2026: no lead became an MQL in this period, "
                            "so there is nothing to review.")
    assert calls(system, "files.getUploadURLExternal") == [] and system.slack.files == []


def test_nothing_is_due_before_the_first_review(system):
    system.clock.now = datetime(2026, 11, 2, 13, 59, tzinfo=timezone.utc)
    assert queue_due_review(system.svc) is False and system.effects() == []


def test_a_fresh_install_waits_for_the_next_review_instead_of_posting_an_old_one(engine, tmp_path, fake_hubspot,
                                                                                 fake_slack):
    config_dir = write_config(tmp_path / "config")
    (config_dir / "reports.yaml").write_text(REPORTS_YAML)
    fresh = System(engine, config_dir, fake_hubspot, fake_slack, start=REVIEW_AT + timedelta(days=2))
    assert queue_due_review(fresh.svc) is False                   # Nov 16's review was before it ever ran
    fresh.clock.now = REVIEW_AT + timedelta(days=14, hours=3)     # down over Nov 30's review, back that evening
    assert queue_due_review(fresh.svc) is True
    assert [row.key for row in fresh.effects()] == [review_key(REVIEW_AT + timedelta(days=14))]


def test_the_review_goes_to_the_managers_channel_without_a_channel_in_reports_yaml(system, tmp_path):
    (tmp_path / "config" / "reports.yaml").write_text(REPORTS_YAML.replace('channel: "C0REVIEW"\n', ""))
    assert system.svc.refresh_config()
    queue_due_review(system.svc)
    run_outbox(system)
    assert len(system.slack.messages["C0MGRS"]) == 1


def test_the_scheduler_looks_for_a_missed_review_as_it_starts(system):
    with_ledger(system)
    scheduler = start_scheduler(system.svc)
    try:
        wait_for(lambda: [row for row in system.effects() if row.kind == "slack_review"], timeout=10,
                 what="the review queued at start")
    finally:
        scheduler.shutdown(wait=True)
    run_outbox(system)
    assert len(review_posts(system)) == 1 and len(system.slack.files) == 4
