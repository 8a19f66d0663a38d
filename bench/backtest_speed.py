"""Backtest speed and memory against file size: contacts scored per second on one core, and peak memory.

    python -m bench.backtest_speed                    # 5k, 50k and 200k synthetic contacts, 3 runs each
    python -m bench.backtest_speed --sizes 5000,50000 --unsorted --runs 5

Files come from scripts/make_sample_data.py (same generator as samples/, other sizes) in a temp dir.
Each run is a fresh process, so peak RSS (getrusage) belongs to that run alone; the figures printed
are the median (p50) over --runs runs of contacts/s, by the wall clock and by the process's CPU time
(one core: on a shared machine the wall clock also counts the time other work held the core), and
the largest peak RSS. The config is loaded before the clock starts (about 0.2 s, once per run,
whatever the file's size). Modes:
  read   reading the export and the activity file only (no scoring): the CSV side's cost
  score  the whole backtest with the shipped config and an outcome column
  unsorted  (with --unsorted) the same on an activity file out of contact-id order: held in memory
  scorer  bot.scoring.score_contact alone as the backtest calls it (explain=False), on the first 5,000
          contacts read beforehand: the ceiling
  explained  the same with the words for a rep (evidence, summary), as the live worker scores

--instructions N: instead, the CPU instructions per contact of the whole backtest on N contacts, counted by
valgrind's cachegrind (instructions of a run minus those of loading the program and the config): unlike a
clock, the same figure on any machine and whatever else runs, so a change's effect shows however busy the
machine is. Needs valgrind (Debian package valgrind).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AS_OF = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
SIZES = (5_000, 50_000, 200_000)
RUNS = 3


def generate(directory: Path, contacts: int, unsorted: bool) -> None:
    command = [sys.executable, str(REPO / "scripts" / "make_sample_data.py"), "--contacts", str(contacts),
               "--out", str(directory)] + (["--unsorted-activities"] if unsorted else [])
    subprocess.run(command, check=True)


def measure(directory: Path, mode: str) -> dict:
    """One run in this process: contacts, wall and CPU seconds, peak RSS in MB."""
    from bot.backtest import Inputs, run_backtest
    from bot.csv_export import ActivityFeed, ContactExport
    from bot.rules import load_config
    from bot.scoring import properties_scored
    contacts, activities = directory / "contacts.csv", directory / "activities.csv"
    rules = load_config(REPO / "config").scoring
    wanted = properties_scored(rules)     # the columns the backtest reads into each Contact
    if mode in ("scorer", "explained"):   # explained: every column, as the live worker's card reads more
        export = ContactExport(contacts, wanted=wanted if mode == "scorer" else None)
        return _scorer_only(export, ActivityFeed(activities), rules, explain=mode == "explained")
    started, cpu = time.perf_counter(), time.process_time()
    if mode == "load":       # the program and the config alone: what --instructions subtracts
        return _figures(0, started, cpu)
    if mode == "read":
        count = _read_only(ContactExport(contacts, "Sales Outcome", wanted=wanted), ActivityFeed(activities))
    else:
        inputs = Inputs(contacts, rules, AS_OF, activities=activities, outcome="Sales Outcome")
        count = run_backtest(inputs).tally.scored
    return _figures(count, started, cpu)


def _figures(count: int, started: float, cpu: float) -> dict:
    return {"contacts": count, "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _read_only(export, feed) -> int:
    count = 0
    for item in export:
        if hasattr(item, "contact"):
            feed.for_contact(item.contact.id)
            count += 1
    feed.finish()
    export.close()
    return count


def _scorer_only(export, feed, rules, explain: bool) -> dict:
    from bot.backtest import contact_activities
    from bot.scoring import score_contact
    inputs = []
    for item in export:
        if hasattr(item, "contact") and len(inputs) < 5000:
            inputs.append((item.contact, contact_activities(item.contact, feed.for_contact(item.contact.id))))
    started, cpu = time.perf_counter(), time.process_time()
    for contact, activities in inputs:
        score_contact(contact, activities, rules, AS_OF, explain=explain)
    return _figures(len(inputs), started, cpu)


def run_child(directory: Path, mode: str) -> dict:
    output = subprocess.run([sys.executable, "-m", "bench.backtest_speed", "--measure", str(directory), mode],
                            cwd=REPO, check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def report(size: int, mode: str, directory: Path, runs: int) -> None:
    figures = [run_child(directory, mode) for _ in range(runs)]
    wall = statistics.median(run["contacts"] / run["seconds"] for run in figures)
    cpu = statistics.median(run["contacts"] / run["cpu_seconds"] for run in figures)
    megabytes = sum(path.stat().st_size for path in directory.glob("*.csv")) / 1e6
    print(f"{size:>8,} contacts ({megabytes:6.1f} MB of CSV)  {mode:<9} p50 {wall:>7,.0f} contacts/s wall, "
          f"{cpu:>7,.0f} per CPU second  peak RSS {max(run['peak_mb'] for run in figures):6.1f} MB", flush=True)


def instructions(contacts: int) -> None:
    """Instructions per contact of the whole backtest (score mode), by cachegrind."""
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    directory = Path(tempfile.mkdtemp(prefix="handoff-backtest-bench-"))
    try:
        generate(directory, contacts, unsorted=False)
        counted = {mode: _instructions(directory, mode) for mode in ("load", "score")}
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"{contacts:>8,} contacts  score  {(counted['score'] - counted['load']) / contacts:,.0f} instructions "
          f"per contact (cachegrind)")


def _instructions(directory: Path, mode: str) -> int:
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
               sys.executable, "-m", "bench.backtest_speed", "--measure", str(directory), mode]
    report = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stderr
    return int(next(line for line in report.splitlines() if "I   refs:" in line).split()[-1].replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description="Backtest contacts/s and peak memory against file size.")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--unsorted", action="store_true", help="also time an activity file out of id order")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"fresh processes per figure (default {RUNS})")
    parser.add_argument("--instructions", type=int, metavar="N",
                        help="count CPU instructions per contact on N contacts instead (valgrind)")
    parser.add_argument("--measure", nargs=2, metavar=("DIR", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), args.measure[1])))
        return
    if args.instructions:
        instructions(args.instructions)
        return
    workdir = Path(tempfile.mkdtemp(prefix="handoff-backtest-bench-"))
    try:
        sizes = [int(size) for size in args.sizes.split(",")]
        for size in sizes:
            _bench_size(workdir, size, args.unsorted, sizes, args.runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _bench_size(workdir: Path, size: int, unsorted: bool, sizes: list[int], runs: int) -> None:
    directory = workdir / str(size)
    generate(directory, size, unsorted=False)
    for mode in ("read", "score") + (("scorer", "explained") if size == min(sizes) else ()):
        report(size, mode, directory, runs)
    if unsorted:
        generate(directory, size, unsorted=True)
        report(size, "unsorted", directory, runs)
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
