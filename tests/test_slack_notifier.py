"""SlackNotifier and SlackUserDirectory with the real slack_sdk client over HTTP to the fake Slack; the app manifest."""
from __future__ import annotations

import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.slack_blocks import alert_message
from integrations.errors import IntegrationError
from integrations.slack.notifier import PostedMessage, SlackCallFailed, SlackNotifier, make_web_client
from integrations.slack.users import SlackUserDirectory
from tests.fakes.fake_hubspot import FakeHubSpot
from tests.fakes.fake_slack import DEFAULT_SCOPES, FakeSlack
from tests.harness import System, write_config

TOKEN = "xoxb-123456-secret-do-not-log"
NOW = datetime(2026, 11, 23, 10, 2, 10, tzinfo=timezone.utc)
MANIFEST = Path(__file__).resolve().parent.parent / "slack" / "manifest.yml"
CARD = {"lead_id": 12, "contact_id": "501", "name": "Ada Lovelace", "title": "VP Engineering", "company": "Acme",
        "score": 135, "fit": 55, "engagement": 80, "assignee": "U0REP", "route_why": "Contact owner in HubSpot",
        "became_mql_at": "2026-11-23T10:00:05Z"}


@pytest.fixture
def notifier(fake_slack: FakeSlack) -> SlackNotifier:
    return SlackNotifier(make_web_client(TOKEN, fake_slack.base_url))


def failure(call: Any) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        call()
    error = caught.value
    assert TOKEN not in str(error) and TOKEN not in repr(error) and "secret" not in error.message
    return error


def post(notifier: SlackNotifier, key: str = "alert:12", **extra: Any) -> PostedMessage:
    text, blocks = alert_message(CARD, {"status": "new"}, NOW)
    return notifier.post_message(channel=extra.pop("channel", "C0LEADS"), text=text, blocks=blocks,
                                 effect_key=key, **extra)


# --- the happy paths --------------------------------------------------------------------------------------

def test_post_then_update_the_alert(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    posted = post(notifier)
    stored = fake_slack.messages["C0LEADS"][0]
    assert posted == PostedMessage(channel="C0LEADS", ts=stored["ts"])
    assert stored["text"] == "New MQL: Ada Lovelace (VP Engineering at Acme)"
    assert stored["blocks"][-1]["elements"][0]["action_id"] == "accept_lead"
    assert stored["metadata"] == {"event_type": "handoff_effect", "event_payload": {"effect_key": "alert:12"}}
    assert fake_slack.calls[-1].params["unfurl_links"] is False and "link_names" not in fake_slack.calls[-1].params
    text, blocks = alert_message(CARD, {"status": "accepted", "accepted_by": "U0REP"}, NOW)
    notifier.update_message(channel=posted.channel, ts=posted.ts, text=text, blocks=blocks)
    assert stored["text"].endswith(" · accepted")
    assert stored["blocks"][-1]["elements"][0]["action_id"] == "log_touch"
    contexts = [e["text"] for b in stored["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert any("Accepted by <@U0REP>" in text for text in contexts)
    assert fake_slack.injections == []


def test_dm_to_the_rep(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    channel = notifier.open_dm("U0REP")
    assert channel.startswith("D")
    assert fake_slack.calls[-1].params == {"users": "U0REP"}
    post(notifier, channel=channel)
    assert len(fake_slack.messages[channel]) == 1


def test_ephemeral_to_the_wrong_clicker(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    notifier.post_ephemeral(channel="C0LEADS", user="U0OTHER", text="This lead is assigned to <@U0REP>.")
    [ephemeral] = fake_slack.ephemerals
    assert (ephemeral["channel"], ephemeral["user"]) == ("C0LEADS", "U0OTHER")
    assert ephemeral["text"] == "This lead is assigned to <@U0REP>." and ephemeral["blocks"] is None


def test_lookup_user_by_email_hit_and_miss(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    fake_slack.add_user("U0REP", "riley@example.com", "Riley Rep")
    assert notifier.lookup_user_by_email("riley@example.com") == "U0REP"
    assert notifier.lookup_user_by_email("nobody@example.com") is None
    fake_slack.fail_next("users.lookupByEmail", error="missing_scope")
    assert failure(lambda: notifier.lookup_user_by_email("riley@example.com")).permanent


# --- failures become IntegrationError ---------------------------------------------------------------------

@pytest.mark.parametrize("status, error, retry_after, expected", [
    (429, None, "7", 7.0),
    (429, None, "0.5", 0.5),
    (429, None, None, None),
    (429, None, "soon", None),
    (200, "ratelimited", "30", 30.0),
])
def test_rate_limits_carry_retry_after(fake_slack: FakeSlack, notifier: SlackNotifier, status: int, error: str | None,
                                       retry_after: str | None, expected: float | None) -> None:
    fake_slack.fail_next("chat.postMessage", status=status, error=error, retry_after=retry_after)
    error_seen = failure(lambda: post(notifier))
    assert (error_seen.permanent, error_seen.retry_after, error_seen.status) == (False, expected, status)
    assert "ratelimited" in error_seen.message
    assert "C0LEADS" not in fake_slack.messages


@pytest.mark.parametrize("status, error", [
    (500, None), (503, None), (502, "internal_error"), (200, "internal_error"),
    (200, "fatal_error"), (200, "service_unavailable"), (200, "request_timeout"),
])
def test_outages_are_transient(fake_slack: FakeSlack, notifier: SlackNotifier, status: int, error: str | None) -> None:
    fake_slack.fail_next("chat.update", status=status, error=error)
    seen = failure(lambda: notifier.update_message(channel="C0LEADS", ts="1.1", text="x", blocks=None))
    assert (seen.permanent, seen.status, seen.retry_after) == (False, status, None)
    assert seen.message.startswith("Slack chat.update failed")


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked", "account_inactive", "channel_not_found",
                                  "not_in_channel", "is_archived", "invalid_blocks", "msg_too_long", "missing_scope",
                                  "user_not_found"])
def test_permanent_errors_name_the_slack_code(fake_slack: FakeSlack, notifier: SlackNotifier, code: str) -> None:
    fake_slack.fail_next("chat.postMessage", error=code)
    seen = failure(lambda: post(notifier))
    assert seen.permanent and seen.message == f"Slack chat.postMessage failed (HTTP 200): {code}"
    assert isinstance(seen, SlackCallFailed) and seen.code == code


def test_real_slack_refusals_reach_us_as_permanent(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    oversized = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    seen = failure(lambda: notifier.post_message(channel="C0LEADS", text="x", blocks=oversized, effect_key="k"))
    assert seen.permanent and seen.message.endswith("invalid_blocks")
    seen = failure(lambda: notifier.update_message(channel="C0LEADS", ts="1.000001", text="x", blocks=None))
    assert seen.permanent and seen.message.endswith("message_not_found")
    bad_token = SlackNotifier(make_web_client("xoxp-not-a-bot-token", fake_slack.base_url))
    assert failure(lambda: bad_token.open_dm("U0REP")).permanent


def test_timeouts_and_refused_connections_are_transient(fake_slack: FakeSlack) -> None:
    fake_slack.latency = 1.2
    slow = SlackNotifier(make_web_client(TOKEN, fake_slack.base_url, timeout=1))
    seen = failure(lambda: slow.open_dm("U0REP"))
    assert not seen.permanent and seen.status is None and "timed out" in seen.message.lower()
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    refused = SlackNotifier(make_web_client(TOKEN, f"http://127.0.0.1:{closed_port}/"))
    seen = failure(lambda: refused.open_dm("U0REP"))
    assert not seen.permanent and "URLError" in seen.message


# --- the unknown outcome: one message, however many attempts ----------------------------------------------------

def test_retry_after_a_lost_response_finds_the_first_post(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    post(notifier, key="alert:11")
    fake_slack.drop_connection_after_post = 1
    seen = failure(lambda: post(notifier))
    assert not seen.permanent                                 # the worker will retry…
    retried = post(notifier, look_for_duplicate=True)         # …and must not post a second copy
    assert [m["ts"] for m in fake_slack.messages["C0LEADS"]][1] == retried.ts
    assert len(fake_slack.messages["C0LEADS"]) == 2 and fake_slack.count("chat.postMessage") == 2
    assert fake_slack.calls[-1].method == "conversations.history"
    assert fake_slack.calls[-1].params["include_all_metadata"] == "1"


def test_look_for_duplicate_posts_when_nothing_landed(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    post(notifier, key="alert:11")
    posted = post(notifier, look_for_duplicate=True)
    assert [m["ts"] for m in fake_slack.messages["C0LEADS"]][-1] == posted.ts
    assert fake_slack.count("chat.postMessage") == 2


def test_thread_replies_are_deduplicated_through_replies(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    parent = post(notifier, key="alert:12")
    fake_slack.drop_connection_after_post = 1
    failure(lambda: post(notifier, key="remind:12:1", thread_ts=parent.ts))
    again = post(notifier, key="remind:12:1", thread_ts=parent.ts, look_for_duplicate=True)
    assert fake_slack.calls[-1].method == "conversations.replies"
    assert [m["ts"] for m in fake_slack.messages["C0LEADS"]] == [parent.ts, again.ts]


def test_the_default_sdk_retry_would_have_posted_twice(fake_slack: FakeSlack) -> None:
    """Why make_web_client drops slack_sdk's retry handlers (specs/reliability.md §0.5)."""
    fake_slack.drop_connection_after_post = 1
    WebClient(token=TOKEN, base_url=fake_slack.base_url).chat_postMessage(channel="C0LEADS", text="x")
    assert len(fake_slack.messages["C0LEADS"]) == 2
    assert make_web_client(TOKEN, fake_slack.base_url).retry_handlers == []


# --- channels the config names ("#leads"): history and uploads need the id ------------------------------------

def methods_since(fake_slack: FakeSlack, start: int) -> list[str]:
    return [call.method for call in fake_slack.calls[start:]]


def test_a_retry_to_a_named_channel_finds_the_first_post_by_id(fake_slack: FakeSlack,
                                                               notifier: SlackNotifier) -> None:
    leads = fake_slack.add_channel("leads")
    fake_slack.drop_connection_after_post = 1
    assert not failure(lambda: post(notifier, channel="#leads")).permanent   # landed, but the answer was lost
    start = len(fake_slack.calls)
    retried = post(notifier, channel="#leads", look_for_duplicate=True)
    assert methods_since(fake_slack, start) == ["conversations.list", "conversations.history"]
    assert fake_slack.calls[-1].params["channel"] == leads
    assert retried == PostedMessage(channel=leads, ts=fake_slack.messages[leads][0]["ts"])
    assert len(fake_slack.messages[leads]) == 1 and fake_slack.count("chat.postMessage") == 1


def test_a_name_is_learnt_from_a_posts_answer(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    first = post(notifier, key="alert:11", channel="#leads")        # the fake makes #leads on this first post
    assert first.channel.startswith("C") and first.channel != "#leads"
    parent = post(notifier, key="alert:12", channel="#leads", look_for_duplicate=True)
    reply = post(notifier, key="remind:12:1", channel="#leads", thread_ts=parent.ts, look_for_duplicate=True)
    assert fake_slack.count("conversations.list") == 0          # the id came back with the first post
    assert [c.params["channel"] for c in fake_slack.calls if c.method.startswith("conversations.")] == [first.channel] * 2
    assert [m["ts"] for m in fake_slack.messages[first.channel]] == [first.ts, parent.ts, reply.ts]


def test_the_channel_list_is_paged_through_to_the_name(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    for number in range(250):
        fake_slack.add_channel(f"team-{number:03d}")
    deals = fake_slack.add_channel("deals", is_private=True)   # a private channel the app was invited to
    fake_slack.add_channel("marketing")
    post(notifier, channel="#deals", look_for_duplicate=True)
    lists = [call.params for call in fake_slack.calls if call.method == "conversations.list"]
    assert [("cursor" in params, params["limit"]) for params in lists] == [(False, "200"), (True, "200")]
    assert all(p["types"] == "public_channel,private_channel" and p["exclude_archived"] == "1" for p in lists)
    assert len(fake_slack.messages[deals]) == 1
    post(notifier, key="alert:13", channel="#team-007", look_for_duplicate=True)    # learnt on the way: no list
    assert fake_slack.count("conversations.list") == 2


@pytest.mark.parametrize("channel", ["#nowhere", "#old-leads"])
def test_a_name_no_channel_has_fails_clearly_and_posts_nothing(fake_slack: FakeSlack, notifier: SlackNotifier,
                                                               channel: str) -> None:
    fake_slack.add_channel("old-leads", is_archived=True)
    for call in (lambda: post(notifier, channel=channel, look_for_duplicate=True),
                 lambda: upload(notifier, channel=channel)):
        seen = failure(call)
        assert seen.permanent and isinstance(seen, IntegrationError)
        assert seen.message == (f"Slack: no channel named {channel}: invite the app or check routing.yaml"
                                " (reports.yaml for the review)")
    assert fake_slack.count("chat.postMessage") == 0 and fake_slack.count("files.getUploadURLExternal") == 0
    assert fake_slack.files == []


def test_a_token_without_channels_read_fails_permanently() -> None:
    with FakeSlack(scopes=tuple(s for s in DEFAULT_SCOPES if s != "channels:read")) as old_install:
        notifier = SlackNotifier(make_web_client(TOKEN, old_install.base_url))
        seen = failure(lambda: post(notifier, channel="#leads", look_for_duplicate=True))
        assert seen.permanent and seen.message == "Slack conversations.list failed (HTTP 200): missing_scope"
        assert old_install.count("chat.postMessage") == 0


def test_a_listing_outage_is_transient_and_not_remembered(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    leads = fake_slack.add_channel("leads")
    fake_slack.fail_next("conversations.list", status=503)
    assert not failure(lambda: post(notifier, channel="#leads", look_for_duplicate=True)).permanent
    assert post(notifier, channel="#leads", look_for_duplicate=True).channel == leads
    assert fake_slack.count("chat.postMessage") == 1


def test_an_upload_to_a_named_channel_shares_by_id_once(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    reviews = fake_slack.add_channel("sales-leadership", is_private=True)
    first = upload(notifier, channel="#sales-leadership")
    complete = next(c for c in fake_slack.calls if c.method == "files.completeUploadExternal")
    assert complete.params["channel_id"] == reviews and fake_slack.files[0]["channel"] == reviews
    assert upload(notifier, channel="#sales-leadership", look_for_duplicate=True) == first
    assert len(fake_slack.files) == 1 and fake_slack.count("conversations.list") == 1


def test_the_shipped_config_style_survives_lost_answers_end_to_end(sqlite_engine: Any, tmp_path: Path,
                                                                   fake_slack: FakeSlack) -> None:
    """routing.yaml with channel names, as config/routing.yaml ships: every card lands once and completes."""
    routing = ('sdr_pool: ["201"]\nmanagers: ["UMANAGER"]\nslack_users: {}\n'
               'channels:\n  leads: "#leads"\n  managers: "#sales-managers"\n  fallback: "#leads-unassigned"\n')
    leads = fake_slack.add_channel("leads")
    fake_slack.add_user("U0REP1", "rep1@example.com", "riley")
    with FakeHubSpot() as hubspot:
        hubspot.add_owner("201", "rep1@example.com", "Riley", "Rep")
        system = System(sqlite_engine, write_config(tmp_path / "config", routing=routing), hubspot, fake_slack)
        system.add_warm_contact("501")
        fake_slack.drop_connection_after_post = 2          # both cards land and both answers are lost
        system.post_webhook([system.demo_request("501")])
        for _ in range(6):
            system.drain()
            system.clock.advance(seconds=120)
    assert fake_slack.drop_connection_after_post == 0 and fake_slack.count("chat.postMessage") == 2
    assert len(system.posts(leads)) == 1 and len(system.posts("D")) == 1
    assert [e.state for e in system.effects() if e.state != "done"] == []
    assert any(c.method == "conversations.history" and c.params["channel"] == leads for c in fake_slack.calls)


# --- owner -> Slack user ---------------------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def directory_parts(fake_slack: FakeSlack, notifier: SlackNotifier) -> tuple[SlackUserDirectory, Clock]:
    fake_slack.add_user("U0REP", "riley@example.com", "Riley Rep")
    clock = Clock()
    return SlackUserDirectory(notifier, clock=clock), clock


def test_explicit_mapping_wins_without_a_lookup(fake_slack: FakeSlack, directory_parts: Any) -> None:
    directory, _ = directory_parts
    assert directory.resolve("77", "riley@example.com", {"77": "U0MAPPED"}) == "U0MAPPED"
    assert directory.resolve("78", None, {"77": "U0MAPPED"}) is None
    assert directory.resolve("78", "  ", {}) is None
    assert fake_slack.count("users.lookupByEmail") == 0


def test_hits_and_misses_are_cached_for_an_hour(fake_slack: FakeSlack, directory_parts: Any) -> None:
    directory, clock = directory_parts
    assert directory.resolve("77", "riley@example.com", {}) == "U0REP"
    assert directory.resolve("77", "Riley@Example.com", {}) == "U0REP"
    assert directory.resolve("79", "gone@example.com", {}) is None
    assert directory.resolve("79", "gone@example.com", {}) is None
    assert fake_slack.count("users.lookupByEmail") == 2
    fake_slack.add_user("U0BACK", "gone@example.com")
    clock.now += 3599
    assert directory.resolve("79", "gone@example.com", {}) is None
    clock.now += 2
    assert directory.resolve("79", "gone@example.com", {}) == "U0BACK"
    assert directory.resolve("77", "riley@example.com", {}) == "U0REP"
    assert fake_slack.count("users.lookupByEmail") == 4


def test_lookup_failures_are_not_cached(fake_slack: FakeSlack, directory_parts: Any) -> None:
    directory, _ = directory_parts
    fake_slack.fail_next("users.lookupByEmail", status=429, retry_after="3")
    assert failure(lambda: directory.resolve("77", "riley@example.com", {})).retry_after == 3.0
    assert directory.resolve("77", "riley@example.com", {}) == "U0REP"


# --- the app manifest ------------------------------------------------------------------------------------------

# Which Web API methods each scope exists for (specs/slack.md §4.2, §6); users:read must accompany users:read.email.
SCOPE_METHODS = {
    "chat:write": {"chat.postMessage", "chat.update", "chat.postEphemeral"},
    "im:write": {"conversations.open"},
    "users:read": {"users.lookupByEmail"},
    "users:read.email": {"users.lookupByEmail"},
    "channels:history": {"conversations.history", "conversations.replies"},
    "groups:history": {"conversations.history", "conversations.replies"},
    "im:history": {"conversations.history", "conversations.replies"},
    "files:write": {"files.getUploadURLExternal", "files.completeUploadExternal"},
    "channels:read": {"conversations.list"},
    "groups:read": {"conversations.list"},
}


def load_manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_manifest_is_an_http_mode_v1_manifest() -> None:
    manifest = load_manifest()
    assert manifest["_metadata"]["major_version"] == 1
    assert 1 <= len(manifest["display_information"]["name"]) <= 35
    assert len(manifest["display_information"]["description"]) <= 140
    assert 1 <= len(manifest["features"]["bot_user"]["display_name"]) <= 80
    assert manifest["settings"]["interactivity"] == {"is_enabled": True,
                                                     "request_url": "https://YOUR-HANDOFF-HOST/slack/events"}
    assert manifest["settings"]["socket_mode_enabled"] is False   # the rest: tests/test_manifest.py


def test_every_manifest_scope_is_one_the_notifier_uses(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    scopes = load_manifest()["oauth_config"]["scopes"]["bot"]
    # `commands` is the slash command's scope, used by no Web API method.
    assert set(scopes) - {"commands"} == set(SCOPE_METHODS) and len(scopes) == len(set(scopes))
    fake_slack.add_user("U0REP", "riley@example.com")
    parent = post(notifier, channel=notifier.open_dm("U0REP"), look_for_duplicate=True)
    post(notifier, key="reply", channel=parent.channel, thread_ts=parent.ts, look_for_duplicate=True)
    notifier.update_message(channel=parent.channel, ts=parent.ts, text="x", blocks=None)
    notifier.post_ephemeral(channel=parent.channel, user="U0REP", text="x")
    notifier.lookup_user_by_email("riley@example.com")
    notifier.upload_file(channel=parent.channel, filename="a.png", title="a", content=b"png", alt_text="a")
    fake_slack.add_channel("reports")
    notifier.upload_file(channel="#reports", filename="b.png", title="b", content=b"png", alt_text="b")
    used = {call.method for call in fake_slack.calls}
    assert {scope for scope, methods in SCOPE_METHODS.items() if not methods & used} == set()


# --- files ------------------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"chart" * 20


def upload(notifier: SlackNotifier, **extra: Any) -> str:
    return notifier.upload_file(channel=extra.pop("channel", "C0MGRS"), filename="review-volume.png",
                                title="MQL volume vs target", content=PNG, alt_text="MQLs per week", **extra)


def test_upload_file_shares_the_png_in_the_thread(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    parent = post(notifier, channel="C0MGRS")
    file_id = upload(notifier, thread_ts=parent.ts)
    (shared,) = fake_slack.files
    assert (shared["id"], shared["content"], shared["title"]) == (file_id, PNG, "MQL volume vs target")
    assert (shared["channel"], shared["thread_ts"], shared["alt_txt"]) == ("C0MGRS", parent.ts, "MQLs per week")


@pytest.mark.parametrize("method, status, error, permanent", [
    ("files.getUploadURLExternal", 200, "missing_scope", True),
    ("files.getUploadURLExternal", 200, "file_uploads_disabled", True),
    ("files.completeUploadExternal", 200, "channel_not_found", True),
    ("files.completeUploadExternal", 500, "internal_error", False),
    ("upload", 500, None, False),
])
def test_each_step_of_an_upload_fails_as_an_integration_error(fake_slack: FakeSlack, notifier: SlackNotifier,
                                                              method: str, status: int, error: str | None,
                                                              permanent: bool) -> None:
    fake_slack.fail_next(method, status=status, error=error)
    failed = failure(lambda: upload(notifier))
    assert failed.permanent is permanent
    assert (method if method != "upload" else "files_upload_v2") in failed.message
    assert fake_slack.files == []


def test_an_upload_rate_limit_carries_retry_after(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    fake_slack.fail_next("files.getUploadURLExternal", status=429, retry_after="7")
    failed = failure(lambda: upload(notifier))
    assert (failed.status, failed.retry_after, failed.permanent) == (429, 7.0, False)


def test_a_retried_upload_finds_the_file_already_shared(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    parent = post(notifier, channel="C0MGRS")
    first = upload(notifier, thread_ts=parent.ts)
    assert upload(notifier, thread_ts=parent.ts, look_for_duplicate=True) == first
    assert len(fake_slack.files) == 1 and fake_slack.count("files.getUploadURLExternal") == 1
    upload(notifier, look_for_duplicate=True)            # not in the channel itself: shared there too
    assert len(fake_slack.files) == 2
