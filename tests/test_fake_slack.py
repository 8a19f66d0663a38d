"""The fake Slack server itself, driven by the real slack_sdk / slack_bolt clients and raw HTTP (specs/slack.md §9)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.fakes.fake_slack import (
    DEFAULT_SCOPES, FakeSlack, block_action_body, block_kit_problems, find_pings, sign_slack_request,
)

TOKEN = "xoxb-fake-slack-test"
SAMPLES = Path("/work/shared/specs/slack-samples")
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "ok"}}


class FixedClock:
    def __init__(self, now: float):
        self.now_value = now

    def now(self) -> float:
        return self.now_value


@pytest.fixture
def client(fake_slack: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake_slack.base_url, retry_handlers=[])


def slack_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response["error"]


# --- transport -------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer xoxp-user-token"}, {"Authorization": TOKEN}])
def test_web_api_requires_a_bot_token(fake_slack: FakeSlack, headers: dict) -> None:
    response = requests.post(fake_slack.base_url + "auth.test", headers=headers, timeout=5)
    assert response.json() == {"ok": False, "error": "invalid_auth"}


def test_auth_test_names_the_scopes_in_a_header(client: WebClient) -> None:
    response = client.auth_test()
    assert response["bot_id"] and response["user_id"] and response["team_id"] == "T0001"
    assert response.headers["x-oauth-scopes"] == ",".join(DEFAULT_SCOPES)


@pytest.mark.parametrize("send", [
    lambda url, h: requests.post(url + "users.lookupByEmail", data={"email": "rep@example.com"}, headers=h, timeout=5),
    lambda url, h: requests.post(url + "users.lookupByEmail", json={"email": "rep@example.com"}, headers=h, timeout=5),
    lambda url, h: requests.post(url + "users.lookupByEmail?email=rep%40example.com", headers=h, timeout=5),
])
def test_form_json_and_query_bodies_are_all_read(fake_slack: FakeSlack, send: Any) -> None:
    fake_slack.add_user("U0REP", "rep@example.com", "Riley Rep")
    response = send(fake_slack.base_url, {"Authorization": f"Bearer {TOKEN}"})
    assert response.json()["user"]["id"] == "U0REP"
    assert fake_slack.calls[-1].params["email"] == "rep@example.com"


def test_extra_params_such_as_team_id_are_tolerated(fake_slack: FakeSlack, client: WebClient) -> None:
    response = client.chat_postMessage(channel="C1", text="hi", team_id="T0001")
    assert response["ok"] and fake_slack.calls[-1].params["team_id"] == "T0001"


def test_unknown_methods_fail_like_slack(client: WebClient) -> None:
    assert slack_error(lambda: client.api_call("chat.unfurlEverything")) == "unknown_method"


# --- messages ----------------------------------------------------------------------------------------

def test_post_update_and_history(fake_slack: FakeSlack, client: WebClient) -> None:
    metadata = {"event_type": "handoff_effect", "event_payload": {"effect_key": "k1"}}
    first = client.chat_postMessage(channel="C1", text="one", metadata=metadata)
    second = client.chat_postMessage(channel="C1", text="two", blocks=[SECTION])
    client.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])
    client.chat_update(channel="C1", ts=second["ts"], text="two, edited")
    history = client.conversations_history(channel="C1", include_all_metadata=True)
    assert [m["text"] for m in history["messages"]] == ["two, edited", "one"]      # newest first, no replies
    assert history["messages"][1]["metadata"] == metadata
    plain = client.conversations_history(channel="C1")
    assert all("metadata" not in m for m in plain["messages"])
    replies = client.conversations_replies(channel="C1", ts=first["ts"], include_all_metadata=True)
    assert [m["text"] for m in replies["messages"]] == ["one", "reply"]
    assert fake_slack.count("chat.postMessage") == 3 and len(fake_slack.messages["C1"]) == 3


@pytest.mark.parametrize("call, error", [
    (lambda c: c.chat_update(channel="C1", ts="1.000001", text="x"), "message_not_found"),
    (lambda c: c.api_call("chat.postMessage", json={"channel": "C1"}), "no_text"),   # bypasses slack_sdk's warning
    (lambda c: c.chat_postMessage(channel="C1", text="x" * 40_001), "msg_too_long"),
    (lambda c: c.conversations_replies(channel="C1", ts="9.9"), "thread_not_found"),
    (lambda c: c.users_info(user="U404"), "user_not_found"),
    (lambda c: c.users_lookupByEmail(email="nobody@example.com"), "users_not_found"),
    (lambda c: c.conversations_open(users="not-a-user"), "user_not_found"),
    (lambda c: c.reactions_add(channel="C1", name="eyes", timestamp="1.1"), "message_not_found"),
])
def test_errors_in_slack_shapes(client: WebClient, call: Any, error: str) -> None:
    assert slack_error(lambda: call(client)) == error


def test_ephemeral_dm_users_and_reactions(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.add_user("U0REP", "Rep@Example.com", "Riley Rep")
    assert client.users_lookupByEmail(email="rep@example.com")["user"]["id"] == "U0REP"
    assert client.users_info(user="U0REP")["user"]["profile"]["email"] == "Rep@Example.com"
    opened = client.conversations_open(users="U0REP")
    assert opened["channel"]["id"].startswith("D") and "already_open" not in opened.data
    assert client.conversations_open(users="U0REP")["already_open"] is True
    client.chat_postEphemeral(channel="C1", user="U0REP", text="only you")
    assert fake_slack.ephemerals[0]["user"] == "U0REP" and fake_slack.ephemerals[0]["text"] == "only you"
    ts = client.chat_postMessage(channel="C1", text="x")["ts"]
    client.reactions_add(channel="C1", name="white_check_mark", timestamp=ts)
    again = lambda: client.reactions_add(channel="C1", name="white_check_mark", timestamp=ts)  # noqa: E731
    assert slack_error(again) == "already_reacted"


# --- scripted failures ---------------------------------------------------------------------------------

def test_fail_next_scripts_rate_limits_then_recovers(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after="7", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            client.chat_postMessage(channel="C1", text="x")
        assert caught.value.response.status_code == 429
        assert caught.value.response.headers["Retry-After"] == "7"
        assert caught.value.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert fake_slack.count("chat.postMessage") == 3 and len(fake_slack.messages["C1"]) == 1


def test_fail_next_outage_answers_a_non_json_page(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.fail_next("chat.update", status=503)
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel="C1", ts="1.1", text="x")
    assert caught.value.response.status_code == 503
    assert "non-JSON" in caught.value.response["error"]


def test_fail_next_error_code_only_hits_that_method(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")
    assert client.auth_test()["ok"]
    assert slack_error(lambda: client.chat_postMessage(channel="C1", text="x")) == "channel_not_found"


def test_dropped_connection_after_post_keeps_the_message(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.drop_connection_after_post = 1
    with pytest.raises(ConnectionError):        # RemoteDisconnected / ConnectionResetError
        client.chat_postMessage(channel="C1", text="landed")
    assert [m["text"] for m in fake_slack.messages["C1"]] == ["landed"]
    assert client.chat_postMessage(channel="C1", text="second")["ok"]


# --- Block Kit limits and mention injection ------------------------------------------------------------------

def text_obj(text: str, kind: str = "mrkdwn", **extra: Any) -> dict:
    return {"type": kind, "text": text, **extra}


BAD_BLOCKS = [
    ("51 blocks", [SECTION] * 51),
    ("section text 3001", [{"type": "section", "text": text_obj("x" * 3001)}]),
    ("empty section text", [{"type": "section", "text": text_obj("")}]),
    ("11 fields", [{"type": "section", "fields": [text_obj("f")] * 11}]),
    ("field 2001", [{"type": "section", "fields": [text_obj("f" * 2001)]}]),
    ("header 151", [{"type": "header", "text": text_obj("h" * 151, "plain_text")}]),
    ("mrkdwn header", [{"type": "header", "text": text_obj("h")}]),
    ("11 context elements", [{"type": "context", "elements": [text_obj("c")] * 11}]),
    ("button text 76", [{"type": "actions", "elements": [{"type": "button", "action_id": "a",
                                                         "text": text_obj("b" * 76, "plain_text")}]}]),
    ("button value 2001", [{"type": "actions", "elements": [{"type": "button", "action_id": "a", "value": "v" * 2001,
                                                            "text": text_obj("b", "plain_text")}]}]),
    ("emoji on mrkdwn", [{"type": "section", "text": text_obj("x", emoji=True)}]),
    ("verbatim on plain_text", [{"type": "context", "elements": [text_obj("x", "plain_text", verbatim=True)]}]),
    ("block_id 256", [{**SECTION, "block_id": "b" * 256}]),
    ("unknown type", [{"type": "carousel"}]),
]


@pytest.mark.parametrize("name, blocks", BAD_BLOCKS, ids=[name for name, _ in BAD_BLOCKS])
def test_block_kit_limits_answer_invalid_blocks(fake_slack: FakeSlack, client: WebClient, name: str,
                                                blocks: list) -> None:
    assert block_kit_problems(blocks)
    send = lambda: client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)  # noqa: E731
    assert slack_error(send) == "invalid_blocks"
    assert "C1" not in fake_slack.messages


def test_blocks_at_the_limits_are_accepted(client: WebClient) -> None:
    at_limits = [{"type": "header", "text": text_obj("h" * 150, "plain_text")},
                 {"type": "section", "text": text_obj("x" * 3000), "fields": [text_obj("f" * 2000)] * 10},
                 {"type": "context", "elements": [text_obj("c")] * 10}, {"type": "divider"}]
    at_limits += [SECTION] * (50 - len(at_limits))
    assert block_kit_problems(at_limits) == []
    assert client.chat_postMessage(channel="C1", text="fallback", blocks=at_limits)["ok"]


@pytest.mark.parametrize("payload, flagged", [
    ({"text": "hey <!channel>"}, True),
    ({"text": "hey <!here|here>"}, True),
    ({"blocks": [{"type": "section", "text": text_obj("<!everyone>", verbatim=True)}]}, True),
    ({"blocks": [{"type": "section", "text": text_obj("ping @here")}]}, True),        # auto-parsed mrkdwn
    ({"blocks": [{"type": "section", "text": text_obj("ping @here", verbatim=True)}]}, False),
    ({"blocks": [{"type": "header", "text": text_obj("<!channel>", "plain_text")}]}, False),
    ({"text": "&lt;!channel&gt; is escaped"}, False),
    ({"text": "mail me at a@here.example"}, False),
])
def test_find_pings(payload: dict, flagged: bool) -> None:
    assert bool(find_pings(payload)) is flagged


def test_pings_in_outgoing_messages_are_recorded(fake_slack: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="<!channel> new lead")
    client.chat_postMessage(channel="C1", text="&lt;!channel&gt; new lead")
    assert fake_slack.injections == ["<!channel> new lead"]


# --- views and triggers ---------------------------------------------------------------------------------------

MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Close lead"}, "blocks": [SECTION]}


def test_trigger_ids_are_single_use_and_expire_after_3_s(fake_slack: FakeSlack, client: WebClient) -> None:
    now = [1000.0]
    fake_slack.clock = lambda: now[0]
    fresh, stale = fake_slack.new_trigger_id(), fake_slack.new_trigger_id()
    assert client.views_open(trigger_id=fresh, view=MODAL)["view"]["id"].startswith("V")
    assert slack_error(lambda: client.views_open(trigger_id=fresh, view=MODAL)) == "exchanged_trigger_id"
    now[0] += 3.5
    assert slack_error(lambda: client.views_open(trigger_id=stale, view=MODAL)) == "expired_trigger_id"
    assert slack_error(lambda: client.views_open(trigger_id="1.2.made-up", view=MODAL)) == "invalid_trigger_id"


def test_views_update_and_publish_check_the_hash(fake_slack: FakeSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id=fake_slack.new_trigger_id(), view=MODAL)["view"]
    updated = client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL)["view"]
    assert updated["id"] == view["id"] and updated["hash"] != view["hash"]
    stale = lambda: client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL)  # noqa: E731
    assert slack_error(stale) == "hash_conflict"
    assert slack_error(lambda: client.views_update(view_id="V404", view=MODAL)) == "not_found"
    home = {"type": "home", "blocks": [SECTION]}
    published = client.views_publish(user_id="U0REP", view=home)["view"]
    assert fake_slack.home_views["U0REP"]["id"] == published["id"]
    assert slack_error(lambda: client.views_publish(user_id="U0REP", view=home, hash="0.stale")) == "hash_conflict"
    assert client.views_publish(user_id="U0REP", view=home, hash=published["hash"])["ok"]


# --- response_url ------------------------------------------------------------------------------------------------

def test_response_url_records_five_uses_within_30_minutes(fake_slack: FakeSlack) -> None:
    now = [0.0]
    fake_slack.clock = lambda: now[0]
    url, late_url = fake_slack.response_url(), fake_slack.response_url()
    statuses = [WebhookClient(url).send(text=f"use {i}", replace_original=True).status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]
    assert [post["text"] for post in fake_slack.hook_posts] == [f"use {i}" for i in range(5)]
    assert fake_slack.hook_posts[0]["replace_original"] is True
    now[0] += 30 * 60 + 1
    assert WebhookClient(late_url).send(text="late").body == "expired_url"
    assert "Authorization" not in fake_slack.calls[-1].headers     # Bolt's respond() sends no token (§2.4)


def test_response_url_checks_blocks_and_pings(fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url()
    assert WebhookClient(url).send(text="x", blocks=[SECTION] * 51).status_code == 400
    assert WebhookClient(url).send(text="<!here> look").status_code == 200
    assert fake_slack.injections == ["<!here> look"]


# --- inbound helpers: signing and the block_actions body ----------------------------------------------------------

def test_signing_matches_slacks_published_vector() -> None:
    vector = json.loads((SAMPLES / "signing-test-vector.json").read_text())
    headers = sign_slack_request(vector["signing_secret"], vector["raw_body"], int(vector["timestamp"]))
    assert headers == vector["headers"]
    at_signing_time = SignatureVerifier(vector["signing_secret"], clock=FixedClock(int(vector["timestamp"])))
    assert at_signing_time.is_valid_request(vector["raw_body"], headers)
    too_late = SignatureVerifier(vector["signing_secret"], clock=FixedClock(int(vector["timestamp"]) + 301))
    assert not too_late.is_valid_request(vector["raw_body"], headers)


def test_signing_bytes_and_str_alike_and_defaults_to_now() -> None:
    body = "payload=%7B%7D"
    assert sign_slack_request("s3cret", body, 1700000000) == sign_slack_request("s3cret", body.encode(), 1700000000)
    assert SignatureVerifier("s3cret").is_valid_request(body, sign_slack_request("s3cret", body))
    assert not SignatureVerifier("other").is_valid_request(body, sign_slack_request("s3cret", body))


def test_block_action_body_is_shaped_like_slacks() -> None:
    body = block_action_body(user_id="U0REP", action_id="accept_lead", value="12", channel="C0LEADS",
                             message_ts="1700000000.000100", response_url="http://127.0.0.1:1/hooks/1")
    payload = json.loads(parse_qs(body)["payload"][0])
    sample = json.loads((SAMPLES / "block_actions.message.bolt-tests.json").read_text())
    assert set(sample) <= set(payload)
    assert payload["container"] == {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0LEADS",
                                    "is_ephemeral": False}
    assert (payload["user"]["id"], payload["team"]["id"]) == ("U0REP", "T0001")
    assert payload["actions"][0]["action_id"] == "accept_lead" and payload["actions"][0]["value"] == "12"


def test_bolt_dispatches_a_signed_click_and_responds_through_the_fake(fake_slack: FakeSlack) -> None:
    app = App(client=WebClient(token=TOKEN, base_url=fake_slack.base_url), signing_secret="s3cret",
              process_before_response=True)
    clicks = []

    @app.action("accept_lead")
    def accept(ack: Any, body: dict, respond: Any) -> None:
        ack()
        clicks.append((body["user"]["id"], body["actions"][0]["value"]))
        respond(text="Accepted", replace_original=False)

    body = block_action_body(user_id="U0REP", action_id="accept_lead", value="12", channel="C0LEADS",
                             message_ts="1700000000.000100", response_url=fake_slack.response_url())
    headers = {**sign_slack_request("s3cret", body), "Content-Type": "application/x-www-form-urlencoded"}
    response = app.dispatch(BoltRequest(body=body, headers=headers))
    assert response.status == 200
    assert clicks == [("U0REP", "12")]
    assert fake_slack.hook_posts[0]["text"] == "Accepted"
    assert fake_slack.count("auth.test") >= 1


# --- files_upload_v2: getUploadURLExternal -> POST the bytes -> completeUploadExternal ------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"picture" * 10


def test_files_upload_v2_runs_all_three_steps_against_the_fake(fake_slack: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C0MGRS", text="The review")
    response = client.files_upload_v2(channel="C0MGRS", filename="volume.png", title="MQL volume", content=PNG,
                                      alt_txt="MQLs per week", thread_ts=parent["ts"])
    assert response["file"]["title"] == "MQL volume" and response["file"]["id"].startswith("F")
    steps = [call for call in fake_slack.calls if call.method != "chat.postMessage"]
    assert [call.method for call in steps] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert steps[0].params == {"filename": "volume.png", "length": str(len(PNG)), "alt_txt": "MQLs per week"}
    assert "Authorization" not in steps[1].headers and steps[1].params["bytes"] == len(PNG)
    assert steps[2].params["channel_id"] == "C0MGRS" and steps[2].params["thread_ts"] == parent["ts"]
    assert steps[2].params["files"] == [{"id": response["file"]["id"], "title": "MQL volume"}]
    (shared,) = fake_slack.files
    assert (shared["content"], shared["channel"], shared["thread_ts"]) == (PNG, "C0MGRS", parent["ts"])
    replies = client.conversations_replies(channel="C0MGRS", ts=parent["ts"])["messages"]
    assert replies[-1]["files"][0]["name"] == "volume.png"


def test_the_upload_url_points_back_at_the_fake_on_loopback(fake_slack: FakeSlack, client: WebClient) -> None:
    answer = client.files_getUploadURLExternal(filename="a.png", length=3)
    assert answer["upload_url"] == f"{fake_slack.base_url}upload/v1/{answer['file_id']}"
    assert answer["upload_url"].startswith("http://127.0.0.1:")
    assert requests.post(answer["upload_url"], data=b"abc", timeout=5).text == "OK - 3"
    assert requests.post(answer["upload_url"], data=b"abc", timeout=5).status_code == 404    # once


@pytest.mark.parametrize("call, error", [
    (lambda c: c.files_getUploadURLExternal(filename="a.png", length=0), "missing_argument"),
    (lambda c: c.files_getUploadURLExternal(filename="a.png", length=3, alt_txt="x" * 1001), "alt_txt_too_large"),
    (lambda c: c.files_getUploadURLExternal(filename="a.png", length=2 * 1024 ** 3), "file_upload_size_restricted"),
    (lambda c: c.files_completeUploadExternal(files=[{"id": "F404", "title": "x"}], channel_id="C1"), "file_not_found"),
    (lambda c: c.files_completeUploadExternal(
        files=[{"id": c.files_getUploadURLExternal(filename="a.png", length=3)["file_id"]}]), "file_not_found"),
], ids=["empty", "alt-text-too-long", "too-big", "unknown-file", "bytes-never-sent"])
def test_upload_errors_in_slack_shapes(client: WebClient, call: Any, error: str) -> None:
    assert slack_error(lambda: call(client)) == error


def test_fail_next_scripts_a_failed_upload_and_a_failed_completion(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.fail_next("upload", status=500)
    with pytest.raises(Exception, match="500"):
        client.files_upload_v2(channel="C1", filename="a.png", content=PNG)
    fake_slack.fail_next("files.completeUploadExternal", error="channel_not_found")
    assert slack_error(lambda: client.files_upload_v2(channel="C1", filename="a.png", content=PNG)) == \
        "channel_not_found"
    assert fake_slack.files == [] and fake_slack.messages.get("C1") is None
    assert client.files_upload_v2(channel="C1", filename="a.png", content=PNG)["file"]["id"]
    assert len(fake_slack.files) == 1 and fake_slack.messages["C1"][0]["files"][0]["name"] == "a.png"


# --- channels: an id and a name; only chat.postMessage takes the name ----------------------------------------

def test_a_post_to_a_name_answers_with_the_channel_id(fake_slack: FakeSlack, client: WebClient) -> None:
    leads = fake_slack.add_channel("leads", id="C0123ABCD")
    answer = client.chat_postMessage(channel="#leads", text="one")
    assert answer["channel"] == leads == "C0123ABCD"
    assert client.chat_postMessage(channel="leads", text="two")["channel"] == leads   # "#" is optional
    made = client.chat_postMessage(channel="#brand-new", text="x")["channel"]          # made on a first post
    assert made.startswith("C") and fake_slack.channels[made]["name"] == "brand-new"
    assert [m["text"] for m in fake_slack.messages[leads]] == ["one", "two"] and "#leads" not in fake_slack.messages
    client.chat_update(channel="#leads", ts=answer["ts"], text="one, edited")
    assert fake_slack.messages[leads][0]["text"] == "one, edited"


@pytest.mark.parametrize("call", [
    lambda c, ts: c.conversations_history(channel="#leads"),
    lambda c, ts: c.conversations_history(channel="leads"),
    lambda c, ts: c.conversations_replies(channel="#leads", ts=ts),
    lambda c, ts: c.files_upload_v2(channel="#leads", filename="a.png", content=PNG),
    lambda c, ts: c.files_completeUploadExternal(files=[{"id": sent_upload(c)}], channels=["C1", "#leads"]),
    lambda c, ts: c.chat_update(channel="#nobody", ts=ts, text="x"),
], ids=["history", "history-bare-name", "replies", "upload-channel-id", "upload-channels", "update-unknown-name"])
def test_methods_that_take_only_ids_refuse_a_name(fake_slack: FakeSlack, client: WebClient, call: Any) -> None:
    ts = client.chat_postMessage(channel="#leads", text="parent")["ts"]
    assert slack_error(lambda: call(client, ts)) == "channel_not_found"
    assert fake_slack.files == []


def sent_upload(client: WebClient) -> str:
    """The id of a file whose bytes reached the upload URL, ready for files.completeUploadExternal."""
    answer = client.files_getUploadURLExternal(filename="a.png", length=3)
    requests.post(answer["upload_url"], data=b"abc", timeout=5)
    return answer["file_id"]


def test_an_upload_to_several_channel_ids_is_shared_in_each(fake_slack: FakeSlack, client: WebClient) -> None:
    client.files_completeUploadExternal(files=[{"id": sent_upload(client)}], channels=["C1", "C2"])
    assert fake_slack.files[0]["channels"] == ["C1", "C2"]
    assert [fake_slack.messages[c][0]["files"][0]["name"] for c in ("C1", "C2")] == ["a.png", "a.png"]


def test_posting_to_an_archived_channel_is_refused(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.add_channel("old", is_archived=True)
    assert slack_error(lambda: client.chat_postMessage(channel="#old", text="x")) == "is_archived"


def test_channel_names_and_ids_are_unique(fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("leads", id="C0LEADS")
    with pytest.raises(ValueError):
        fake_slack.add_channel("#leads")
    with pytest.raises(ValueError):
        fake_slack.add_channel("other", id="C0LEADS")


def test_conversations_list_in_slacks_shape(fake_slack: FakeSlack, client: WebClient) -> None:
    public = fake_slack.add_channel("leads")
    private = fake_slack.add_channel("deals", is_private=True)
    archived = fake_slack.add_channel("old", is_archived=True)
    dm = client.conversations_open(users="U0REP")["channel"]["id"]
    answer = client.conversations_list()                                 # default types: public_channel
    assert [c["id"] for c in answer["channels"]] == [public, archived]
    assert answer["response_metadata"] == {"next_cursor": ""}
    leads = answer["channels"][0]
    assert {k: leads[k] for k in ("name", "is_channel", "is_private", "is_archived", "is_member", "is_im")} == \
        {"name": "leads", "is_channel": True, "is_private": False, "is_archived": False, "is_member": True,
         "is_im": False}
    both = client.conversations_list(types="public_channel,private_channel", exclude_archived=True)
    assert [c["id"] for c in both["channels"]] == [public, private] and both["channels"][1]["is_private"] is True
    fake_slack.scopes = fake_slack.scopes + ("im:read",)
    assert [c["id"] for c in client.conversations_list(types=["im"])["channels"]] == [dm]


def test_conversations_list_pages_with_a_cursor(fake_slack: FakeSlack, client: WebClient) -> None:
    made = [fake_slack.add_channel(f"team-{number}") for number in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        page = client.conversations_list(limit=2, cursor=cursor)
        seen += [c["id"] for c in page["channels"]]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert (seen, pages) == (made, 3)
    assert [c["id"] for c in client.conversations_list(limit=1000)["channels"]] == made


@pytest.mark.parametrize("params, error", [
    ({"limit": 1001}, "invalid_limit"), ({"limit": 0}, "invalid_limit"), ({"limit": "many"}, "invalid_limit"),
    ({"cursor": "not base64!"}, "invalid_cursor"), ({"cursor": "Y2hhbm5lbDpDTk9QRQ=="}, "invalid_cursor"),
    ({"types": "public_channel,galaxy"}, "invalid_types"),
])
def test_conversations_list_refusals(fake_slack: FakeSlack, client: WebClient, params: dict, error: str) -> None:
    fake_slack.add_channel("leads")
    assert slack_error(lambda: client.api_call("conversations.list", params=params)) == error


def test_conversations_list_needs_the_read_scope_of_each_type(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.conversations_list(types="public_channel,private_channel,mpim")
    assert caught.value.response["error"] == "missing_scope" and caught.value.response["needed"] == "mpim:read"
    assert "channels:read" in caught.value.response["provided"]
