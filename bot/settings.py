"""Settings.from_env(): every os.environ read lives here. Secrets never leave this object in logs."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

DEFAULT_DATABASE_URL = "sqlite:///var/handoff.sqlite3"
DEFAULT_HUBSPOT_API = "https://api.hubapi.com"
DEFAULT_SLACK_API = "https://slack.com/api/"


class SettingsError(Exception):
    """The environment cannot run Handoff as asked; the message names the variable."""


def normalize_database_url(url: str) -> str:
    """Heroku hands out `postgres://`; SQLAlchemy wants `postgresql+psycopg://`."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    config_dir: str = "config"
    hubspot_access_token: str | None = field(default=None, repr=False)
    hubspot_client_secret: str | None = field(default=None, repr=False)
    hubspot_api_base_url: str = DEFAULT_HUBSPOT_API
    hubspot_portal_id: str | None = None
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_base_url: str = DEFAULT_SLACK_API
    public_base_url: str | None = None
    port: int = 8000
    on_heroku: bool = False
    # Worker tuning: how often the idle worker looks for work and the SLA sweep interval.
    worker_poll_seconds: float = 0.1
    sweep_interval_seconds: float = 1.0
    # How long a claimed batch stays leased before another worker may take it over (crash recovery time).
    lease_seconds: float = 90.0
    # HubSpot allows 100-190 calls per 10 s per private app (by tier); stay under the smallest by default.
    hubspot_calls_per_10s: int = 90

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        settings = cls(
            database_url=normalize_database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
            config_dir=env.get("BOT_CONFIG_DIR") or "config",
            hubspot_access_token=env.get("HUBSPOT_ACCESS_TOKEN") or None,
            hubspot_client_secret=env.get("HUBSPOT_CLIENT_SECRET") or None,
            hubspot_api_base_url=(env.get("HUBSPOT_API_BASE_URL") or DEFAULT_HUBSPOT_API).rstrip("/"),
            hubspot_portal_id=env.get("HUBSPOT_PORTAL_ID") or None,
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_api_base_url=_with_slash(env.get("SLACK_API_BASE_URL") or DEFAULT_SLACK_API),
            public_base_url=(env.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
            port=_int(env, "PORT", 8000),
            on_heroku=bool(env.get("DYNO")),
            worker_poll_seconds=_float(env, "HANDOFF_WORKER_POLL_SECONDS", 0.1),
            sweep_interval_seconds=_float(env, "HANDOFF_SWEEP_INTERVAL_SECONDS", 1.0),
            lease_seconds=_float(env, "HANDOFF_LEASE_SECONDS", 90.0),
            hubspot_calls_per_10s=_int(env, "HUBSPOT_CALLS_PER_10S", 90),
        )
        settings.refuse_unsafe_database()
        return settings

    def refuse_unsafe_database(self) -> None:
        # Heroku wipes a dyno's disk at least daily: an SQLite file there loses every lead.
        if self.on_heroku and self.database_url.startswith("sqlite"):
            raise SettingsError(
                "DATABASE_URL: SQLite is refused on Heroku (DYNO is set) because the dyno's disk is "
                "wiped on every restart; attach Heroku Postgres and set DATABASE_URL.")

    @property
    def hubspot_configured(self) -> bool:
        return bool(self.hubspot_access_token)

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token)

    def secrets(self) -> list[str]:
        """Values the log filter must redact wherever they appear."""
        return [s for s in (self.hubspot_access_token, self.hubspot_client_secret,
                            self.slack_bot_token, self.slack_signing_secret) if s]


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(env.get(name) or default)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {env.get(name)!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name) or default)
    except ValueError:
        raise SettingsError(f"{name}: expected a number of seconds, got {env.get(name)!r}") from None
