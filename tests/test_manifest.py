"""slack/manifest.yml: what the SDR loop needs from Slack is declared, within the v1 manifest schema.

jsonschema is not a pinned package, so the schema's rules that bear on our keys are checked by hand:
slackapi/manifest-schema schemas/manifest.schema.1.0.0.json (every object there has
additionalProperties: false, so an unknown key is an import error in Slack's UI).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

MANIFEST = Path(__file__).resolve().parent.parent / "slack" / "manifest.yml"
REQUEST_URL = "https://YOUR-HANDOFF-HOST/slack/events"

# The keys the v1 schema allows, for each object our manifest has.
ALLOWED_KEYS = {
    "": {"$schema", "_metadata", "app_directory", "display_information", "features", "oauth_config", "settings",
         "functions", "workflows", "datastores", "outgoing_domains", "types", "external_auth_providers"},
    "display_information": {"name", "description", "background_color", "long_description"},
    "features": {"app_home", "bot_user", "functions", "shortcuts", "slash_commands", "workflow_steps",
                 "unfurl_domains", "assistant_view"},
    "features.app_home": {"home_tab_enabled", "messages_tab_enabled", "messages_tab_read_only_enabled"},
    "features.bot_user": {"display_name", "always_online"},
    "oauth_config": {"redirect_urls", "scopes", "token_management_enabled", "pkce_enabled"},
    "oauth_config.scopes": {"user", "bot", "user_optional", "bot_optional"},
    "settings": {"allowed_ip_address_ranges", "event_subscriptions", "incoming_webhooks", "interactivity",
                 "org_deploy_enabled", "socket_mode_enabled", "is_hosted", "token_rotation_enabled", "siws_links",
                 "hermes_app_type", "function_runtime", "is_mcp_enabled"},
    "settings.event_subscriptions": {"request_url", "user_events", "bot_events", "metadata_subscriptions"},
    "settings.interactivity": {"is_enabled", "request_url", "message_menu_options_url"},
}
COMMAND_KEYS = {"command", "url", "description", "usage_hint", "should_escape"}
# Scopes and the calls that need them (specs/slack.md §4.2, §6); views.* and app_home_opened need none.
SCOPES = {
    "chat:write": "chat.postMessage / chat.update / chat.postEphemeral: cards, DMs, answers",
    "commands": "/handoff",
    "im:write": "conversations.open: DMs to the SDR and the AE",
    "users:read": "required alongside users:read.email",
    "users:read.email": "users.lookupByEmail: HubSpot owner -> Slack user",
    "channels:history": "conversations.history / replies: an earlier post before re-posting",
    "groups:history": "the same in private channels",
    "im:history": "the same in DMs",
    "files:write": "files.getUploadURLExternal / files.completeUploadExternal: the review's charts",
    "channels:read": "conversations.list: a configured channel name -> its id, for history and uploads",
    "groups:read": "the same for private channels",
}


def load() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def at(manifest: dict[str, Any], path: str) -> Any:
    value: Any = manifest
    for key in filter(None, path.split(".")):
        value = value[key]
    return value


@pytest.mark.parametrize("path", list(ALLOWED_KEYS))
def test_every_key_is_one_the_v1_schema_allows(path: str) -> None:
    assert set(at(load(), path)) <= ALLOWED_KEYS[path], path


def test_http_mode_with_one_request_url_for_everything() -> None:
    manifest = load()
    assert manifest["_metadata"]["major_version"] == 1
    assert 1 <= len(manifest["display_information"]["name"]) <= 35
    assert 1 <= len(manifest["display_information"]["description"]) <= 140
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", manifest["display_information"]["background_color"])
    assert 1 <= len(manifest["features"]["bot_user"]["display_name"]) <= 80
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["settings"]["interactivity"] == {"is_enabled": True, "request_url": REQUEST_URL}
    assert manifest["settings"]["event_subscriptions"]["request_url"] == REQUEST_URL


def test_the_handoff_slash_command() -> None:
    commands = load()["features"]["slash_commands"]
    assert 1 <= len(commands) <= 50
    (command,) = commands
    assert set(command) <= COMMAND_KEYS
    assert command == {**command, "command": "/handoff", "url": REQUEST_URL, "should_escape": True,
                       "usage_hint": "mine | lead <email or id> | away <until> | back | stats | stats team [name]"}
    assert re.fullmatch(r"/.{1,31}", command["command"])
    assert 1 <= len(command["description"]) <= 2000 and len(command["usage_hint"]) <= 1000


def test_app_home_tab_and_its_event() -> None:
    manifest = load()
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True      # the DMs to reps and AEs
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert events == ["app_home_opened"]
    assert all(len(event) <= 50 for event in events) and len(events) == len(set(events)) <= 100


def test_scopes_are_exactly_the_ones_used() -> None:
    scopes = load()["oauth_config"]["scopes"]["bot"]
    assert scopes == list(dict.fromkeys(scopes)) and all(len(scope) <= 50 for scope in scopes)
    assert set(scopes) == set(SCOPES)
