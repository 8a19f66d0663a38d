"""`python -m bot demo`, as a newcomer runs it: a subprocess, the whole story, nothing left behind."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path

import pytest

from bot.demo import add_arguments, clear_vendor_environment, readable, render_blocks

REPO = Path(__file__).resolve().parent.parent
# A real-looking token in the environment: the demo must neither use nor print it.
PLANTED_TOKEN = "pat-na1-00000000-planted-by-test-demo"


def demo_env(tmp_path: Path) -> dict[str, str]:
    """A scratch TMPDIR, and vendor settings the demo must ignore (an unroutable address, a planted token)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    return {key: value for key, value in os.environ.items() if key != "DATABASE_URL"} | {
        "TMPDIR": str(scratch), "HUBSPOT_ACCESS_TOKEN": PLANTED_TOKEN, "SLACK_BOT_TOKEN": "xoxb-planted-by-test",
        "HUBSPOT_API_BASE_URL": "http://192.0.2.1:9", "SLACK_API_BASE_URL": "http://192.0.2.1:9/"}


def run_demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "demo", *args], cwd=REPO, env=demo_env(tmp_path),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("demo")
    return tmp_path, run_demo(tmp_path, "--fast", "--contacts", "5")


def test_the_demo_tells_the_whole_story_and_exits_0(demo):
    _, done = demo
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"MQL: .+ \(contact \d+\), [\d.]+ points", out)
    assert re.search(r"^\s+\+[\d.]+ +[A-Z].+: .+", out, re.MULTILINE), "an MQL's reasons"
    assert "Slack, DM to @" in out and "[ Accept ]" in out, "the alert as the SDR sees it"
    assert re.search(r"Accepted by @\w+", out)
    assert "touches on the lead: 1" in out
    assert re.search(r"SQL: handed off to the AE @avery", out) and "AE handoff DM sent (DM to @avery)" in out
    assert "Disqualified: Wrong industry" in out
    assert re.search(r"Escalation → #sales-managers: Escalation: .+ not accepted", out)
    assert re.search(r"MQL -> SQL conversion: 1 of \d+ = ", out), "the report's conversion line"
    assert "lifecyclestage=marketingqualifiedlead" in out and "hs_lead_status=IN_PROGRESS" in out, "write-backs"


def test_the_demo_reads_no_real_token_and_leaves_no_files(demo):
    tmp_path, done = demo
    assert PLANTED_TOKEN not in done.stdout + done.stderr
    assert list((tmp_path / "tmp").iterdir()) == [], "the temp dir (database, config, log) is removed"


def test_keep_leaves_the_database_config_and_log_in_the_directory(tmp_path):
    kept = tmp_path / "kept"
    done = run_demo(tmp_path, "--fast", "--quiet", "--contacts", "4", "--keep", str(kept))
    assert done.returncode == 0, done.stdout + done.stderr
    assert {"handoff-demo.sqlite3", "service.log", "handoff-demo-config"} <= {p.name for p in kept.iterdir()}
    assert "┌─ Slack" not in done.stdout, "--quiet shows the headlines, not the cards"
    assert PLANTED_TOKEN not in (kept / "service.log").read_text()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_keep_never_touches_a_config_it_did_not_write(tmp_path):
    kept = tmp_path / "deployment"
    (kept / "config").mkdir(parents=True)
    (kept / "config" / "scoring.yaml").write_text("mql_threshold: 100\n")      # somebody's real config
    (kept / "handoff-demo-config").mkdir()                                   # and a directory the demo did not write
    done = run_demo(tmp_path, "--fast", "--quiet", "--contacts", "4", "--keep", str(kept))
    assert done.returncode != 0 and "the demo did not write it" in done.stdout + done.stderr
    assert (kept / "config" / "scoring.yaml").read_text() == "mql_threshold: 100\n"
    assert (kept / "handoff-demo-config").exists()


def test_ctrl_c_stops_the_servers_and_removes_the_temp_files(tmp_path):
    # SIGINT as the terminal sends it; restored to its default in the child in case this runner ignores it.
    demo = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--contacts", "4"], cwd=REPO,
                            env=demo_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in demo.stdout:          # the story is under way: the service, the fakes and the temp dir exist
        lines.append(line)
        if " 1. HubSpot:" in line:
            break
    assert list((tmp_path / "tmp").iterdir()), "the demo's temp dir exists while it runs"
    demo.send_signal(signal.SIGINT)
    rest = demo.stdout.read()
    assert demo.wait(timeout=60) == 130, "".join(lines) + rest
    assert "Stopped; the servers are down and the temp files removed." in rest
    assert list((tmp_path / "tmp").iterdir()) == []


def test_too_few_contacts_is_refused_with_the_reason():
    parser = ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--contacts", "2"])
    assert parser.parse_args(["--contacts", "3"]).contacts == 3


def test_vendor_settings_are_cleared_from_the_environment():
    environ = {"HUBSPOT_ACCESS_TOKEN": "x", "SLACK_SIGNING_SECRET": "y", "PATH": "/bin"}
    assert sorted(clear_vendor_environment(environ)) == ["HUBSPOT_ACCESS_TOKEN", "SLACK_SIGNING_SECRET"]
    assert environ == {"PATH": "/bin"}


def test_block_kit_is_rendered_as_a_person_reads_it():
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Ada Lovelace"}},
              {"type": "section", "text": {"type": "mrkdwn", "text": "*VP* at <https://x.example|Acme> &amp; co"},
               "fields": [{"type": "mrkdwn", "text": "*Size*\n250"}]},
              {"type": "context", "elements": [{"type": "mrkdwn", "text": ":zap: Assigned to <@U0RILEY>"}]},
              {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Accept"}}]}]
    assert render_blocks(blocks) == ["ADA LOVELACE", "VP at Acme & co", "Size: 250", "  Assigned to @riley",
                                     "  [ Accept ]"]
    assert readable("<@U0UNKNOWN> on <!date^1764000000^{date}|Nov 24>") == "@U0UNKNOWN on Nov 24"
