"""Slack Web API adapter: post, update, DM and upload with the real slack_sdk client; every failure is an
IntegrationError.

Retry policy is the worker's, not slack_sdk's: its connection-error retry re-sends chat.postMessage
after a reset, which posts twice when the first attempt had landed (specs/reliability.md §0.5).
Instead each post carries its effect key as message metadata, and a retry whose earlier outcome
is unknown first looks for that key in the channel (specs/reliability.md §4.2).

Config may name a channel ("#leads") or give its id. chat.postMessage takes either, but
conversations.history/replies and files.completeUploadExternal take only ids, so a name is turned into
its id (learnt from chat.postMessage's answers and from conversations.list) before those calls.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, Callable, Mapping

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

from integrations.errors import IntegrationError

EFFECT_EVENT_TYPE = "handoff_effect"
HISTORY_WINDOW = 100           # how far back a retry looks for its own earlier post
CHANNEL_PAGE = 200             # conversations.list page size: Slack advises no more than 200
LISTED_TYPES = "public_channel,private_channel"   # private ones are listed only when the app is a member
TIMEOUT_SECONDS = 10

# Retrying cannot help with these: the token, the channel, the scopes or the payload must change.
PERMANENT_ERRORS = frozenset({
    "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "no_permission",
    "channel_not_found", "not_in_channel", "is_archived", "channel_is_archived", "restricted_action",
    "invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long", "no_text",
    "too_many_attachments", "invalid_metadata_format", "invalid_metadata_schema", "metadata_too_large",
    "missing_scope", "not_allowed_token_type", "ekm_access_denied", "team_access_not_granted",
    "user_not_found", "user_disabled", "user_not_in_channel", "users_list_not_supplied",
    "message_not_found", "cant_update_message", "edit_window_closed", "invalid_arguments",
    "invalid_arg_name", "invalid_array_arg", "invalid_charset", "invalid_form_data", "invalid_post_type",
    "missing_post_type", "method_deprecated", "deprecated_endpoint", "unknown_method",
    "missing_argument", "alt_txt_too_large", "file_upload_size_restricted", "file_uploads_disabled",
    "file_uploads_except_images_disabled", "file_type_not_allowed",
})
_ERROR_CODE = re.compile(r"[a-z0-9_]{1,64}")
_TOKEN = re.compile(r"xox[a-z]-[A-Za-z0-9-]+")
_CHANNEL_ID = re.compile(r"[CDG][A-Z0-9]+")     # public (C), private (G, older ones) and DM (D) channel ids


def make_web_client(token: str, base_url: str, *, timeout: int = TIMEOUT_SECONDS) -> WebClient:
    """A WebClient with no retry handlers: a blind connection retry can post a message twice."""
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])


class SlackCallFailed(IntegrationError):
    """An IntegrationError that also carries Slack's error code ("channel_not_found"), for callers that branch on it."""

    def __init__(self, message: str, *, code: str, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.code = code


@dataclass(frozen=True)
class PostedMessage:
    channel: str
    ts: str


class SlackNotifier:
    """The few Web API calls Handoff makes, with Slack's failures mapped to IntegrationError."""

    def __init__(self, client: WebClient):
        self._client = client
        self._dm_channels: dict[str, str] = {}
        self._channel_ids: dict[str, str] = {}   # channel name (no "#") -> id; a channel keeps its id when renamed

    def open_dm(self, user_id: str) -> str:
        """The D… channel id of the bot's DM with `user_id` (posting to a U… id lands in Slackbot's DM).

        A DM's id never changes, so it is asked for once per user and process: one call less per alert.
        """
        if user_id not in self._dm_channels:
            response = _call("conversations.open", self._client.conversations_open, users=user_id)
            self._dm_channels[user_id] = response["channel"]["id"]
        return self._dm_channels[user_id]

    def post_message(self, *, channel: str, text: str, blocks: list[dict] | None, effect_key: str,
                     thread_ts: str | None = None, look_for_duplicate: bool = False) -> PostedMessage:
        """Post once per effect_key: with look_for_duplicate, an earlier post carrying the key is returned instead."""
        if look_for_duplicate:
            channel = self.channel_id(channel)
            earlier = self._find_effect(channel, effect_key, thread_ts)
            if earlier is not None:
                return earlier
        response = _call("chat.postMessage", self._client.chat_postMessage, channel=channel, text=text,
                         blocks=blocks, thread_ts=thread_ts, metadata=_effect_metadata(effect_key),
                         unfurl_links=False, unfurl_media=False)
        self._learn_channel(channel, response["channel"])   # Slack answers a name with the channel's id
        return PostedMessage(channel=response["channel"], ts=response["ts"])

    def update_message(self, *, channel: str, ts: str, text: str, blocks: list[dict] | None) -> None:
        """Replace the text and blocks of a message this app posted."""
        _call("chat.update", self._client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks)

    def post_ephemeral(self, *, channel: str, user: str, text: str) -> None:
        """A message only `user` sees, in `channel`."""
        _call("chat.postEphemeral", self._client.chat_postEphemeral, channel=channel, user=user, text=text)

    def upload_file(self, *, channel: str, filename: str, title: str, content: bytes, alt_text: str,
                    thread_ts: str | None = None, look_for_duplicate: bool = False) -> str:
        """Share a file in `channel` (a name is turned into its id: files.completeUploadExternal takes no
        names), once per filename: with look_for_duplicate, a file of that name already shared there (or in
        the thread) is its answer.

        files_upload_v2 is three calls: files.getUploadURLExternal, a POST of the bytes to the URL it gave,
        files.completeUploadExternal. Any of them failing is one IntegrationError for the whole upload.
        """
        channel = self.channel_id(channel)
        if look_for_duplicate:
            earlier = self._find_file(channel, filename, thread_ts)
            if earlier is not None:
                return earlier
        response = _call("files_upload_v2", self._client.files_upload_v2, channel=channel, filename=filename,
                         title=title, content=content, alt_txt=alt_text, thread_ts=thread_ts)
        return response["file"]["id"]

    def lookup_user_by_email(self, email: str) -> str | None:
        """The Slack user id with this email, or None when the workspace has nobody with it."""
        try:
            response = _call("users.lookupByEmail", self._client.users_lookupByEmail, email=email)
        except SlackCallFailed as err:
            if err.code == "users_not_found":
                return None
            raise
        return response["user"]["id"]

    def channel_id(self, channel: str) -> str:
        """The id of `channel`, given as an id (returned as it is) or as a name such as "#leads".

        A name is looked up once per process: from an earlier post's answer, else by paging through
        conversations.list (public channels, and private ones the app was invited to).
        """
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        name = _channel_name(channel)
        if name not in self._channel_ids:
            self._list_channels_until(name)
        if name not in self._channel_ids:
            # Slack lists only the private channels the app is in: an uninvited one looks like no channel.
            raise IntegrationError(f"Slack: no channel named #{name}: invite the app or check routing.yaml"
                                   " (reports.yaml for the review)",
                                   permanent=True)
        return self._channel_ids[name]

    def _list_channels_until(self, name: str) -> None:
        """Learn the ids of the workspace's channels, a page at a time, until `name` is among them."""
        cursor = None
        while True:
            response = _call("conversations.list", self._client.conversations_list, types=LISTED_TYPES,
                             exclude_archived=True, limit=CHANNEL_PAGE, cursor=cursor)
            for listed in response.get("channels") or []:
                self._channel_ids[listed["name"]] = listed["id"]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if name in self._channel_ids or not cursor:
                return

    def _learn_channel(self, channel: str, channel_id: str) -> None:
        if not _CHANNEL_ID.fullmatch(channel):
            self._channel_ids[_channel_name(channel)] = channel_id

    def _find_effect(self, channel: str, effect_key: str, thread_ts: str | None) -> PostedMessage | None:
        for message in self._recent_messages(channel, thread_ts):
            if _effect_key_of(message) == effect_key:
                return PostedMessage(channel=channel, ts=message["ts"])
        return None

    def _recent_messages(self, channel: str, thread_ts: str | None) -> list[dict]:
        """The channel's (or the thread's) latest messages, with metadata: where a retry looks for its earlier post."""
        # A thread reply is not in conversations.history, only in conversations.replies.
        if thread_ts:
            response = _call("conversations.replies", self._client.conversations_replies, channel=channel,
                             ts=thread_ts, limit=HISTORY_WINDOW, include_all_metadata=True)
        else:
            response = _call("conversations.history", self._client.conversations_history, channel=channel,
                             limit=HISTORY_WINDOW, include_all_metadata=True)
        return response.get("messages") or []

    def _find_file(self, channel: str, filename: str, thread_ts: str | None) -> str | None:
        for message in self._recent_messages(channel, thread_ts):
            for shared in message.get("files") or []:
                if shared.get("name") == filename:
                    return shared.get("id")
        return None


def _channel_name(channel: str) -> str:
    """ "#leads" and "leads" are the same channel to Slack."""
    return channel.removeprefix("#")


def _effect_metadata(effect_key: str) -> dict:
    return {"event_type": EFFECT_EVENT_TYPE, "event_payload": {"effect_key": effect_key}}


def _effect_key_of(message: Mapping[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != EFFECT_EVENT_TYPE:
        return None
    return (metadata.get("event_payload") or {}).get("effect_key")


# --- failures -> IntegrationError ------------------------------------------------------------------

def _call(method: str, function: Callable[..., SlackResponse], **kwargs: Any) -> SlackResponse:
    """Run one Web API call; any failure comes out as IntegrationError naming the method and Slack's code."""
    try:
        return function(**kwargs)
    except SlackApiError as err:
        raise _api_error(method, err.response) from None
    except (OSError, HTTPException) as err:
        # URLError, timeouts, resets, RemoteDisconnected: the request may or may not have landed.
        raise IntegrationError(_describe(method, err)) from None
    except (SlackClientError, ValueError) as err:
        # Refused before sending (bad arguments, a base_url that is not a URL): resending cannot help.
        raise IntegrationError(_describe(method, err), permanent=True) from None


def _api_error(method: str, response: SlackResponse) -> SlackCallFailed:
    status = response.status_code
    code = _error_code(response)
    # One of our calls can be several of Slack's (files_upload_v2): name the one that failed.
    method = str(getattr(response, "api_url", "") or "").rsplit("/", 1)[-1] or method
    message = f"Slack {method} failed (HTTP {status}): {code}"
    if status == 429 or code == "ratelimited":
        return SlackCallFailed(message, code=code, retry_after=_retry_after(response.headers), status=status)
    permanent = status < 500 and code in PERMANENT_ERRORS
    return SlackCallFailed(message, code=code, permanent=permanent, status=status)


def _error_code(response: SlackResponse) -> str:
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or "")
    # A non-JSON body (an outage page) arrives as a long prose "error": keep it out of our messages.
    return code if _ERROR_CODE.fullmatch(code) else "unexpected_response"


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def _describe(method: str, err: Exception) -> str:
    return f"Slack {method}: {type(err).__name__}: {_TOKEN.sub('xox?-[redacted]', str(err))[:200]}"
