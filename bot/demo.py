"""`python -m bot demo`: the whole flow on the bundled sample data, with no HubSpot or Slack account.

It runs the real service in this process (the web app on a loopback port, the worker, the outbox and the
scheduler: the code `python -m bot run` runs) against the project's fake HubSpot and fake Slack, which answer
in the vendors' documented shapes (tests/fakes). Everything reaches Handoff over real HTTP as the vendors would
send it: signed v3 HubSpot webhooks, and signed Slack interactivity requests on /slack/events.

The fakes live in tests/fakes (they ship with the repository). They and the service's modules are imported inside
the functions that use them: `python -m bot` imports this module for its options on every command.

Time: the sample export was taken at SAMPLE_AS_OF; its dates are moved so that moment is the demo's start.
Waiting out an SLA is the one place the demo does not wait: Handoff's clock (Services.clock, the clock every
deadline is read from) is moved forward instead, as the tests drive time, and the story says so.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlencode

import requests
from sqlalchemy import func, select

from bot.timefmt import duration_words

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
SAMPLE_AS_OF = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)   # docs/backtest.md: when it was exported
HUBSPOT_SECRET = "demo-hubspot-client-secret"     # made up here: the fakes accept them, nothing real is read
SLACK_SECRET = "demo-slack-signing-secret"
HUBSPOT_TOKEN = "pat-na1-demo"
SLACK_TOKEN = "xoxb-demo"
SETTLE_SECONDS = 30.0          # the most the demo waits for Handoff to finish a step before it says so
LEAST_LEADS = 3                # the story needs one lead to qualify, one to disqualify and one nobody accepts


@dataclass(frozen=True)
class Person:
    owner_id: str      # HubSpot owner id
    slack_id: str
    first: str
    last: str

    @property
    def email(self) -> str:
        return f"{self.first.lower()}@handoff-demo.example"

    @property
    def handle(self) -> str:
        return "@" + self.first.lower()


SDRS = (Person("201", "U0RILEY", "Riley", "Park"), Person("202", "U0SASHA", "Sasha", "Novak"),
        Person("203", "U0JORDAN", "Jordan", "Okafor"))
AE = Person("401", "U0AVERY", "Avery", "Stone")
MANAGER = Person("501", "U0MORGAN", "Morgan", "Lee")
# Channel ids, as Slack shows them under a channel's details (names would be looked up first), with their names.
CHANNELS = {"leads": "C0LEADS", "managers": "C0MANAGERS", "fallback": "C0UNASSIGNED", "ops": "C0MKTOPS"}
CHANNEL_NAMES = {"C0LEADS": "#leads", "C0MANAGERS": "#sales-managers", "C0UNASSIGNED": "#leads-unassigned",
                 "C0MKTOPS": "#marketing-ops"}

DEMO_ROUTING = f"""\
# The demo's routing: the fake HubSpot's owners and the fake Slack's users (python -m bot demo).
sdr_pool: [{", ".join(f'"{p.owner_id}"' for p in SDRS)}]
ae_pool: ["{AE.owner_id}"]
managers: ["{MANAGER.slack_id}"]
slack_users: {{"{AE.owner_id}": "{AE.slack_id}"}}   # the AE's DM needs their Slack user before their first SQL
channels: {json.dumps(CHANNELS)}
disqualify_reasons: ["No budget", "Wrong industry", "Contact left", "Competitor", "Student or job seeker",
                     "Duplicate", "Other"]
qualification:
  sql_requires: [budget, authority, need, timeline]
"""


# --- the parts: options, clock, narrator -----------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return parser.parse_args(argv)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--contacts", type=_at_least(LEAST_LEADS), default=20, metavar="N",
                        help="how many sample contacts HubSpot sends (default 20, at least 3)")
    parser.add_argument("--fast", action="store_true", help="no pauses between the steps")
    parser.add_argument("--quiet", action="store_true", help="the story's headlines only, no Slack cards")
    parser.add_argument("--keep", metavar="DIR", default=None,
                        help="keep the database, config and service log in DIR (default: a temp dir, removed)")


def _at_least(least: int) -> Callable[[str], int]:
    def number(text: str) -> int:
        if not text.isdigit() or int(text) < least:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {least}, got {text!r}")
        return int(text)
    return number


class DemoClock:
    """Handoff's clock: the real time, plus however far the demo has jumped ahead to show an SLA run out."""

    def __init__(self) -> None:
        self.ahead = timedelta()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(timezone.utc) + self.ahead

    def jump(self, delta: timedelta) -> None:
        with self._lock:
            self.ahead += delta


class Narrator:
    """The terminal side of the story: numbered steps with the time since the start, details unless --quiet."""

    def __init__(self, fast: bool, quiet: bool, out=sys.stdout) -> None:
        self.fast, self.quiet, self.out = fast, quiet, out
        self.started = time.monotonic()
        self.steps = 0

    def step(self, title: str) -> None:
        self.steps += 1
        self._print(f"\n[{time.monotonic() - self.started:6.1f} s] {self.steps}. {title}")

    def say(self, text: str) -> None:
        """A story line: always shown."""
        self._print(text)

    def detail(self, text: str) -> None:
        """What the step looked like (cards, write-backs): hidden by --quiet."""
        if not self.quiet:
            self._print(text)

    def pause(self, seconds: float = 1.5) -> None:
        """Time to read, unless --fast or --quiet."""
        if not (self.fast or self.quiet):
            time.sleep(seconds)

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


# --- the sample data ---------------------------------------------------------------------------------

@dataclass
class SampleContact:
    contact: object                      # bot.models.Contact, as the export row reads
    activities: list = field(default_factory=list)   # bot.models.Activity from samples/activities.csv


def pick_contacts(how_many: int, config) -> list[SampleContact]:
    """A batch of the sample's contacts with about a third that Handoff should call MQLs (at least three), so
    the story has leads to work; the rest are the cold contacts every real batch is mostly made of."""
    from bot.backtest import contact_activities
    from bot.csv_export import ActivityFile, ContactExport, Skipped
    from bot.lifecycle import STAGES_WITH_SALES
    from bot.scoring import verdict_for
    warm_wanted = max(LEAST_LEADS, how_many // 3)
    cold_wanted = how_many - warm_wanted
    by_contact: dict[str, list] = {}
    activity_file = ActivityFile(SAMPLES / "activities.csv")
    for row in activity_file:
        if not isinstance(row, Skipped):
            by_contact.setdefault(row.contact_id, []).append(row.activity)
    activity_file.close()
    warm, cold = [], []
    export = ContactExport(SAMPLES / "contacts.csv")
    for row in export:
        if isinstance(row, Skipped):
            continue
        if (row.contact.get("lifecyclestage") or "") in STAGES_WITH_SALES:
            continue    # already Sales' (the export is of today): Handoff rightly leaves those alone
        activities = by_contact.get(row.contact.id, [])
        is_mql = verdict_for(row.contact, contact_activities(row.contact, activities), config.scoring,
                             SAMPLE_AS_OF).is_mql
        chosen = warm if is_mql else cold
        wanted = warm_wanted if is_mql else cold_wanted
        if len(chosen) < wanted:
            chosen.append(SampleContact(row.contact, activities))
        if len(warm) >= warm_wanted and len(cold) >= cold_wanted:
            break
    export.close()
    return _interleave(warm, cold)


def _interleave(warm: list, cold: list) -> list:
    """Warm and cold mixed, as a real batch would be."""
    mixed = []
    for index in range(max(len(warm), len(cold))):
        mixed += warm[index:index + 1] + cold[index:index + 1]
    return mixed


def moved(value: str, shift: timedelta) -> str:
    """A sample date moved by `shift` (the export's moment becomes the demo's now); other values as they are."""
    from bot.models import parse_hubspot_time, to_utc_iso
    moment = parse_hubspot_time(value)
    return to_utc_iso(moment + shift) if moment else value


def hubspot_records(sample: SampleContact, shift: timedelta) -> tuple[str, dict, dict]:
    """(company id, company properties, contact properties) as the fake HubSpot should hold them."""
    from bot.csv_export import is_datetime_property
    contact = sample.contact
    company_id = f"9{contact.id}"
    props = {name: moved(value, shift) if is_datetime_property(name) else value
             for name, value in contact.properties.items() if name != "hs_object_id"}
    props["associatedcompanyid"] = company_id
    company = dict(contact.company.properties) if contact.company else {"name": props.get("company", "")}
    for name in ("numemployees", "industry", "country"):
        if props.get(name):
            company.setdefault(name, props[name])
    return company_id, company, props


def workflow_bodies(sample: SampleContact, shift: timedelta) -> list[dict]:
    """The sample's activities as a HubSpot workflow's "Send a webhook" would send them (README, step 6)."""
    from bot.models import to_utc_iso
    return [{"objectId": sample.contact.id, "eventId": f"demo-{sample.contact.id}-{index}",
             "activity": {"kind": activity.kind, "occurredAt": to_utc_iso(activity.occurred_at + shift),
                          "label": activity.label, "count": activity.count}}
            for index, activity in enumerate(sample.activities)]


# --- the world: fakes, database, config, the service ------------------------------------------------

@dataclass
class World:
    base_url: str
    hubspot: object          # tests.fakes.fake_hubspot.FakeHubSpot
    slack: object            # tests.fakes.fake_slack.FakeSlack
    svc: object              # bot.services.Services
    clock: DemoClock
    workdir: Path
    started_at: datetime


def clear_vendor_environment(environ=os.environ) -> list[str]:
    """The demo never reads real tokens: HUBSPOT_* and SLACK_* are removed from this process's environment."""
    names = [name for name in environ if name.startswith(("HUBSPOT_", "SLACK_"))]
    for name in names:
        del environ[name]
    return names


DEMO_CONFIG = "handoff-demo-config"   # never "config": --keep may name a directory that has a real one
DEMO_MARK = ".written-by-handoff-demo"


def write_demo_config(directory: Path) -> Path:
    """The shipped config, with a routing.yaml naming the fakes' owners, users and channels."""
    shutil.copytree(REPO / "config", directory)
    (directory / "routing.yaml").write_text(DEMO_ROUTING)
    (directory / DEMO_MARK).write_text("python -m bot demo wrote this directory and rewrites it on each run\n")
    return directory


def add_people(hubspot, slack) -> None:
    for person in (*SDRS, AE, MANAGER):
        hubspot.add_owner(person.owner_id, person.email, person.first, person.last)
        slack.add_user(person.slack_id, person.email, person.first.lower())


@contextmanager
def demo_world(keep: str | None) -> Iterator[World]:
    """Everything the demo runs, started in order and stopped in reverse on any exit (Ctrl-C included)."""
    from tests.fakes.fake_hubspot import FakeHubSpot
    from tests.fakes.fake_slack import FakeSlack
    with ExitStack() as stack:
        workdir = _workdir(stack, keep)
        hubspot = stack.enter_context(FakeHubSpot())
        slack = stack.enter_context(FakeSlack())
        add_people(hubspot, slack)
        clock = DemoClock()
        svc = _service(stack, workdir, hubspot, slack, clock)
        base_url = _serve(stack, svc)
        _run_background(stack, svc)
        yield World(base_url, hubspot, slack, svc, clock, workdir, clock())


def _workdir(stack: ExitStack, keep: str | None) -> Path:
    if keep:
        workdir = Path(keep).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        earlier = workdir / DEMO_CONFIG
        if earlier.exists():
            if not (earlier / DEMO_MARK).exists():
                raise SystemExit(f"handoff demo: {earlier} exists and the demo did not write it; pick another --keep")
            shutil.rmtree(earlier)   # the demo's own copy from an earlier run, written afresh
        return workdir
    workdir = Path(tempfile.mkdtemp(prefix="handoff-demo-"))
    stack.callback(shutil.rmtree, workdir, ignore_errors=True)
    return workdir


def _service(stack: ExitStack, workdir: Path, hubspot, slack, clock: DemoClock):
    from bot.services import Services
    from bot.settings import Settings
    from bot.store.db import make_engine, migrate
    config_dir = write_demo_config(workdir / DEMO_CONFIG)
    database = workdir / "handoff-demo.sqlite3"
    database.unlink(missing_ok=True)      # a kept directory's earlier run would mix into this story
    settings = Settings(
        database_url=f"sqlite:///{database}", config_dir=str(config_dir),
        hubspot_access_token=HUBSPOT_TOKEN, hubspot_client_secret=HUBSPOT_SECRET,
        hubspot_api_base_url=hubspot.base_url, slack_bot_token=SLACK_TOKEN, slack_signing_secret=SLACK_SECRET,
        slack_api_base_url=slack.base_url, worker_poll_seconds=0.05, sweep_interval_seconds=0.5,
        hubspot_calls_per_10s=190)
    stack.callback(_log_to_file(workdir / "service.log", settings.secrets()).close)
    engine = make_engine(settings.database_url)
    stack.callback(engine.dispose)
    migrate(engine)
    svc = Services.build(settings, engine)
    svc.clock = clock
    return svc


def _log_to_file(path: Path, secrets: list[str]):
    """The service's log lines go to a file (the terminal is for the story), secrets redacted as always.
    Returns the file, for the caller to close once the service has stopped."""
    import logging
    from bot.logs import setup_logging
    setup_logging(secrets)
    stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by the caller's exit stack
    logging.getLogger().handlers[0].setStream(stream)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return stream


def _serve(stack: ExitStack, svc) -> str:
    from bot.app import create_app
    from tests.fakes.loopback import LoopbackServer
    server = stack.enter_context(LoopbackServer(create_app(svc), thread_name="handoff-web"))
    return server.base_url


def _run_background(stack: ExitStack, svc) -> None:
    """The worker (inbox + outbox threads) and the scheduler (SLA sweep, reviews), as `run` starts them."""
    from bot.runner import work_loop
    from bot.scheduler import start_scheduler
    stop = threading.Event()
    worker = threading.Thread(target=work_loop, args=(svc, stop), name="worker", daemon=True)
    worker.start()
    scheduler = start_scheduler(svc)

    def shut_down() -> None:
        scheduler.shutdown(wait=True)
        stop.set()
        worker.join(timeout=10)
    stack.callback(shut_down)


# --- talking to Handoff as HubSpot and Slack do --------------------------------------------------------

def post_hubspot(world: World, path: str, body: list | dict) -> requests.Response:
    """A signed POST as HubSpot sends it (v3 signature over method, URL, body and timestamp)."""
    from tests.fakes.fake_hubspot import signed_webhook
    url = world.base_url + path
    raw, headers = signed_webhook(HUBSPOT_SECRET, url, body)
    response = requests.post(url, data=raw, headers=headers, timeout=10)
    response.raise_for_status()
    return response


def post_slack(world: World, body: str) -> requests.Response:
    """A signed interactivity request to /slack/events (`payload=…`, form-encoded as Slack sends it)."""
    from tests.fakes.fake_slack import sign_slack_request
    headers = sign_slack_request(SLACK_SECRET, body) | {"Content-Type": "application/x-www-form-urlencoded"}
    response = requests.post(world.base_url + "/slack/events", data=body, headers=headers, timeout=10)
    response.raise_for_status()
    return response


def press(world: World, action_id: str, lead_id: int, user_id: str) -> None:
    """A button on the lead's card, pressed by `user_id` (Slack's block_actions payload)."""
    from tests.fakes.fake_slack import block_action_body
    body = block_action_body(user_id=user_id, action_id=action_id, value=str(lead_id), channel=CHANNELS["leads"],
                             message_ts="1.1", response_url=world.slack.response_url(),
                             trigger_id=world.slack.new_trigger_id())
    post_slack(world, body)


def submit(world: World, callback_id: str, lead_id: int, user_id: str, values: dict) -> dict:
    """One of Handoff's modals submitted (view_submission, with the state values as Slack sends them)."""
    payload = {"type": "view_submission", "team": {"id": "T0001", "domain": "handoff-demo"},
               "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0001"},
               "api_app_id": "A0HANDOFF", "token": "verification_token", "trigger_id": world.slack.new_trigger_id(),
               "view": {"id": "V0DEMO", "type": "modal", "callback_id": callback_id, "team_id": "T0001",
                        "private_metadata": str(lead_id), "hash": "1.1", "blocks": [],
                        "state": {"values": values}}}
    response = post_slack(world, urlencode({"payload": json.dumps(payload)}))
    return response.json() if response.content else {}


def choice(value: str, kind: str = "static_select") -> dict:
    return {"type": kind, "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value}}


def typed(value: str | None) -> dict:
    return {"type": "plain_text_input", "value": value}


def field_values(**fields: dict) -> dict:
    """Slack's view.state.values: block id -> action id -> value, the two ids the same in Handoff's modals."""
    return {name: {name: value} for name, value in fields.items()}


# --- waiting for Handoff ------------------------------------------------------------------------------

def settle(world: World, timeout: float = SETTLE_SECONDS) -> bool:
    """Wait until the inbox, the outbox and the due SLA steps are all done; False if it took too long."""
    return wait_until(lambda: not busy(world), timeout)


def busy(world: World) -> bool:
    from bot.store.schema import deadlines, effects, inbox_events
    now = world.clock()
    with world.svc.engine.connect() as conn:
        waiting = [conn.execute(select(func.count()).where(inbox_events.c.state == "pending")).scalar_one(),
                   conn.execute(select(func.count()).where(effects.c.state == "pending",
                                                           effects.c.run_at <= now)).scalar_one(),
                   conn.execute(select(func.count()).where(deadlines.c.state == "pending",
                                                           deadlines.c.run_at <= now)).scalar_one()]
    return any(waiting)


def wait_until(condition: Callable[[], bool], timeout: float = SETTLE_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def leads_now(world: World) -> list:
    from bot.store.schema import leads
    with world.svc.engine.connect() as conn:
        return list(conn.execute(select(leads).order_by(leads.c.id)))


def lead_row(world: World, lead_id: int):
    return next(row for row in leads_now(world) if row.id == lead_id)


def latest_scores(world: World) -> dict[str, object]:
    from bot.store.schema import scores
    with world.svc.engine.connect() as conn:
        rows = list(conn.execute(select(scores).order_by(scores.c.id)))
    return {row.contact_id: row for row in rows}


# --- showing what happened -----------------------------------------------------------------------------

class Watch:
    """What Slack and HubSpot received since the last look: each step shows only its own effects."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._posts = self._updates = self._notes = 0

    def new_posts(self) -> list[tuple[str, dict]]:
        posts = [(call.params.get("channel", ""), call.params) for call in list(self.world.slack.calls)
                 if call.method == "chat.postMessage"]
        fresh, self._posts = posts[self._posts:], len(posts)
        return fresh

    def new_updates(self) -> list[tuple[str, dict]]:
        updates = list(self.world.hubspot.updates)
        fresh, self._updates = updates[self._updates:], len(updates)
        return fresh

    def new_notes(self) -> list[dict]:
        notes = list(self.world.hubspot.notes)
        fresh, self._notes = notes[self._notes:], len(notes)
        return fresh


_LINK = re.compile(r"<([^|<>]+)\|([^<>]+)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)>")
_DATE = re.compile(r"<!date\^\d+\^[^|<>]*\|([^<>]+)>")
_EMOJI = re.compile(r":[a-z][a-z0-9_+-]*: ?")   # :zap:, not the :03: of 14:03:30
_NAMES = {person.slack_id: person.handle for person in (*SDRS, AE, MANAGER)}


def readable(mrkdwn: str) -> str:
    """Slack mrkdwn as a terminal shows it: links as their words, mentions as @names, no emoji codes."""
    text = _USER.sub(lambda m: _NAMES.get(m.group(1), "@" + m.group(1)), mrkdwn)
    text = _DATE.sub(r"\1", _LINK.sub(r"\2", text))
    text = _EMOJI.sub("", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("*", "")


def render_blocks(blocks: list[dict] | str | None, fallback: str = "") -> list[str]:
    """A Block Kit message as plain lines: headers, sections and their fields, context, the buttons."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    lines: list[str] = []
    for block in blocks or []:
        lines += _block_lines(block)
    return lines or [readable(fallback)]


def _block_lines(block: dict) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [block["text"]["text"].upper()]
    if kind == "section":
        texts = [block["text"]["text"]] if block.get("text") else []
        fields = [f["text"].replace("\n", ": ", 1) for f in block.get("fields") or []]   # "*Size*\n100-500"
        return [readable(text) for text in texts + fields]
    if kind == "context":
        return ["  " + " · ".join(readable(e.get("text", "")) for e in block.get("elements") or [])]
    if kind == "actions":
        return ["  " + " ".join(f"[ {e['text']['text']} ]" for e in block.get("elements") or [] if e.get("text"))]
    if kind == "divider":
        return ["  " + "-" * 40]
    return []


def where(channel: str) -> str:
    """A channel as a person would name it: DMs by whose they are."""
    for person in (*SDRS, AE, MANAGER):
        if channel in (person.slack_id, "D" + person.slack_id[1:]):
            return f"DM to {person.handle}"
    return CHANNEL_NAMES.get(channel, channel)


def show_card(story: Narrator, channel: str, params: dict, *, last: int | None = None,
              first: int | None = None) -> None:
    """The message as the person sees it; its `first` lines only, or its `last` (a card edited at its foot)."""
    lines = render_blocks(params.get("blocks"), params.get("text", ""))
    story.detail(f"   ┌─ Slack, {where(channel)}" + (" (the card's foot, edited in place)" if last else ""))
    shown = lines[-last:] if last else lines[:first] + (["…"] if first and len(lines) > first else [])
    for line in shown:
        for part in line.splitlines():
            story.detail(f"   │ {part}")
    story.detail("   └─")


def show_writes(story: Narrator, watch: Watch, names: dict[str, str]) -> None:
    for contact_id, props in watch.new_updates():
        written = ", ".join(f"{key}={value}" for key, value in sorted(props.items()))
        story.detail(f"   HubSpot ← contact {contact_id} ({names.get(contact_id, '?')}): {written}")
    for note in watch.new_notes():
        story.detail(f"   HubSpot ← note on contact {note['contact_id']}: {readable(note['body'])[:160]}")


def reasons_of(score) -> list[str]:
    return [f"{reason['points']:+g}  {reason['rule']}: {reason['evidence']}" for reason in json.loads(score.reasons)]


# --- the story ------------------------------------------------------------------------------------------

def tell(world: World, story: Narrator, samples: list[SampleContact]) -> int:
    watch = Watch(world)
    names = {s.contact.id: s.contact.display_name for s in samples}
    shift = world.started_at - SAMPLE_AS_OF
    webhooks_arrive(world, story, samples, shift)
    leads = show_scores(world, story, samples, names)
    if len(leads) < LEAST_LEADS:
        story.say(f"Only {len(leads)} lead(s) became MQLs: the Slack part of the story needs {LEAST_LEADS}. "
                  "Try a larger --contacts.")
        return 1
    first, second, *unaccepted = leads
    show_alert(world, story, watch, first)
    show_writes(story, watch, names)
    accept(world, story, watch, first, names)
    log_touch(world, story, watch, first, names)
    qualify(world, story, watch, first, names)
    disqualify(world, story, watch, second, names)
    miss_the_sla(world, story, watch, unaccepted, names)
    report(world, story)
    next_steps(story, world)
    return 0


def webhooks_arrive(world: World, story: Narrator, samples: list[SampleContact], shift: timedelta) -> None:
    from tests.fakes.fake_hubspot import contact_event
    story.step(f"HubSpot: {len(samples)} sample contacts (samples/contacts.csv) change, and HubSpot tells Handoff")
    story.detail("   (the sample's dates are moved so the moment it was exported is now)")
    events = []
    for sample in samples:
        company_id, company, props = hubspot_records(sample, shift)
        world.hubspot.add_company(company_id, **company)
        world.hubspot.add_contact(sample.contact.id, **props)
        events.append(contact_event("contact.propertyChange", sample.contact.id, property_name="recent_conversion_date",
                                    property_value=props.get("recent_conversion_date", "")))
    bodies = [body for sample in samples for body in workflow_bodies(sample, shift)]
    started = time.monotonic()
    for body in bodies:
        post_hubspot(world, "/hubspot/workflow", body)
    story.say(f"   {len(bodies)} activities (samples/activities.csv) sent by HubSpot workflow webhooks, one request "
              f"each, in {time.monotonic() - started:.1f} s")
    posted = time.monotonic()
    post_hubspot(world, "/hubspot/webhooks", events)
    story.say(f"   one signed v3 webhook batch of {len(events)} contact.propertyChange events, answered 204 in "
              f"{(time.monotonic() - posted) * 1000:.0f} ms")
    if not settle(world):
        story.say("   (Handoff is still working: the story goes on with what is done)")
    story.say(f"   all scored, routed, written back to HubSpot and alerted in Slack {time.monotonic() - posted:.1f} s "
              "after the webhook batch")
    story.pause()


def show_scores(world: World, story: Narrator, samples: list[SampleContact], names: dict[str, str]) -> list:
    story.step("Handoff scored every contact (config/scoring.yaml) and says who is an MQL, and why")
    scores = latest_scores(world)
    mqls = [s for s in samples if s.contact.id in scores and scores[s.contact.id].is_mql]
    for sample in mqls:
        score = scores[sample.contact.id]
        story.say(f"   MQL: {names[sample.contact.id]} (contact {sample.contact.id}), {score.total:g} points"
                  + (", fast lane" if score.high_intent else ""))
        for line in reasons_of(score)[:6]:
            story.detail(f"        {line}")
    others = [s for s in samples if s.contact.id in scores and not scores[s.contact.id].is_mql]
    story.say(f"   not MQLs: {len(others)} contacts")
    for sample in others[:3]:
        score = scores[sample.contact.id]
        gates = json.loads(score.gates_failed)
        why = f"gate not met: {gates[0]}" if gates else "below the MQL threshold"
        story.detail(f"        {names[sample.contact.id]}: {score.total:g} points, {why}")
    story.pause()
    return [lead for lead in leads_now(world) if lead.status == "new"]


def show_alert(world: World, story: Narrator, watch: Watch, lead) -> None:
    rep = _person(lead.assignee)
    story.step(f"Slack: the alert {rep.handle if rep else 'the SDR'} sees (the DM; the same card is in "
               f"{where(CHANNELS['leads'])})")
    story.say(f"   {len(watch.new_posts())} Slack messages posted for the new leads")
    # The card as it is now: Handoff edits it in place when later activity changes the score.
    dm = "D" + lead.assignee[1:] if lead.assignee else CHANNELS["fallback"]
    card = next((m for m in world.slack.messages.get(dm, []) if is_card_of(m, lead.id)), None)
    if card:
        show_card(story, dm, card)
    story.pause(2.5)


def is_card_of(message: dict, lead_id: int) -> bool:
    """A lead's card carries the lead id as its buttons' value."""
    blocks = message.get("blocks") or []
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return any(element.get("value") == str(lead_id) for block in blocks if block.get("type") == "actions"
               for element in block.get("elements") or [])


def _person(slack_id: str | None) -> Person | None:
    return next((p for p in (*SDRS, AE, MANAGER) if p.slack_id == slack_id), None)


def actor(lead) -> str:
    """Who acts on the lead in the story: its SDR, or a manager when its owner has no Slack user."""
    return lead.assignee or MANAGER.slack_id


def accept(world: World, story: Narrator, watch: Watch, lead, names: dict[str, str]) -> None:
    user = actor(lead)
    story.step(f"{_NAMES.get(user, user)} presses Accept on {names.get(lead.contact_id)}")
    started = time.monotonic()
    press(world, "accept_lead", lead.id, user)
    wait_until(lambda: lead_row(world, lead.id).status == "accepted")
    settle(world)
    row = lead_row(world, lead.id)
    story.say(f"   Accepted by {_NAMES.get(row.accepted_by, row.accepted_by)} "
              f"({time.monotonic() - started:.1f} s from the click to HubSpot and the card)")
    _card_now(world, story, lead.id)
    show_writes(story, watch, names)
    watch.new_posts()
    story.pause()


def _card_now(world: World, story: Narrator, lead_id: int) -> None:
    """The card as edited in place (chat.update), in the leads channel."""
    updates = [c.params for c in list(world.slack.calls) if c.method == "chat.update" and is_card_of(c.params, lead_id)]
    if updates:
        show_card(story, updates[-1].get("channel", ""), updates[-1], last=3)


def log_touch(world: World, story: Narrator, watch: Watch, lead, names: dict[str, str]) -> None:
    user = actor(lead)
    story.step(f"{_NAMES.get(user, user)} calls {names.get(lead.contact_id)} and logs the touch")
    submit(world, "touch_submit", lead.id, user,
           field_values(touch_kind=choice("call"), touch_note=typed("Intro call, demo booked for Thursday")))
    wait_until(lambda: lead_row(world, lead.id).touches >= 1)
    settle(world)
    story.say(f"   touches on the lead: {lead_row(world, lead.id).touches} (the first-touch SLA clock stops)")
    show_writes(story, watch, names)
    story.pause()


def qualify(world: World, story: Narrator, watch: Watch, lead, names: dict[str, str]) -> None:
    user = actor(lead)
    story.step(f"{_NAMES.get(user, user)} qualifies {names.get(lead.contact_id)} with BANT: an SQL")
    press(world, "qualify_lead", lead.id, user)
    values = field_values(budget_confirmed=choice("yes", "radio_buttons"), budget_range=typed("50-100k"),
                          authority=choice("decision_maker"), need=typed("Leads wait hours for an SDR"),
                          timeline=choice("this_quarter"), notes=typed("Wants a pilot for the EMEA team"),
                          outcome=choice("sql", "radio_buttons"),
                          revisit_date={"type": "datepicker", "selected_date": None})
    submit(world, "bant_submit", lead.id, user, values)
    wait_until(lambda: lead_row(world, lead.id).decision == "sql")
    settle(world)
    row = lead_row(world, lead.id)
    ae = _person(row.ae_user)
    story.say(f"   SQL: handed off to the AE {ae.handle if ae else row.ae_owner_id} (HubSpot owner {row.ae_owner_id})")
    for channel, params in watch.new_posts():
        if channel.startswith("D"):
            story.say(f"   AE handoff DM sent ({where(channel)})")
            show_card(story, channel, params, first=13)
    show_writes(story, watch, names)
    story.pause(2.5)


def disqualify(world: World, story: Narrator, watch: Watch, lead, names: dict[str, str]) -> None:
    user = actor(lead)
    reason = "Wrong industry"
    story.step(f"{_NAMES.get(user, user)} disqualifies {names.get(lead.contact_id)}, with a reason")
    submit(world, "disqualify_submit", lead.id, user,
           field_values(dq_reason=choice(reason), dq_other=typed(None)))
    wait_until(lambda: lead_row(world, lead.id).decision == "disqualified")
    settle(world)
    row = lead_row(world, lead.id)
    story.say(f"   Disqualified: {row.decision_reason} (written to handoff_dq_reason for marketing)")
    show_writes(story, watch, names)
    watch.new_posts()
    story.pause()


def miss_the_sla(world: World, story: Narrator, watch: Watch, unaccepted: list, names: dict[str, str]) -> None:
    from bot.sla import ACCEPT, due_step
    story.step(f"Nobody accepts the other {len(unaccepted)} lead(s): the SLA runs out (config/sla.yaml)")
    lead = unaccepted[0]
    started_at, due_at = _accept_deadline(world, lead.id)
    story.detail(f"   e.g. {names.get(lead.contact_id)}: Accept due {due_at:%H:%M:%S} UTC. The demo moves Handoff's "
                 "clock forward instead of waiting (the tests drive time the same way).")
    index, shown = 0, False     # one managers' post is shown in full; the others by their text
    while (step := due_step(world.svc.config.sla, ACCEPT, started_at, due_at, index)) is not None:
        index += 1
        ahead = step.due_at - world.clock() + timedelta(seconds=1)
        if ahead > timedelta():
            world.clock.jump(ahead)
        story.say(f"   … {duration_words(world.clock() - lead.became_mql_at)} after the MQL, still not accepted "
                  f"({step.action}):")
        settle(world)
        for channel, params in watch.new_posts():
            story.say(f"   Escalation → {where(channel)}: {readable(params.get('text', ''))[:140]}")
            if channel == CHANNELS["managers"] and not shown:
                show_card(story, channel, params)
                shown = True
        show_writes(story, watch, names)
        story.pause()


def _accept_deadline(world: World, lead_id: int) -> tuple[datetime, datetime]:
    from bot.store.schema import deadlines
    with world.svc.engine.connect() as conn:
        row = conn.execute(select(deadlines.c.started_at, deadlines.c.due_at).where(
            deadlines.c.lead_id == lead_id, deadlines.c.kind == "accept").order_by(deadlines.c.id)).first()
    return row.started_at, row.due_at


def report(world: World, story: Narrator) -> None:
    from bot import report as reports
    story.step("Today's report (python -m bot report), with the demo's leads")
    until = world.clock() + timedelta(minutes=1)
    # From midnight: the report prorates the monthly MQL target over its period, and a day reads sensibly.
    since = world.started_at.replace(hour=0, minute=0, second=0, microsecond=0)
    with world.svc.engine.connect() as conn:
        found = reports.build(conn, world.svc.config, since, until)
    for line in reports.render_text(found).splitlines():
        story.say("   " + line)


def next_steps(story: Narrator, world: World) -> None:
    story.step("Where to go next")
    story.say("   Connect your HubSpot: README.md, section \"Connect HubSpot\" (a private app, its token and secret).")
    story.say("   Connect your Slack: README.md, section \"Connect Slack\" (slack/manifest.yml).")
    story.say("   Try your own scoring on the samples first: docs/backtest.md (python -m bot backtest …).")
    story.say("   Then: make run (README, \"The two commands\").")


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """The demo with parsed options (see add_arguments); 0 when the whole story was told."""
    clear_vendor_environment()
    story = Narrator(args.fast, args.quiet)
    story.say("Handoff demo: HubSpot -> MQL -> Slack -> SDR -> SLA -> report, on the bundled sample data.")
    story.say("Fake HubSpot and fake Slack run on 127.0.0.1; nothing leaves this machine and no account is used.")
    from bot.rules import load_config
    try:
        story.detail(f"   Picking {args.contacts} contacts from the sample …")
        samples = pick_contacts(args.contacts, load_config(REPO / "config"))
        with demo_world(args.keep) as world:
            story.detail(f"   Handoff on {world.base_url}, database and log in {world.workdir}"
                         + ("" if args.keep else " (removed at the end)"))
            return tell(world, story, samples)
    except KeyboardInterrupt:
        story.say("\nStopped; the servers are down and the temp files removed.")
        return 130
    except BrokenPipeError:      # the reader went away (`| head`): everything is stopped and removed all the same
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
