"""The leadership review in Slack: on reports.yaml's schedule, the period's report as a message in the review
channel, then its charts in the message's thread (uploaded with files_upload_v2).

Everything goes through the outbox, keyed by the review's moment, so any number of workers, a restart, or a
review missed while Handoff was down post each review once:
  queue_due_review   (scheduler)  -> effect "review:<moment>"              slack_review: the text
  post_review        (outbox)     -> effects "review:<moment>:chart:<name>" slack_review_chart: one per chart
  post_chart         (outbox)     -> the PNG in the text's thread
A chart that fails is retried on its own (the outbox's policy) and never re-posts the text. Only the latest
review due is posted (an outage longer than a period skips the older ones), and never one that fell due before
Handoff first looked for reviews (a fresh install starts with the next one).
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.engine import Row

from bot import charts, report, slack_views, tune
from bot.ledger import ledger_rows
from bot.services import Services
from bot.store import kv
from bot.store.db import reading
from bot.store.effects import add_effect, payload_of
from bot.store.schema import effects

log = logging.getLogger("handoff.review")
REVIEW_KIND, CHART_KIND = "slack_review", "slack_review_chart"
WATCHING_SINCE = "reviews_watched_since"


def review_key(moment: datetime) -> str:
    return f"review:{moment.isoformat()}"


def queue_due_review(svc: Services, now: datetime | None = None) -> bool:
    """Queue the latest review due by `now` unless it already is; True when this call queued it."""
    now = now or svc.clock()
    schedule = svc.config.reports.review
    watching_since = _watching_since(svc, now)
    moment = schedule.latest_due(now)
    if moment is None or moment < watching_since:
        return False
    key = review_key(moment)
    with reading(svc.engine) as conn:   # read outside the write: the report may take seconds on a big ledger
        if _queued(conn, key):
            return False
        since, until = schedule.period_before(moment)
        payload = {"moment": moment.isoformat(), "report": report.build(conn, svc.config, since, until),
                   "suggestions": _suggestions(conn, svc, since, until)}
    with svc.engine.begin() as conn:
        queued = add_effect(conn, key, REVIEW_KIND, payload, now)
    if queued:
        log.info("review %s queued (leads from %s to %s)", moment.isoformat(), since.isoformat(), until.isoformat())
    return queued


def _watching_since(svc: Services, now: datetime) -> datetime:
    """When Handoff first looked for a review (recorded on that first look): a new install does not post the
    review that fell due before it ran, while a review missed during a later outage is still posted."""
    with reading(svc.engine) as conn:   # a read each minute; the one write happens once per database
        recorded = kv.get_setting(conn, WATCHING_SINCE)
    if recorded is None:
        with svc.engine.begin() as conn:
            kv.put_setting(conn, WATCHING_SINCE, now.isoformat())
    return datetime.fromisoformat(recorded) if recorded else now


def _queued(conn: Connection, key: str) -> bool:
    return conn.execute(select(effects.c.id).where(effects.c.key == key)).first() is not None


def _suggestions(conn: Connection, svc: Services, since: datetime, until: datetime) -> list[str]:
    """What marketing could change in scoring.yaml, learnt from the period's SDR outcomes (bot.tune's words)."""
    return [suggestion.words for suggestion in tune.suggest(ledger_rows(conn, since, until), svc.config.scoring)]


def post_review(svc: Services, row: Row, now: datetime) -> dict:
    """The review's text in the review channel, then its charts queued for the message's thread."""
    payload = payload_of(row)
    text, blocks = slack_views.review_message(payload["report"], payload["suggestions"])
    posted = svc.slack.post_message(channel=review_channel(svc), text=text, blocks=blocks, effect_key=row.key,
                                    look_for_duplicate=row.attempts > 1)
    names = charts.chart_names(payload["report"])
    with svc.engine.begin() as conn:   # keyed: a retry after a crash here queues nothing twice
        for name in names:
            add_effect(conn, f"{row.key}:chart:{name}", CHART_KIND,
                       {"moment": payload["moment"], "chart": name, "report": payload["report"],
                        "channel": posted.channel, "thread_ts": posted.ts}, now)
    log.info("review %s posted, %d charts to follow", payload["moment"], len(names))
    return {"channel": posted.channel, "ts": posted.ts, "charts": names}


def post_chart(svc: Services, row: Row, now: datetime) -> dict:
    """One chart of the review, uploaded into the thread of its text (the channel id the post answered with)."""
    payload = payload_of(row)
    chart = charts.draw_chart(payload["report"], payload["chart"])
    file_id = svc.slack.upload_file(channel=payload["channel"], filename=chart_filename(payload["moment"], chart.name),
                                    title=chart.title, content=chart.png, alt_text=chart.alt_text,
                                    thread_ts=payload["thread_ts"], look_for_duplicate=row.attempts > 1)
    log.info("review %s chart %s uploaded", payload["moment"], chart.name)
    return {"file_id": file_id}


def chart_filename(moment: str, name: str) -> str:
    """Unique per review and chart: a retry finds an earlier upload by this name."""
    return f"handoff-review-{moment[:10]}-{name}.png"


def review_channel(svc: Services) -> str:
    """reports.yaml's channel, else routing.yaml's managers channel."""
    return svc.config.reports.channel or svc.config.routing.manager_channel
