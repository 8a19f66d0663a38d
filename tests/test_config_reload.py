"""Config edits apply without a restart; a broken edit keeps the last good config and says so."""
from __future__ import annotations

import json
import logging

from bot.services import Services
from bot.store import effects
from bot.settings import Settings
from tests.harness import write_config


def pending_effects(engine) -> list:
    with engine.connect() as conn:
        return effects.pending_effects(conn)


def services(engine, config_dir) -> Services:
    return Services.build(Settings(database_url=str(engine.url), config_dir=str(config_dir)), engine)


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_valid_edit_applies_and_a_broken_one_keeps_the_last_good(sqlite_engine, tmp_path, caplog):
    config_dir = write_config(tmp_path / "config")
    svc = services(sqlite_engine, config_dir)
    assert svc.refresh_config() is False   # nothing changed
    edit(config_dir / "scoring.yaml", "mql_threshold: 100", "mql_threshold: 140")
    assert svc.refresh_config() is True and svc.config.scoring.mql_threshold == 140
    edit(config_dir / "sla.yaml", "accept_within: 5m", "accept_within: whenever")
    with caplog.at_level(logging.ERROR, logger="handoff"):
        assert svc.refresh_config() is False
    assert svc.config.scoring.mql_threshold == 140 and svc.config.sla.accept_within.total_seconds() == 300
    assert "NOT applied" in caplog.text and "sla.yaml" in caplog.text and "accept_within" in caplog.text
    notices = [row for row in pending_effects(sqlite_engine) if row.kind == "slack_ops_notice"]
    assert len(notices) == 1 and "accept_within" in json.loads(notices[0].payload)["text"]
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="handoff"):
        assert svc.refresh_config() is False   # reported once, not on every check
    assert caplog.text == ""
    edit(config_dir / "sla.yaml", "accept_within: whenever", "accept_within: 10m")
    assert svc.refresh_config() is True and svc.config.sla.accept_within.total_seconds() == 600
