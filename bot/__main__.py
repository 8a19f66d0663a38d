"""The CLI: python -m bot run | web | worker | migrate | check-config [DIR] | setup-hubspot | explain | backtest |
export | tune | demo."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from bot.demo import add_arguments as add_demo_arguments
from bot.logs import setup_logging
from bot.rules import ConfigError, check_config, load_config
from bot.scoring import watched_properties
from bot.sla import TOUCH_PROPERTIES
from bot.settings import Settings, SettingsError
from bot.store.db import SchemaBehind, make_engine, migrate, reading, require_current_schema

log = logging.getLogger("handoff")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "backtest":   # needs no database or secrets: a file and the config
        from bot.backtest import main as backtest
        return backtest(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "demo":       # needs no database, account or secrets: it brings its own fakes
        from bot.demo import run as demo
        return demo(args)
    if args.command == "check-config":
        return cmd_check_config(args.directory)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"handoff: {error}", file=sys.stderr)
        return 2
    setup_logging(settings.secrets())
    try:
        if args.command == "explain":
            return cmd_explain(settings, args.contact_id)
        if args.command == "export":
            return cmd_export(settings, args.format, args.since, args.until)
        if args.command == "tune":
            return cmd_tune(settings, args.format, args.since, args.until)
        if args.command == "report":
            return cmd_report(settings, args)
        return COMMANDS[args.command](settings)
    except (ConfigError, SchemaBehind) as error:
        print(f"handoff: refusing to start:\n{error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Handoff: MQL to SDR, in seconds.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="web + worker + scheduler in one process (SQLite by default)")
    sub.add_parser("web", help="the web app under gunicorn on $PORT")
    sub.add_parser("worker", help="the worker and the scheduled jobs")
    sub.add_parser("migrate", help="apply pending database migrations")
    check = sub.add_parser("check-config", help="validate the config files")
    check.add_argument("directory", nargs="?", default=None)
    sub.add_parser("setup-hubspot", help="create Handoff's property group and contact properties")
    sub.add_parser("backtest", add_help=False,
                   help="score a HubSpot contacts export with the config (python -m bot backtest --help)")
    export = sub.add_parser("export", help="the ledger of every lead's journey, as CSV or JSON Lines")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--since", type=_day, default=None, help="leads that became MQLs from this date (YYYY-MM-DD)")
    export.add_argument("--until", type=_day, default=None, help="... up to this date, exclusive")
    report = sub.add_parser("report", help="the SLA and conversion report for a period")
    report.add_argument("--since", type=_day, default=None,
                        help="leads that became MQLs from this date (default: one review period before --until)")
    report.add_argument("--until", type=_day, default=None, help="... up to this date, exclusive (default: now)")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table")
    report.add_argument("--sdr", default=None, help="one rep's leads (their Slack user id)")
    report.add_argument("--team", default=None, help="one team's leads (a territory name, or \"SDR pool\")")
    tune = sub.add_parser("tune", help="what marketing should change in scoring.yaml, from the SDRs' decisions")
    tune.add_argument("--format", choices=("table", "json"), default="table")
    tune.add_argument("--since", type=_day, default=None, help="leads that became MQLs from this date "
                                                               "(default: 90 days before --until)")
    tune.add_argument("--until", type=_day, default=None, help="... up to this date, exclusive (default: now)")
    demo = sub.add_parser("demo", help="the whole flow on bundled sample data with no HubSpot or Slack account "
                                       "(fake HubSpot and Slack on 127.0.0.1, a throwaway database)")
    add_demo_arguments(demo)
    explain = sub.add_parser("explain", help="a contact's score history with the reasons for each score")
    explain.add_argument("contact_id")
    return parser


def cmd_check_config(directory: str | None) -> int:
    directory = directory or os.environ.get("BOT_CONFIG_DIR") or "config"
    problems = check_config(directory)
    for problem in problems:
        print(problem)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        return 1
    print(f"{directory}: config OK" + (f" ({len(problems)} warning(s))" if problems else ""))
    print("HubSpot webhook subscriptions this config needs (contact.propertyChange):")
    for name in subscribed_properties(load_config(directory)):
        print(f"  {name}")
    return 0


def subscribed_properties(config) -> list[str]:
    """One contact.propertyChange subscription each: what the scorer reads, and the reps' touches."""
    return sorted(set(watched_properties(config.scoring)) | set(TOUCH_PROPERTIES))


def cmd_migrate(settings: Settings) -> int:
    migrate(make_engine(settings.database_url))
    log.info("database migrated")
    return 0


def cmd_run(settings: Settings) -> int:
    """Everything in one process: migrate, then worker + scheduler threads, then the web server."""
    from werkzeug.serving import make_server
    from bot.app import create_app
    engine = make_engine(settings.database_url)
    migrate(engine)
    svc = _services(settings, engine)
    stop = _start_background(svc)
    server = make_server("0.0.0.0", settings.port, create_app(svc), threaded=True)
    _on_sigterm(lambda: (stop.set(), threading.Thread(target=server.shutdown).start()))
    log.info("handoff listening on port %d", settings.port)
    server.serve_forever()
    return 0


def cmd_worker(settings: Settings) -> int:
    from bot.runner import work_loop
    engine = make_engine(settings.database_url)
    require_current_schema(engine)
    svc = _services(settings, engine)
    stop = threading.Event()
    _on_sigterm(stop.set)
    scheduler = _start_scheduler(svc)
    work_loop(svc, stop)
    scheduler.shutdown(wait=False)
    return 0


def cmd_web(settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    require_current_schema(engine)
    _services(settings, engine)   # a broken config refuses to start here, with file and key
    from gunicorn.app.wsgiapp import run
    sys.argv = ["gunicorn", "bot.app:create_app()", "--bind", f"0.0.0.0:{settings.port}",
                "--workers", os.environ.get("WEB_CONCURRENCY", "2"), "--threads", "4",
                "--access-logfile", "-"]
    run()
    return 0


def cmd_setup_hubspot(settings: Settings) -> int:
    from integrations.errors import IntegrationError
    from integrations.hubspot.crm import HubSpotCrm
    if not settings.hubspot_access_token:
        print("handoff: HUBSPOT_ACCESS_TOKEN is not set", file=sys.stderr)
        return 2
    crm = HubSpotCrm(settings.hubspot_access_token, base_url=settings.hubspot_api_base_url)
    try:
        created = crm.ensure_properties()
    except IntegrationError as error:
        print(f"handoff: setup-hubspot failed: {error}", file=sys.stderr)
        return 1
    print("created: " + ", ".join(created) if created else "all Handoff properties already exist")
    return 0


def cmd_export(settings: Settings, fmt: str, since, until) -> int:
    from bot.ledger import ledger_rows, write
    engine = make_engine(settings.database_url)
    require_current_schema(engine)
    with reading(engine) as conn:
        written = write(ledger_rows(conn, since, until), fmt)
    log.info("ledger exported: %d leads", written)
    return 0


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    import csv
    import json
    from datetime import datetime, timedelta, timezone

    from bot import report
    from bot.rules import load_config
    config = load_config(settings.config_dir)
    until = args.until or datetime.now(timezone.utc)
    since = args.since or until - timedelta(days=config.reports.review.every_days)
    if since >= until:
        print(f"handoff: --since ({since:%Y-%m-%d}) must be before --until ({until:%Y-%m-%d})", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    require_current_schema(engine)
    with reading(engine) as conn:
        found = report.build(conn, config, since, until, sdr=args.sdr, team=args.team)
    if args.format == "json":
        print(json.dumps(found, indent=2))
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=report.CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(report.csv_rows(found))
    else:
        print(report.render_text(found))
    return 0


def cmd_tune(settings: Settings, fmt: str, since, until) -> int:
    """Rule lifts, the threshold sweep and suggested edits for a period; nothing is applied."""
    import json
    from datetime import datetime, timedelta, timezone
    from bot.ledger import ledger_rows
    from bot.tune import analyse, render_text, to_json
    until = until or datetime.now(timezone.utc)
    since = since or until - timedelta(days=90)
    scoring = load_config(settings.config_dir).scoring
    engine = make_engine(settings.database_url)
    require_current_schema(engine)
    with reading(engine) as conn:
        tuning = analyse(ledger_rows(conn, since, until), scoring)
    if fmt == "json":
        print(json.dumps(to_json(tuning) | {"since": since.isoformat(), "until": until.isoformat()}))
    else:
        print(render_text(tuning, f"MQLs from {since:%Y-%m-%d} up to {until:%Y-%m-%d %H:%M} UTC"), end="")
    log.info("tune: %d MQLs, %d suggestions", tuning.mqls, len(tuning.suggestions))
    return 0


def _day(text: str):
    from datetime import datetime, timezone
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-01, got {text!r}") from None


def cmd_explain(settings: Settings, contact_id: str) -> int:
    from bot.explain import explain
    engine = make_engine(settings.database_url)
    require_current_schema(engine)
    return explain(engine, contact_id)


def _services(settings: Settings, engine):
    from bot.services import Services
    return Services.build(settings, engine)


def _start_scheduler(svc):
    from bot.scheduler import start_scheduler
    return start_scheduler(svc)


def _start_background(svc) -> threading.Event:
    from bot.runner import work_loop
    stop = threading.Event()
    threading.Thread(target=work_loop, args=(svc, stop), name="worker", daemon=True).start()
    _start_scheduler(svc)
    return stop


def _on_sigterm(handler) -> None:
    signal.signal(signal.SIGTERM, lambda *_: handler())
    signal.signal(signal.SIGINT, lambda *_: handler())


COMMANDS = {"run": cmd_run, "web": cmd_web, "worker": cmd_worker, "migrate": cmd_migrate,
            "setup-hubspot": cmd_setup_hubspot}

if __name__ == "__main__":
    sys.exit(main())
