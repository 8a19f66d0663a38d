"""The commands an admin and marketing ops type, run as real subprocesses."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.fakes.fake_hubspot import FakeHubSpot
from tests.harness import REPO, write_config
from bot.rules import load_config
from bot.__main__ import subscribed_properties


def bot(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO, env=os.environ | (env or {}),
                          capture_output=True, text=True, timeout=timeout)


def test_check_config_passes_the_shipped_files_and_lists_the_subscriptions():
    result = bot("check-config", "config")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "config OK" in result.stdout
    for name in subscribed_properties(load_config(REPO / "config")):
        assert f"  {name}" in result.stdout


def test_the_readme_lists_exactly_the_subscriptions_the_shipped_config_needs():
    readme = (REPO / "README.md").read_text()
    block = readme.split("watched-properties:start")[1].split("watched-properties:end")[0]
    listed = sorted(word.strip("`,") for word in block.split() if word.startswith("`"))
    assert listed == sorted(subscribed_properties(load_config(REPO / "config")))


def broken_config(tmp_path):
    directory = write_config(tmp_path / "config", sla_overrides="")
    sla = directory / "sla.yaml"
    sla.write_text(sla.read_text().replace("accept_within: 5m", "accept_within: soon"))
    return directory


def test_check_config_names_file_line_and_key_and_exits_1(tmp_path):
    result = bot("check-config", str(broken_config(tmp_path)))
    assert result.returncode == 1
    line = next(l for l in result.stdout.splitlines() if "accept_within" in l)
    file_part, line_number, key = line.split(":")[:3]
    assert file_part.endswith("sla.yaml") and line_number.isdigit() and key == " accept_within"


def test_the_service_refuses_to_start_with_a_broken_config(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/h.sqlite3", "BOT_CONFIG_DIR": str(broken_config(tmp_path))}
    assert bot("migrate", env=env).returncode == 0
    result = bot("worker", env=env)
    assert result.returncode == 2
    assert "refusing to start" in result.stderr and "sla.yaml" in result.stderr and "accept_within" in result.stderr


def test_web_and_worker_refuse_a_schema_behind_the_code(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/new.sqlite3", "BOT_CONFIG_DIR": str(REPO / "config")}
    result = bot("worker", env=env)
    assert result.returncode == 2 and "python -m bot migrate" in result.stderr


def test_sqlite_is_refused_on_heroku(tmp_path):
    result = bot("migrate", env={"DYNO": "web.1", "DATABASE_URL": f"sqlite:///{tmp_path}/h.sqlite3"})
    assert result.returncode == 2 and "Heroku" in result.stderr


def test_setup_hubspot_creates_the_properties_once():
    with FakeHubSpot() as hubspot:
        env = {"HUBSPOT_ACCESS_TOKEN": "pat-na1-test", "HUBSPOT_API_BASE_URL": hubspot.base_url}
        first = bot("setup-hubspot", env=env)
        assert first.returncode == 0 and "created: handoff_score" in first.stdout
        second = bot("setup-hubspot", env=env)
        assert second.returncode == 0 and "already exist" in second.stdout
        assert "handoff_mql_reason" in hubspot.properties


def test_setup_hubspot_without_a_token_says_which_variable():
    result = bot("setup-hubspot", env={"HUBSPOT_ACCESS_TOKEN": ""})
    assert result.returncode == 2 and "HUBSPOT_ACCESS_TOKEN" in result.stderr


def test_backtest_runs_from_the_cli_on_the_sample_export():
    result = bot("backtest", "samples/contacts.csv", "--outcome", "Sales Outcome", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "MQLs:" in result.stdout and "Conversion by score band" in result.stdout


def test_unknown_arguments_are_refused_outside_backtest():
    result = bot("migrate", "--force")
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr


def test_export_writes_the_ledger_and_refuses_a_bad_date(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/h.sqlite3", "BOT_CONFIG_DIR": str(REPO / "config")}
    assert bot("migrate", env=env).returncode == 0
    result = bot("export", "--format", "csv", "--since", "2026-11-01", env=env)
    assert result.returncode == 0 and result.stdout.startswith("lead_id,contact_id,sdr,")
    bad = bot("export", "--since", "last week", env=env)
    assert bad.returncode == 2 and "expected a date like 2026-11-01" in bad.stderr
