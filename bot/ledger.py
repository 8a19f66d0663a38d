"""The ledger: every lead's journey with its timestamps, one row per lead, from the lead_events the service
records as it works. `python -m bot export --format csv|json` writes it; the report (bot.report) and the tuning
suggestions (bot.tune) read it."""
from __future__ import annotations

import csv
import json
import queue
import sys
import threading
from datetime import UTC, datetime
from typing import Any, Iterable, Iterator, NamedTuple, TextIO

from sqlalchemy import Connection, DateTime, Integer, Select, String, case, cast, func, null, select, type_coerce

from bot.store.db import json_text
from bot.store.schema import lead_events, leads

COLUMNS = ("lead_id", "contact_id", "sdr", "owner_id", "source", "campaign", "high_intent", "score", "rules_fired",
           "action_at", "webhook_received_at", "mql_at", "alerted_at", "accepted_at", "first_touch_at", "touches",
           "decided_at", "decision", "decision_reason", "ae", "breaches", "breach_causes", "status")
CAUSES = ("human", "system", "availability")   # why a deadline was missed (bot.sla)
STREAM_BATCH = 20_000   # rows fetched at a time: a million-step ledger streams in flat memory
_DONE = object()        # the read-ahead's end of the rows
_SEPARATOR = "\x1e"   # between a lead's breaches in the folded row


class Breach(NamedTuple):
    deadline: str          # accept | first_touch | cadence
    cause: str             # system | availability | human


class Journey(NamedTuple):   # a tuple: built fast, since a report builds one per lead
    """One lead's journey, its steps folded into the moments and facts the ledger and the report use.

    Times are naive UTC, as the store keeps them: a report subtracts hundreds of thousands of them, and giving each
    a time zone costs more than the arithmetic. The export writes them with their +00:00.
    """
    lead_id: int
    contact_id: str
    sdr: str | None                      # the Slack user who accepted it, else its assignee
    owner_id: str | None                 # the HubSpot owner routing chose (a team is a set of owners)
    source: str | None
    campaign: str | None
    high_intent: bool
    score: float                         # when it became an MQL
    rules: tuple[str, ...]               # the rules that fired when it became an MQL
    action_at: datetime | None           # the prospect's action (HubSpot occurredAt)
    received_at: str | None              # the webhook reached us (ISO, as recorded: only the export shows it)
    mql_at: datetime
    alerted_at: datetime | None
    accepted_at: datetime | None
    first_touch_at: datetime | None
    touches: int
    decided_at: datetime | None
    decision: str | None                 # sql | not_yet | no_response | disqualified
    decision_reason: str | None
    ae: str | None
    missed: tuple[int, int, int]         # deadlines missed, by cause (CAUSES' order)
    breach_log: str | None               # every breach, folded (read by `breaches`)
    status: str

    @property
    def breaches(self) -> tuple[Breach, ...]:
        """The missed deadlines in time order, with their causes."""
        if not self.breach_log:
            return ()
        entries = (json.loads(entry.partition("\t")[2] or "{}") for entry in sorted(self.breach_log.split(_SEPARATOR)))
        return tuple(Breach(entry.get("deadline") or "", entry.get("cause") or "") for entry in entries)


def journeys(conn: Connection, since: datetime | None = None, until: datetime | None = None, *,
             whole: bool = True) -> Iterator[Journey]:
    """Each lead that became an MQL in [since, until), oldest first, streamed. The database folds each lead's steps
    into one row (first alert, first touch, the MQL step, the misses by cause): a million steps cross the wire as
    the leads they belong to. `whole=False` leaves out what only the export shows (accepted_at, decided_at, the AE,
    the status, the breaches one by one): the report counts without them."""
    streamed = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH)
    result = streamed.execute(_journeys_query(since, until, whole))
    for rows in _read_ahead(result.partitions()):
        for row in rows:
            yield fold(row)


def _read_ahead(batches: Iterator[list]) -> Iterator[list]:
    """The next batch is fetched while this one is folded: the database works on it (and the driver waits for it
    without the GIL) while Python counts, instead of each waiting for the other. Only the fetching thread touches
    the result; a reader that stops early stops it before the connection is used again."""
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                ready.put(batch)
            ready.put(_DONE)
        except BaseException as error:   # handed to the reader, raised there
            ready.put(error)

    fetcher = threading.Thread(target=fetch, name="ledger-read-ahead", daemon=True)
    fetcher.start()
    try:
        while (batch := ready.get()) is not _DONE:
            if isinstance(batch, BaseException):
                raise batch
            yield batch
    finally:
        stop.set()
        while fetcher.is_alive():        # unblock a fetcher waiting to hand over a batch nobody will read
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass
        fetcher.join()


def _naive(column):
    return type_coerce(column, DateTime())   # the stored naive UTC, without UtcDateTime's per-value conversion


def _journeys_query(since: datetime | None, until: datetime | None, whole: bool) -> Select:
    event = lead_events.c
    # Each step once, with a breach's cause read from its JSON by the database (one parse per breach).
    step = (select(event.lead_id, event.kind, event.at, event.detail,
                   case((event.kind == "breach", json_text(event.detail, "cause"))).label("cause"))
            .join_from(lead_events, leads, leads.c.id == event.lead_id))
    step = _in_period(step, since, until).subquery().c
    # Breaches keep their order for the export: each is "time<TAB>detail", sorted in Python (string_agg and
    # group_concat take no ORDER BY in common); JSON escapes control characters, so the separator never occurs inside.
    logged = cast(step.at, String) + "\t" + step.detail
    folded = (select(step.lead_id,
                     func.min(case((step.kind == "alerted", _naive(step.at)))).label("alerted_at"),
                     func.min(case((step.kind == "touch", _naive(step.at)))).label("first_touch_at"),
                     func.min(case((step.kind == "mql", step.detail))).label("mql"),
                     *(func.sum(case((step.cause == cause, 1), else_=0)).label(f"missed_{cause}") for cause in CAUSES),
                     _only(whole, func.aggregate_strings(case((step.kind == "breach", logged)), _SEPARATOR))
                     .label("breach_log"))
              .group_by(step.lead_id).subquery())
    # The column order is fold()'s.
    query = (select(leads.c.id, leads.c.contact_id, func.coalesce(leads.c.accepted_by, leads.c.assignee),
                    leads.c.owner_id, leads.c.high_intent, leads.c.score, folded.c.mql,
                    _naive(leads.c.became_mql_at), folded.c.alerted_at, _only(whole, _naive(leads.c.accepted_at)),
                    folded.c.first_touch_at, leads.c.touches, _only(whole, _naive(leads.c.decided_at)),
                    leads.c.decision, leads.c.decision_reason,
                    _only(whole, func.coalesce(leads.c.ae_user, leads.c.ae_owner_id)),
                    *(type_coerce(func.coalesce(folded.c[f"missed_{cause}"], 0), Integer()) for cause in CAUSES),
                    folded.c.breach_log, _only(whole, leads.c.status))
             .join_from(leads, folded, folded.c.lead_id == leads.c.id, isouter=True))
    return _in_period(query, since, until).order_by(leads.c.id)


def _only(whole: bool, column):
    return column if whole else null()


def _in_period(query: Select, since: datetime | None, until: datetime | None) -> Select:
    if since is not None:
        query = query.where(leads.c.became_mql_at >= since)
    if until is not None:
        query = query.where(leads.c.became_mql_at < until)
    return query


def fold(row) -> Journey:
    """A lead's folded row -> its Journey (by position: a Row's attributes cost a lookup each, a million times)."""
    (lead_id, contact_id, sdr, owner_id, high_intent, score, mql_detail, mql_at, alerted_at, accepted_at,
     first_touch_at, touches, decided_at, decision, decision_reason, ae, human, system, availability, breach_log,
     status) = row
    mql = json.loads(mql_detail) if mql_detail else {}
    return Journey(lead_id, contact_id, sdr, owner_id, mql.get("source"), mql.get("campaign"), bool(high_intent),
                   mql.get("score", score), tuple(mql.get("rules", ())), _parsed(mql.get("occurred_at")),
                   mql.get("received_at"), mql_at, alerted_at, accepted_at, first_touch_at, touches,
                   decided_at, decision, decision_reason, ae, (human, system, availability), breach_log, status)


def _parsed(text: str | None) -> datetime | None:
    """An ISO time from a step's detail as naive UTC, like the store's."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def ledger_rows(conn: Connection, since: datetime | None = None, until: datetime | None = None) -> Iterator[dict]:
    """One row per lead that became an MQL in [since, until): the export's columns."""
    return (as_row(journey) for journey in journeys(conn, since, until))


def as_row(journey: Journey) -> dict[str, Any]:
    breaches = journey.breaches   # parsed from the folded log once, for the count and the causes
    return {
        "lead_id": journey.lead_id, "contact_id": journey.contact_id, "sdr": journey.sdr,
        "owner_id": journey.owner_id, "source": journey.source, "campaign": journey.campaign,
        "high_intent": journey.high_intent, "score": journey.score, "rules_fired": "; ".join(journey.rules),
        "action_at": _iso(journey.action_at), "webhook_received_at": journey.received_at,
        "mql_at": _iso(journey.mql_at), "alerted_at": _iso(journey.alerted_at),
        "accepted_at": _iso(journey.accepted_at), "first_touch_at": _iso(journey.first_touch_at),
        "touches": journey.touches, "decided_at": _iso(journey.decided_at), "decision": journey.decision,
        "decision_reason": journey.decision_reason, "ae": journey.ae, "breaches": len(breaches),
        "breach_causes": "; ".join(f"{b.deadline}: {b.cause}" for b in breaches), "status": journey.status,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat() if moment else None


def write(rows: Iterable[dict], fmt: str, out: TextIO = sys.stdout) -> int:
    """CSV with a header, or JSON Lines (one object per lead, so a large ledger streams); returns rows written."""
    count = 0
    writer = csv.DictWriter(out, fieldnames=COLUMNS) if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for row in rows:
        writer.writerow(row) if writer else out.write(json.dumps(row) + "\n")
        count += 1
    return count
