"""PURE: charts as PNG bytes, numbers in, written by bot.png's writer (the one for every picture Handoff draws).

The review's charts are drawn with matplotlib's Agg renderer (real fonts, so a leadership team can read the
axis labels and values) into memory, and written out by the same encoder as the backtest's histogram: no
timestamps or software tags in the file, so the same numbers always give the same bytes.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from bot.png import encode_png
from bot.slack_blocks import truncate

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# --- the review's charts (matplotlib's Agg renderer, no pyplot: no global figure state, no GUI backend) ---

CHART_SIZE = (1000, 500)            # pixels: sharp in a Slack preview, readable when opened
_DPI = 100
_BAR, _TARGET, _LINE, _DQ = "#4e79a7", "#e15759", "#f28e2b", "#9c755f"
TOP_DQ_REASONS = 10
LABEL_LIMIT = 40                    # a reason longer than this is clipped on the axis
ALT_TEXT_LIMIT = 1000               # Slack's alt_txt holds up to 1000 characters
# matplotlib keeps font caches and text layout state per process; the outbox renders from several threads.
_RENDERING = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """One picture of the review: `name` is its file name stem, `title` what Slack shows above it."""
    name: str
    title: str
    png: bytes
    alt_text: str = ""              # the numbers in words, for screen readers (files.getUploadURLExternal alt_txt)


def volume_png(weeks: Sequence[tuple[str, int]], weekly_target: float | None) -> bytes:
    """MQLs per week (week = its Monday, ISO date) as bars, with the weekly target as a dashed line."""
    def draw(axes: Axes) -> None:
        labels = [_week_label(week) for week, _ in weeks]
        bars = axes.bar(labels, [count for _, count in weeks], color=_BAR, label="MQLs")
        axes.bar_label(bars, padding=3)
        if weekly_target:
            axes.axhline(weekly_target, color=_TARGET, linestyle="--", linewidth=2,
                         label=f"Weekly target ({weekly_target:.0f})")
        axes.legend(loc="upper left")
        _frame(axes, "MQL volume vs target", "Week starting", "MQLs", len(weeks))
        _whole_number_ticks(axes.yaxis)
    return _render(draw)


def conversion_png(weeks: Sequence[tuple[str, float | None]], overall: float | None) -> bytes:
    """MQL→SQL rate per week as a line (a week without MQLs is a gap), with the period's overall rate."""
    def draw(axes: Axes) -> None:
        known = [(x, rate * 100) for x, (_, rate) in enumerate(weeks) if rate is not None]
        # Weeks without MQLs have no rate: the line joins the weeks that have one, and every week is on the axis.
        axes.plot([x for x, _ in known], [p for _, p in known], color=_LINE, marker="o", linewidth=2,
                  label="MQL → SQL")
        for x, percent in known:
            axes.annotate(f"{percent:.0f}%", (x, percent), textcoords="offset points", xytext=(0, 8), ha="center")
        if overall is not None:
            axes.axhline(overall * 100, color=_BAR, linestyle="--", label=f"Period overall ({overall:.0%})")
        axes.set_xticks(range(len(weeks)), [_week_label(week) for week, _ in weeks])
        axes.set_ylim(0, max([100 * (overall or 0), *(p for _, p in known), 10]) * 1.2)
        axes.legend(loc="upper left")
        _frame(axes, "MQL → SQL conversion by week", "Week starting", "Became SQL (% of MQLs)", len(weeks))
    return _render(draw)


def speed_png(bands: Sequence[tuple[str, int]]) -> bytes:
    """Leads per speed-to-lead band (action → first touch), each bar labelled with its count and share."""
    total = sum(count for _, count in bands)

    def draw(axes: Axes) -> None:
        bars = axes.bar([band for band, _ in bands], [count for _, count in bands], color=_BAR)
        axes.bar_label(bars, labels=[f"{count} ({count / total:.0%})" if total else "0" for _, count in bands],
                       padding=3)
        _frame(axes, "Speed to lead: prospect's action → first touch", "Time to first touch", "Leads", len(bands))
        _whole_number_ticks(axes.yaxis)
    return _render(draw)


def dq_png(reasons: Sequence[tuple[str, int]]) -> bytes:
    """Disqualifications per reason as horizontal bars, the most frequent on top (the first TOP_DQ_REASONS)."""
    shown = sorted(reasons, key=lambda item: -item[1])[:TOP_DQ_REASONS]

    def draw(axes: Axes) -> None:
        labels = [_plain_label(reason) for reason, _ in reversed(shown)]
        bars = axes.barh(labels, [count for _, count in reversed(shown)], color=_DQ)
        axes.bar_label(bars, padding=3)
        _frame(axes, "Disqualification reasons", "Leads disqualified", "", 0)
        _whole_number_ticks(axes.xaxis)
    return _render(draw)


def report_charts(report: Mapping[str, Any]) -> list[Chart]:
    """The review's pictures of a report (bot.report.build's dict); none of a period without MQLs."""
    return [draw_chart(report, name) for name in chart_names(report)]


def chart_names(report: Mapping[str, Any]) -> list[str]:
    """Which charts the report has something to show in: no chart of nothing."""
    if report.get("empty"):
        return []
    shown = {"mql-volume": True, "mql-sql-conversion": True,
             "speed-to-lead": bool(report["speed_to_lead"]["leads"]),
             "dq-reasons": bool(report["disqualified"]["by_reason"])}
    return [name for name in _DRAWERS if shown[name]]


def draw_chart(report: Mapping[str, Any], name: str) -> Chart:
    """One of the review's charts (a name from chart_names) of the report, with its alt text."""
    title, draw, describe = _DRAWERS[name]
    return Chart(name, title, draw(report), truncate(describe(report), ALT_TEXT_LIMIT))


def _volume_of(report: Mapping[str, Any]) -> bytes:
    return volume_png([(w["week"], w["mqls"]) for w in report["volume"]["by_week"]], weekly_target(report))


def _volume_words(report: Mapping[str, Any]) -> str:
    target = weekly_target(report)
    weeks = ", ".join(f"{_week_label(w['week'])}: {w['mqls']}" for w in report["volume"]["by_week"])
    return f"MQLs per week ({weeks})" + (f" against a weekly target of {target:.0f}" if target else "")


def _conversion_of(report: Mapping[str, Any]) -> bytes:
    return conversion_png([(w["week"], w["rate"]) for w in report["volume"]["by_week"]],
                          report["conversion"]["overall"]["rate"])


def _conversion_words(report: Mapping[str, Any]) -> str:
    weeks = ", ".join(f"{_week_label(w['week'])}: {_share(w['rate'])}" for w in report["volume"]["by_week"])
    return f"MQL to SQL rate per week ({weeks}); period overall {_share(report['conversion']['overall']['rate'])}"


def _speed_of(report: Mapping[str, Any]) -> bytes:
    return speed_png([(band["band"], band["leads"]) for band in report["speed_to_lead"]["bands"]])


def _speed_words(report: Mapping[str, Any]) -> str:
    bands = ", ".join(f"{band['band']}: {band['leads']}" for band in report["speed_to_lead"]["bands"])
    return f"Leads by time from the prospect's action to the first touch ({bands})"


def _dq_of(report: Mapping[str, Any]) -> bytes:
    return dq_png([(item["reason"], item["count"]) for item in report["disqualified"]["by_reason"]])


def _dq_words(report: Mapping[str, Any]) -> str:
    reasons = ", ".join(f"{item['reason']}: {item['count']}"
                        for item in report["disqualified"]["by_reason"][:TOP_DQ_REASONS])
    return f"Leads disqualified per reason ({reasons})"


_DRAWERS: dict[str, tuple[str, Callable[[Mapping[str, Any]], bytes], Callable[[Mapping[str, Any]], str]]] = {
    "mql-volume": ("MQL volume vs target", _volume_of, _volume_words),
    "mql-sql-conversion": ("MQL → SQL conversion by week", _conversion_of, _conversion_words),
    "speed-to-lead": ("Speed to lead", _speed_of, _speed_words),
    "dq-reasons": ("Disqualification reasons", _dq_of, _dq_words),
}


def _share(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def weekly_target(report: Mapping[str, Any]) -> float | None:
    """The period's prorated MQL target as a weekly figure (None without a target)."""
    target, days = report["volume"].get("target_for_period"), report["period"]["days"]
    return target * 7 / days if target is not None and days else None


def _render(draw: Callable[[Axes], None]) -> bytes:
    # matplotlib loads here, when a chart is drawn (once a review), not in every process importing the outbox.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    with _RENDERING:
        figure = Figure(figsize=(CHART_SIZE[0] / _DPI, CHART_SIZE[1] / _DPI), dpi=_DPI, facecolor="white",
                        layout="constrained")
        canvas = FigureCanvasAgg(figure)
        draw(figure.add_subplot())
        canvas.draw()
        width, height = canvas.get_width_height()
        rgba = bytes(canvas.buffer_rgba())
    return encode_png(width, height, _rgb_of(rgba))


def _whole_number_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator   # loaded by _render already: a lookup, not an import
    axis.set_major_locator(MaxNLocator(integer=True))


def _rgb_of(rgba: bytes) -> bytes:
    """Drop the alpha channel (the figure is opaque white): 8-bit RGB is all the PNG writer takes."""
    rgb = bytearray(len(rgba) // 4 * 3)
    for channel in range(3):
        rgb[channel::3] = rgba[channel::4]
    return bytes(rgb)


def _frame(axes: Axes, title: str, x_label: str, y_label: str, categories: int) -> None:
    """Title, axis labels, no box; many category labels along x are slanted so they do not overlap."""
    axes.set_title(title, fontsize=15, loc="left")
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.spines[["top", "right"]].set_visible(False)
    axes.margins(y=0.15)
    if categories > 8:
        axes.tick_params(axis="x", labelrotation=30)


def _week_label(week: str) -> str:
    """"2026-11-16" -> "Nov 16"; anything else as given."""
    try:
        return date.fromisoformat(week).strftime("%b %d").replace(" 0", " ")
    except ValueError:
        return _plain_label(week)


def _plain_label(text: str) -> str:
    # matplotlib reads "$…$" as math: a reason such as "Budget under $5k" must show as written.
    return truncate(text, LABEL_LIMIT).replace("$", r"\$")
