"""The wiring every process shares: settings, the database, the current config, the two adapters."""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import Engine

from bot.ratelimit import shared_budget
from bot.rules import Config, ConfigError, config_fingerprint, load_config
from bot.settings import Settings
from bot.store.db import make_engine
from bot.store.effects import add_effect
from integrations.hubspot.crm import HubSpotCrm
from integrations.slack.notifier import SlackNotifier, make_web_client

log = logging.getLogger("handoff")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    config: Config
    crm: HubSpotCrm | None = None
    slack: SlackNotifier | None = None
    clock: Callable[[], datetime] = field(default=utcnow)
    config_version: str = ""     # fingerprint of the files `config` was loaded from

    def refresh_config(self) -> bool:
        """Apply an edited config without a restart; a broken edit keeps the last good one. True if applied."""
        version = config_fingerprint(self.settings.config_dir)
        if version == self.config_version:
            return False
        self.config_version = version   # a broken version is reported once, not on every check
        try:
            config = load_config(self.settings.config_dir)
        except ConfigError as error:
            log.error("config change NOT applied, still running the last good config:\n%s", error)
            self._tell_ops(version, error)
            return False
        self.config = config
        log.info("config change applied")
        return True

    def _tell_ops(self, version: str, error: ConfigError) -> None:
        """Marketing ops hear of a refused edit in Slack; the key makes every process's report one post."""
        text = ("A config change was refused; Handoff keeps running the last good config. Fix these and save again:\n"
                + "\n".join(f"• {problem}" for problem in error.problems[:20]))
        try:
            with self.engine.begin() as conn:
                add_effect(conn, f"config:{version}", "slack_ops_notice", {"text": text}, self.clock())
        except Exception:   # the log line above already says it; a database hiccup must not stop the check
            log.exception("could not queue the config-problem notice")

    @classmethod
    def build(cls, settings: Settings, engine: Engine | None = None) -> "Services":
        """Connect everything from settings; a broken config raises ConfigError naming file and key."""
        engine = engine or make_engine(settings.database_url)
        version = config_fingerprint(settings.config_dir)
        return cls(settings=settings, engine=engine, config=load_config(settings.config_dir),
                   crm=_crm(settings, engine), slack=_slack(settings), config_version=version)


def _crm(settings: Settings, engine: Engine) -> HubSpotCrm | None:
    if not settings.hubspot_access_token:
        return None
    return HubSpotCrm(settings.hubspot_access_token, base_url=settings.hubspot_api_base_url,
                      before_call=shared_budget(engine, "hubspot", settings.hubspot_calls_per_10s))


def _slack(settings: Settings) -> SlackNotifier | None:
    if not settings.slack_bot_token:
        return None
    return SlackNotifier(make_web_client(settings.slack_bot_token, settings.slack_api_base_url))


def backoff(attempts: int, retry_after: float | None = None, cap: float = 300.0) -> timedelta:
    """When to try again: what the service asked for (bounded), else exponential with jitter."""
    if retry_after is not None:
        return timedelta(seconds=min(max(retry_after, 1.0), 900.0))
    base = min(cap, 2.0 ** max(0, attempts - 1))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))
