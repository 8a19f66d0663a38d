"""The SLA and conversion report for a period, from the ledger: what leadership reviews every two weeks.

`compute` is pure (journeys in, a JSON-ready dict out); `build` reads the store; `render_text` and `csv_rows` print it.
A lead belongs to the period in which it became an MQL; its later steps (accept, touches, decision) count with it.
"""
from __future__ import annotations

import calendar
from bisect import bisect_left
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Iterable, Iterator, Mapping

from sqlalchemy import Connection, func, select

from bot.backtest import score_bands
from bot.ledger import CAUSES, Journey, journeys
from bot.routing import team_of
from bot.rules import Config
from bot.store.schema import leads

SQL, NOT_YET, NO_RESPONSE, DISQUALIFIED = "sql", "not_yet", "no_response", "disqualified"
WEEK = timedelta(days=7)
# Speed to lead in the bands the seeds talk about (under 5 minutes for high intent, an hour at most).
SPEED_BANDS = (("0-5 min", 5 * 60), ("5-15 min", 15 * 60), ("15-60 min", 60 * 60), ("60+ min", math.inf))
UNKNOWN = "(unknown)"


# --- the tallies -------------------------------------------------------------------------------------

@dataclass(slots=True)
class Tally:
    """MQLs, the SQLs among them and how many were decided at all, for one group (a source, a rule, a rep)."""
    mqls: int = 0
    sqls: int = 0
    decided: int = 0

    def add(self, journey: Journey) -> None:
        self.mqls += 1
        self.sqls += journey.decision == SQL
        self.decided += journey.decision is not None

    def as_dict(self, key: str) -> dict[str, Any]:
        return {"key": key, "mqls": self.mqls, "sqls": self.sqls, "decided": self.decided,
                "rate": rate(self.sqls, self.mqls)}


@dataclass(slots=True)
class Compliance:
    """One rep's or team's leads, those that met every deadline, and the misses by cause."""
    leads: int = 0
    met: int = 0
    missed: list[int] = field(default_factory=lambda: [0] * len(CAUSES))

    def add(self, journey: Journey) -> None:
        self.leads += 1
        self.met += not any(journey.missed)
        for index, count in enumerate(journey.missed):
            self.missed[index] += count

    def as_dict(self, key: str) -> dict[str, Any]:
        return {"key": key, "leads": self.leads, "met": self.met, "compliance": rate(self.met, self.leads),
                "breaches": dict(zip(CAUSES, self.missed))}


@dataclass
class Period:
    """Everything counted over one period, in one pass over its journeys."""
    start: datetime                      # the period's start, naive UTC like the journeys' times
    overall: Tally = field(default_factory=Tally)
    by_week: dict[datetime, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_source: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_rule: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_sdr: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_point: dict[int, Tally] = field(default_factory=lambda: defaultdict(Tally))
    sla_by_rep: dict[str, Compliance] = field(default_factory=lambda: defaultdict(Compliance))
    sla_by_team: dict[str, Compliance] = field(default_factory=lambda: defaultdict(Compliance))
    speed: list[float] = field(default_factory=list)
    system_delay: list[float] = field(default_factory=list)
    human_delay: list[float] = field(default_factory=list)
    touches: list[int] = field(default_factory=list)
    dq_reasons: Counter = field(default_factory=Counter)
    dq_by_source: Counter = field(default_factory=Counter)
    dq_by_campaign: Counter = field(default_factory=Counter)
    recycled: int = 0
    renurtured: int = 0
    sql_after_recycle: int = 0

    def week_of(self, moment: datetime) -> datetime:
        """The start of the period's own week the moment falls in (weeks count from the period's start, so a review
        that begins Monday 09:00 in New York has whole weeks, not a stub of Monday's UTC morning)."""
        return self.start + WEEK * ((moment - self.start) // WEEK)

    def add(self, journey: Journey, team: str, recycled_before: Mapping[str, int]) -> None:
        sdr = journey.sdr or UNKNOWN
        self._conversion(journey, sdr)
        self._speed(journey)
        self.sla_by_rep[sdr].add(journey)
        self.sla_by_team[team].add(journey)
        self.touches.append(journey.touches)
        self._outcome(journey, recycled_before)

    def _conversion(self, journey: Journey, sdr: str) -> None:
        groups = [self.overall, self.by_week[self.week_of(journey.mql_at)],
                  self.by_source[journey.source or UNKNOWN], self.by_sdr[sdr], self.by_point[math.floor(journey.score)]]
        groups += (self.by_rule[rule] for rule in set(journey.rules))
        for tally in groups:
            tally.add(journey)

    def _speed(self, journey: Journey) -> None:
        """Action -> first touch, split at the alert: before it the system's delay, after it the rep's."""
        action = journey.action_at or journey.mql_at
        if journey.first_touch_at is None:
            return
        self.speed.append(_seconds(journey.first_touch_at - action))
        if journey.alerted_at is not None:
            self.system_delay.append(_seconds(journey.alerted_at - action))
            self.human_delay.append(_seconds(journey.first_touch_at - journey.alerted_at))

    def _outcome(self, journey: Journey, recycled_before: Mapping[str, int]) -> None:
        if journey.decision == DISQUALIFIED:
            reason = journey.decision_reason or UNKNOWN
            self.dq_reasons[reason] += 1
            self.dq_by_source[(journey.source or UNKNOWN, reason)] += 1
            self.dq_by_campaign[(journey.campaign or UNKNOWN, reason)] += 1
        self.recycled += journey.decision == NO_RESPONSE
        self.renurtured += journey.decision == NOT_YET
        earlier = recycled_before.get(journey.contact_id)
        self.sql_after_recycle += journey.decision == SQL and earlier is not None and earlier < journey.lead_id


def _seconds(span: timedelta) -> float:
    return max(0.0, span.total_seconds())   # clocks of two machines may disagree by a little: never negative


# --- the report ----------------------------------------------------------------------------------------

def build(conn: Connection, config: Config, since: datetime, until: datetime, *, sdr: str | None = None,
          team: str | None = None) -> dict[str, Any]:
    """The report for leads that became MQLs in [since, until), for everyone or one rep (Slack id) or team."""
    teams = _Teams(config)
    wanted = (journey for journey in journeys(conn, since, until, whole=False)
              if (sdr is None or journey.sdr == sdr) and (team is None or teams[journey.owner_id] == team))
    return compute(wanted, config, since, until, recycled_leads(conn, until))


class _Teams(dict):
    """Owner -> team, worked out once per owner (a report asks for every lead)."""
    def __init__(self, config: Config):
        super().__init__()
        self.routing = config.routing

    def __missing__(self, owner_id: str | None) -> str:
        team = self[owner_id] = team_of(self.routing, owner_id)
        return team


def recycled_leads(conn: Connection, until: datetime) -> dict[str, int]:
    """Contact -> its first lead recycled for no response, among leads that became MQLs before `until`."""
    query = (select(leads.c.contact_id, func.min(leads.c.id)).where(leads.c.decision == NO_RESPONSE,
                                                                      leads.c.became_mql_at < until)
             .group_by(leads.c.contact_id))
    return {contact_id: lead_id for contact_id, lead_id in conn.execute(query)}


def compute(found: Iterable[Journey], config: Config, since: datetime, until: datetime,
            recycled_before: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The report as a JSON-ready dict; every rate is None where its denominator is 0."""
    period = Period(start=since.astimezone(UTC).replace(tzinfo=None))
    recycled_before, teams = recycled_before or {}, _Teams(config)
    for journey in found:
        period.add(journey, teams[journey.owner_id], recycled_before)
    return {
        "period": {"since": since.isoformat(), "until": until.isoformat(),
                   "days": round((until - since).total_seconds() / 86400, 2)},
        "empty": period.overall.mqls == 0,
        "volume": _volume(period, config.reports.monthly_mql_target, since, until),
        "conversion": _conversion(period),
        "speed_to_lead": _speed_to_lead(period),
        "sla": {"by_rep": _ranked(period.sla_by_rep), "by_team": _ranked(period.sla_by_team)},
        "touches": {"leads": len(period.touches), "mean": _mean(period.touches),
                    "median": statistics.median(period.touches) if period.touches else None},
        "disqualified": _disqualified(period),
        "recycled": period.recycled, "renurtured": period.renurtured,
        "sql_after_recycle": period.sql_after_recycle,
    }


def _volume(period: Period, monthly_target: int | None, since: datetime, until: datetime) -> dict[str, Any]:
    target = target_for_period(monthly_target, since, until) if monthly_target else None
    weeks = [{"week": week.date().isoformat(), **_counts(period.by_week[week])} for week in sorted(period.by_week)]
    return {"mqls": period.overall.mqls, "monthly_target": monthly_target,
            "target_for_period": round(target, 1) if target is not None else None,
            "share_of_target": rate(period.overall.mqls, target), "by_week": weeks}


def _counts(tally: Tally) -> dict[str, Any]:
    return {"mqls": tally.mqls, "sqls": tally.sqls, "rate": rate(tally.sqls, tally.mqls)}


def target_for_period(monthly_target: float, since: datetime, until: datetime) -> float:
    """The monthly target prorated by the share of each calendar month the period covers."""
    total, day = 0.0, since
    while day < until:
        month_end = _first_of_next_month(day)
        covered = min(until, month_end) - day
        month_days = calendar.monthrange(day.year, day.month)[1]
        total += monthly_target * covered.total_seconds() / (month_days * 86400)
        day = month_end
    return total


def _first_of_next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def _conversion(period: Period) -> dict[str, Any]:
    return {"overall": period.overall.as_dict("all"), "by_band": _bands(period.by_point),
            "by_source": _ranked(period.by_source), "by_rule": _ranked(period.by_rule),
            "by_sdr": _ranked(period.by_sdr)}


def _bands(by_point: dict[int, Tally]) -> list[dict[str, Any]]:
    """Conversion per score band, the bands cut as the backtest cuts them (a round width, at most a dozen)."""
    rows = []
    for band in score_bands(Counter({point: tally.mqls for point, tally in by_point.items()})):
        merged = Tally()
        for point in range(band.start, band.start + band.width):
            if point in by_point:
                merged.mqls += by_point[point].mqls
                merged.sqls += by_point[point].sqls
                merged.decided += by_point[point].decided
        if merged.mqls:
            rows.append(merged.as_dict(band.words))
    return rows


def _ranked(groups: Mapping[str, Tally | Compliance]) -> list[dict[str, Any]]:
    """Largest groups first, then by name, so the same data always prints the same way."""
    order = sorted(groups.items(), key=lambda item: (-_size(item[1]), item[0]))
    return [group.as_dict(key) for key, group in order]


def _size(group: Tally | Compliance) -> int:
    return group.mqls if isinstance(group, Tally) else group.leads


def _speed_to_lead(period: Period) -> dict[str, Any]:
    speeds = sorted(period.speed)
    system, human = sorted(period.system_delay), sorted(period.human_delay)
    bands, below_low = [], 0
    for name, high in SPEED_BANDS:
        below_high = bisect_left(speeds, high)   # sorted: a band's count is where its ends fall, no pass per band
        count = below_high - below_low
        bands.append({"band": name, "leads": count, "share": rate(count, len(speeds))})
        below_low = below_high
    return {"leads": len(speeds), "p50": percentile(speeds, 50), "p95": percentile(speeds, 95),
            "system_p50": percentile(system, 50), "system_p95": percentile(system, 95),
            "human_p50": percentile(human, 50), "human_p95": percentile(human, 95), "bands": bands}


def _disqualified(period: Period) -> dict[str, Any]:
    return {"total": sum(period.dq_reasons.values()),
            "by_reason": [{"reason": reason, "count": count} for reason, count in _most(period.dq_reasons)],
            "by_source": [{"source": source, "reason": reason, "count": count}
                          for (source, reason), count in _most(period.dq_by_source)],
            "by_campaign": [{"campaign": campaign, "reason": reason, "count": count}
                            for (campaign, reason), count in _most(period.dq_by_campaign)]}


def _most(counts: Counter) -> list[tuple[Any, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


# --- small arithmetic, safe on empty periods ----------------------------------------------------------

def rate(part: float, whole: float | None) -> float | None:
    return part / whole if whole else None


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p% of the values at or below it (None for no values)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


# --- printing ----------------------------------------------------------------------------------------

def render_text(report: dict[str, Any]) -> str:
    """The report as the plain-text tables `python -m bot report` prints."""
    period = report["period"]
    head = f"Handoff report: leads that became MQLs from {_day(period['since'])} to {_day(period['until'])}"
    if report["empty"]:
        return f"{head}\n\nNo lead became an MQL in this period: nothing to report."
    return "\n\n".join([head, *(section(report) for section in _SECTIONS)])


def _day(iso: str) -> str:
    return iso[:16].replace("T", " ") + " UTC"


def _volume_text(report: dict) -> str:
    volume = report["volume"]
    lines = ["MQL volume", f"  MQLs: {volume['mqls']:,}"]
    if volume["monthly_target"]:
        lines.append(f"  Target for the period: {volume['target_for_period']:,.0f} "
                     f"({volume['monthly_target']:,} a month) -> {percent(volume['share_of_target'])} of target")
    else:
        lines.append("  No monthly target set (reports.yaml monthly_mql_target)")
    lines += [f"  week of {week['week']}: {week['mqls']:>6,} MQLs {week['sqls']:>5,} SQLs  {percent(week['rate'])}"
              for week in volume["by_week"]]
    return "\n".join(lines)


def _conversion_text(report: dict) -> str:
    conversion = report["conversion"]
    overall = conversion["overall"]
    lines = [f"MQL -> SQL conversion: {overall['sqls']:,} of {overall['mqls']:,} = {percent(overall['rate'])} "
             f"({overall['decided']:,} decided)"]
    for title, key in (("score band", "by_band"), ("source", "by_source"), ("rule that fired", "by_rule"),
                       ("SDR", "by_sdr")):
        lines += [f"  by {title}"] + [_tally_line(row) for row in conversion[key]]
    return "\n".join(lines)


def _tally_line(row: dict) -> str:
    return f"    {row['key'][:40]:<40} {row['mqls']:>7,} MQLs {row['sqls']:>6,} SQLs  {percent(row['rate']):>6}"


def _speed_text(report: dict) -> str:
    speed = report["speed_to_lead"]
    if not speed["leads"]:
        return "Speed to lead (action -> first touch)\n  No lead has a first touch yet"
    lines = [f"Speed to lead (action -> first touch), {speed['leads']:,} leads touched",
             f"  total    p50 {duration(speed['p50']):>8}  p95 {duration(speed['p95']):>8}",
             f"  system   p50 {duration(speed['system_p50']):>8}  p95 {duration(speed['system_p95']):>8}"
             "  (action -> alert in Slack)",
             f"  human    p50 {duration(speed['human_p50']):>8}  p95 {duration(speed['human_p95']):>8}"
             "  (alert -> first touch)"]
    lines += [f"  {band['band']:<10} {band['leads']:>7,}  {percent(band['share']):>6}" for band in speed["bands"]]
    return "\n".join(lines)


def _sla_text(report: dict) -> str:
    lines = ["SLA compliance (leads with no missed deadline)"]
    for title, key in (("rep", "by_rep"), ("team", "by_team")):
        lines.append(f"  by {title}")
        lines += [f"    {row['key'][:30]:<30} {row['met']:>6,} of {row['leads']:>6,}  {percent(row['compliance']):>6}"
                  f"  missed: {_causes(row['breaches'])}" for row in report["sla"][key]]
    return "\n".join(lines)


def _causes(breaches: dict) -> str:
    words = [f"{count} {cause}" for cause, count in breaches.items() if count]
    return ", ".join(words) if words else "none"


def _effort_text(report: dict) -> str:
    touches = report["touches"]
    mean = f"{touches['mean']:.1f}" if touches["mean"] is not None else "-"
    return "\n".join(["Effort and outcomes", f"  touches per lead: mean {mean}, median {touches['median']}",
                      f"  recycled (no response): {report['recycled']:,}   re-nurtured (not yet): "
                      f"{report['renurtured']:,}   SQL after an earlier recycle: {report['sql_after_recycle']:,}"])


def _dq_text(report: dict) -> str:
    dq = report["disqualified"]
    if not dq["total"]:
        return "Disqualification reasons\n  No lead was disqualified"
    lines = [f"Disqualification reasons ({dq['total']:,} leads)"]
    lines += [f"  {row['reason'][:40]:<40} {row['count']:>6,}" for row in dq["by_reason"]]
    lines += ["  by source"] + [f"    {row['source'][:24]:<24} {row['reason'][:30]:<30} {row['count']:>6,}"
                                for row in dq["by_source"]]
    lines += ["  by campaign"] + [f"    {row['campaign'][:24]:<24} {row['reason'][:30]:<30} {row['count']:>6,}"
                                  for row in dq["by_campaign"]]
    return "\n".join(lines)


_SECTIONS = (_volume_text, _conversion_text, _speed_text, _sla_text, _effort_text, _dq_text)


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def csv_rows(report: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The report flattened for a spreadsheet: one row per figure, named by its path
    ("conversion.by_source[Organic Search].rate")."""
    yield from _flat("", report)


CSV_COLUMNS = ("figure", "value")
_NAMING = ("source", "campaign", "key", "week", "band", "reason")   # what names a row of a list, in this order


def _flat(prefix: str, value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flat(f"{prefix}.{key}" if prefix else key, inner)
    elif isinstance(value, list):
        for row in value:
            name = "/".join(str(row[key]) for key in _NAMING if key in row)
            yield from _flat(f"{prefix}[{name}]", {key: inner for key, inner in row.items() if key not in _NAMING})
    else:
        yield {"figure": prefix, "value": value}
