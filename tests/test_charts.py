"""bot.charts: valid, decodable PNGs of the review's numbers, the same bytes for the same numbers."""
from __future__ import annotations

import copy

import pytest

from bot.charts import (CHART_SIZE, conversion_png, dq_png, draw_chart, report_charts, speed_png,
                        volume_png, weekly_target)
from bot.png import Canvas, encode_png
from tests.test_backtest import pixel, read_png

WEEKS = [("2026-11-02", 30), ("2026-11-09", 41), ("2026-11-16", 25)]
BANDS = [("0-5 min", 40), ("5-15 min", 12), ("15-60 min", 8), ("60+ min", 3)]
REASONS = [("No budget", 7), ("Wrong industry", 3), ("Budget $5k-$10k only", 2)]


def a_report(**changes) -> dict:
    """A report in bot.report.build's shape, with the fields the charts read."""
    report = {
        "period": {"since": "2026-11-02T14:00:00+00:00", "until": "2026-11-23T14:00:00+00:00", "days": 21.0},
        "empty": False,
        "volume": {"mqls": 96, "monthly_target": 400, "target_for_period": 276.0, "share_of_target": 0.35,
                   "by_week": [{"week": w, "mqls": n, "sqls": n // 4, "rate": (n // 4) / n} for w, n in WEEKS]},
        "conversion": {"overall": {"key": "all", "mqls": 96, "sqls": 23, "rate": 23 / 96}},
        "speed_to_lead": {"leads": 63, "bands": [{"band": b, "leads": n, "share": n / 63} for b, n in BANDS]},
        "disqualified": {"total": 12, "by_reason": [{"reason": r, "count": n} for r, n in REASONS]},
    }
    for path, value in changes.items():
        *parents, key = path.split("__")
        target = report
        for parent in parents:
            target = target[parent]
        target[key] = value
    return report


@pytest.mark.parametrize("draw", [
    lambda: volume_png(WEEKS, 92.0), lambda: volume_png(WEEKS, None), lambda: volume_png([], None),
    lambda: conversion_png([("2026-11-02", 0.2), ("2026-11-09", None), ("2026-11-16", 0.31)], 0.25),
    lambda: conversion_png([("2026-11-09", None)], None),
    lambda: speed_png(BANDS), lambda: speed_png([(band, 0) for band, _ in BANDS]),
    lambda: dq_png(REASONS), lambda: dq_png([(f"Reason {n} " + "x" * 60, n) for n in range(1, 15)]),
], ids=["volume", "volume-no-target", "volume-no-weeks", "conversion", "conversion-no-rate", "speed",
        "speed-no-leads", "dq", "dq-many-long"])
def test_each_chart_is_a_png_of_the_chart_size_that_decodes(draw) -> None:
    width, height, rows = read_png(draw())
    assert (width, height) == CHART_SIZE
    assert pixel(rows, 0, 0) == (255, 255, 255)                   # an opaque white figure
    assert len({bytes(row) for row in rows}) > 20                  # something is drawn on it


def test_the_same_numbers_give_the_same_bytes_and_other_numbers_others() -> None:
    assert volume_png(WEEKS, 92.0) == volume_png(list(WEEKS), 92.0)
    assert volume_png(WEEKS, 92.0) != volume_png(WEEKS, 93.0)
    assert dq_png(REASONS) != dq_png(REASONS[:2])


def test_the_review_has_four_charts_of_a_full_period() -> None:
    charts = report_charts(a_report())
    assert [chart.name for chart in charts] == ["mql-volume", "mql-sql-conversion", "speed-to-lead", "dq-reasons"]
    assert all(read_png(chart.png)[:2] == CHART_SIZE for chart in charts)


def test_no_charts_of_nothing() -> None:
    assert report_charts(a_report(empty=True)) == []
    no_touch = report_charts(a_report(speed_to_lead__leads=0, disqualified__by_reason=[]))
    assert [chart.name for chart in no_touch] == ["mql-volume", "mql-sql-conversion"]


@pytest.mark.parametrize("target, days, weekly", [(276.0, 21.0, 92.0), (None, 14.0, None), (10.0, 0.0, None)])
def test_the_weekly_target_is_the_period_target_spread_over_its_weeks(target, days, weekly) -> None:
    report = copy.deepcopy(a_report(volume__target_for_period=target, period__days=days))
    assert weekly_target(report) == weekly


def test_encode_png_writes_the_pixels_given_and_refuses_a_wrong_size() -> None:
    rgb = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9])
    width, height, rows = read_png(encode_png(2, 2, rgb))
    assert (width, height) == (2, 2)
    assert [pixel(rows, x, y) for y in (0, 1) for x in (0, 1)] == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (9, 9, 9)]
    with pytest.raises(ValueError, match="expected 12 bytes"):
        encode_png(2, 2, rgb[:-1])


def test_the_canvas_writes_through_the_same_encoder() -> None:
    canvas = Canvas(4, 3, (255, 255, 255))
    canvas.fill(1, 1, 3, 2, (10, 20, 30))
    _, _, rows = read_png(canvas.png())
    assert pixel(rows, 1, 1) == pixel(rows, 2, 1) == (10, 20, 30) and pixel(rows, 0, 0) == (255, 255, 255)


def test_each_chart_carries_its_numbers_in_words_within_slacks_alt_text_limit() -> None:
    charts = {chart.name: chart.alt_text for chart in report_charts(a_report())}
    assert charts["mql-volume"] == "MQLs per week (Nov 2: 30, Nov 9: 41, Nov 16: 25) against a weekly target of 92"
    assert charts["dq-reasons"].startswith("Leads disqualified per reason (No budget: 7, Wrong industry: 3")
    three_years = [{"week": f"{year}-{month:02d}-{day:02d}", "mqls": 1000, "sqls": 1, "rate": 0.001}
                   for year in (2024, 2025, 2026) for month in range(1, 13) for day in (5, 12, 19, 26)]
    volume = draw_chart(a_report(volume__by_week=three_years), "mql-volume")
    assert len(volume.alt_text) <= 1000 and volume.alt_text.endswith("…")


def test_matplotlib_loads_only_when_a_chart_is_drawn():
    import subprocess
    import sys
    script = ("import sys, bot.outbox, bot.backtest, bot.report; "
              "assert 'matplotlib' not in sys.modules, 'loaded at import'; "
              "from bot.charts import speed_png; speed_png([('0-5 min', 1)]); "
              "assert 'matplotlib' in sys.modules")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
